// Memory over a long training run: tfjs tensor count, tfjs bytes, process RSS and JS heap every N steps, with
// evaluation and checkpoints on, so a leak anywhere in the loop shows up as a growing column.
//   npx tsx bench/train-memory.ts [--steps 500] [--every 50] [--preset tiny-4L] [--batch-size 4] [--block-size 32]
//                                 [--backend wasm]
// Prints a table and a one-line verdict (tensor count constant after the first step; RSS growth after warm-up).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, formatBackendReport } from '../lib/backend';
import { makeConfig } from '../lib/model/config';
import { initParams, disposeParams } from '../lib/model/params';
import { ensureDataset, openDataset } from '../lib/data/dataset';
import { train } from '../lib/train/trainer';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

interface Row {
  step: number;
  numTensors: number;
  tfMB: number;
  rssMB: number;
  heapMB: number;
  msPerStep: number;
}

async function main(): Promise<void> {
  const steps = Number(arg('steps', '500'));
  const every = Number(arg('every', '50'));
  const preset = arg('preset', 'tiny-4L');
  const B = Number(arg('batch-size', '4'));
  const T = Number(arg('block-size', '32'));
  const report = await initBackend({ backend: process.argv.includes('--backend') ? arg('backend', 'wasm') : undefined });
  console.log(formatBackendReport(report));
  const cfg = makeConfig(preset);
  const info = await ensureDataset('owt-mini', { quiet: true });
  const trainSrc = openDataset(info, 'train');
  const valSrc = openDataset(info, 'val');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'inheritune-train-memory-'));
  const params = initParams(cfg, { seed: 1 });
  const rows: Row[] = [];
  const mb = (x: number) => x / 2 ** 20;
  const sample = (step: number, msPerStep: number) => {
    const m = tf.memory();
    const u = process.memoryUsage();
    rows.push({ step, numTensors: m.numTensors, tfMB: mb(m.numBytes), rssMB: mb(u.rss), heapMB: mb(u.heapUsed), msPerStep });
  };
  sample(0, NaN);
  const t0 = Date.now();
  try {
    await train({
      params,
      config: cfg,
      preset,
      data: { train: trainSrc, val: valSrc, batchSize: B, blockSize: T, name: 'owt-mini' },
      maxSteps: steps,
      schedule: { lr: 1e-3, warmupIters: 20 },
      logInterval: every,
      eval: { interval: 100, fixedBatches: 2, randomIters: 1, trainIters: 1 },
      checkpointInterval: 250,
      keepCheckpoints: 1,
      outDir: out,
      progress: false,
      onLog: (entries) => {
        const last = entries[entries.length - 1];
        sample(last.step + 1, entries.reduce((a, e) => a + e.ms, 0) / entries.length);
      },
    });
  } finally {
    disposeParams(params);
    trainSrc.close();
    valSrc.close();
    fs.rmSync(out, { recursive: true, force: true });
  }
  console.log(`${preset}, B=${B}, T=${T}, ${steps} steps in ${((Date.now() - t0) / 1000).toFixed(0)} s (eval every 100, checkpoint every 250)`);
  console.log('| step | tensors | tfjs MB | RSS MB | heap MB | ms/step |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.step} | ${r.numTensors} | ${r.tfMB.toFixed(1)} | ${r.rssMB.toFixed(0)} | ${r.heapMB.toFixed(0)} | ${Number.isFinite(r.msPerStep) ? r.msPerStep.toFixed(0) : ''} |`);
  }
  const afterFirst = rows.slice(1);
  const constant = afterFirst.every((r) => r.numTensors === afterFirst[0].numTensors);
  const warm = rows.find((r) => r.step >= Math.min(100, steps)) ?? rows[1];
  const last = rows[rows.length - 1];
  console.log(`tensor count ${constant ? 'constant' : 'NOT constant'} after step ${afterFirst[0]?.step}; ` +
    `RSS ${warm.rssMB.toFixed(0)} MB at step ${warm.step} -> ${last.rssMB.toFixed(0)} MB at step ${last.step} ` +
    `(${(last.rssMB - warm.rssMB >= 0 ? '+' : '')}${(last.rssMB - warm.rssMB).toFixed(0)} MB)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
