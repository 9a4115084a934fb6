// Per-document metrics and their aggregation, as lm-evaluation-harness computes them (lm_eval/api/metrics.py and
// ConfigurableTask.process_results, reference/data.md §3c):
//   acc       argmax of the choice log-likelihoods == gold (numpy argmax: first maximum)
//   acc_norm  argmax of ll / len(choice) in code points, the " " delimiter not counted
//   LAMBADA   perplexity item = ll of the target, acc = is_greedy; aggregation exp(-mean(ll)) (per example, not per token)
//   WikiText  (ll, words) and (ll, bytes) pairs; exp(-Σll/Σwords), exp(-Σll/Σbytes), -Σll/Σbytes/ln 2
// Standard errors: `mean` metrics get the harness's mean_stderr, sample std (n-1) / sqrt(n). The harness bootstraps
// the LAMBADA perplexity's stderr (100k resamples) and gives none for the weighted perplexities; we report "N/A"
// for every perplexity-type metric.
import { Instance, MetricSpec } from './tasks';
import { LoglikResult } from './requests';
import { pyLen } from './text';

/** numpy.argmax: the first maximum; a NaN counts as the maximum (the first NaN wins). */
export function npArgmax(xs: number[]): number {
  let best = 0;
  for (let i = 0; i < xs.length; i++) {
    if (Number.isNaN(xs[i])) return i;
    if (xs[i] > xs[best]) best = i;
  }
  return best;
}

/** A per-document metric item: a number, or (ll, weight) for the weighted aggregations. */
export type MetricItem = number | [number, number];

/** The harness's process_results for one doc. `results` are the doc's request results, in request order. */
export function processResults(inst: Instance, results: LoglikResult[] | number, metrics: MetricSpec[]): Record<string, MetricItem> {
  const want = new Set(metrics.map((m) => m.metric));
  const out: Record<string, MetricItem> = {};
  if (inst.type === 'multiple_choice') {
    const lls = (results as LoglikResult[]).map((r) => r.ll);
    if (want.has('acc')) out.acc = npArgmax(lls) === inst.gold ? 1 : 0;
    // ll / 0 for an empty choice is -Infinity (or NaN for ll = 0), as numpy's float division.
    if (want.has('acc_norm')) out.acc_norm = npArgmax(lls.map((ll, i) => ll / pyLen(inst.choices[i]))) === inst.gold ? 1 : 0;
  } else if (inst.type === 'loglikelihood') {
    const r = (results as LoglikResult[])[0];
    if (want.has('perplexity')) out.perplexity = r.ll;
    if (want.has('acc')) out.acc = r.isGreedy ? 1 : 0;
  } else {
    const ll = results as number;
    if (want.has('word_perplexity')) out.word_perplexity = [ll, inst.words];
    if (want.has('byte_perplexity')) out.byte_perplexity = [ll, inst.bytes];
    if (want.has('bits_per_byte')) out.bits_per_byte = [ll, inst.bytes];
  }
  return out;
}

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n - 1 in the denominator). NaN for fewer than 2 items. */
export function sampleStddev(xs: number[]): number {
  if (xs.length < 2) return NaN;
  const mu = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - mu) ** 2, 0) / (xs.length - 1));
}

/** The harness's mean_stderr: sample std / sqrt(n). */
export function meanStderr(xs: number[]): number {
  return sampleStddev(xs) / Math.sqrt(xs.length);
}

function weightedMean(items: Array<[number, number]>): number {
  let a = 0;
  let b = 0;
  for (const [x, w] of items) {
    a += x;
    b += w;
  }
  return a / b;
}

export interface Aggregate {
  value: number;
  /** "N/A" where the harness has no closed form (or n < 2). */
  stderr: number | 'N/A';
}

/** Aggregates one metric's items over the docs. */
export function aggregate(spec: MetricSpec, items: MetricItem[]): Aggregate {
  if (items.length === 0) return { value: NaN, stderr: 'N/A' };
  switch (spec.aggregation) {
    case 'mean': {
      const xs = items as number[];
      const se = meanStderr(xs);
      return { value: mean(xs), stderr: Number.isFinite(se) ? se : 'N/A' };
    }
    case 'perplexity':
      return { value: Math.exp(-mean(items as number[])), stderr: 'N/A' };
    case 'weighted_perplexity':
      return { value: Math.exp(-weightedMean(items as Array<[number, number]>)), stderr: 'N/A' };
    case 'bits_per_byte':
      return { value: -weightedMean(items as Array<[number, number]>) / Math.LN2, stderr: 'N/A' };
  }
}
