// Quick measurements of the running backend, shown by the setup notebook and the benchmark.
import * as tf from '@tensorflow/tfjs';

export interface MatMulTiming {
  n: number;
  /** Median milliseconds for one n x n float32 matMul, result read back. */
  ms: number;
  gflops: number;
}

/** Times square matMuls (2 warm-ups, then the median of `reps`). Allocates nothing that outlives the call. */
export async function measureMatMul(sizes: number[], reps = 5): Promise<MatMulTiming[]> {
  const out: MatMulTiming[] = [];
  for (const n of sizes) {
    const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
    const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
    const times: number[] = [];
    for (let r = 0; r < reps + 2; r++) {
      const t0 = performance.now();
      const c = tf.matMul(a, b);
      await c.data();
      c.dispose();
      if (r >= 2) times.push(performance.now() - t0);
    }
    tf.dispose([a, b]);
    times.sort((x, y) => x - y);
    const ms = times[Math.floor(times.length / 2)];
    out.push({ n, ms, gflops: (2 * n * n * n) / (ms * 1e6) });
  }
  return out;
}
