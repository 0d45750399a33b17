# The two commands a newcomer needs: `make demo` and `make test`.
GO      ?= go
# make fuzz runs each target a fixed number of times (about 10 s each on a
# 2-CPU machine), not for a duration: at the end of a -fuzztime duration, Go
# 1.26's fuzz coordinator can fail with "context deadline exceeded" and no
# failing input (golang/go#75804, fixed in Go 1.27; seen in CI here).
# FUZZTIME (a duration, or a count such as 5000x) overrides every budget.
FUZZTIME ?=

.PHONY: all build test check unit fuzz demo bench clean deps docs

all: build

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)

# Built as releases are (.goreleaser.yaml): static, no debug info, with the
# version, commit and build date that --version prints.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/ami-bakery ./cmd/ami-bakery
	$(GO) build -o bin/awsemu ./cmd/awsemu

deps:
	scripts/ensure-deps.sh

# Everything CI runs: formatting, a tidy go.mod, vet, a darwin build (the other release
# target), the race-enabled test suite (unit, CLI scripts, end to end with
# the real packer, the examples), a short fuzz run of every fuzz target, and
# the container image built and baking offline.
test: deps check unit fuzz image-test

check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) mod tidy -diff
	$(GO) vet ./...
	GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./...

unit:
	$(GO) test -race -count=1 -timeout 30m ./...

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzFingerprintTree$$' -fuzztime $(or $(FUZZTIME),4000x) ./internal/fingerprint
	$(GO) test -run '^$$' -fuzz '^FuzzParseMachineReadable$$' -fuzztime $(or $(FUZZTIME),150000x) ./internal/packer
	$(GO) test -run '^$$' -fuzz '^FuzzLoadTemplate$$' -fuzztime $(or $(FUZZTIME),2000x) ./internal/packer
	$(GO) test -run '^$$' -fuzz '^FuzzPrune$$' -fuzztime $(or $(FUZZTIME),300x) ./internal/prune
	$(GO) test -run '^$$' -fuzz '^FuzzCheckers$$' -fuzztime $(or $(FUZZTIME),300000x) ./cmd/ami-bakery/options
	$(GO) test -run '^$$' -fuzz '^FuzzChannels$$' -fuzztime $(or $(FUZZTIME),250x) ./internal/channel

demo: deps build
	scripts/demo.sh

bench: deps build
	bench/run.sh

# The command reference (docs/cli, docs/man) regenerated from the command
# tree, then every link, anchor and named test of README.md and docs/
# checked offline. make test fails while the committed reference differs.
docs:
	UPDATE_DOCS=1 $(GO) test -run '^TestCLIDocs$$' -count=1 ./cmd/ami-bakery
	$(GO) test -count=1 ./internal/doccheck
	$(GO) test -run '^TestReferenceDocumentsEverySetting$$' -count=1 ./internal/project

clean:
	rm -rf bin

# The Docker image, built without Docker (buildah and podman, as root, no
# registry) and baking in a container against the EC2 emulator; see
# scripts/image-test.sh.
.PHONY: image-test
image-test:
	scripts/image-test.sh
