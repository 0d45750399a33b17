#!/bin/sh
# fakepacker.sh: a packer that builds in no time, for bench/run.sh's build
# overhead figure. It takes `packer build`'s arguments, does nothing with
# them, and prints the machine-readable artifact lines of an amazon-ebs build
# whose AMI is $BENCH_AMI in $BENCH_REGION: an AMI that really exists in the
# emulator (run.sh makes it with the real packer first), so ami-bakery
# checks and tags it as it would a new one.
[ "$1" = build ] || { echo "fakepacker: only build is supported" >&2; exit 1; }
: "${BENCH_AMI:?fakepacker: set BENCH_AMI}"
t=1700000000
printf '%s\n' \
	"$t,amazon-ebs,artifact-count,1" \
	"$t,amazon-ebs,artifact,0,builder-id,mitchellh.amazonebs" \
	"$t,amazon-ebs,artifact,0,id,${BENCH_REGION:-us-east-1}:$BENCH_AMI" \
	"$t,amazon-ebs,artifact,0,end"
