// Notebook 03's verdict and tables, computed from the arms' numbers over seeds (lazy-vs-potent.ts runs the arms).
// Every comparison uses the spread rule of spread.ts: a difference of means counts only beyond
// max(minEffect, std(A) + std(B)).
import { ArmSummary, PAPER_FIG3, PAPER_TABLE4 } from './lazy-vs-potent';
import { Difference, MIN_EFFECT, compareSpreads, formatDifference, formatSpread, spreadRuleText } from './spread';

export interface Verdict {
  /** Best potent arm vs random, lazy vs random, best potent vs lazy (mean(A) − mean(B), margin, outcome). */
  potentVsRandom: Difference;
  lazyVsRandom: Difference;
  potentVsLazy: Difference;
  /** The embedding-only control vs random (the gain of the copied embedding alone); null without the control. */
  embeddingVsRandom: Difference | null;
  /** Every inherited arm vs the embedding-only control (the gain of the inherited blocks beyond the embedding). */
  blocksVsEmbedding: Array<{ label: string; role: string; diff: Difference }>;
  potentBeatsRandom: boolean;
  potentBeatsLazy: boolean;
  /** Lazy init is tied with random, or recovers at most half the potent gain (the paper: 0.02 of 0.06). */
  lazyNearRandom: boolean;
  /** Whether the deep arm is lazy by the paper's test floor(AvgRank) == 1 at this scale. */
  deepIsLazy: boolean;
  outcome: 'reproduces' | 'partly' | 'does not reproduce';
  /** The claim on the blocks alone: potent blocks beat the embedding-only control, lazy blocks do not. */
  blocksOutcome: 'reproduces' | 'does not reproduce' | 'no control';
  lines: string[];
}

const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const span = (ls: readonly number[]) => `${ls[0] + 1}-${ls[ls.length - 1] + 1}`;

/**
 * The paper's claim, tested on our numbers (means over seeds, differences counted beyond the spread):
 *   (1) potent init beats random (the best potent arm's mean is lower beyond the margin);
 *   (2) lazy init ≈ random: tied under the rule, or recovering at most half of the potent gain.
 * 'reproduces' = (1) and (2); 'partly' = (1) and potent beats lazy but lazy also clearly differs from random;
 * anything else 'does not reproduce'. With the embedding-only control, the same claim on the blocks alone:
 * potent blocks beat the control and lazy blocks do not.
 */
