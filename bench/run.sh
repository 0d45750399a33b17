#!/usr/bin/env bash
# run.sh (make bench): measure ami-bakery against baselines run on the same
# machine in the same run, and print a table of each figure, its baseline,
# the ratio and PASS or FAIL against the target. BENCHMARKS.md has a run's
# table and says how each figure is measured.
#
# Hashing is judged against this machine's own limits, measured in the same
# run: large files against SHA-256 on all cores from memory (@sha256), small
# files against `benchtool floor`. The ratios to sha1sum and to
# find | xargs sha1sum are printed for information only: they are a property
# of the CPU (SHA-256 instructions speed up SHA-256 and not SHA-1: on one
# Intel VM ami-bakery was 3.5x sha1sum, and 1.15x with them switched off by
# GODEBUG=cpu.sha=off), not of ami-bakery.
#
# Everything happens in temporary directories that are removed at the end
# (the generated trees in BENCH_TREES_DIR, default TMPDIR), with the in-repo
# EC2 emulator on loopback (stopped at the end), the real packer for one
# build, /usr/bin/aws as a baseline client, and `benchtool raw-describe` (one
# signed DescribeImages by hand) as the floor of a no-op. The machine is shared, so
# commands are timed round-robin by `benchtool race` (medians of BENCH_ROUNDS
# rounds, default 9, after warm-up rounds): every command sees the same load,
# and only ratios measured together are compared. Takes about a minute once
# the Go build cache is warm; needs go, packer, /usr/bin/aws, /usr/bin/time
# (scripts/ensure-deps.sh installs them), git, sha1sum, find and xargs.
#
# BENCH_NOOP_ROUNDS (default 31) sets the rounds of the no-op against one
# raw round trip: both take milliseconds, so more rounds cost little and
# steady the ratio on a loaded machine.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${BENCH_ROUNDS:-9}
noop_rounds=${BENCH_NOOP_ROUNDS:-31}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
SECONDS=0
say() { echo "bench: [${SECONDS}s] $*" >&2; }
die() {
	say "error: $*"
	exit 1
}

for c in go packer git sha1sum find xargs; do
	command -v "$c" >/dev/null || die "$c is missing (scripts/ensure-deps.sh installs packer and awscli)"
done
[ -x /usr/bin/aws ] || die "/usr/bin/aws is missing: run scripts/ensure-deps.sh"
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is missing: run scripts/ensure-deps.sh"

