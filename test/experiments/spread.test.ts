// The seed-spread rule of the verdicts (lib/experiments/spread.ts): closed-form means and sample deviations, and the
// rule "a difference counts only beyond max(minEffect, std(A) + std(B))" on its edges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareSpreads, formatDifference, formatSpread, spreadOf, spreadColumns, groupSeeds } from '../../lib/experiments/spread';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('spreadOf: mean, sample std (n - 1), min, max; one value has std 0; empty or non-finite lists are errors', () => {
  const s = spreadOf([1, 2, 3, 4]);
  close(s.mean, 2.5);
  close(s.std, Math.sqrt(5 / 3)); // Σ(x - 2.5)² = 5, n - 1 = 3
  assert.deepEqual([s.min, s.max, s.n], [1, 4, 4]);
  const one = spreadOf([6.4]);
  assert.deepEqual([one.mean, one.std, one.n], [6.4, 0, 1]);
  assert.throws(() => spreadOf([]), /at least one value/);
  assert.throws(() => spreadOf([1, NaN]), /finite values, got NaN/);
  assert.throws(() => spreadOf([1, Infinity]), /finite/);
  assert.equal(formatSpread(spreadOf([6.412, 6.421, 6.418])), '6.417 ± 0.005 (6.412–6.421, 3 seeds)');
  assert.equal(formatSpread(one), '6.400 (1 seed)');
  assert.deepEqual(Object.keys(spreadColumns(s)), ['val loss mean', 'val loss std', 'val loss min', 'val loss max', 'seeds']);
});

test('compareSpreads: a difference counts only beyond max(minEffect, std(A) + std(B))', () => {
  const a = spreadOf([3.0, 3.1, 3.2]); // mean 3.1, std 0.1
  const b = spreadOf([3.4, 3.5, 3.6]); // mean 3.5, std 0.1
  const d = compareSpreads(a, b);
  close(d.delta, -0.4);
  close(d.margin, 0.2);
  assert.equal(d.outcome, 'lower');
  assert.equal(compareSpreads(b, a).outcome, 'higher');
  // Means 0.15 apart with a combined spread of 0.2: tied.
  assert.equal(compareSpreads(spreadOf([3.0, 3.1, 3.2]), spreadOf([3.15, 3.25, 3.35])).outcome, 'tied');
  // No spread (one seed each): only minEffect guards; the edge itself is tied.
  assert.equal(compareSpreads(spreadOf([3.0]), spreadOf([3.02])).outcome, 'lower');
  assert.equal(compareSpreads(spreadOf([3.0]), spreadOf([3.005])).outcome, 'tied');
  assert.equal(compareSpreads(spreadOf([3.0]), spreadOf([3.02]), 0.05).outcome, 'tied');
  const edge = compareSpreads(spreadOf([1, 3]), spreadOf([5])); // std(A) = sqrt(2), delta = -3
  close(edge.margin, Math.SQRT2);
  assert.equal(edge.outcome, 'lower');
  assert.throws(() => compareSpreads(a, b, -1), /minEffect/);
  assert.equal(formatDifference(d), '−0.400 (beyond the margin 0.200)');
  assert.equal(formatDifference(compareSpreads(spreadOf([3.0]), spreadOf([3.005]))), '−0.005 (within the margin 0.010: tied)');
});

test('groupSeeds: first-seen order, spreads over seeds, init spread only over the seeds that evaluated it', () => {
  const r = (key: string, seed: number, valLoss: number, valLossAtInit = NaN) => ({ key, seed, valLoss, valLossAtInit });
  const g = groupSeeds([r('b', 1, 3), r('a', 1, 2, 9), r('b', 2, 5), r('a', 2, 4)], (x) => x.key);
  assert.deepEqual(g.map((x) => [x.first.key, x.seeds, x.valLoss.mean]), [['b', [1, 2], 4], ['a', [1, 2], 3]]);
  assert.equal(g[0].valLossAtInit, null);
  assert.deepEqual([g[1].valLossAtInit?.mean, g[1].valLossAtInit?.n], [9, 1]);
});
