#!/bin/sh
# What makes the app image: run once at first boot.
echo "app ready"