# The trees to fingerprint go in TMPDIR like the rest, or in BENCH_TREES_DIR:
# creating 120,000 files on a disk that other work keeps busy can take a
# minute or more, and a tmpfs avoids that. (Hashing from a warm page cache
# was measured within 6% on ext4 and on tmpfs, for both tools.)
trees_base=${BENCH_TREES_DIR:-${TMPDIR:-/tmp}}
work=$(mktemp -d "${TMPDIR:-/tmp}/ami-bakery-bench.XXXXXX")
trees=""
emu_pid=""
cleanup() {
	if [ -n "$emu_pid" ]; then
		kill "$emu_pid" 2>/dev/null || true
		wait "$emu_pid" 2>/dev/null || true
	fi
	rm -rf "$work" ${trees:+"$trees"}
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ami-bakery is built as releases are (.goreleaser.yaml, Dockerfile: static,
# stripped), since that is what users run, and installed by copying, as a
# download is. Both matter for peak RSS, which counts the executable's
# resident pages: the `make build` binary (cgo, symbols) peaks some 2 MB
# higher, and run straight from the file the Go linker wrote it was seen to
# count up to 3 MB more of its text as resident (the same process, the same
# anonymous memory).
say "building"
bin=$work/bin
mkdir -p "$bin" "$work/build"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/build/ami-bakery" ./cmd/ami-bakery
go build -o "$bin/awsemu" ./cmd/awsemu
go build -o "$bin/benchtool" ./bench/benchtool
install -m 755 "$work/build/ami-bakery" "$bin/ami-bakery"
install -m 755 bench/fakepacker.sh "$bin/fakepacker"
bt=$bin/benchtool
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- cmd internal 2>/dev/null || commit="$commit+changes"

# Large files first, so that any writeback is over before they are hashed.
trees=$(mktemp -d "$trees_base/ami-bakery-bench-trees.XXXXXX")
trees_fs=$(df -PT "$trees" | awk 'NR == 2 { print $2 }')
say "generating the trees to fingerprint in $trees ($trees_fs)"
"$bt" gen-large "$trees/large" 1024 4
"$bt" gen-large "$trees/large64" 64 4
"$bt" gen-small "$trees/small1k" 1000
"$bt" gen-small "$trees/small20k" 20000
"$bt" gen-small "$trees/small100k" 100000
for t in large large64 small1k small20k small100k; do
	echo '{"builders": []}' >"$trees/$t/ami.json"
done

# Measure the defaults, not this shell's settings: nothing from the caller's
# AWS_* (a sandbox's AWS_CA_BUNDLE alone makes the SDK parse a CA bundle on
# every run), no ~/.aws, no Go runtime tuning.
while read -r v; do
	case $v in AWS_* | GOGC | GODEBUG | GOMAXPROCS | GOMEMLIMIT) unset "$v" ;; esac
done < <(compgen -e)
export HOME=$work/home
mkdir -p "$HOME"

# Without --quiet the emulator logs one line per call: "awsemu: REGION
# ACCOUNT ACTION STATUS DURATION".
"$bin/awsemu" --addr 127.0.0.1:0 --addr-file "$work/addr" >/dev/null 2>"$work/calls.log" &
emu_pid=$!
for _ in $(seq 100); do [ -s "$work/addr" ] && break; sleep 0.05; done
[ -s "$work/addr" ] || die "the emulator did not start"
url=$(cat "$work/addr")
export AWS_ENDPOINT_URL_EC2=$url AWS_ENDPOINT_URL_STS=$url AWS_ACCESS_KEY_ID=AKID123456789012 AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=""
export AWS_POLL_DELAY_SECONDS=1 CHECKPOINT_DISABLE=1
# awscli 2.9 does not read AWS_ENDPOINT_URL_EC2.
aws() { /usr/bin/aws --endpoint-url "$url" "$@"; }

# calls_since MARK ACTION REGION: calls of ACTION (or of any action, for
# "*") in REGION logged after line MARK. A call is logged just before its
# answer is sent; the pause lets the last line land.
calls_since() {
	sleep 0.2
	tail -n +"$(($1 + 1))" "$work/calls.log" | awk -v a="$2" -v r="$3" '$1 == "awsemu:" && $2 == r && (a == "*" || $4 == a) { n++ } END { print n + 0 }'
}
mark() { wc -l <"$work/calls.log"; }

# The example app, as a git checkout (ami-bakery records the commit).
cp -r examples/app "$work/app"
git -C "$work/app" -c init.defaultBranch=main init -q
git -C "$work/app" add -A
git -C "$work/app" -c user.name=bench -c user.email=bench@localhost commit -qm bench
tmpl=$work/app/packer/app.json
def=(-t "$tmpl" -d "$work/app")
fp=$("$bin/ami-bakery" checksum "${def[@]}")

# The emulator makes one RSA key per process, on the first CreateKeyPair
# (~0.1 s); make it now so that no timed run pays for it.
aws ec2 create-key-pair --key-name bench-warm-up --query KeyName --output text >/dev/null
aws ec2 delete-key-pair --key-name bench-warm-up

say "building the example AMI with the real packer"
start=$(date +%s%N)
ami=$("$bin/ami-bakery" bake "${def[@]}" 2>"$work/build.log") || {
	cat "$work/build.log" >&2
	die "the build failed"
}
real_wall_ms=$((($(date +%s%N) - start) / 1000000))
case $ami in ami-*) ;; *) die "the build printed $ami, not an AMI id" ;; esac
# "packer built the AMI ... took=4.219s", timed by ami-bakery around packer.
real_packer_ms=$(sed -n 's/.*packer built the AMI.* took=\([0-9.]*\)\(m*s\).*/\1 \2/p' "$work/build.log" |
	awk '{ print ($2 == "ms") ? $1 : $1 * 1000 }')
[ -n "$real_packer_ms" ] || die "no packer time in the build log"

