# syntax=docker/dockerfile:1
#
# The ami-bakery image: ami-bakery and packer (with its amazon plugin). It
# runs as root by default, as the original 2019 tool's image did, so the
# original's command line works unchanged (a CI user's checkout mounted at
# its own path, credentials in the mounted /root/.aws):
#
#   docker run --rm -t \
#     -e PACKER_JSON_PATH=`pwd`/example-app/ami/packer/ami.json \
#     -e AMI_DEFINITION_DIRS=`pwd`/example-app/ami/ \
#     --mount type=bind,source=`pwd`,target=`pwd` \
#     --mount type=bind,source=$HOME/.aws/,target=/root/.aws \
#     -e AWS_DEFAULT_REGION -e AWS_SUBNET_ID ghcr.io/ami-bakery/ami-bakery
#
# It prints the AMI id and writes {"ami_id": ...} to .ami_id.json beside the
# template; run as root, ami-bakery gives that file the owner of the
# directory it is in. Root reads the CI user's 0600 credentials and writes
# its checkout; a fixed non-root uid in the image could do neither.
#
# The hardened variant is the same image with --user "$(id -u):$(id -g)":
# no root in the container, and the CI user's own uid reads its credentials
# and writes its checkout. HOME is /root for every user and, like /tmp,
# writable by all (packer keeps its config and cache under HOME), so the
# same /root/.aws mount serves both. Where a platform wants a non-root uid
# without knowing the checkout's owner (Kubernetes runAsNonRoot), use
# --user 65532 (the ami-bakery user in /etc/passwd), credentials from the
# environment or the platform, and a volume that uid can write.
#
# The ami-bakery binary is built first and copied in, the release-tool
# convention. BINARY picks where it comes from:
#
#   source   (default) compile it in a golang stage from this directory:
#            docker build --build-arg VERSION=v1.2.3 --build-arg COMMIT=... .
#   context  copy the static binary at ${TARGETPLATFORM}/ami-bakery in the
#            build context, e.g. linux/amd64/ami-bakery: goreleaser's layout
#            (.goreleaser.yaml) and scripts/image-test.sh's, neither of
#            which needs the golang image.
#
# buildah and podman choose the stages to build before they apply an ARG's
# default: with them, always pass --build-arg BINARY=source (or context).
#
# PACKER_IMAGE is the base: any image with packer and sh (plus mkdir and
# chmod) on PATH. The default is HashiCorp's official image; since packer
# 1.10 no longer bundles the amazon builder, it is installed here, at build
# time, for packer 1.8 and later (packer 1.6 and 1.7 have it built in). An
# HCL2 template that requires other plugins needs `packer init` before the
# build; the plugin directory is writable for that.

ARG PACKER_VERSION=1.14.3
ARG PACKER_IMAGE=hashicorp/packer:${PACKER_VERSION}
ARG GO_IMAGE=golang:1.26-alpine
ARG BINARY=source

# Compile on the build platform, for the target platform.
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS binary-source
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG COMMIT=
ARG DATE=
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/ami-bakery ./cmd/ami-bakery

# A binary that was built before the image (goreleaser, image-test.sh).
FROM scratch AS binary-context
ARG TARGETPLATFORM
COPY ${TARGETPLATFORM}/ami-bakery /out/ami-bakery

# hadolint ignore=DL3006
FROM binary-${BINARY} AS binary

# hadolint ignore=DL3006
FROM ${PACKER_IMAGE}
ARG AMAZON_PLUGIN_VERSION=v1.8.0
ARG VERSION=dev
ARG COMMIT=
ARG DATE=

LABEL org.opencontainers.image.title="ami-bakery" \
      org.opencontainers.image.description="Idempotent Packer AMI builds: print the AMI for a definition, building it only when it changed" \
      org.opencontainers.image.source="https://github.com/ami-bakery/ami-bakery" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${DATE}"

# HOME and the plugin directory are fixed paths, the same for root and for
# whatever --user the container runs as: packer finds the plugins installed
# below, and the AWS SDKs in ami-bakery and packer find credentials and
# config mounted at /root/.aws. Both directories are writable by every
# user, like /tmp (packer keeps its plugin sockets in /tmp, its config and
# cache under HOME; `packer init` installs into the plugin directory). No
# phoning home for version checks.
ENV HOME=/root \
    PACKER_PLUGIN_PATH=/usr/local/share/packer/plugins \
    CHECKPOINT_DISABLE=1

# packer 1.6 and 1.7 have no "plugins" command and the amazon builder built
# in; later versions install it (AMAZON_PLUGIN_VERSION empty: the latest).
# The case pattern matches "Packer v1.0." to "Packer v1.7." only.
RUN set -e; \
    mkdir -p /tmp "$HOME" "$PACKER_PLUGIN_PATH" /workdir; \
    case "$(packer version)" in \
      "Packer v1."[0-7]"."*) echo "packer before 1.8: the amazon builder is built in" ;; \
      *) packer plugins install github.com/hashicorp/amazon ${AMAZON_PLUGIN_VERSION} && packer plugins installed ;; \
    esac; \
    echo "ami-bakery:x:65532:65532:ami-bakery:$HOME:/sbin/nologin" >> /etc/passwd; \
    echo "ami-bakery:x:65532:" >> /etc/group; \
    chmod 1777 /tmp "$HOME" "$PACKER_PLUGIN_PATH" /workdir

COPY --from=binary /out/ami-bakery /usr/local/bin/ami-bakery

# Root, explicitly, whatever the base image's user: see the top of this file.
USER 0:0
WORKDIR /workdir
ENTRYPOINT ["ami-bakery"]
