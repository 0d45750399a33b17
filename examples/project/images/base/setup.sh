#!/bin/sh
# What makes the base image: run once at first boot.
echo "base ready"
