#!/usr/bin/env bash
# image-test.sh: build the real Dockerfile without a Docker engine or a
# registry, and bake in the image against the EC2 emulator, the way the
# original tool's README ran it, in CI, as an ordinary user (issue 16):
#
#   docker run --rm -t \
#       -e PACKER_JSON_PATH=`pwd`/example-app/ami/packer/ami.json \
#       -e AMI_DEFINITION_DIRS=`pwd`/example-app/ami/ \
#       --mount type=bind,source=`pwd`,target=`pwd` \
#       --mount type=bind,source=$HOME/.aws/,target=/root/.aws \
#       -e AWS_DEFAULT_REGION -e AWS_SUBNET_ID mechtron/ami-bakery
#
# Steps: lint the Dockerfile (dockerfilelint); assemble a FROM-scratch
# packer base from this machine's packer (scripts/image-base.sh) as
# PACKER_IMAGE; build the static ami-bakery on the host and the image with
# BINARY=context (the goreleaser path: no golang image to pull); start
# awsemu on loopback; make a checkout and ~/.aws/credentials (a profile,
# mode 0600) owned by a CI user, uid 1000; then run that line, verbatim
# but for the image name, with podman (--network host, the emulator's
# endpoint added):
#
#   1. as it is, as root, with -t: packer builds the AMI; with the terminal,
#      everything arrives on stdout, the id last; .ami_id.json is written in
#      the checkout and owned by the CI user;
#   2. the hardened variant, --user 1000:1000, without -t, one byte of the
#      definition changed: packer builds again as that user, stdout is the
#      new id alone;
#   3. as root, without -t, the change reverted and a packer that does not
#      exist: the first id, reused, no packer.
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
		for pid in /proc/[0-9]*; do
			pid=${pid#/proc/}
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
version='image-test'
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
# shellcheck disable=SC2016 # a script for the image, expanded there
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
[ "$cfg" = '0:0 /workdir ["ami-bakery"]' ] || fail "image config: got $cfg"

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

# --- the CI user's checkout ----------------------------------------------------
# The original tool's users run the image from their checkout as an ordinary
# CI user (uid 1000 here, not root), with credentials in ~/.aws: a
# credentials file with a profile, mode 0600, and no AWS_ACCESS_KEY_ID in
# the environment. The checkout is mounted at its own path and the paths
# are absolute.
ci_uid=1000
ci_home=$work/home/ci
wd=$work/checkout
def=$wd/example-app/ami
mkdir -p "$def/packer" "$def/scripts" "$ci_home/.aws"
# What packer 1.6.6 needs against the emulator: the endpoint (ami-bakery
# passes AWS_ENDPOINT_URL_EC2 as aws_ec2_endpoint to a template declaring
# it), no STS check and no region list check, and no SSH (communicator none).
cat >"$def/packer/ami.json" <<EOF
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
printf '#!/bin/sh\necho installing\n' >"$def/scripts/install.sh"
# The emulator takes the account from the access key's last 12 digits.
cat >"$ci_home/.aws/credentials" <<EOF
[default]
aws_access_key_id = AKIAIMAGETEST$account
aws_secret_access_key = image-test-secret
EOF
chmod 700 "$ci_home/.aws"
chmod 600 "$ci_home/.aws/credentials"
chown -R "$ci_uid:$ci_uid" "$wd" "$ci_home"
amifile=$def/packer/.ami_id.json

# docker ARGS: the `docker` of the original line, with podman underneath.
# After `run` it adds only what this offline test cannot do without: this
# run's storage and runtime (podman), --pull=never (no registry), the host
# network and the emulator's endpoints (the line has none), short polls
# (AWS_POLL_DELAY_SECONDS is packer's waiter delay, 15s by default), the
# ulimits, a name for the trap, and then $extra_opts. With tty=0 it drops
# the line's -t, as a user who captures stdout must (see bake 1).
tty=1
extra_opts=()
run_name=
docker() {
	local sub=$1 a args=()
	shift
	for a in "$@"; do
		[ "$a" = -t ] && [ "$tty" = 0 ] && continue
		args+=("$a")
	done
	"${podman[@]}" "$sub" --pull=never --network host \
		--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --name "$run_name" \
		-e AWS_ENDPOINT_URL_EC2="$endpoint" -e AWS_ENDPOINT_URL_STS="$endpoint" -e AWS_POLL_DELAY_SECONDS=1 -e AMI_BAKERY_POLL_INTERVAL=200ms \
		"${extra_opts[@]}" "${args[@]}"
}

# original_line NAME OUT ERR: the original README's line, verbatim but for
# the image's name, run by the CI user's shell from the checkout (HOME,
# working directory, AWS_DEFAULT_REGION and AWS_SUBNET_ID set), as
# container NAME, stdout to OUT and stderr to ERR. Exits the test on a
# failure, showing what it printed.
original_line() {
	local name=$1 out=$2 err=$3 rc=0
	run_name=$name
	containers+=("$name")
	# The line's backquotes and unquoted expansions are kept as written.
	# shellcheck disable=SC2006,SC2046,SC2086
	(
		cd "$wd"
		export HOME=$ci_home AWS_DEFAULT_REGION=us-east-1 AWS_SUBNET_ID=$subnet
		docker run --rm -t \
			-e PACKER_JSON_PATH=`pwd`/example-app/ami/packer/ami.json \
			-e AMI_DEFINITION_DIRS=`pwd`/example-app/ami/ \
			--mount type=bind,source=`pwd`,target=`pwd` \
			--mount type=bind,source=$HOME/.aws/,target=/root/.aws \
			-e AWS_DEFAULT_REGION -e AWS_SUBNET_ID $image
	) >"$out" 2>"$err" || rc=$?
	interrupted "$rc"
	if [ "$rc" -ne 0 ]; then
		show stdout "$out"
		show stderr "$err"
		show awsemu "$work/emu.log"
		fail "$name exited with status $rc"
	fi
}

# owned FILE: FILE belongs to the CI user and is readable by it: mode 0644.
owned() {
	local got
	got=$(stat -c '%u:%g %a' "$1")
	[ "$got" = "$ci_uid:$ci_uid 644" ] || fail "$1: owner and mode $got, want $ci_uid:$ci_uid 644"
}

# --- 1: the original line, as root, with -t: packer builds --------------------
log "bake 1: the original docker run line, as root, with -t (packer builds)"
original_line "$id-root-tty" "$work/out1" "$work/err1"
# With -t the container has one terminal: ami-bakery's stderr and stdout
# (and packer's output) all reach podman's stdout, in order, lines ending
# in \r\n; podman's stderr stays empty. The id is the last line.
tr -d '\r' <"$work/out1" >"$work/out1.lf"
ami=$(tail -n 1 "$work/out1.lf")
[[ $ami =~ ^ami-[0-9a-f]{17}$ ]] || {
	show stdout "$work/out1"
	fail "bake 1: the last line is not an AMI id"
}
grep -q $'\r$' "$work/out1" || fail "bake 1: with -t, lines should end in \\r\\n"
grep -q 'running packer' "$work/out1.lf" || {
	show stdout "$work/out1"
	fail "bake 1 did not run packer, or with -t its log is not on stdout"
}
grep -q '^packer: ' "$work/out1.lf" || fail "bake 1: no packer output"
[ ! -s "$work/err1" ] || {
	show stderr "$work/err1"
	fail "bake 1: with -t, expected nothing on podman's stderr"
}
[ -f "$amifile" ] || fail "bake 1 did not write .ami_id.json in the checkout"
grep -q "^  \"ami_id\": \"$ami\",\?$" "$amifile" || {
	show .ami_id.json "$amifile"
	fail ".ami_id.json does not hold $ami"
}
# Written by root, given the checkout's owner (internal/report ownLikeDir).
owned "$amifile"
log "bake 1 built $ami as root; .ami_id.json is the CI user's"

# --- 2: hardened, --user of the CI user: packer builds ------------------------
# One byte changed in the definition, so packer runs as uid 1000 too (its
# HOME is /root, writable by every user). Without -t: stdout is the answer.
printf '#!/bin/sh\necho installing!\n' >"$def/scripts/install.sh"
tty=0
extra_opts=(--user "$ci_uid:$ci_uid")
log "bake 2: the same line with --user $ci_uid:$ci_uid, no -t, one byte changed (packer builds)"
original_line "$id-user" "$work/out2" "$work/err2"
ami2=$(cat "$work/out2")
if ! [[ $ami2 =~ ^ami-[0-9a-f]{17}$ ]] || [ "$ami2" = "$ami" ]; then
	show stdout "$work/out2"
	fail "bake 2: stdout is not one new AMI id"
fi
grep -q 'running packer' "$work/err2" || {
	show stderr "$work/err2"
	fail "bake 2 did not run packer"
}
grep -q '^packer: ' "$work/err2" || fail "bake 2: no packer output on stderr"
grep -q "^  \"ami_id\": \"$ami2\",\?$" "$amifile" || fail ".ami_id.json does not hold $ami2 after bake 2"
owned "$amifile"
log "bake 2 built $ami2 as uid $ci_uid"

# --- 3: root again, the change reverted, no packer: reuses ---------------------
printf '#!/bin/sh\necho installing\n' >"$def/scripts/install.sh"
: >"$wd/github_output"
chown "$ci_uid:$ci_uid" "$wd/github_output"
extra_opts=(-e AMI_BAKERY_PACKER=/nonexistent/packer -e GITHUB_OUTPUT="$wd/github_output")
log "bake 3: the line as root, no -t, the change reverted, no packer (reuses)"
original_line "$id-reuse" "$work/out3" "$work/err3"
[ "$(cat "$work/out3")" = "$ami" ] || {
	show stdout "$work/out3"
	fail "bake 3 printed another id than $ami"
}
grep -q "reused $ami" "$work/err3" || {
	show stderr "$work/err3"
	fail "bake 3 did not report reusing $ami"
}
! grep -q 'running packer' "$work/err3" || fail "bake 3 ran packer"
grep -q "^  \"ami_id\": \"$ami\",\?$" "$amifile" || fail ".ami_id.json does not hold $ami after bake 3"
owned "$amifile"
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
log "bake 3 reused $ami"

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
