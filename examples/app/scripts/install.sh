#!/bin/sh
# Runs at the builder instance's first boot (as user data), so the example
# needs no SSH: a real template would use provisioners instead.
set -eu
install -m 0644 /dev/stdin /etc/motd <<'MOTD'
Welcome to example-app, baked by ami-bakery.
MOTD
echo "example-app installed"
