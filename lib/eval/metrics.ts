// Per-document metrics and their aggregation, as lm-evaluation-harness computes them (lm_eval/api/metrics.py and
// ConfigurableTask.process_results, reference/data.md §3c):
//   acc       argmax of the choice log-likelihoods == gold (numpy argmax: first maximum)
//   acc_norm  argmax of ll / len(choice) in code points, the " " delimiter not counted
//   LAMBADA   perplexity item = ll of the target, acc = is_greedy; aggregation exp(-mean(ll)) (per example, not per token)
//   WikiText  (ll, words) and (ll, bytes) pairs; exp(-Σll/Σwords), exp(-Σll/Σbytes), -Σll/Σbytes/ln 2
//   acc_bytes (opt-in, as a task's metric_list would add it) argmax of ll / len(choice.encode("utf-8"))
//   v0.3 BoolQ: acc = (ll_yes > ll_no) == label
// Standard errors (./stats): `mean` metrics get mean_stderr, sample std (n-1) / sqrt(n); the LAMBADA perplexity's
// stderr is bootstrapped as the harness does (bootstrap_iters resamples, seeded per chunk); the weighted
// perplexities have none ("N/A"); bootstrap_iters = 0 turns every stderr off, as in v0.4.
import { Instance, MetricSpec } from './tasks';
import { LoglikResult } from './requests';
import { pyLen, utf8Length } from './text';
import { bootstrapStderr, meanStderr as pyMeanStderr, pyMean, resampledPerplexity, sampleStddev as pySampleStddev } from './stats';

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
    // v0.3 BoolQ: requests [yes, no], gold 0 = yes; (ll_yes > ll_no) == label, so a tie (or NaN) predicts "no".
    const pred = inst.yesGtNo ? (lls[0] > lls[1] ? 0 : 1) : npArgmax(lls);
    if (want.has('acc')) out.acc = pred === inst.gold ? 1 : 0;
    // ll / 0 for an empty choice is -Infinity (or NaN for ll = 0), as numpy's float division.
    if (want.has('acc_norm')) out.acc_norm = npArgmax(lls.map((ll, i) => ll / pyLen(inst.choices[i]))) === inst.gold ? 1 : 0;
    if (want.has('acc_bytes')) out.acc_bytes = npArgmax(lls.map((ll, i) => ll / utf8Length(inst.choices[i]))) === inst.gold ? 1 : 0;
  } else if (inst.type === 'loglikelihood') {
    const r = (results as LoglikResult[])[0];
    if (want.has('perplexity')) out.perplexity = r.ll;
    if (want.has('ppl')) out.ppl = r.ll; // v0.3's name
    if (want.has('acc')) out.acc = r.isGreedy ? 1 : 0;
  } else {
    const ll = results as number;
    if (want.has('word_perplexity')) out.word_perplexity = [ll, inst.words];
    if (want.has('byte_perplexity')) out.byte_perplexity = [ll, inst.bytes];
    if (want.has('bits_per_byte')) out.bits_per_byte = [ll, inst.bytes];
  }
  return out;
}

/** Python's sum(xs) / len(xs). */
export function mean(xs: number[]): number {
  return pyMean(xs);
}

/** Sample standard deviation (n - 1 in the denominator). NaN for fewer than 2 items. */
export function sampleStddev(xs: number[]): number {
  return pySampleStddev(xs);
}

/** The harness's mean_stderr: sample std / sqrt(n). */
export function meanStderr(xs: number[]): number {
  return pyMeanStderr(xs);
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
  /** "N/A" where the harness has no stderr function, bootstrap_iters is 0, or n < 2. */
  stderr: number | 'N/A';
}

/**
 * Aggregates one metric's items over the docs (in the order the harness saw them: the bootstrap depends on it).
 * `bootstrapIters`: the harness's bootstrap_iters (0 = no stderrs at all).
 */
export function aggregate(spec: MetricSpec, items: MetricItem[], bootstrapIters: number): Aggregate {
  if (items.length === 0) return { value: NaN, stderr: 'N/A' };
  const finite = (se: number) => (Number.isFinite(se) ? se : 'N/A');
  switch (spec.aggregation) {
    case 'mean': {
      const xs = items as number[];
      return { value: mean(xs), stderr: bootstrapIters > 0 ? finite(meanStderr(xs)) : 'N/A' };
    }
    case 'perplexity': {
      const xs = items as number[];
      const se = bootstrapIters > 0 && xs.length >= 2 ? finite(bootstrapStderr(xs, bootstrapIters, resampledPerplexity)) : 'N/A';
      return { value: Math.exp(-mean(xs)), stderr: se };
    }
    case 'weighted_perplexity':
      return { value: Math.exp(-weightedMean(items as Array<[number, number]>)), stderr: 'N/A' };
    case 'bits_per_byte':
      return { value: -weightedMean(items as Array<[number, number]>) / Math.LN2, stderr: 'N/A' };
  }
}
