// The rank-analysis protocol (paper §1.2: N windows of T tokens, every layer's and head's attention pattern, k* by
// SVD) on config C's model, timed in its own process: forward (incl. copying patterns off the backend) and SVD.
//   npx tsx bench/rank-protocol.ts --native 1 --threads 2 --model fast [--n 100] [--t 100] [--batch 10]
//     [--preset gpt2-xl --backend host]   (another model shape, e.g. the paper's largest, on the host backend)
// The SVDs run through LAPACK when the native addon is on, else ml-matrix (lib/metrics/rank singularValuesBatch).
// Random init and random tokens: only the time matters here. Prints a `RESULT {json}` line.
import * as tf from '@tensorflow/tfjs';
import { initBackend, formatBackendReport } from '../lib/backend';
import { nativeStatus } from '../lib/backend/native';
import { initParams, disposeParams } from '../lib/model/params';
import { gptPatternSource } from '../lib/metrics/gpt-patterns';
import { measureAttentionRanks } from '../lib/metrics/measure';
import { BENCH_CONFIGS } from './common';
import { makeConfig } from '../lib/model/config';
import { Rng } from '../lib/util/rng';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
}

async function main(): Promise<void> {
  const native = arg('native', '1') !== '0';
  const threads = Number(arg('threads', '1'));
  process.env.INHERITUNE_NATIVE = native ? '1' : '0';
  process.env.INHERITUNE_THREADS = String(threads);
  const report = await initBackend({ backend: arg('backend', 'wasm') });
  const N = Number(arg('n', '100'));
  const T = Number(arg('t', '100'));
  const batchSize = Number(arg('batch', '10'));
  const preset = arg('preset', '');
  const cfg = preset ? makeConfig(preset) : BENCH_CONFIGS.C.cfg;
  const params = initParams(cfg, { seed: 3, trainable: false });
  const rng = new Rng(4);
  const windows = Array.from({ length: N }, () => Int32Array.from({ length: T }, () => rng.int(cfg.vocabSize)));
  const res = await measureAttentionRanks(gptPatternSource(params, cfg), windows, { N, T, batchSize, meanMatrix: false });
  disposeParams(params);
  const out = {
    native,
    // lib/metrics uses LAPACK through the addon whenever it is loaded (also with the tfjs kernels off)
    svd: native && nativeStatus().enabled ? 'LAPACK dgesdd (native addon)' : 'ml-matrix (JavaScript)',
    threads: native ? threads : 1,
    report: formatBackendReport(report),
    model: preset || 'config C',
    N,
    T,
    batchSize,
    forwardMs: res.timings.forwardMs,
    svdMs: res.timings.svdMs,
    totalMs: res.timings.totalMs,
    matrices: res.timings.matrices,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    tensorsLeft: tf.memory().numTensors,
  };
  console.log(`RESULT ${JSON.stringify(out)}`);
}

main().catch((e) => {
  console.error(`ERROR ${(e as Error).message}`);
  process.exit(1);
});
