// Standard errors exactly as lm-evaluation-harness computes them (lm_eval/api/metrics.py stderr_for_metric,
// bootstrap_stderr and _bootstrap_internal at HEAD; lm_eval/metrics.py at v0.3.0):
//   mean        mean_stderr = sample_stddev / sqrt(n)  (closed form)
//   perplexity  bootstrap: iters // chunk chunks of chunk = min(1000, iters) resamples, chunk i drawn with
//               random.Random(i).choices(xs, k=len(xs)); stderr = sample_stddev of all replicates
//   weighted_perplexity, bits_per_byte: no stderr function ("N/A")
//   bootstrap_iters <= 0: v0.4 computes no stderr at all ("N/A" for every metric)
// The replicates use CPython's Mersenne Twister (./pyrandom), so the numbers are the harness's, not just alike.
import { PyRandom } from './pyrandom';

/** The harness's default --bootstrap_iters (simple_evaluate in v0.3 and v0.4). */
export const DEFAULT_BOOTSTRAP_ITERS = 100000;

/** Python's mean: sum left to right, then divide (CPython 3.11's float sum; 3.12 compensates, ~1 ulp apart). */
export function pyMean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

/** sample_stddev: sqrt(sum((x - mu)^2) / (n - 1)). NaN for fewer than 2 items. */
export function sampleStddev(xs: ArrayLike<number>): number {
  if (xs.length < 2) return NaN;
  const mu = pyMean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i] - mu) ** 2;
  return Math.sqrt(s / (xs.length - 1));
}

/** mean_stderr: sample std / sqrt(n). */
export function meanStderr(xs: ArrayLike<number>): number {
  return sampleStddev(xs) / Math.sqrt(xs.length);
}

/** The harness's perplexity aggregation: exp(-mean(lls)). */
export function perplexityOf(lls: ArrayLike<number>): number {
  return Math.exp(-pyMean(lls));
}

/**
 * bootstrap_stderr(f, xs, iters) for a statistic of a resample. The resample is passed as an index list into xs
 * plus xs itself, so no array of values is built per replicate. `iters` below 1000 makes one chunk of `iters`.
 */
export function bootstrapStderr(
  xs: ArrayLike<number>,
  iters: number,
  statistic: (xs: ArrayLike<number>, idx: Uint32Array) => number,
): number {
  if (!(Number.isInteger(iters) && iters > 0)) throw new Error(`bootstrap iterations must be a positive integer, got ${iters}`);
  const n = xs.length;
  const chunk = Math.min(1000, iters);
  const chunks = Math.floor(iters / chunk);
  const reps = new Float64Array(chunks * chunk);
  const idx = new Uint32Array(n); // reused: the statistic must not keep it
  let r = 0;
  for (let i = 0; i < chunks; i++) {
    const rnd = new PyRandom(i);
    for (let c = 0; c < chunk; c++) reps[r++] = statistic(xs, rnd.choiceIndices(n, n, idx));
  }
  return sampleStddev(reps);
}

/** perplexity of a resample: exp(-mean), summed in the resample's order as Python does. */
export function resampledPerplexity(xs: ArrayLike<number>, idx: Uint32Array): number {
  let s = 0;
  for (let i = 0; i < idx.length; i++) s += xs[idx[i]];
  return Math.exp(-(s / idx.length));
}