say "counting API calls of a no-op bake"
m=$(mark)
out=$("$bin/ami-bakery" bake "${def[@]}" 2>/dev/null)
[ "$out" = "$ami" ] || die "the no-op bake printed $out, want $ami"
calls1_di=$(calls_since "$m" DescribeImages us-east-1)
calls1_sts=$(calls_since "$m" GetCallerIdentity us-east-1)
calls1_all=$(calls_since "$m" '*' us-east-1)
# A second region: copy the AMI there once, then count a no-op in both.
# --regions is every region, the first the primary (where builds happen):
# given eu-west-1 alone it would build there instead of copying.
"$bin/ami-bakery" bake "${def[@]}" --regions us-east-1,eu-west-1 --poll-interval 100ms >/dev/null 2>"$work/copy.log" || {
	cat "$work/copy.log" >&2
	die "copying to eu-west-1 failed"
}
grep -q "ami-bakery: copied" "$work/copy.log" || {
	cat "$work/copy.log" >&2
	die "the AMI was not copied to eu-west-1"
}
m=$(mark)
"$bin/ami-bakery" bake "${def[@]}" --regions us-east-1,eu-west-1 >/dev/null 2>&1
calls2_di_use1=$(calls_since "$m" DescribeImages us-east-1)
calls2_di_euw1=$(calls_since "$m" DescribeImages eu-west-1)
calls2_sts=$(($(calls_since "$m" GetCallerIdentity us-east-1) + $(calls_since "$m" GetCallerIdentity eu-west-1)))
calls2_all=$(($(calls_since "$m" '*' us-east-1) + $(calls_since "$m" '*' eu-west-1)))

