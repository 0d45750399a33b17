#!/usr/bin/env bash
# image-test.sh: build the real Dockerfile without a Docker engine or a
# registry, and bake in the image against the EC2 emulator, the way the
# original tool was run:
#
#   docker run -e PACKER_JSON_PATH=... -e AMI_DEFINITION_DIRS=... \
#     -e AWS_DEFAULT_REGION=... -e AWS_SUBNET_ID=... \
#     --mount type=bind,source=$PWD,target=/workdir ... ami-bakery
#
# Steps: lint the Dockerfile (dockerfilelint); assemble a FROM-scratch
# packer base from this machine's packer (scripts/image-base.sh) as
# PACKER_IMAGE; build the static ami-bakery on the host and the image with
# BINARY=context (the goreleaser path: no golang image to pull); start
# awsemu on loopback; then in the container, with --network host:
#
#   1. the original command line (no --user; the mounted directory is
#      writable by the image's uid 65532): packer builds the AMI, stdout is
#      its id, .ami_id.json is written in the mount;
#   2. the same with --user UID:GID for a checkout owned by another user,
#      and a packer that does not exist: the same id, reused, no packer.
#
# Then (unless IMAGE_TEST_SOURCE=0) the Dockerfile's default path,
# BINARY=source, with a stand-in for the golang image made from this
# machine's Go, the module cache mounted read-only and no module proxy.
#
# Needs root and Debian (installs buildah, podman and runc with apt-get, and
# dockerfilelint with npm, when missing). Everything lives in one temporary
# directory, with its own container storage (vfs); the trap removes the
# containers, the images, the emulator and the directory. Exits non-zero on
# any failure. The host's network settings are never touched: containers use
# the host network, never podman's bridge.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD
start=$SECONDS
# fd 3 is the real stderr, also inside steps whose output goes to a file.
exec 3>&2
log() { echo "image-test: $*" >&3; }
fail() {
	echo "image-test: FAIL: $*" >&3
	exit 1
}

[ "$(id -u)" -eq 0 ] || fail "needs root: buildah and podman run rootful here (try sudo make image-test)"

# --- tools -----------------------------------------------------------------
need=()
for t in buildah podman runc; do
	command -v "$t" >/dev/null 2>&1 || need+=("$t")
done
command -v packer >/dev/null 2>&1 || need+=(packer)
if [ "${#need[@]}" -gt 0 ]; then
	command -v apt-get >/dev/null 2>&1 || fail "missing ${need[*]} and no apt-get to install them"
	log "installing ${need[*]} with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
if ! command -v dockerfilelint >/dev/null 2>&1; then
	command -v npm >/dev/null 2>&1 || fail "dockerfilelint is missing and there is no npm to install it"
	log "installing dockerfilelint with npm"
	npm install -g --no-audit --no-fund dockerfilelint@1.8.0 >&2
fi

# --- scratch space and cleanup ----------------------------------------------
work=$(mktemp -d /var/tmp/ami-bakery-image-test.XXXXXX)
# buildah and podman keep temporary files in TMPDIR (default /var/tmp), and
# leave them behind when stopped: keep them in the directory the trap removes.
mkdir "$work/tmp"
export TMPDIR=$work/tmp
id=$(basename "$work" | tr 'A-Z.' 'a-z-')
base_image=localhost/$id/packer-base:debian
image=localhost/$id/ami-bakery:test
go_image=localhost/$id/golang:host
stub_base=localhost/$id/packer-base:stand-in
stub_image=localhost/$id/ami-bakery:stand-in
src_image=localhost/$id/ami-bakery:source
storage=(--root "$work/storage" --runroot "$work/run" --storage-driver vfs)
buildah=(buildah "${storage[@]}")
podman=(podman "${storage[@]}" --tmpdir "$work/podman" --runtime runc --cgroup-manager cgroupfs --events-backend none)
run_opts=(--rm --network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
emu_pid=
containers=()

cleanup() {
	local rc=$?
	set +e
	if [ -n "$emu_pid" ]; then
		kill -TERM "$emu_pid" 2>/dev/null
		wait "$emu_pid" 2>/dev/null
	fi
	for c in "${containers[@]}"; do
		"${podman[@]}" rm --force --ignore "$c" >/dev/null 2>&1
	done
	"${buildah[@]}" rm --all >/dev/null 2>&1
	"${podman[@]}" rmi --force "$image" "$src_image" "$stub_image" "$go_image" "$stub_base" "$base_image" >/dev/null 2>&1
	"${podman[@]}" image prune --force >/dev/null 2>&1
	# conmon and the OCI runtime run beside the container; none may outlive
	# the test. Only processes naming this run's directory are ours.
	local pid cmdline left=()
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		left=()
		for pid in $(ls /proc | grep -E '^[0-9]+$'); do
			[ "$pid" != $$ ] || continue
			cmdline=$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null) || continue
			case $cmdline in *"$work"*) left+=("$pid") ;; esac
		done
		[ "${#left[@]}" -gt 0 ] || break
		sleep 0.5
	done
	if [ "${#left[@]}" -gt 0 ]; then
		log "stopping leftover processes ${left[*]}"
		kill -KILL "${left[@]}" 2>/dev/null
		[ "$rc" -ne 0 ] || rc=1
	fi
	rm -rf "$work"
	if [ "$rc" -eq 0 ]; then
		log "ok ($((SECONDS - start))s)"
	else
		log "failed with status $rc ($((SECONDS - start))s)"
	fi
	exit "$rc"
}
trap cleanup EXIT

