#!/usr/bin/env bash
# The recipe search of docs/lazy-layers.md: trains 12-layer models on the synthetic datasets with a few settings,
# keeps a checkpoint every --every steps, and profiles every checkpoint with `rank` (emergence over training).
# Usage: bash scripts/recipe-search.sh OUT_ROOT NAME DATA STEPS EVERY [train options...]
# Example: bash scripts/recipe-search.sh /tmp/search iid-noscale synth-iid 600 100 --attn-layer-scale off --lr 3e-3
set -euo pipefail
cd "$(dirname "$0")/.."
root=$1 name=$2 data=$3 steps=$4 every=$5
shift 5
out="$root/$name"
mkdir -p "$out"
start=$(date +%s)
node_modules/.bin/tsx lib/cli/main.ts train --preset lab-12L --data "$data" --block-size 128 --batch-size 8 \
  --steps "$steps" --warmup 50 --eval-interval "$every" --checkpoint-interval "$every" --keep-checkpoints 1000 \
  --out "$out" --overwrite --quiet "$@"
end=$(date +%s)
echo "$name: trained $steps steps in $((end - start)) s" | tee "$out/train-time.txt"
# The paper's protocol (100 x 100) with the sink diagnostics on the final checkpoint, then every checkpoint on 32 windows.
node_modules/.bin/tsx lib/cli/main.ts rank --model "$(ls -d "$out"/checkpoints/step-* | tail -1)" --data "$data" --out "$out/rank" > "$out/rank.txt" 2>&1 || cat "$out/rank.txt"
node_modules/.bin/tsx lib/cli/main.ts rank --model "$out" --data "$data" --n 32 --out "$out/emergence" > "$out/emergence.txt" 2>&1 || cat "$out/emergence.txt"
