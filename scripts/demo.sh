#!/usr/bin/env bash
# demo.sh (make demo): the newcomer's first run, entirely offline.
#
# Starts the in-repo EC2 emulator on loopback, then bakes the example app
# with the real packer four times: build, reuse (no packer), build after a
# one-byte change, and reuse of the first AMI after reverting. Then a
# project of many images (examples/project): its graph, a bake that builds
# the parent and then its children, and one that reuses everything. Prints
# what each run decided and how long it took. Leaves no process running.
# DEMO_VERBOSE=1 shows packer's own output too.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-deps.sh
go build -o bin/ami-bakery ./cmd/ami-bakery
go build -o bin/awsemu ./cmd/awsemu

work=$(mktemp -d)
emu_pid=""
cleanup() {
	if [ -n "$emu_pid" ]; then
		kill "$emu_pid" 2>/dev/null || true
		wait "$emu_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bin/awsemu --addr 127.0.0.1:0 --addr-file "$work/addr" --quiet &
emu_pid=$!
for _ in $(seq 100); do [ -s "$work/addr" ] && break; sleep 0.05; done
[ -s "$work/addr" ] || { echo "demo: the emulator did not start" >&2; exit 1; }

cp -r examples/app "$work/app"
AWS_ENDPOINT_URL_EC2="$(cat "$work/addr")"
export AWS_ENDPOINT_URL_EC2
# ami-bakery learns its own account from STS, which the emulator also serves.
export AWS_ENDPOINT_URL_STS="$AWS_ENDPOINT_URL_EC2"
export AWS_ACCESS_KEY_ID=AKID123456789012 AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_POLL_DELAY_SECONDS=1 CHECKPOINT_DISABLE=1 HOME="$work"
echo "demo: EC2 emulator at $AWS_ENDPOINT_URL_EC2, packer $(packer version | head -1)"

rows=()
bakery="$PWD/bin/ami-bakery"
# timed TITLE CMD...: runs CMD, keeping its stdout in $out and its time in
# $took; stderr shows ami-bakery's own lines (all of it with DEMO_VERBOSE=1).
timed() {
	local start end
	echo
	echo "== $1"
	shift
	start=$(date +%s%N)
	if [ "${DEMO_VERBOSE:-}" = 1 ]; then
		out=$("$@")
	else
		out=$("$@" 2> >(grep --line-buffered '^ami-bakery:' >&2))
	fi
	end=$(date +%s%N)
	took=$(awk "BEGIN{print ($end-$start)/1e9}")
}

bake() {
	local ami action
	timed "$1" "$bakery" bake -t "$work/app/packer/app.json" -d "$work/app" --json
	ami=$(sed -n 's/^  "ami_id": "\(.*\)",$/\1/p' <<<"$out")
	action=$(sed -n 's/^  "action": "\(.*\)",$/\1/p' <<<"$out")
	rows+=("$(printf '%-34s %-8s %-22s %6.2fs' "$1" "$action" "$ami" "$took")")
}

bake "1. first run"
bake "2. same definition"
echo "Welcome to example-app, baked by ami-bakery!" > "$work/app/files/motd"
bake "3. one byte changed in files/motd"
cp examples/app/files/motd "$work/app/files/motd"
bake "4. change reverted"

# A project: base, and app and worker built from base's AMI.
cp -r examples/project "$work/project"
in_project() { (cd "$work/project" && "$bakery" "$@"); }
project() {
	local actions
	timed "$1" in_project bake --json
	actions=$(sed -n 's/^      "action": "\(.*\)",$/\1/p' <<<"$out" | sort | uniq -c | awk '{printf "%s%s %s", sep, $1, $2; sep=", "}')
	rows+=("$(printf '%-34s %-31s %6.2fs' "$1" "$actions" "$took")")
}
echo
echo "== the project's graph, and what a bake would do (ami-bakery graph --plan --mermaid)"
in_project graph --plan --mermaid 2>/dev/null
project "5. project: first run"
project "6. project: same definitions"
echo
in_project bake 2>/dev/null

echo
printf '%-34s %-8s %-22s %7s\n' "run" "action" "AMI" "time"
printf '%s\n' "${rows[@]}"
