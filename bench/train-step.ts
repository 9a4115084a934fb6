// One benchmark run in its own process (so that peak RSS belongs to it): trains one config for a few steps on one
// backend path and prints a `RESULT {json}` line. Started by bench/run.ts; usable alone:
//   npx tsx bench/train-step.ts --config D --backend wasm --native 1 --threads 2 --model fast --steps 10 [--micro m]
//   [--warmup 1] [--budget-s 120]   (stops early, after at least one timed step, once the budget is spent)
import * as tf from '@tensorflow/tfjs';
import { initBackend, formatBackendReport } from '../lib/backend';
import { nativeStatus } from '../lib/backend/native';
import { BENCH_CONFIGS, ConfigKey, makeBatch, makeTrainer, stepFlops } from './common';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
}

export interface StepResult {
  config: ConfigKey;
  backend: string;
  native: boolean;
  threads: number;
  model: 'fast' | 'plain';
  report: string;
  stepsMs: number[];
  /** Process CPU time (user + system, all threads) per timed step: with 1 thread, the step time an idle core would give. */
  cpuMs: number[];
  warmupMs: number[];
  losses: number[];
  flopsPerStep: number;
  tokensPerStep: number;
  peakRssMB: number;
  stoppedByBudget: boolean;
  microBatches: number;
}

async function main(): Promise<void> {
  const key = arg('config', 'D') as ConfigKey;
  const spec = BENCH_CONFIGS[key];
  if (!spec) throw new Error(`unknown config '${key}'; choose A, B, C, D or E`);
  const backend = arg('backend', 'wasm');
  const native = arg('native', '1') !== '0';
  const threads = Number(arg('threads', '1'));
  // The environment decides what initBackend() enables (native kernels and their thread count).
  process.env.INHERITUNE_NATIVE = native ? '1' : '0';
  process.env.INHERITUNE_THREADS = String(threads);
  const report = await initBackend({ backend });
  if (native && !nativeStatus().enabled) throw new Error(`native kernels requested but unavailable: ${nativeStatus().detail}`);
  const model = arg('model', 'fast') === 'plain' ? 'plain' : 'fast';
  const steps = Number(arg('steps', '3'));
  const warmup = Number(arg('warmup', '1'));
  const budgetMs = Number(arg('budget-s', '600')) * 1000;

  // The host backend keeps tensors in Node memory: every config at full batch there.
  const micro = Number(arg('micro', String(report.tfjsName === 'host' ? 1 : spec.microBatches)));
  if (!Number.isInteger(micro) || micro < 1 || spec.batch % micro) throw new Error(`--micro ${micro} must divide the batch ${spec.batch}`);
  const trainer = makeTrainer(spec, model === 'fast', 1, micro);
  const stepsMs: number[] = [];
  const cpuMs: number[] = [];
  const warmupMs: number[] = [];
  const losses: number[] = [];
  const t0 = performance.now();
  let stoppedByBudget = false;
  for (let s = 0; s < warmup + steps; s++) {
    const { idx, targets } = makeBatch(spec, 100 + s);
    const ts = performance.now();
    const c0 = process.cpuUsage();
    losses.push(await trainer.step(idx, targets));
    const ms = performance.now() - ts;
    const c = process.cpuUsage(c0);
    if (s >= warmup) cpuMs.push((c.user + c.system) / 1000);
    tf.dispose([idx, targets]);
    (s < warmup ? warmupMs : stepsMs).push(ms);
    if (s >= warmup && performance.now() - t0 > budgetMs && s < warmup + steps - 1) {
      stoppedByBudget = true;
      break;
    }
  }
  trainer.dispose();
  const result: StepResult = {
    config: key,
    backend: report.name,
    native,
    threads: native ? threads : 1,
    model,
    report: formatBackendReport(report),
    stepsMs,
    cpuMs,
    warmupMs,
    losses,
    flopsPerStep: stepFlops(spec),
    tokensPerStep: spec.batch * spec.cfg.blockSize,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    stoppedByBudget,
    microBatches: micro,
  };
  console.log(`RESULT ${JSON.stringify(result)}`);
}

main().catch((e) => {
  console.error(`ERROR ${(e as Error).message}`);
  process.exit(1);
});
