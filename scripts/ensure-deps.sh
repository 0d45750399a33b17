#!/usr/bin/env bash
# ensure-deps.sh: install what the end-to-end tests and the demo need, if
# missing: Debian's packer (1.6.6, amazon-ebs built in), awscli (used as
# an independent EC2 client in a test), python3-yaml (the examples' YAML
# checks) and GNU time (make bench's peak RSS figures). Needs root and
# Debian's apt.
set -euo pipefail
need=()
command -v packer >/dev/null 2>&1 || need+=(packer)
[ -x /usr/bin/aws ] || need+=(awscli)
# PyYAML for Debian's python3, which the examples' YAML checks fall back to.
/usr/bin/python3 -c 'import yaml' >/dev/null 2>&1 || need+=(python3-yaml)
[ -x /usr/bin/time ] || need+=(time)
if [ "${#need[@]}" -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "ensure-deps: missing ${need[*]}; install them (Debian: apt-get install ${need[*]})" >&2
	exit 1
fi
echo "ensure-deps: installing ${need[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
