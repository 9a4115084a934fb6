#!/usr/bin/env bash
# The main job: set up, then execute every notebook at the chosen scale (default lab; INHERITUNE_SCALE or
# --scale tiny|lab|paper) and data regime. Without --regime or INHERITUNE_REGIME it runs both regimes: natural text
# (owt-mini, every notebook) then the synthetic regime (synth, notebooks 02-06). Executed notebooks and their HTML
# land in results/notebooks/<scale>/<regime>/, figures and tables in results/<notebook>/<scale>/<regime>/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
regime_given=no
for a in "$@"; do case "$a" in --regime|--regime=*) regime_given=yes ;; esac; done
if [ "$regime_given" = no ] && [ -z "${INHERITUNE_REGIME:-}" ]; then set -- "$@" --regime owt-mini,synth; fi
exec node_modules/.bin/tsx lib/cli/main.ts notebooks "$@"
