// Notebook 05 over seeds: the baseline plan runs once per seed of the setup (baselinePlan(cfg, steps, seed)); here
// each method is summarized over its seeds (mean, std, min-max) and the verdict compares methods with the spread
// rule of spread.ts (a difference counts only beyond max(minEffect, std(A) + std(B))).
import { MethodKey, MethodResult } from './baselines';
import { Difference, MIN_EFFECT, Spread, compareSpreads, formatDifference, formatSpread, groupSeeds, spreadRuleText } from './spread';

export interface MethodSummary {
  key: MethodKey;
  label: string;
  layers: number;
  nEmbd: number;
  init: string;
  usesReference: boolean;
  steps: number;
  flops: number;
  valLoss: Spread;
  valLossAtInit: Spread | null;
  seeds: number[];
}

/** Groups per-seed results by method key (first-seen order). */
export function summarizeMethods(results: readonly MethodResult[]): MethodSummary[] {
  return groupSeeds(results, (r) => r.key).map(({ first: f, valLoss, valLossAtInit, seeds }) => ({
    key: f.key, label: f.label, layers: f.layers, nEmbd: f.nEmbd, init: f.init, usesReference: f.usesReference, steps: f.steps, flops: f.flops,
    valLoss, valLossAtInit, seeds,
  }));
}

const byKey = (ms: readonly MethodSummary[], k: MethodKey) => ms.find((m) => m.key === k);

/** One row per method: mean, std, min, max over seeds, cost relative to Inheritune, difference to Inheritune. */
export function methodsSeedTable(ms: readonly MethodSummary[], minEffect = MIN_EFFECT): Array<Record<string, string | number>> {
  const ours = byKey(ms, 'inheritune');
  return ms.map((m) => ({
    method: m.label, layers: m.layers, width: m.nEmbd, steps: m.steps,
    'compute 6ND': ours ? `${(m.flops / ours.flops).toFixed(2)}x Inheritune` : m.flops,
    'val @ step 0': m.valLossAtInit?.mean ?? 'n/a',
    'val mean': m.valLoss.mean, std: m.valLoss.std, min: m.valLoss.min, max: m.valLoss.max, seeds: m.valLoss.n,
    '− Inheritune': ours && m !== ours ? formatDifference(compareSpreads(m.valLoss, ours.valLoss, minEffect)) : '',
    'uses reference': m.usesReference ? 'yes' : 'no',
  }));
}

export interface BaselinesSeedVerdict {
  /** Best warm start (stacking, hybrid stacking, half-width) minus Inheritune; 'higher' = Inheritune better. */
  warmVsOurs: Difference | null;
  oursVsRandom: Difference | null;
  oursVsRandom2x: Difference | null;
  /** Inheritune minus the embedding-only control: the gain of the inherited blocks beyond the copied embedding. */
  oursVsEmbedding: Difference | null;
  lines: string[];
}

/**
 * The paper's claims on our numbers over seeds: (1) Inheritune is the best warm start (Table 2); (2) it beats random
 * init with the same steps and matches random init with twice the steps (Fig. 6); with the control, (3) its blocks
 * add to the copied embedding.
 */
export function baselinesSeedVerdict(ms: readonly MethodSummary[], o: { minEffect?: number } = {}): BaselinesSeedVerdict {
  const minEffect = o.minEffect ?? MIN_EFFECT;
  const ours = byKey(ms, 'inheritune');
  if (!ours) throw new Error('the verdict needs the Inheritune method');
  const cmp = (a: MethodSummary, b: MethodSummary) => compareSpreads(a.valLoss, b.valLoss, minEffect);
  const lines = [spreadRuleText(minEffect)];
  lines.push(`Mean validation loss, best first: ${[...ms].sort((a, b) => a.valLoss.mean - b.valLoss.mean).map((m) => `${m.label} ${formatSpread(m.valLoss)}`).join(' < ')}.`);
  const warm = ms.filter((m) => ['stacking', 'hybrid-stacking', 'half-width'].includes(m.key));
  let warmVsOurs: Difference | null = null;
  if (warm.length) {
    const best = warm.reduce((a, b) => (b.valLoss.mean < a.valLoss.mean ? b : a));
    warmVsOurs = cmp(best, ours);
    lines.push(warmVsOurs.outcome === 'higher'
      ? `Inheritune beats every warm-start baseline beyond the spread; the best of them, ${best.label}, minus Inheritune: ${formatDifference(warmVsOurs)} (paper Table 2: Inheritune best or tied).`
      : warmVsOurs.outcome === 'tied'
        ? `Inheritune ties the best warm-start baseline, ${best.label} (${best.label} minus Inheritune: ${formatDifference(warmVsOurs)}); the paper has Inheritune best for Medium and Large, tied for XL.`
        : `Unlike the paper, ${best.label} beats Inheritune beyond the spread (${best.label} minus Inheritune: ${formatDifference(warmVsOurs)}).`);
  }
  const r1 = byKey(ms, 'random');
  const r2 = byKey(ms, 'random-2x');
  const emb = byKey(ms, 'embedding-only');
  const word = (d: Difference) => (d.outcome === 'lower' ? 'Inheritune better' : d.outcome === 'higher' ? 'Inheritune worse' : 'tied');
  const oursVsRandom = r1 ? cmp(ours, r1) : null;
  if (oursVsRandom) lines.push(`Inheritune minus random init with the same steps: ${formatDifference(oursVsRandom)}: ${word(oursVsRandom)} (paper Medium 2.81 vs 2.86).`);
  const oursVsRandom2x = r2 ? cmp(ours, r2) : null;
  if (r2 && oursVsRandom2x) {
    lines.push(`Fig. 6: Inheritune after ${ours.steps} steps minus random init after ${r2.steps} steps: ${formatDifference(oursVsRandom2x)}: ` +
      (oursVsRandom2x.outcome === 'lower' ? 'Inheritune is better with half the steps' : oursVsRandom2x.outcome === 'tied' ? 'Inheritune matches it with half the steps' : 'random init with twice the steps is better') +
      ' (paper: Medium 2.81 vs 2.83, Large 2.80 vs 2.84, XL 2.64 vs 2.62).');
  }
  const oursVsEmbedding = emb ? cmp(ours, emb) : null;
  if (emb && oursVsEmbedding) {
    lines.push(`Inheritune minus the embedding-only control (the same wte, fresh blocks): ${formatDifference(oursVsEmbedding)}: ` +
      (oursVsEmbedding.outcome === 'lower' ? 'the inherited blocks add to the copied embedding.' : 'the inherited blocks add nothing beyond the copied embedding here.') +
      (r1 ? ` The embedding alone minus random init: ${formatDifference(cmp(emb, r1))}.` : ''));
  }
  const n = Math.min(...ms.map((m) => m.valLoss.n));
  lines.push(`${n} seed${n === 1 ? '' : 's'} per method${n === 1 ? ': no measured spread, only the floor of ' + minEffect + ' nats guards the comparisons' : ''}.`);
  return { warmVsOurs, oursVsRandom, oursVsRandom2x, oursVsEmbedding, lines };
}
