#!/usr/bin/env bash
# Opens the notebooks interactively in Jupyter with the project kernel ("TypeScript (inheritune-lab)").
# Installs Debian's jupyter-notebook on first use. Extra arguments go to `jupyter notebook` (e.g. --port 8890).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! /usr/bin/python3 -c 'import notebook' 2>/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends jupyter-notebook
fi
export JUPYTER_PATH="$PWD/.jupyter/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
extra=()
[ "$(id -u)" -eq 0 ] && extra+=(--allow-root)
exec /usr/bin/python3 -m notebook --notebook-dir="$PWD/notebooks" "${extra[@]}" "$@"
