// Notebooks 04 and 05 over seeds: rounds and methods summarized over seeds, and verdicts that count a difference only
// beyond the seeds' spread (numbers made up so that each branch of the rule is taken).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeConfig } from '../../lib/model/config';
import { TrainedModel } from '../../lib/experiments/lab';
import { InherituneResult } from '../../lib/inheritune/grow';
import { SeedRun, inherituneSeedVerdict, roundSummaries, seedResultRows, seedRunHistories } from '../../lib/experiments/inheritune-seeds';
import { MethodResult } from '../../lib/experiments/baselines';
import { baselinesSeedVerdict, methodsSeedTable, summarizeMethods } from '../../lib/experiments/baselines-seeds';

const CFG = makeConfig('tiny-8L');
const hist = { steps: [], evals: [] };
const model = (valLoss: number, nLayer: number) => ({ valLoss, config: makeConfig(CFG, { nLayer }), result: { steps: 10, history: hist } }) as unknown as TrainedModel;

/** A seed's Algorithm 1 run: losses per round (4, 6, 8 layers); matched when a loss is <= ref. */
function seedRun(seed: number, losses: number[], ref: number, random: number): SeedRun {
  const rounds = losses.map((valLoss, i) => ({ round: i + 1, layers: 4 + 2 * i, valLoss, train: { valLoss, history: hist } }));
  const matched = losses[losses.length - 1] <= ref;
  const run = { rounds, matched, stopReason: matched ? 'matched-reference' : 'max-layers' } as unknown as InherituneResult;
  return { seed, run, random: model(random, 4) };
}

test('notebook 04: rounds over seeds; strict match on the mean, match within the spread, or no match', () => {
  const ref = model(3.0, 8);
  // Seed 1 matches in round 2 (stops), seed 2 in round 3: round 3 has one seed.
  const runs = [seedRun(1, [3.2, 2.99], 3.0, 3.5), seedRun(2, [3.22, 3.02, 2.98], 3.0, 3.52)];
  const rounds = roundSummaries(ref, runs);
  assert.deepEqual(rounds.map((r) => [r.round, r.layers, r.valLoss.n, r.matchedSeeds]), [[1, 4, 2, []], [2, 6, 2, [1]], [3, 8, 1, [2]]]);
  const v = inherituneSeedVerdict(ref, runs);
  assert.equal(v.matchedRound, 3); // round 2's mean is 3.005 > 3.0
  assert.equal(v.matchedWithinSpread, 2); // 3.005 − 3.0 is within max(0.01, std)
  assert.equal(v.round1VsRandom.outcome, 'lower');
  assert.match(v.lines.join('\n'), /Seed 1: matched .* in round 2 with 6 layers/);
  assert.match(v.lines.join('\n'), /Inheritune matches the reference .* in round 3 \(8 layers\)/);
  // Never within the spread: the best round is named with its difference.
  const far = inherituneSeedVerdict(ref, [seedRun(1, [3.3, 3.2], 3.0, 3.31), seedRun(2, [3.31, 3.21], 3.0, 3.3)]);
  assert.equal(far.matchedRound, null);
  assert.equal(far.matchedWithinSpread, null);
  assert.equal(far.round1VsRandom.outcome, 'tied');
  assert.match(far.lines.join('\n'), /does NOT match .* in any of 2 round\(s\); the best, round 2 \(6 layers\), is \+0\.205/);
  const rows = seedResultRows(ref, runs);
  assert.equal(rows.length, 5);
  assert.equal(rows[2]['matched (val ≤ reference)'], '1 of 2 seeds');
  assert.ok(Math.abs((rows[4]['val loss mean'] as number) - 3.51) < 1e-12);
  assert.deepEqual(Object.keys(seedRunHistories(ref, runs)), ['reference 8L', 'Inheritune 4L (round 1, seed 1)', 'Inheritune 6L (round 2, seed 1)', 'random init 4L (seed 1)']);
  assert.throws(() => roundSummaries(ref, []), /at least one seed run/);
});

test('notebook 05: methods over seeds, the warm-start and Fig. 6 claims and the embedding control under the spread rule', () => {
  const r = (key: MethodResult['key'], seed: number, valLoss: number, steps = 10): MethodResult => ({
    key, seed, label: key, layers: 4, nEmbd: 32, init: '', usesReference: true, params: 1, nonEmbeddingParams: 1, stages: [],
    steps, tokens: steps, flops: steps * 10, valLossAtInit: 10, valLoss, notes: [],
  });
  const per = [
    r('inheritune', 1, 3.0), r('inheritune', 2, 3.02), r('random', 1, 3.3), r('random', 2, 3.32),
    r('embedding-only', 1, 3.1), r('embedding-only', 2, 3.12), r('random-2x', 1, 3.0, 20), r('random-2x', 2, 3.05, 20),
    r('hybrid-stacking', 1, 3.03), r('hybrid-stacking', 2, 3.2),
  ];
  const ms = summarizeMethods(per);
  assert.deepEqual(ms.map((m) => [m.key, m.seeds]), [['inheritune', [1, 2]], ['random', [1, 2]], ['embedding-only', [1, 2]], ['random-2x', [1, 2]], ['hybrid-stacking', [1, 2]]]);
  const v = baselinesSeedVerdict(ms);
  assert.equal(v.oursVsRandom?.outcome, 'lower');
  assert.equal(v.oursVsEmbedding?.outcome, 'lower');
  assert.equal(v.oursVsRandom2x?.outcome, 'tied'); // −0.015 within std 0.014 + 0.035
  assert.equal(v.warmVsOurs?.outcome, 'tied'); // hybrid 3.115 ± 0.12: its spread swallows the 0.105
  assert.match(v.lines.join('\n'), /Inheritune ties the best warm-start baseline, hybrid-stacking/);
  assert.match(v.lines.join('\n'), /Inheritune matches it with half the steps/);
  assert.match(v.lines.join('\n'), /the inherited blocks add to the copied embedding/);
  const table = methodsSeedTable(ms);
  assert.equal(table[1]['compute 6ND'], '1.00x Inheritune');
  assert.equal(table[3]['compute 6ND'], '2.00x Inheritune');
  assert.match(String(table[1]['− Inheritune']), /^\+0\.300 \(beyond the margin/);
  assert.throws(() => baselinesSeedVerdict(ms.slice(1)), /needs the Inheritune method/);
});