# Long steps run through bg: bash does not act on a Ctrl-C that a
# foreground child (buildah, go) handles itself, but the wait builtin
# returns at once, so the signal stops the step and the test.
child=
bg() {
	"$@" &
	child=$!
	local rc=0
	wait "$child" || rc=$?
	child=
	return "$rc"
}
on_signal() {
	trap - INT TERM
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
	fi
	log "interrupted"
	exit 130
}
trap on_signal INT TERM

# interrupted STATUS: ami-bakery exits 130 after an interrupt that podman
# passed on; bash then does not run the INT trap itself.
interrupted() {
	if [ "$1" -eq 130 ]; then
		log "interrupted"
		exit 130
	fi
}

# show NAME FILE: print a file for a person when an assertion fails.
show() {
	echo "---- $1 ----" >&3
	sed 's/^/  /' "$2" >&3 || true
}

# --- lint ------------------------------------------------------------------
# dockerfilelint 1.8 cannot read a tag from a FROM that names an ARG or an
# earlier stage (FROM ${PACKER_IMAGE}, FROM binary-${BINARY}); every image
# ARG here has a tagged default, so that one rule is off.
mkdir -p "$work/lint"
printf 'rules:\n  missing_tag: off\n' >"$work/lint/.dockerfilelintrc"
log "linting the Dockerfile"
dockerfilelint -c "$work/lint" Dockerfile >"$work/lint/out" 2>&1 || {
	show dockerfilelint "$work/lint/out"
	fail "dockerfilelint found problems in the Dockerfile"
}

# --- binaries --------------------------------------------------------------
arch=$(go env GOARCH)
platform=linux/$arch
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
version=image-test
mkdir -p "$work/context/$platform" "$work/bin"
log "building ami-bakery ($platform, static) and awsemu on the host"
CGO_ENABLED=0 GOOS=linux GOARCH=$arch bg go build -trimpath \
	-ldflags "-s -w -X main.version=$version -X main.commit=$commit -X main.date=$date" \
	-o "$work/context/$platform/ami-bakery" ./cmd/ami-bakery
bg go build -o "$work/bin/awsemu" ./cmd/awsemu
if command -v file >/dev/null 2>&1; then
	file "$work/context/$platform/ami-bakery" | grep -q 'statically linked' || fail "ami-bakery is not statically linked"
fi

