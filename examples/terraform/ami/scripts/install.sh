#!/bin/sh
# Runs on the build instance. Any change to this file (or to anything else
# under ami/) changes the fingerprint, and so bakes a new AMI.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends nginx
systemctl enable nginx
