#!/usr/bin/env bash
# The test command: set up, type-check with both compilers, run every test (unit, parity, leak, loader, and
# every notebook executed at the `tiny` scale). Node's test runner prints the summary CI reads.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "[test] typecheck (TypeScript $(node_modules/.bin/tsc --version | cut -d' ' -f2), strict)"
node_modules/.bin/tsc --noEmit -p .
node scripts/check-tslab-compile.cjs
mapfile -t files < <(find test -name '*.test.ts' | sort)
echo "[test] ${#files[@]} test files"
export INHERITUNE_SCALE=tiny
exec node_modules/.bin/tsx --test --test-reporter=spec "$@" "${files[@]}"