# --- images ----------------------------------------------------------------
log "assembling $base_image from $(command -v packer)"
BUILDAH_OPTS="${storage[*]}" bg scripts/image-base.sh "$base_image" >/dev/null
log "building $image from the Dockerfile (BINARY=context)"
bg "${buildah[@]}" bud --pull=never --isolation chroot --layers=false \
	--platform "$platform" \
	--build-arg BINARY=context \
	--build-arg PACKER_IMAGE="$base_image" \
	--build-arg VERSION="$version" --build-arg COMMIT="$commit" --build-arg DATE="$date" \
	-f "$repo/Dockerfile" -t "$image" "$work/context" >"$work/build.log" 2>&1 || {
	show "buildah bud" "$work/build.log"
	fail "building the image"
}
grep -q 'amazon builder is built in' "$work/build.log" || {
	show "buildah bud" "$work/build.log"
	fail "the plugin guard did not take the packer < 1.8 branch"
}
# The other branch of the guard, packer 1.8 and later, with a stand-in
# packer that reports 1.14.3 and echoes what it is asked to do.
log "building with a stand-in packer 1.14.3 (the plugin install branch)"
ctr=$("${buildah[@]}" from --pull=never "$base_image")
root=$("${buildah[@]}" mount "$ctr")
printf '%s\n' '#!/bin/sh' 'case "$1" in version) echo "Packer v1.14.3" ;; *) echo "stand-in packer: $*" ;; esac' >"$root/bin/packer"
chmod 755 "$root/bin/packer"
"${buildah[@]}" umount "$ctr" >/dev/null
"${buildah[@]}" commit --quiet --rm "$ctr" "$stub_base" >/dev/null
bg "${buildah[@]}" bud --pull=never --isolation chroot --layers=false --platform "$platform" \
	--build-arg BINARY=context --build-arg PACKER_IMAGE="$stub_base" \
	-f "$repo/Dockerfile" -t "$stub_image" "$work/context" >"$work/build-stub.log" 2>&1 || {
	show "buildah bud (stand-in packer)" "$work/build-stub.log"
	fail "building the image on a packer 1.14 base"
}
for want in 'stand-in packer: plugins install github.com/hashicorp/amazon v1.8.0' 'stand-in packer: plugins installed'; do
	grep -qx "$want" "$work/build-stub.log" || {
		show "buildah bud (stand-in packer)" "$work/build-stub.log"
		fail "on packer 1.14 the build did not run: $want"
	}
done
"${podman[@]}" rmi --force "$stub_image" "$stub_base" >/dev/null

cfg=$("${podman[@]}" image inspect --format '{{.Config.User}} {{.Config.WorkingDir}} {{json .Config.Entrypoint}}' "$image")
[ "$cfg" = '65532:65532 /workdir ["ami-bakery"]' ] || fail "image config: got $cfg"

out=$("${podman[@]}" run "${run_opts[@]}" "$image" version)
[ "$out" = "ami-bakery $version (commit $commit, built $date)" ] || fail "ami-bakery version in the image: got $out"
out=$("${podman[@]}" run "${run_opts[@]}" --entrypoint packer "$image" version)
case $out in "Packer v"*) ;; *) fail "packer version in the image: got $out" ;; esac

# --- the emulator ----------------------------------------------------------
# In a session of its own, so that a Ctrl-C reaches the container (where
# ami-bakery interrupts packer, which then cleans up) but not the emulator
# packer cleans up against; the trap stops it last.
setsid "$work/bin/awsemu" --addr 127.0.0.1:0 --addr-file "$work/emu.addr" --pending-delay 300ms \
	>/dev/null 2>"$work/emu.log" &
emu_pid=$!
for _ in $(seq 100); do
	[ -s "$work/emu.addr" ] && break
	kill -0 "$emu_pid" 2>/dev/null || {
		show awsemu "$work/emu.log"
		fail "awsemu exited"
	}
	sleep 0.1
done
[ -s "$work/emu.addr" ] || fail "awsemu did not start"
endpoint=$(cat "$work/emu.addr")
log "awsemu at $endpoint"

# The emulator takes the account from the access key's last 12 digits. Its
# default subnet ids are derived from account and zone; a wrong one would
# make packer's RunInstances fail, so the derivation is checked by the run.
account=111122223333
subnet=subnet-$(printf 'subnet/%s/us-east-1a' "$account" | sha256sum | cut -c1-17)
# The emulator seeds every region with public images of this owner.
seed_owner=137112412989

