#!/bin/sh
# Target CPU of the build: this machine's (the addon is compiled where it runs), or INHERITUNE_NATIVE_MARCH
# (e.g. x86-64-v3) when node_modules is meant to be copied to other machines.
echo "-march=${INHERITUNE_NATIVE_MARCH:-native}"
