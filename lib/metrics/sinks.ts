// Attention-sink diagnostics: the early signals of a lazy layer (reference/sinks.md), which move long before k*
// reaches 1. Pure functions over row-major Float32/Float64 arrays; the model coupling is in ./sink-measure.
//
//   sink mass (per head)     mean attention on window position 0 over query rows i >= SINK_FIRST_ROW; a head is a
//                            sink head when it is above SINK_THRESHOLD (Gu et al., arXiv 2410.10781: eps = 0.3)
//   entropy fraction         sum_i H(A_i.) / sum_i log(i + 1) over rows i >= 1: 1 for uniform causal attention,
//                            0 for attention on one key per row (a sink, or the diagonal)
//   position-0 norm ratio    ||x_0|| / median_t ||x_t|| of the residual stream (massive activations, Sun et al.)
//                            or of the value vectors (value drain, Guo et al.)
//   block influence          1 - mean_t cos(x_in_t, x_out_t) (ShortGPT, Men et al. 2024)
//   angular distance         arccos(cos(x_in_T-1, x_out_T-1)) / pi at the last position (Gromov et al. 2024, n = 1)

/** Query rows 0..4 see at most 5 keys, so their weight on position 0 is large by construction: left out. */
export const SINK_FIRST_ROW = 5;
export const SINK_THRESHOLD = 0.3;

/** First query row of the sink-mass average for windows of T tokens (all rows but 0 when T is small). */
export function sinkFirstRow(T: number): number {
  return Math.min(SINK_FIRST_ROW, Math.max(1, T - 1));
}

/**
 * Sink mass and entropy fraction of one (T, T) causal attention matrix stored at `off` in `a` (row-major).
 * Rows are probability rows over keys 0..i; entries above the diagonal are ignored.
 */
export function headSinkStats(a: ArrayLike<number>, off: number, T: number): { sinkMass: number; entropyFraction: number } {
  const first = sinkFirstRow(T);
  let mass = 0;
  for (let i = first; i < T; i++) mass += a[off + i * T];
  let h = 0;
  let hUniform = 0;
  for (let i = 1; i < T; i++) {
    const row = off + i * T;
    for (let j = 0; j <= i; j++) {
      const p = a[row + j];
      if (p > 0) h -= p * Math.log(p);
    }
    hUniform += Math.log(i + 1);
  }
  return { sinkMass: mass / (T - first), entropyFraction: T > 1 ? h / hUniform : 0 };
}

/** Euclidean norm of row `r` of a row-major (rows, C) array. */
function rowNorm(x: ArrayLike<number>, r: number, C: number): number {
  let s = 0;
  for (let c = 0; c < C; c++) {
    const v = x[r * C + c];
    s += v * v;
  }
  return Math.sqrt(s);
}

function median(v: Float64Array): number {
  const s = Float64Array.from(v).sort();
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/**
 * ||x_0|| / median_t ||x_t|| for each of B windows of x, (B, T, C) row-major (a residual stream, or value vectors
 * with heads side by side, (B, T, nh * hs)). Infinity when the median norm is 0 and ||x_0|| is not.
 */
export function position0NormRatios(x: ArrayLike<number>, B: number, T: number, C: number): Float64Array {
  const out = new Float64Array(B);
  const norms = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) norms[t] = rowNorm(x, b * T + t, C);
    const m = median(norms);
    out[b] = m > 0 ? norms[0] / m : norms[0] > 0 ? Infinity : 1;
  }
  return out;
}

/**
 * Block influence and angular distance between a block's input and output residuals, each (B, T, C) row-major.
 * Returns sums over windows (the caller divides by the number of windows): blockInfluence of each window is
 * 1 - mean_t cos; angularDistance uses the last position only, as Gromov et al. do.
 */
export function blockChangeSums(xin: ArrayLike<number>, xout: ArrayLike<number>, B: number, T: number, C: number): { blockInfluence: number; angularDistance: number } {
  let bi = 0;
  let ang = 0;
  for (let b = 0; b < B; b++) {
    let cosSum = 0;
    for (let t = 0; t < T; t++) {
      const r = b * T + t;
      const c = cosine(xin, xout, r * C, C);
      cosSum += c;
      if (t === T - 1) ang += Math.acos(Math.max(-1, Math.min(1, c))) / Math.PI;
    }
    bi += 1 - cosSum / T;
  }
  return { blockInfluence: bi, angularDistance: ang };
}

function cosine(x: ArrayLike<number>, y: ArrayLike<number>, off: number, C: number): number {
  let xy = 0;
  let xx = 0;
  let yy = 0;
  for (let c = 0; c < C; c++) {
    const a = x[off + c];
    const b = y[off + c];
    xy += a * b;
    xx += a * a;
    yy += b * b;
  }
  if (xx === 0 && yy === 0) return 1; // two zero vectors: no change
  if (xx === 0 || yy === 0) return 0;
  return xy / Math.sqrt(xx * yy);
}

/** Fraction of heads whose sink mass is above the threshold. */
export function sinkRate(sinkMass: ArrayLike<number>, threshold = SINK_THRESHOLD): number {
  let n = 0;
  for (let i = 0; i < sinkMass.length; i++) if (sinkMass[i] > threshold) n++;
  return sinkMass.length ? n / sinkMass.length : 0;
}