# --- the definition ----------------------------------------------------------
wd=$work/workdir
mkdir -p "$wd/ami/packer" "$wd/ami/scripts"
# What packer 1.6.6 needs against the emulator: the endpoint (ami-bakery
# passes AWS_ENDPOINT_URL_EC2 as aws_ec2_endpoint to a template declaring
# it), no STS check and no region list check, and no SSH (communicator none).
cat >"$wd/ami/packer/ami.json" <<EOF
{
  "variables": {
    "config_checksum": "",
    "aws_region": "",
    "aws_subnet_id": "",
    "aws_ec2_endpoint": ""
  },
  "builders": [{
    "type": "amazon-ebs",
    "region": "{{user \`aws_region\`}}",
    "subnet_id": "{{user \`aws_subnet_id\`}}",
    "custom_endpoint_ec2": "{{user \`aws_ec2_endpoint\`}}",
    "skip_credential_validation": true,
    "skip_region_validation": true,
    "source_ami_filter": {
      "filters": {"name": "debian-12-amd64-*", "virtualization-type": "hvm", "root-device-type": "ebs"},
      "owners": ["$seed_owner"],
      "most_recent": true
    },
    "instance_type": "t3.micro",
    "communicator": "none",
    "ami_name": "image-test-{{user \`config_checksum\`}}",
    "tags": {"ami_config_checksum": "{{user \`config_checksum\`}}"}
  }]
}
EOF
printf '#!/bin/sh\necho installing\n' >"$wd/ami/scripts/install.sh"

# The original tool's variables, plus what the emulator needs: credentials
# naming the account, the endpoint, and short polls (AWS_POLL_DELAY_SECONDS
# is packer's waiter delay, 15s by default).
env_opts=(
	-e PACKER_JSON_PATH=ami/packer/ami.json
	-e AMI_DEFINITION_DIRS=ami
	-e AWS_DEFAULT_REGION=us-east-1
	-e AWS_SUBNET_ID="$subnet"
	-e AWS_ACCESS_KEY_ID=AKIAIMAGETEST$account
	-e AWS_SECRET_ACCESS_KEY=image-test-secret
	-e AWS_ENDPOINT_URL_EC2="$endpoint"
	-e AWS_ENDPOINT_URL_STS="$endpoint"
	-e AWS_POLL_DELAY_SECONDS=1
	-e AMI_BAKERY_POLL_INTERVAL=200ms
)
mount=(--mount "type=bind,source=$wd,target=/workdir")

# --- 1: build, with the original command line -----------------------------------
chown -R 65532:65532 "$wd"
containers+=("$id-build")
log "bake 1: the original docker run line (packer builds)"
rc=0
"${podman[@]}" run "${run_opts[@]}" --name "$id-build" "${env_opts[@]}" "${mount[@]}" "$image" \
	>"$work/out1" 2>"$work/err1" || rc=$?
interrupted "$rc"
if [ "$rc" -ne 0 ]; then
	show stdout "$work/out1"
	show stderr "$work/err1"
	show awsemu "$work/emu.log"
	fail "bake 1 exited with status $rc"
fi
ami=$(cat "$work/out1")
[[ $ami =~ ^ami-[0-9a-f]{17}$ ]] || {
	show stdout "$work/out1"
	fail "bake 1: stdout is not one AMI id"
}
grep -q 'running packer' "$work/err1" || {
	show stderr "$work/err1"
	fail "bake 1 did not run packer"
}
grep -q '^packer: ' "$work/err1" || fail "bake 1: no packer output on stderr"
amifile=$wd/ami/packer/.ami_id.json
[ -f "$amifile" ] || fail "bake 1 did not write .ami_id.json in the mount"
grep -q "^  \"ami_id\": \"$ami\",\?$" "$amifile" || {
	show .ami_id.json "$amifile"
	fail ".ami_id.json does not hold $ami"
}
[ "$(stat -c %u "$amifile")" = 65532 ] || fail ".ami_id.json was not written by uid 65532"
log "bake 1 built $ami"

# --- 2: reuse, as another user, with no packer -------------------------------
chown -R 4242:4242 "$wd"
: >"$wd/github_output"
chown 4242:4242 "$wd/github_output"
containers+=("$id-reuse")
log "bake 2: --user 4242:4242, no packer (reuses)"
rc=0
"${podman[@]}" run "${run_opts[@]}" --name "$id-reuse" --user 4242:4242 "${env_opts[@]}" \
	-e AMI_BAKERY_PACKER=/nonexistent/packer -e GITHUB_OUTPUT=/workdir/github_output \
	"${mount[@]}" "$image" >"$work/out2" 2>"$work/err2" || rc=$?
