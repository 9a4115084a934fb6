// Notebook 04 over seeds: every seed of the setup runs Algorithm 1 on its own (runInheritune with that seed) and
// trains its random-init baseline; here the rounds are summarized over seeds (mean, std, min-max), and the verdict
// says whether and in which round Inheritune matches the reference, counting differences only beyond the seeds'
// spread (spread.ts). The reference is one run (one seed), so its side of the margin has no spread.
import { History } from '../train/history';
import { InherituneResult } from '../inheritune/grow';
import { TrainedModel } from './lab';
import { Difference, MIN_EFFECT, Spread, compareSpreads, formatDifference, formatSpread, spreadOf, spreadRuleText } from './spread';

export interface SeedRun {
  seed: number;
  run: InherituneResult;
  random: TrainedModel;
}

export interface RoundSummary {
  round: number;
  layers: number;
  /** Over the seeds that ran this round (a seed that matched earlier stopped, as Algorithm 1 does). */
  valLoss: Spread;
  seeds: number[];
  /** Seeds whose run matched the reference (val <= reference) in this round. */
  matchedSeeds: number[];
  /** Round mean minus the reference under the spread rule: 'lower' beats it, 'tied' matches within the spread. */
  vsReference: Difference;
}

export function roundSummaries(ref: TrainedModel, runs: readonly SeedRun[], minEffect = MIN_EFFECT): RoundSummary[] {
  if (!runs.length) throw new Error('roundSummaries needs at least one seed run');
  const refSpread = spreadOf([ref.valLoss]);
  const byRound = new Map<number, Array<{ seed: number; layers: number; valLoss: number }>>();
  for (const { seed, run } of runs) {
    for (const r of run.rounds) byRound.set(r.round, [...(byRound.get(r.round) ?? []), { seed, layers: r.layers, valLoss: r.valLoss }]);
  }
  return [...byRound.entries()].sort((a, b) => a[0] - b[0]).map(([round, xs]) => {
    const valLoss = spreadOf(xs.map((x) => x.valLoss));
    return {
      round, layers: xs[0].layers, valLoss, seeds: xs.map((x) => x.seed),
      matchedSeeds: xs.filter((x) => x.valLoss <= ref.valLoss).map((x) => x.seed),
      vsReference: compareSpreads(valLoss, refSpread, minEffect),
    };
  });
}

/** Spread of the random baseline over seeds. */
export function randomSpread(runs: readonly SeedRun[]): Spread {
  return spreadOf(runs.map((r) => r.random.valLoss));
}

/** One row per model: reference, each round (over seeds), the random baseline (over seeds). */
export function seedResultRows(ref: TrainedModel, runs: readonly SeedRun[], minEffect = MIN_EFFECT): Array<Record<string, string | number>> {
  const rounds = roundSummaries(ref, runs, minEffect);
  const cols = (s: Spread) => ({ 'val loss mean': s.mean, std: s.std, min: s.min, max: s.max, seeds: s.n });
  const rand = randomSpread(runs);
  return [
    { model: 'reference (random init)', layers: ref.config.nLayer, ...cols(spreadOf([ref.valLoss])), 'matched (val ≤ reference)': '', 'mean − reference': '' },
    ...rounds.map((r) => ({
      model: `Inheritune round ${r.round}`, layers: r.layers, ...cols(r.valLoss),
      'matched (val ≤ reference)': `${r.matchedSeeds.length} of ${r.valLoss.n} seeds`, 'mean − reference': formatDifference(r.vsReference),
    })),
    {
      model: 'random init (same size as round 1)', layers: runs[0].random.config.nLayer, ...cols(rand),
      'matched (val ≤ reference)': `${runs.filter((r) => r.random.valLoss <= ref.valLoss).length} of ${runs.length} seeds`,
      'mean − reference': formatDifference(compareSpreads(rand, spreadOf([ref.valLoss]), minEffect)),
    },
  ];
}

/** Histories by label for lossCurveFigure: the reference and the first seed's rounds and baseline. */
export function seedRunHistories(ref: TrainedModel, runs: readonly SeedRun[]): Record<string, History> {
  const first = runs[0];
  const out: Record<string, History> = { [`reference ${ref.config.nLayer}L`]: ref.result.history };
  for (const r of first.run.rounds) out[`Inheritune ${r.layers}L (round ${r.round}, seed ${first.seed})`] = r.train.history as History;
  out[`random init ${first.random.config.nLayer}L (seed ${first.seed})`] = first.random.result.history;
  return out;
}

export interface InherituneSeedVerdict {
  /** The first round whose mean is <= the reference's loss (the paper's test on the mean), else null. */
  matchedRound: number | null;
  /** The first round whose mean is not worse than the reference beyond the spread (matches within noise), else null. */
  matchedWithinSpread: number | null;
  round1VsRandom: Difference;
  lines: string[];
}

/** Whether and in which round Inheritune matches the reference, and round 1 against random init, from the numbers. */
export function inherituneSeedVerdict(ref: TrainedModel, runs: readonly SeedRun[], o: { minEffect?: number } = {}): InherituneSeedVerdict {
  const minEffect = o.minEffect ?? MIN_EFFECT;
  const rounds = roundSummaries(ref, runs, minEffect);
  const strict = rounds.find((r) => r.valLoss.mean <= ref.valLoss);
  const within = rounds.find((r) => r.vsReference.outcome !== 'higher');
  const first = rounds[0];
  const round1VsRandom = compareSpreads(first.valLoss, randomSpread(runs), minEffect);
  const refTxt = `the reference (${ref.config.nLayer}L, val ${ref.valLoss.toFixed(3)}, one run)`;
  const lines = [spreadRuleText(minEffect)];
  for (const { seed, run } of runs) {
    const last = run.rounds[run.rounds.length - 1];
    lines.push(run.matched
      ? `Seed ${seed}: matched ${refTxt} in round ${run.rounds.length} with ${last.layers} layers (val ${last.valLoss.toFixed(3)}).`
      : `Seed ${seed}: did not match within ${run.rounds.length} round(s) (${run.stopReason}); best val ${Math.min(...run.rounds.map((r) => r.valLoss)).toFixed(3)}.`);
  }
  if (strict) {
    lines.push(`Inheritune matches ${refTxt} in round ${strict.round} (${strict.layers} layers): mean ${formatSpread(strict.valLoss)} (paper Medium: 16L after 3 rounds, 2.81 vs 2.81).`);
  } else if (within) {
    lines.push(`Inheritune's mean stays above ${refTxt} in every round, but in round ${within.round} (${within.layers} layers) the difference, ${formatDifference(within.vsReference)}, is within the margin: a match within noise, not a strict one.`);
  } else {
    const best = rounds.reduce((a, b) => (b.valLoss.mean < a.valLoss.mean ? b : a));
    lines.push(`Inheritune does NOT match ${refTxt} in any of ${rounds.length} round(s); the best, round ${best.round} (${best.layers} layers), is ${formatDifference(best.vsReference)}.`);
  }
  lines.push(`At ${first.layers} layers, Inheritune minus random init with the same steps: ${formatDifference(round1VsRandom)}: ` +
    `${round1VsRandom.outcome === 'lower' ? 'Inheritune is better' : round1VsRandom.outcome === 'tied' ? 'a tie' : 'random init is better'} ` +
    `(paper Medium 12L-16L: 2.87-2.81 vs 16L random 2.86).`);
  return { matchedRound: strict?.round ?? null, matchedWithinSpread: within?.round ?? null, round1VsRandom, lines };
}