export function lazyPotentVerdict(arms: readonly ArmSummary[], o: { minEffect?: number; paper?: string } = {}): Verdict {
  const minEffect = o.minEffect ?? MIN_EFFECT;
  const random = arms.find((r) => r.role === 'random');
  const lazy = arms.find((r) => r.role === 'lazy');
  const potent = arms.filter((r) => r.role === 'potent');
  const emb = arms.find((r) => r.role === 'embedding');
  if (!random || !lazy || !potent.length) throw new Error('the verdict needs a random, a lazy and at least one potent arm');
  const best = potent.reduce((a, b) => (b.valLoss.mean < a.valLoss.mean ? b : a));
  const cmp = (a: ArmSummary, b: ArmSummary) => compareSpreads(a.valLoss, b.valLoss, minEffect);
  const potentVsRandom = cmp(best, random);
  const lazyVsRandom = cmp(lazy, random);
  const potentVsLazy = cmp(best, lazy);
  const potentBeatsRandom = potentVsRandom.outcome === 'lower';
  const potentBeatsLazy = potentVsLazy.outcome === 'lower';
  const gain = -potentVsRandom.delta;
  const lazyNearRandom = lazyVsRandom.outcome === 'tied' || Math.abs(lazyVsRandom.delta) <= gain / 2;
  const outcome = potentBeatsRandom && lazyNearRandom ? 'reproduces' : potentBeatsRandom && potentBeatsLazy ? 'partly' : 'does not reproduce';
  const embeddingVsRandom = emb ? cmp(emb, random) : null;
  const blocksVsEmbedding = emb
    ? arms.filter((r) => r.role === 'potent' || r.role === 'lazy').map((r) => ({ label: r.label, role: r.role, diff: cmp(r, emb) }))
    : [];
  const blocksOutcome = !emb ? 'no control'
    : blocksVsEmbedding.some((b) => b.role === 'potent' && b.diff.outcome === 'lower') && blocksVsEmbedding.every((b) => b.role !== 'lazy' || b.diff.outcome !== 'lower')
      ? 'reproduces' : 'does not reproduce';
  const n = Math.min(...arms.map((a) => a.valLoss.n));

  const lines = [spreadRuleText(minEffect)];
  lines.push(`Best potent arm (${best.label}) minus random: ${formatDifference(potentVsRandom)}; ${lazy.label} minus random: ${formatDifference(lazyVsRandom)}; ` +
    `best potent minus ${lazy.label}: ${formatDifference(potentVsLazy)}${o.paper ? ` (paper: ${o.paper})` : ''}.`);
  lines.push(potentBeatsRandom
    ? `Potent init beats random by ${gain.toFixed(3)} nats, and ${potentBeatsLazy ? 'beats' : 'does NOT beat'} lazy init beyond the spread.`
    : `Potent init does NOT beat random beyond the spread.`);
  lines.push(lazyNearRandom
    ? `Lazy init stays close to random (${lazyVsRandom.outcome === 'tied' ? 'tied' : `at most half the potent gain`}), as in the paper.`
    : lazyVsRandom.outcome === 'lower'
      ? `Lazy init is clearly better than random, by more than half the potent gain: unlike the paper, the deep layers (or the copied embedding) carry useful weights here.`
      : `Lazy init is clearly WORSE than random, as in the paper's Fig. 23 rather than Table 4.`);
  if (emb && embeddingVsRandom) {
    lines.push(`Embedding-only control (the reference's wte = tied head, fresh blocks) minus random: ${formatDifference(embeddingVsRandom)}: ` +
      `${embeddingVsRandom.outcome === 'lower' ? 'the copied embedding alone explains part of every inherited arm\'s gain' : 'the copied embedding alone does not help beyond the spread'}.`);
    lines.push(`Inherited blocks beyond the embedding (arm minus embedding only): ${blocksVsEmbedding.map((b) => `${b.label} ${formatDifference(b.diff)}`).join('; ')}.`);
    lines.push(blocksOutcome === 'reproduces'
      ? `On the blocks alone the claim holds: potent blocks add to the embedding beyond the spread, the lazy (deep) blocks do not.`
      : `On the blocks alone the claim does NOT hold: ${blocksVsEmbedding.some((b) => b.role === 'potent' && b.diff.outcome === 'lower') ? 'the deep blocks also add to the embedding beyond the spread' : 'no potent block group adds to the embedding beyond the spread'}.`);
  }
  if (!lazy.lazy) {
    lines.push(`Caveat: our deep group (layers ${lazy.layers ? span(lazy.layers) : '?'}) has AvgRank ${f2(lazy.avgRank)}, so it is NOT lazy ` +
      `by the paper's test floor(AvgRank) = 1; this arm tests deep vs early layers rather than collapsed ones.`);
  }
  const inherited = arms.filter((r) => r.layers);
  if (inherited.length > 2) {
    const byRank = [...inherited].sort((a, b) => b.avgRank - a.avgRank).map((r) => r.label);
    const byLoss = [...inherited].sort((a, b) => a.valLoss.mean - b.valLoss.mean).map((r) => r.label);
    const same = byRank.every((l, i) => l === byLoss[i]);
    const ranks = inherited.map((r) => r.avgRank);
    const rankSpread = Math.max(...ranks) - Math.min(...ranks);
    lines.push(`Inherited groups by AvgRank (high to low): ${byRank.join(', ')}; by mean val loss (low to high): ${byLoss.join(', ')}` +
      (same ? ' — the same order, as the paper\'s "higher AvgRank wins"' : ' — a different order') +
      (rankSpread < 1 ? ` (but their AvgRanks differ by only ${rankSpread.toFixed(2)}, so the order says little).` : '.'));
  }
  const word = outcome === 'reproduces' ? 'REPRODUCES' : outcome === 'partly' ? 'PARTLY reproduces: potent beats lazy, but lazy is not ≈ random' : 'does NOT reproduce';
  lines.push(`Verdict: the claim ${word} (${n} seed${n === 1 ? '' : 's'} per arm${n === 1 ? '; one seed has no measured spread, so only the floor of ' + minEffect + ' nats guards it' : ''}).`);
  return { potentVsRandom, lazyVsRandom, potentVsLazy, embeddingVsRandom, blocksVsEmbedding, potentBeatsRandom, potentBeatsLazy, lazyNearRandom, deepIsLazy: lazy.lazy, outcome, blocksOutcome, lines };
}