interrupted "$rc"
if [ "$rc" -ne 0 ]; then
	show stdout "$work/out2"
	show stderr "$work/err2"
	fail "bake 2 exited with status $rc"
fi
[ "$(cat "$work/out2")" = "$ami" ] || {
	show stdout "$work/out2"
	fail "bake 2 printed another id than $ami"
}
grep -q "reused $ami" "$work/err2" || {
	show stderr "$work/err2"
	fail "bake 2 did not report reusing $ami"
}
! grep -q 'running packer' "$work/err2" || fail "bake 2 ran packer"
grep -q "^  \"ami_id\": \"$ami\",\?$" "$amifile" || fail ".ami_id.json changed in bake 2"
[ "$(stat -c %u "$amifile")" = 4242 ] || fail ".ami_id.json was not rewritten by uid 4242"
# The GitHub Action's outputs, once the CLI writes them.
if [ -s "$wd/github_output" ]; then
	grep -qx "ami-id=$ami" "$wd/github_output" || {
		show GITHUB_OUTPUT "$wd/github_output"
		fail "GITHUB_OUTPUT has no ami-id=$ami"
	}
	grep -qx 'action=reused' "$wd/github_output" || fail "GITHUB_OUTPUT has no action=reused"
else
	log "note: this ami-bakery writes nothing to GITHUB_OUTPUT; not checked"
fi
log "bake 2 reused $ami"

# --- the default path: BINARY=source ------------------------------------------
if [ "${IMAGE_TEST_SOURCE:-1}" = 0 ]; then
	log "IMAGE_TEST_SOURCE=0: not building BINARY=source"
	exit 0
fi
# The golang stage, offline: this machine's Go in the packer base (for sh),
# the modules from the host's cache (filled now, through the module proxy)
# mounted read-only with GOPROXY=off, and the host's build cache.
bg go mod download
gomodcache=$(go env GOMODCACHE)
gocache=$(go env GOCACHE)
log "assembling $go_image from $(go env GOROOT)"
ctr=$("${buildah[@]}" from --pull=never "$base_image")
root=$("${buildah[@]}" mount "$ctr")
mkdir -p "$root/usr/local"
bg cp -a "$(go env GOROOT)" "$root/usr/local/go"
"${buildah[@]}" umount "$ctr" >/dev/null
"${buildah[@]}" config --entrypoint '[]' \
	--env PATH=/usr/local/go/bin:/usr/local/bin:/usr/bin:/bin \
	--env GOPATH=/go --env GOMODCACHE=/go/pkg/mod --env GOCACHE=/root/.cache/go-build \
	--env GOPROXY=off --env GOTOOLCHAIN=local --env GOFLAGS=-mod=readonly "$ctr"
"${buildah[@]}" commit --quiet --rm "$ctr" "$go_image" >/dev/null
log "building $src_image from the Dockerfile (BINARY=source)"
bg "${buildah[@]}" bud --pull=never --isolation chroot --layers=false \
	--platform "$platform" \
	--volume "$gomodcache:/go/pkg/mod:ro" --volume "$gocache:/root/.cache/go-build" \
	--build-arg BINARY=source \
	--build-arg GO_IMAGE="$go_image" \
	--build-arg PACKER_IMAGE="$base_image" \
	--build-arg VERSION=v0.0.0-source --build-arg COMMIT="$commit" --build-arg DATE="$date" \
	-f Dockerfile -t "$src_image" . >"$work/build-source.log" 2>&1 || {
	show "buildah bud (source)" "$work/build-source.log"
	fail "building the image with BINARY=source"
}
out=$("${podman[@]}" run "${run_opts[@]}" "$src_image" version)
[ "$out" = "ami-bakery v0.0.0-source (commit $commit, built $date)" ] || fail "ami-bakery version in the BINARY=source image: got $out"
"${podman[@]}" run "${run_opts[@]}" --entrypoint /bin/sh "$src_image" -c 'test ! -e /src' ||
	fail "the golang stage's /src leaked into the final image"
log "BINARY=source built the same image"
