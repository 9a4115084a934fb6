#!/usr/bin/env bash
# The main job: set up, then execute every notebook at the chosen scale (default lab; INHERITUNE_SCALE or
# --scale tiny|lab|paper). Executed notebooks and their HTML land in results/notebooks/<scale>/, figures and
# tables in results/<experiment>/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node_modules/.bin/tsx lib/cli/main.ts notebooks "$@"
