// Aggregation (paper eq. 3-4 and App. C) on hand-made k* and m* arrays, in both orders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aggregateKstarOfMeanMatrix,
  aggregateMeanOfKstar,
  avgRank,
  describeSpread,
  headTable,
  layerTable,
  lazyLayers,
} from '../../lib/metrics/attention-rank';

// N = 2 sequences, L = 3 layers, H = 3 heads; index (n*L + l)*H + h.
//            layer 0       layer 1      layer 2
const K = [
  /* n0 */ 1, 2, 3, /**/ 1, 1, 1, /**/ 2, 1, 1,
  /* n1 */ 1, 4, 1, /**/ 1, 1, 1, /**/ 2, 1, 1,
];
const M = [
  /* n0 */ 2, 2, 2, /**/ 1, 1, 1, /**/ 1, 1, 1,
  /* n1 */ 4, 4, 4, /**/ 1, 3, 1, /**/ 1, 1, 1,
];

test("paper order: Rank(h,l) = mean over sequences, MaxRank = max over heads, band from per-sequence maxima", () => {
  const a = aggregateMeanOfKstar(K, M, 2, 3, 3, [0, 1, 2], 0.9);
  assert.equal(a.aggregation, 'mean-of-kstar');
  assert.deepEqual(
    a.heads.filter((r) => r.layer === 0).map((r) => r.rank),
    [1, 3, 2],
  );
  const [l0, l1, l2] = a.layers;
  // Layer 0: max over heads of the means is 3 (head 1); the per-sequence maxima are 3 and 4, so the band is
  // 3.5 ± 0.5: the two readings of the paper's plots differ, which is why both are reported.
  assert.equal(l0.maxRank, 3);
  assert.equal(l0.maxRankHead, 1);
  assert.equal(l0.maxRankMeanOverSeq, 3.5);
  assert.equal(l0.maxRankStdOverSeq, 0.5);
  assert.equal(l0.maxRankMinOverSeq, 3);
  assert.equal(l0.maxRankMaxOverSeq, 4);
  assert.equal(l0.avgMass, 3); // every head: mean(2, 4)
  assert.equal(l0.lazy, false);
  assert.equal(l1.maxRank, 1);
  assert.equal(l1.lazy, true);
  assert.ok(Math.abs(l1.avgMass - 4 / 3) < 1e-15); // heads 1, 2, 1 -> mean 4/3 (mass is a MEAN over heads)
  assert.equal(l2.maxRank, 2);
  assert.equal(l2.maxRankHead, 0);
  assert.deepEqual(lazyLayers(a.layers), [1]);
});

test('AvgRank over layer groups and the lazy-group rule floor(AvgRank) == 1', () => {
  const a = aggregateMeanOfKstar(K, M, 2, 3, 3);
  assert.deepEqual(avgRank(a.layers, [0, 1]), { layers: [0, 1], avgRank: 2, lazy: false });
  assert.deepEqual(avgRank(a.layers, [1, 2]), { layers: [1, 2], avgRank: 1.5, lazy: true });
  assert.deepEqual(avgRank(a.layers, [1]), { layers: [1], avgRank: 1, lazy: true });
  assert.throws(() => avgRank(a.layers, [7]), /layer 7 was not measured \(have 0, 1, 2\)/);
  assert.throws(() => avgRank(a.layers, []), /group is empty/);
});

test('model layer indices are carried through (e.g. only layers 4 and 9 measured)', () => {
  const a = aggregateMeanOfKstar([1, 2, 5, 1], undefined, 1, 2, 2, [4, 9]);
  assert.deepEqual(a.layers.map((r) => [r.layer, r.maxRank]), [[4, 2], [9, 5]]);
  assert.ok(Number.isNaN(a.layers[0].avgMass), 'no m* given -> mass is NaN');
});

test("notebook order: k* of the mean matrices per (l, h), max over heads, no per-sequence band", () => {
  const a = aggregateKstarOfMeanMatrix([1, 1, 7, 2], [1, 1, 3, 5], 2, 2, [0, 1], 0.9);
  assert.equal(a.aggregation, 'kstar-of-mean-matrix');
  assert.deepEqual(a.layers.map((r) => [r.maxRank, r.maxRankHead, r.avgMass, r.lazy]), [[1, 0, 1, true], [7, 0, 4, false]]);
  assert.ok(Number.isNaN(a.layers[1].maxRankMeanOverSeq) && Number.isNaN(a.layers[1].maxRankStdOverSeq));
});

test('shape validation of the aggregation inputs', () => {
  assert.throws(() => aggregateMeanOfKstar([1, 2, 3], undefined, 2, 1, 2), /kstar \(N\*L\*H\) has length 3, expected 4/);
  assert.throws(() => aggregateMeanOfKstar([1, 2], undefined, 1, 1, 2, [0, 1]), /layers has 2 entries, expected L = 1/);
  assert.throws(() => aggregateKstarOfMeanMatrix([1], undefined, 1, 0), /H \(0\) must be a positive integer/);
});

test('describeSpread uses the population std (ddof 0, numpy default)', () => {
  assert.deepEqual(describeSpread([1, 3]), { mean: 2, std: 1, min: 1, max: 3 });
});

test('arquero tables carry the aggregation label and tau', () => {
  const a = aggregateMeanOfKstar(K, M, 2, 3, 3, [0, 1, 2], 0.9);
  const lt = layerTable(a);
  const ht = headTable(a);
  assert.equal(lt.numRows(), 3);
  assert.equal(ht.numRows(), 9);
  assert.deepEqual(lt.array('maxRank'), [3, 1, 2]);
  assert.deepEqual(lt.array('aggregation'), ['mean-of-kstar', 'mean-of-kstar', 'mean-of-kstar']);
  assert.ok(ht.columnNames().includes('rank') && ht.columnNames().includes('mass') && lt.columnNames().includes('tau'));
});
