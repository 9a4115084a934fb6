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

# The project kernel (tslab started at the repository root), under .jupyter/ in this checkout.
node_modules/.bin/tsx lib/cli/main.ts kernel install
node_modules/.bin/tsx lib/cli/main.ts backend
log "done"
