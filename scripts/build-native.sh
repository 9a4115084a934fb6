#!/usr/bin/env bash
# Builds the optional native kernels (native/, loaded by lib/backend/native.ts): `npm run build:native`.
# Needs OpenBLAS headers (Debian: apt-get install libopenblas-openmp-dev), g++, make, python3 and node-gyp (bundled
# with npm). On failure it leaves no addon behind and exits non-zero with the reason; everything still runs on wasm.
set -euo pipefail
cd "$(dirname "$0")/../native"

gyp="${npm_config_node_gyp:-}"
if [ -z "$gyp" ] || [ ! -f "$gyp" ]; then
  if command -v node-gyp >/dev/null 2>&1; then
    gyp="$(command -v node-gyp)"
  else
    npm_bin="$(readlink -f "$(command -v npm)")"
    gyp="$(dirname "$npm_bin")/../node_modules/node-gyp/bin/node-gyp.js"
  fi
fi
[ -f "$gyp" ] || { echo "build-native: node-gyp not found (it ships with npm)" >&2; exit 1; }
sh find-blas.sh include >/dev/null # fails with the install hint when OpenBLAS is missing

rm -f build/Release/inheritune_native.node
# Build against the running Node's own headers when they are installed (Debian's nodejs ships them in
# /usr/include/node), so nothing is downloaded; npm's `nodedir` setting, when given, wins.
args=()
prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$prefix/include/node/node_api.h" ]; then args+=("--nodedir=$prefix"); fi
node "$gyp" rebuild --release "${args[@]}" "$@"
node -e "const m = require('./build/Release/inheritune_native.node'); console.log('[build-native] ok:', JSON.stringify(m.info()))"