const orNa = (v: number): number | string => (Number.isFinite(v) ? v : 'n/a');

function commonColumns(r: ArmSummary, random: ArmSummary | undefined, emb: ArmSummary | undefined): Record<string, string | number> {
  return {
    init: r.label,
    'our AvgRank': orNa(r.layers ? r.avgRank : NaN),
    'step-0 loss': orNa(r.valLossAtInit?.mean ?? NaN),
    'val loss mean': r.valLoss.mean,
    std: r.valLoss.std,
    min: r.valLoss.min,
    max: r.valLoss.max,
    seeds: r.valLoss.n,
    '− random': random ? r.valLoss.mean - random.valLoss.mean : NaN,
    '− embedding only': emb ? r.valLoss.mean - emb.valLoss.mean : 'n/a',
  };
}

/** Part A rows: ours (mean, std, min-max over seeds) beside paper Table 4 (by position: random, groups 1-3). */
export function tableARows(arms: readonly ArmSummary[]): Array<Record<string, string | number>> {
  const random = arms.find((r) => r.role === 'random');
  const emb = arms.find((r) => r.role === 'embedding');
  const groups = arms.filter((r) => r.layers);
  return arms.map((r) => {
    const g = groups.indexOf(r);
    const paper = r.role === 'random' ? PAPER_TABLE4.random : g >= 0 ? PAPER_TABLE4.groups[g] : undefined;
    return {
      ...commonColumns(r, random, emb),
      'paper init': r.role === 'random' ? 'rand' : g >= 0 ? `layers ${PAPER_TABLE4.groups[g]?.layers ?? '?'}` : 'not in the paper',
      'paper AvgRank': orNa(paper?.avgRank ?? NaN),
      'paper val loss': orNa(paper?.valLoss ?? NaN),
      'paper − random': orNa((paper?.valLoss ?? NaN) - PAPER_TABLE4.random.valLoss),
    };
  });
}

/** Part B rows: ours beside paper Fig. 3 (10K steps). */
export function tableBRows(arms: readonly ArmSummary[]): Array<Record<string, string | number>> {
  const key = { random: 'random', potent: 'firstHalf', lazy: 'lastHalf' } as const;
  const [m, l] = Object.values(PAPER_FIG3);
  const random = arms.find((r) => r.role === 'random');
  const emb = arms.find((r) => r.role === 'embedding');
  return arms.map((r) => ({
    ...commonColumns(r, random, emb),
    'paper Medium 12L': r.role === 'embedding' ? 'n/a' : m[key[r.role]],
    'paper Large 18L': r.role === 'embedding' ? 'n/a' : l[key[r.role]],
  }));
}

/** One line per arm: `layers 1-4 (early): 6.417 ± 0.004 (6.412–6.421, 3 seeds)`. */
export function armLines(arms: readonly ArmSummary[]): string[] {
  return arms.map((a) => `${a.label}: ${formatSpread(a.valLoss)}`);
}
