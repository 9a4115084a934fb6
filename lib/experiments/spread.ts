// Seeds and their spread: every compared model of notebooks 03-05 trains once per seed of the setup (LabSetup.seeds),
// and a verdict compares arms by their mean over seeds, counting a difference only when it exceeds the seeds' spread.
//
// The rule (stated in the notebooks): arms A and B differ when |mean(A) − mean(B)| > max(minEffect, std(A) + std(B)),
// with std the sample standard deviation over seeds (n − 1; 0 for a single seed). Otherwise they are tied: the
// difference is within run-to-run noise. A single seed has no measured spread, so only minEffect guards it (and the
// verdict says so).

export interface Spread {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1); 0 when n = 1. */
  std: number;
  min: number;
  max: number;
  values: number[];
}

/** Mean, sample std, min and max of a list of finite numbers; an empty or non-finite list is an error. */
export function spreadOf(values: readonly number[]): Spread {
  if (!values.length) throw new Error('spreadOf needs at least one value');
  const bad = values.find((v) => !Number.isFinite(v));
  if (bad !== undefined) throw new Error(`spreadOf needs finite values, got ${bad}`);
  const n = values.length;
  const mean = values.reduce((a, v) => a + v, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { n, mean, std, min: Math.min(...values), max: Math.max(...values), values: [...values] };
}

/** A group of per-seed results of one arm or method: its first result and the spreads every seed table shows. */
export interface SeedGroup<R> {
  first: R;
  valLoss: Spread;
  /** Over the seeds that evaluated before the first update (NaN otherwise); null when none did. */
  valLossAtInit: Spread | null;
  seeds: number[];
}

/** Groups per-seed results by key, in first-seen order. */
export function groupSeeds<R extends { valLoss: number; valLossAtInit: number; seed: number }>(
  results: readonly R[], keyOf: (r: R) => string,
): SeedGroup<R>[] {
  const by = new Map<string, R[]>();
  for (const r of results) by.set(keyOf(r), [...(by.get(keyOf(r)) ?? []), r]);
  return [...by.values()].map((rs) => {
    const init = rs.map((r) => r.valLossAtInit).filter(Number.isFinite);
    return { first: rs[0], valLoss: spreadOf(rs.map((r) => r.valLoss)), valLossAtInit: init.length ? spreadOf(init) : null, seeds: rs.map((r) => r.seed) };
  });
}

export type Comparison = 'lower' | 'tied' | 'higher';

export interface Difference {
  /** mean(a) − mean(b). */
  delta: number;
  /** The margin |delta| must exceed: max(minEffect, std(a) + std(b)). */
  margin: number;
  /** a's mean is lower / higher than b's by more than the margin, else tied. */
  outcome: Comparison;
}

/** The default smallest difference that counts even with no spread (nats of validation loss). */
export const MIN_EFFECT = 0.01;

/** Compares a with b under the rule above. */
export function compareSpreads(a: Spread, b: Spread, minEffect = MIN_EFFECT): Difference {
  if (!(minEffect >= 0)) throw new Error(`minEffect must be >= 0, got ${minEffect}`);
  const delta = a.mean - b.mean;
  const margin = Math.max(minEffect, a.std + b.std);
  return { delta, margin, outcome: delta < -margin ? 'lower' : delta > margin ? 'higher' : 'tied' };
}

/** `6.417 ± 0.004 (6.412–6.421, 3 seeds)`. */
export function formatSpread(s: Spread, digits = 3): string {
  if (s.n === 1) return `${s.mean.toFixed(digits)} (1 seed)`;
  return `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)}, ${s.n} seeds)`;
}

/** `−0.031 (beyond the spread 0.008)` or `+0.004 (within the spread 0.010: tied)`. */
export function formatDifference(d: Difference): string {
  const sign = d.delta >= 0 ? '+' : '−';
  return `${sign}${Math.abs(d.delta).toFixed(3)} (${d.outcome === 'tied' ? `within the margin ${d.margin.toFixed(3)}: tied` : `beyond the margin ${d.margin.toFixed(3)}`})`;
}

/** Columns of a table row: mean, std, min, max, seeds. */
export function spreadColumns(s: Spread, prefix = 'val loss'): Record<string, number> {
  return { [`${prefix} mean`]: s.mean, [`${prefix} std`]: s.std, [`${prefix} min`]: s.min, [`${prefix} max`]: s.max, seeds: s.n };
}

/** The rule as one sentence for the notebooks. */
export function spreadRuleText(minEffect = MIN_EFFECT): string {
  return `Every arm trains once per seed; a difference of means counts only if it exceeds max(${minEffect}, std(A) + std(B)) ` +
    `(sample std over seeds), otherwise the arms are called tied.`;
}
