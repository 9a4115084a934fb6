// A small recipe grid for docs/lazy-layers.md: trains one small GPT per setting on a synthetic dataset, probes the
// rank and sink profile at the end, and prints one markdown row per setting. In-process and seeded.
//   npx tsx scripts/sink-grid.ts [--data synth-backcopy] [--steps 500] [--layers 6] [--width 64] [--out FILE]
// Each row: the setting, the final validation loss, MaxRank per layer, the mean attention on position 0 per layer,
// and whether the deeper half is lazy (MaxRank <= 1.5 in at least half its layers) with an early layer >= 2.5.
import * as fs from 'node:fs';
import { initBackend } from '../lib/backend';
import { makeConfig } from '../lib/model/config';
import { disposeParams, initParams } from '../lib/model/params';
import { ensureDataset, openDataset } from '../lib/data/dataset';
import { train } from '../lib/train/trainer';
import { probeModel, probeWindows } from '../lib/metrics/emergence';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
}

interface Setting {
  heads: number;
  T: number;
  lr: number;
  wd: number;
  scale: boolean;
}

const GRID: Setting[] = [
  { heads: 2, T: 64, lr: 3e-3, wd: 0.1, scale: false },
  { heads: 2, T: 64, lr: 3e-3, wd: 0.1, scale: true },
  { heads: 2, T: 64, lr: 1e-2, wd: 0.1, scale: false },
  { heads: 2, T: 64, lr: 1e-2, wd: 0, scale: false },
  { heads: 2, T: 64, lr: 1e-2, wd: 0.5, scale: false },
  { heads: 4, T: 64, lr: 1e-2, wd: 0.1, scale: false },
  { heads: 1, T: 64, lr: 1e-2, wd: 0.1, scale: false },
  { heads: 2, T: 128, lr: 1e-2, wd: 0.1, scale: false },
  { heads: 2, T: 128, lr: 1e-2, wd: 0.5, scale: false },
  { heads: 2, T: 64, lr: 3e-2, wd: 0, scale: false },
];

async function main(): Promise<void> {
  await initBackend();
  const dataName = arg('data', 'synth-backcopy');
  const steps = Number(arg('steps', '500'));
  const L = Number(arg('layers', '6'));
  const C = Number(arg('width', '64'));
  const out = arg('out', '');
  const info = await ensureDataset(dataName, { quiet: true });
  const trainSrc = openDataset(info, 'train');
  const val = openDataset(info, 'val');
  const rows: string[] = [
    `| heads | T | lr | wd | 1/(l+1) | val loss | MaxRank per layer | attention on position 0 per layer | deep half lazy, early potent | s |`,
    `|---|---|---|---|---|---|---|---|---|---|`,
  ];
  for (const g of GRID) {
    const t0 = performance.now();
    const cfg = makeConfig('tiny-4L', { nLayer: L, nHead: g.heads, nEmbd: C, blockSize: g.T, vocabSize: info.meta?.vocabSize ?? 50304, scaleAttnByInverseLayerIdx: g.scale });
    const params = initParams(cfg, { seed: 1 });
    try {
      const res = await train({
        params, config: cfg, data: { train: trainSrc, val, batchSize: Math.max(1, Math.round(1024 / g.T)), blockSize: g.T },
        maxSteps: steps, schedule: { lr: g.lr, warmupIters: 30 }, optimizer: { weightDecay: g.wd },
        eval: { interval: steps, fixedBatches: 4 }, progress: false,
      });
      const p = await probeModel(params, cfg, probeWindows(val, 16, g.T, 7), steps);
      const ranks = p.layers.map((l) => l.maxRank);
      const deep = ranks.slice(Math.floor(L / 2));
      const ok = deep.filter((r) => r <= 1.5).length >= deep.length / 2 && ranks.slice(0, Math.floor(L / 2)).some((r) => r >= 2.5);
      const val_ = res.history.evals[res.history.evals.length - 1]?.valLoss ?? NaN;
      const row = `| ${g.heads} | ${g.T} | ${g.lr} | ${g.wd} | ${g.scale ? 'on' : 'off'} | ${val_.toFixed(3)} | ${ranks.map((r) => r.toFixed(1)).join(' ')} | ` +
        `${p.layers.map((l) => l.meanSinkMass.toFixed(2)).join(' ')} | ${ok ? 'yes' : 'no'} | ${((performance.now() - t0) / 1000).toFixed(0)} |`;
      rows.push(row);
      console.log(row);
    } finally {
      disposeParams(params);
    }
  }
  trainSrc.close();
  val.close();
  const text = `${dataName}, ${L} layers x ${C} wide, ${steps} steps of ~1024 tokens, AdamW (0.9, 0.95), warmup 30, cosine to lr/10; probe: 16 windows of T\n\n${rows.join('\n')}\n`;
  if (out) fs.writeFileSync(out, text);
  console.log(text);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
