#!/usr/bin/env bash
# The test command: set up, type-check with both compilers, run every test (unit, parity, leak, loader, and
# every notebook executed at the `tiny` scale). Node's test runner prints the summary CI reads.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# node_modules/.bin/tsc may link to tslab's bundled 5.0.4 fork (npm picks one of the two `tsc` bins): name ours.
TSC=node_modules/typescript/bin/tsc
echo "[test] typecheck with TypeScript $(node $TSC --version | cut -d' ' -f2), strict"
node $TSC --noEmit -p .
node scripts/check-tslab-compile.cjs
mapfile -t files < <(find test -name '*.test.ts' | sort)
echo "[test] ${#files[@]} test files"
export INHERITUNE_SCALE=tiny
# spec output for people, TAP into a file for the one-line summary at the end.
tap=$(mktemp)
status=0
node_modules/.bin/tsx --test --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" "$@" "${files[@]}" || status=$?
pass=$(sed -n 's/^# pass //p' "$tap" | tail -1)
fail=$(sed -n 's/^# fail //p' "$tap" | tail -1)
skip=$(sed -n 's/^# skipped //p' "$tap" | tail -1)
rm -f "$tap"
echo "${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
exit $status
