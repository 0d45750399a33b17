#!/bin/sh
# What makes the worker image: run once at first boot.
echo "worker ready"
