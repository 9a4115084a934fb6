#!/usr/bin/env bash
# Sets up a fresh machine (Debian, Node >= 20.19, root or sudo): npm packages from the lockfile, Debian's Jupyter
# pieces that execute notebooks headless, Chromium for figure PNGs, and the project's notebook kernel.
# Idempotent: every step is skipped when already done. Nothing is downloaded at run time afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }

# Node: tslab emits require(), and arquero 8 is ESM-only: loading it through require(esm) needs Node >= 20.19.
node -e '
const [maj, min] = process.versions.node.split(".").map(Number);
if (maj < 20 || (maj === 20 && min < 19)) { console.error(`[setup] Node ${process.version} is too old: need >= 20.19`); process.exit(1); }'

# npm packages: reinstall when the lockfile changed since the last install. @tensorflow/tfjs-node-gpu is optional:
# without internet or CUDA its install fails and npm carries on (the backend then falls back to wasm).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund
else
  log "npm packages up to date"
fi

# Debian packages: nbclient/nbconvert run notebooks headless; chromium renders figures to PNG and checks exports.
need=()
/usr/bin/python3 -c 'import nbclient, nbconvert, nbformat, jupyter_client' 2>/dev/null ||
  need+=(jupyter-nbconvert python3-nbclient python3-nbformat jupyter-client)
command -v chromium >/dev/null 2>&1 || [ -n "${INHERITUNE_NO_CHROMIUM:-}" ] || need+=(chromium)
if [ "${#need[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  log "apt-get install ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  log "Debian packages present"
fi

# ---- Optional: native kernels for the wasm backend (native/, lib/backend/native.ts) -------------------------------
# An N-API addon over Debian's OpenBLAS that replaces wasm's matMul, softmax, elementwise, reduction and copy kernels
# (several times faster training; `npm run bench` measures it). Skipped with INHERITUNE_NATIVE=0. If it cannot be
# built, setup carries on and everything runs on plain wasm; `backend` below then says why.
build_native() {
  local addon=native/build/Release/inheritune_native.node
  if [ -f "$addon" ] && [ -z "$(find native/src native/binding.gyp -newer "$addon" 2>/dev/null)" ]; then
    log "native kernels up to date"; return 0
  fi
  if ! sh native/find-blas.sh include >/dev/null 2>&1 || ! command -v g++ >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1; then
    local SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    log "apt-get install libopenblas-openmp-dev g++ make (native kernels)"
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        libopenblas-openmp-dev g++ make >/dev/null; } || { log "could not install OpenBLAS: native kernels skipped"; return 0; }
  fi
  log "building native kernels (npm run build:native)"
  bash scripts/build-native.sh >/tmp/inheritune-build-native.log 2>&1 ||
    log "native kernels not built (log: /tmp/inheritune-build-native.log); continuing on plain wasm"
}
if [ "${INHERITUNE_NATIVE:-}" = "0" ]; then log "native kernels skipped (INHERITUNE_NATIVE=0)"; else build_native; fi

# The project kernel (tslab started at the repository root), under .jupyter/ in this checkout.
node_modules/.bin/tsx lib/cli/main.ts kernel install
node_modules/.bin/tsx lib/cli/main.ts backend
log "done"
