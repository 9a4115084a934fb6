// Block selection from a rank profile: potent windows / top-k, lazy layers and lazy windows, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectPotent, selectLazy, lazyWindow, windowTable, LAZY_MAXRANK } from '../../lib/inheritune/select';

// A 12-layer profile shaped like the paper's GPT-2 Small (Fig. 2): high in the middle, collapsed at the end.
const MAX = [6, 9, 8, 11, 10, 12, 9, 8, 1, 1, 1.88, 1];
const rows = MAX.map((maxRank, layer) => ({ layer, maxRank }));

test('potent: the contiguous window with the highest AvgRank (earliest on ties), or the top-k by MaxRank', () => {
  const w = selectPotent(rows, 4);
  assert.deepEqual(w.layers, [3, 4, 5, 6]);
  assert.equal(w.avgRank, (11 + 10 + 12 + 9) / 4);
  const tie = selectPotent([0, 1, 2, 3].map((layer) => ({ layer, maxRank: 5 })), 2);
  assert.deepEqual(tie.layers, [0, 1], 'earliest window wins a tie (Algorithm 1: early layers)');
  const top = selectPotent(rows, 3, 'top-maxrank');
  assert.deepEqual(top.layers, [3, 4, 5], 'model order');
  assert.deepEqual(selectPotent(rows, 2, 'top-maxrank').layers, [3, 5]);
});

test('lazy: MaxRank = 1 by default; looser thresholds; lowest-AvgRank windows', () => {
  assert.deepEqual(selectLazy(rows).layers, [8, 9, 11]);
  assert.ok(LAZY_MAXRANK > 1 && LAZY_MAXRANK < 1.001);
  assert.deepEqual(selectLazy(rows, 1.9).layers, [8, 9, 10, 11]);
  const none = selectLazy([{ layer: 0, maxRank: 3 }]);
  assert.deepEqual(none.layers, []);
  assert.match(none.reason, /no layer has MaxRank <= 1 \(lowest: 3\.00\)/);
  const lw = lazyWindow(rows, 4);
  assert.deepEqual(lw.layers, [8, 9, 10, 11]);
  assert.equal(lw.avgRank, (1 + 1 + 1.88 + 1) / 4);
  assert.deepEqual(windowTable(rows, 4).map((r) => r.first), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
});

test('windows skip gaps in the measured layers; clear errors', () => {
  const gappy = [0, 1, 5, 6, 7].map((layer) => ({ layer, maxRank: layer }));
  assert.deepEqual(selectPotent(gappy, 3).layers, [5, 6, 7]);
  assert.throws(() => selectPotent(gappy.slice(0, 3), 3), /no 3 consecutive layers were measured/);
  assert.throws(() => selectPotent(rows, 13), /asked for 13 layers but the rank profile has only 12/);
  assert.throws(() => selectPotent(rows, 0), /k must be a positive integer/);
  assert.throws(() => selectPotent([], 1), /no layer rows/);
  assert.throws(() => selectPotent([{ layer: 1, maxRank: 2 }, { layer: 1, maxRank: 3 }], 1), /layer 1 appears twice/);
  assert.throws(() => selectPotent([{ layer: 0, maxRank: NaN }], 1), /no finite maxRank/);
  assert.throws(() => selectPotent(rows, 2, 'best' as never), /unknown potent-selection method 'best'/);
  assert.throws(() => selectLazy(rows, 0.5), /lazy threshold is a MaxRank/);
});
