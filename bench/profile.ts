// Kernel-level profile of one training step (forward + backward + AdamW) on the running backend.
//   npx tsx bench/profile.ts [--config A|B|C|D] [--path fast|plain] [--top 25]
// Prints kernel time per kernel name (tf.profile), sorted, and the wall time of the profiled step.
import * as tf from '@tensorflow/tfjs';
import { initBackend, formatBackendReport } from '../lib/backend';
import { BENCH_CONFIGS, ConfigKey, makeBatch, makeTrainer } from './common';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

async function main(): Promise<void> {
  const report = await initBackend({ log: false });
  console.log(formatBackendReport(report));
  const key = arg('config', 'D') as ConfigKey;
  const fast = arg('path', 'fast') === 'fast';
  const top = Number(arg('top', '25'));
  const spec = BENCH_CONFIGS[key];
  const trainer = makeTrainer(spec, fast, 1);
  const { idx, targets } = makeBatch(spec, 7);
  for (let i = 0; i < 2; i++) await trainer.step(idx, targets); // warm-up
  const t0 = performance.now();
  const info = await tf.profile(async () => {
    await trainer.step(idx, targets);
  });
  const wall = performance.now() - t0;
  const byName = new Map<string, { ms: number; n: number }>();
  let total = 0;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const e = byName.get(k.name) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n += 1;
    byName.set(k.name, e);
    total += ms;
  }
  const rows = [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top);
  console.log(`config ${key} ${fast ? 'fast' : 'plain'}: profiled step wall ${wall.toFixed(0)} ms, kernel sum ${total.toFixed(0)} ms, ${info.kernels.length} kernels`);
  for (const [name, e] of rows) console.log(`  ${name.padEnd(22)} ${e.ms.toFixed(1).padStart(8)} ms  ${String(e.n).padStart(5)} calls`);
  if (process.argv.includes('--shapes')) {
    const byShape = new Map<string, { ms: number; n: number }>();
    for (const k of info.kernels) {
      const key2 = `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join('x')}`;
      const e = byShape.get(key2) ?? { ms: 0, n: 0 };
      e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      e.n += 1;
      byShape.set(key2, e);
    }
    const srows = [...byShape.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top);
    for (const [name, e] of srows) console.log(`  ${name.padEnd(60)} ${e.ms.toFixed(1).padStart(8)} ms  ${String(e.n).padStart(5)} calls`);
  }
  trainer.dispose();
  tf.dispose([idx, targets]);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
