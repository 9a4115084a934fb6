// The rank-analysis protocol (paper §1.2: N windows of T tokens, every layer's and head's attention pattern, k* by
// SVD) on config C's model, timed in its own process: forward (incl. copying patterns off the backend) and SVD.
//   npx tsx bench/rank-protocol.ts --native 1 --threads 2 --model fast [--n 100] [--t 100] [--batch 10]
// Random init and random tokens: only the time matters here. Prints a `RESULT {json}` line.
import * as tf from '@tensorflow/tfjs';
import { initBackend, formatBackendReport } from '../lib/backend';
import { nativeSingularValues } from '../lib/backend/native';
import { initParams, disposeParams } from '../lib/model/params';
import { gptPatternSource } from '../lib/metrics/gpt-patterns';
import { measureAttentionRanks } from '../lib/metrics/measure';
import { BENCH_CONFIGS } from './common';
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
  const cfg = BENCH_CONFIGS.C.cfg;
  const params = initParams(cfg, { seed: 3 });
  const rng = new Rng(4);
  const windows = Array.from({ length: N }, () => Int32Array.from({ length: T }, () => rng.int(cfg.vocabSize)));
  const res = await measureAttentionRanks(gptPatternSource(params, cfg), windows, { N, T, batchSize, meanMatrix: false });
  disposeParams(params);
  // The same number of SVDs through LAPACK in the native addon (not used by lib/metrics yet): attention-like causal
  // softmax matrices, in chunks of 1000 to bound memory.
  let nativeSvdMs: number | undefined;
  if (native) {
    const count = res.timings.matrices;
    const chunk = Math.min(1000, count);
    const a = new Float64Array(chunk * T * T);
    for (let m = 0; m < chunk; m++) {
      for (let i = 0; i < T; i++) {
        let z = 0;
        for (let j = 0; j <= i; j++) z += a[(m * T + i) * T + j] = Math.exp(2 * rng.normal());
        for (let j = 0; j <= i; j++) a[(m * T + i) * T + j] /= z;
      }
    }
    const s0 = performance.now();
    for (let done = 0; done < count; done += chunk) {
      const n = Math.min(chunk, count - done);
      nativeSingularValues(n === chunk ? a : a.subarray(0, n * T * T), n, T, T);
    }
    nativeSvdMs = performance.now() - s0;
  }
  const out = {
    nativeSvdMs,
    native,
    threads: native ? threads : 1,
    report: formatBackendReport(report),
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