# maxrss N CMD...: the median over N runs of CMD's peak RSS in KiB, as GNU
# time reports it (%M: ru_maxrss, the figure benchtool race reads too).
maxrss() {
	local n=$1
	shift
	for _ in $(seq "$n"); do
		/usr/bin/time -f %M -o "$work/maxrss" "$@" >/dev/null 2>&1 || die "$* failed"
		cat "$work/maxrss"
	done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

say "timing the no-op decision against one raw DescribeImages round trip"
# The floor of any no-op: a process that makes the one call the no-op must
# make, signed by hand (the SDK's signer, net/http), with the same query,
# to the same emulator. The two alternate, round after round.
raw=("$bt" raw-describe "$url" us-east-1 ami_config_checksum "$fp")
[ "$("${raw[@]}")" = "$ami" ] || die "benchtool raw-describe does not find $ami"
load_raw_before=$(cut -d' ' -f1-3 /proc/loadavg)
"$bt" race -n "$noop_rounds" -w 3 -- \
	raw "${raw[@]}" ::: \
	noop "$bin/ami-bakery" bake "${def[@]}" >"$work/raw.txt"
load_raw_after=$(cut -d' ' -f1-3 /proc/loadavg)

say "measuring the peak RSS of the no-op, of version and of the raw round trip"
noop_kib=$(maxrss 9 "$bin/ami-bakery" bake "${def[@]}")
raw_kib=$(maxrss 9 "${raw[@]}")
version_kib=$(maxrss 9 "$bin/ami-bakery" version)
bin_bytes=$(stat -c %s "$bin/ami-bakery")

say "timing the no-op decision against aws ec2 describe-images"
lookup=(ec2 describe-images --owners self --filters "Name=tag:ami_config_checksum,Values=$fp" "Name=state,Values=available,pending"
	--query 'Images[0].ImageId' --output text)
[ "$(aws "${lookup[@]}")" = "$ami" ] || die "aws ec2 describe-images does not find $ami"
"$bt" race -n "$rounds" -w 2 -- \
	noop "$bin/ami-bakery" bake "${def[@]}" ::: \
	aws /usr/bin/aws --endpoint-url "$url" "${lookup[@]}" >"$work/noop.txt"

say "timing a build with a packer that takes no time"
# Each run gets a new fingerprint ({n}), so each one builds: look up, lock,
# look up again, run packer, check and tag the AMI, unlock, write outputs.
# fakepacker prints $BENCH_AMI as the artifact; the no-op figures are taken
# already, since these builds re-tag that AMI.
export BENCH_AMI=$ami BENCH_REGION=us-east-1
"$bin/ami-bakery" bake "${def[@]}" --packer "$bin/fakepacker" --var bench_run=check 2>"$work/fake.log" >/dev/null
grep -q "ami-bakery: built $ami" "$work/fake.log" || {
	cat "$work/fake.log" >&2
	die "a build with fakepacker did not build"
}
m=$(mark)
"$bt" race -n "$rounds" -w 2 -- \
	bake "$bin/ami-bakery" bake "${def[@]}" --packer "$bin/fakepacker" --var "bench_run={n}" ::: \
	packer "$bin/fakepacker" build -machine-readable -color=false -var "config_checksum=$fp" -var aws_region=us-east-1 \
	-var "aws_ec2_endpoint=$url" -var "bench_run=0" "$tmpl" >"$work/build.txt"
# Each build takes the build lock once: a run that found an AMI would not.
locks=$(calls_since "$m" CreateKeyPair us-east-1)
[ "$locks" = $((rounds + 2)) ] || die "$((rounds + 2)) builds took the lock $locks times"

say "timing fingerprints of 1 GiB in 4 files, against the SHA-256 limit and sha1sum"
sync # the generated files are written out: no writeback competes with the hashing
large=("$trees"/large/disk*.img)
"$bt" race -n "$rounds" -w 1 -- \
	bakery "$bin/ami-bakery" checksum -t "$trees/large/ami.json" -d "$trees/large" ::: \
	limit @sha256 "${large[@]}" >"$work/large.txt"
"$bt" race -n 5 -w 1 -- \
	bakery "$bin/ami-bakery" checksum -t "$trees/large/ami.json" -d "$trees/large" ::: \
	sha1sum sha1sum "${large[@]}" ::: \
	limit @sha256 "${large[@]}" >"$work/sha1sum.txt"

say "timing fingerprints of 20,000 small files against the floor and find | xargs sha1sum"
# $0 is for the inner sh to expand: the tree.
# shellcheck disable=SC2016
"$bt" race -n "$rounds" -w 1 -- \
	bakery "$bin/ami-bakery" checksum -t "$trees/small20k/ami.json" -d "$trees/small20k" ::: \
	xargs sh -c 'find "$0" -type f | xargs sha1sum' "$trees/small20k" ::: \
	floor "$bt" floor "$trees/small20k" >"$work/small.txt"

say "measuring memory against tree size"
"$bt" race -n 3 -w 1 -- \
	small1k "$bin/ami-bakery" checksum -t "$trees/small1k/ami.json" -d "$trees/small1k" ::: \
	small100k "$bin/ami-bakery" checksum -t "$trees/small100k/ami.json" -d "$trees/small100k" ::: \
	large64 "$bin/ami-bakery" checksum -t "$trees/large64/ami.json" -d "$trees/large64" >"$work/mem.txt"

# field FILE NAME N: field N of NAME's line (2 median s, 3 min s, 4 max s,
# 5 median peak RSS KiB, 6 median of the per-round ratio to the first command,
# 7 median CPU s (user and system), 8 the per-round ratio of CPU times).
# Ratios are the per-round ones: each compares two runs made one after the
# other, so load that comes and goes between rounds moves them less.
field() { awk -v n="$2" -v f="$3" '$1 == n { print $f }' "$1"; }
noop_s=$(field "$work/noop.txt" noop 2)
rnoop_s=$(field "$work/raw.txt" noop 2)
rnoop_x=$(field "$work/raw.txt" noop 6)
raw_s=$(field "$work/raw.txt" raw 2)
rnoop_cpu=$(field "$work/raw.txt" noop 7)
rnoop_cpux=$(field "$work/raw.txt" noop 8)
raw_cpu=$(field "$work/raw.txt" raw 7)
aws_s=$(field "$work/noop.txt" aws 2)
aws_x=$(field "$work/noop.txt" aws 6)
bake_s=$(field "$work/build.txt" bake 2)
packer_s=$(field "$work/build.txt" packer 2)
large_s=$(field "$work/large.txt" bakery 2)
large_kib=$(field "$work/large.txt" bakery 5)
limit_s=$(field "$work/large.txt" limit 2)
limit_x=$(field "$work/large.txt" limit 6)
large2_s=$(field "$work/sha1sum.txt" bakery 2)
sha1_s=$(field "$work/sha1sum.txt" sha1sum 2)
sha1_x=$(field "$work/sha1sum.txt" sha1sum 6)
small_s=$(field "$work/small.txt" bakery 2)
small_kib=$(field "$work/small.txt" bakery 5)
xargs_s=$(field "$work/small.txt" xargs 2)
xargs_x=$(field "$work/small.txt" xargs 6)
floor_s=$(field "$work/small.txt" floor 2)
floor_x=$(field "$work/small.txt" floor 6)
limit2_s=$(field "$work/sha1sum.txt" limit 2)
k1_kib=$(field "$work/mem.txt" small1k 5)
k100_kib=$(field "$work/mem.txt" small100k 5)
m64_kib=$(field "$work/mem.txt" large64 5)

pf() { if [ "$1" = 1 ]; then echo PASS; else echo FAIL; fi; }
calc() { awk "BEGIN { $1 }"; }

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
# SHA-256 instructions, which crypto/sha256 uses where the CPU has them:
# "sha_ni" among the flags on x86, "sha2" among the Features on arm64. They
# set the SHA-256 limit, and the ratios to sha1sum move with them.
sha_hw=$(awk -F': *' '$1 ~ /^(flags|Features)[[:space:]]*$/ {
	n = split($2, f, " ")
	for (i = 1; i <= n; i++) if (f[i] == "sha_ni" || f[i] == "sha2") { print f[i]; exit }
}' /proc/cpuinfo)
if [ -n "$sha_hw" ]; then sha_hw="SHA-256 instructions: yes ($sha_hw)"; else sha_hw="SHA-256 instructions: no"; fi
echo
echo "ami-bakery $commit (release build), $(date -u +%Y-%m-%d), $(nproc) CPUs ($cpu; $sha_hw), Linux $(uname -r), $(go version | cut -d' ' -f3),"
echo "packer $(packer version | head -1 | cut -d' ' -f2), $(/usr/bin/aws --version | cut -d' ' -f1); medians of $rounds rounds ($noop_rounds for the raw round trip, 5 for 1 GiB, 3 for memory, 9 for /usr/bin/time);"
echo "trees on $trees_fs, warm page cache; load average $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after, $load_raw_before -> $load_raw_after around the raw round trip (the limit and the floor use all cores, as ami-bakery does; other work on the machine costs them more than the serial sha1sum baselines)"
echo
echo "| Figure | ami-bakery | Baseline, same run | Ratio | Target | Result |"
echo "|---|---|---|---|---|---|"
calc "r = $rnoop_x; printf \"| No-op decision against one raw round trip: start to AMI id printed | %.1f ms | benchtool raw-describe, one signed DescribeImages by hand, its process included: %.1f ms | %.2fx | <= 1.3x | %s |\n\", $rnoop_s * 1000, $raw_s * 1000, r, (r <= 1.3) ? \"PASS\" : \"FAIL\""
calc "printf \"| Informational: the no-op and the raw round trip above in CPU time (user and system), which waiting for a core does not inflate | %.1f ms | benchtool raw-describe: %.1f ms | %.2fx | | INFO |\n\", $rnoop_cpu * 1000, $raw_cpu * 1000, $rnoop_cpux"
calc "r = $aws_x; printf \"| No-op decision: start to AMI id printed, fingerprint included | %.1f ms | aws ec2 describe-images, the lookup alone: %.0f ms | %.0fx | >= 10x | %s |\n\", $noop_s * 1000, $aws_s * 1000, r, (r >= 10) ? \"PASS\" : \"FAIL\""
calc "mb = $noop_kib * 1024 / 1e6; printf \"| No-op decision: peak RSS (/usr/bin/time %%M) | %.1f MB | benchtool raw-describe: %.1f MB | | <= 25 MB | %s |\n\", mb, $raw_kib * 1024 / 1e6, (mb <= 25) ? \"PASS\" : \"FAIL\""
calc "mb = $version_kib * 1024 / 1e6; printf \"| ami-bakery version: peak RSS (/usr/bin/time %%M) | %.1f MB | | | <= 16 MB | %s |\n\", mb, (mb <= 16) ? \"PASS\" : \"FAIL\""
calc "printf \"| Release binary (CGO_ENABLED=0, -trimpath, -s -w) | %.1f MB | | | | INFO |\n\", $bin_bytes / 1e6"
# Besides one DescribeImages per region: one STS GetCallerIdentity (the
# caller's account, for the owner check), and with several regions the
# sharing check of each region's AMI against its source (issue 18).
echo "| No-op decision: API calls, one region | $calls1_di DescribeImages, $calls1_sts GetCallerIdentity, $calls1_all calls in all | | | 1 DescribeImages per region, 1 GetCallerIdentity | $(pf "$([ "$calls1_di" = 1 ] && [ "$calls1_sts" = 1 ] && echo 1)") |"
echo "| No-op decision: API calls, two regions | $calls2_di_use1 + $calls2_di_euw1 DescribeImages, $calls2_sts GetCallerIdentity, $calls2_all calls in all | | | 1 DescribeImages per region, 1 GetCallerIdentity | $(pf "$([ "$calls2_di_use1" = 1 ] && [ "$calls2_di_euw1" = 1 ] && [ "$calls2_sts" = 1 ] && echo 1)") |"
calc "g = 1073741824 / 1e9; r = $limit_x; printf \"| Fingerprint, 1 GiB in 4 files, warm cache | %.2f GB/s | the limit: SHA-256 on all cores, from memory: %.2f GB/s | %.2fx | >= 0.85x | %s |\n\", g / $large_s, g / $limit_s, r, (r >= 0.85) ? \"PASS\" : \"FAIL\""
calc "r = $floor_x; printf \"| Fingerprint, 20,000 files of 0-4 KiB, warm cache | %.0f files/s | the floor: only open, fstat, read, SHA-256 and close, on all cores (benchtool floor): %.0f files/s | %.2fx | >= 0.85x | %s |\n\", 20000 / $small_s, 20000 / $floor_s, r, (r >= 0.85) ? \"PASS\" : \"FAIL\""
calc "g = 1073741824 / 1e9; printf \"| Informational, not a target (depends on the CPU's SHA-256 instructions): 1 GiB against sha1sum; in brackets, the limit against sha1sum | %.2f GB/s | sha1sum: %.2f GB/s | %.1fx (%.1fx) | | INFO |\n\", g / $large2_s, g / $sha1_s, $sha1_x, $sha1_s / $limit2_s"
calc "printf \"| Informational, not a target: 20,000 small files against find \\\\| xargs sha1sum; in brackets, the floor against it | %.0f files/s | find \\\\| xargs sha1sum: %.0f files/s | %.1fx (%.1fx) | | INFO |\n\", 20000 / $small_s, 20000 / $xargs_s, $xargs_x, $xargs_s / $floor_s"
calc "d = ($large_kib - $m64_kib) * 1024 / 1e6; printf \"| Peak RSS, 64 MiB -> 1 GiB (4 files) | %.1f -> %.1f MB | | %+.1f MB | flat (+2 MB at most) | %s |\n\", $m64_kib * 1024 / 1e6, $large_kib * 1024 / 1e6, d, (d <= 2) ? \"PASS\" : \"FAIL\""
calc "b = ($k100_kib - $k1_kib) * 1024 / 99000; printf \"| Peak RSS, 1k -> 20k -> 100k small files | %.1f -> %.1f -> %.1f MB | | %.0f bytes/file | none: contents are streamed, a path and hash per file kept | INFO |\n\", $k1_kib * 1024 / 1e6, $small_kib * 1024 / 1e6, $k100_kib * 1024 / 1e6, b"
calc "o = ($bake_s - $packer_s) * 1000; printf \"| Build overhead: bake minus the packer it runs (packer that takes no time) | %.1f ms | that packer run alone: %.1f ms | %.1f ms | < 100 ms | %s |\n\", $bake_s * 1000, $packer_s * 1000, o, (o < 100) ? \"PASS\" : \"FAIL\""
calc "o = $real_wall_ms - $real_packer_ms; printf \"| Build overhead, real packer (one build) | %.2f s | packer, as timed by ami-bakery: %.2f s | %.0f ms | < 100 ms | %s |\n\", $real_wall_ms / 1000, $real_packer_ms / 1000, o, (o < 100) ? \"PASS\" : \"FAIL\""
