// Samplers: nanoGPT random windows (seeded, with replacement) and the FineWeb sequential loader, exact resume
// from saved state, and the fixed validation batches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RandomWindowSampler, SequentialLoader, validationBatches, Batch } from '../../lib/data/sampler';
import { ConcatTokenSource, MemoryTokenSource } from '../../lib/data/source';
import { Rng } from '../../lib/util/rng';
import { ramp } from './tmp';

/** Checks y = x shifted by one against the source, row by row, and returns each row's start offset. */
function rowStarts(b: Batch, data: Uint16Array): number[] {
  const [B, T] = b.shape;
  assert.equal(b.x.length, B * T);
  assert.ok(b.x instanceof Int32Array && b.y instanceof Int32Array);
  const starts: number[] = [];
  for (let r = 0; r < B; r++) {
    const o = b.x[r * T]; // ramp data: the token value is its position
    for (let t = 0; t < T; t++) {
      assert.equal(b.x[r * T + t], data[o + t]);
      assert.equal(b.y[r * T + t], data[o + t + 1]);
    }
    starts.push(o);
  }
  return starts;
}

test('random windows follow nanoGPT: o = rng.int(len - T), x = data[o:o+T], y = data[o+1:o+T+1]', () => {
  const data = ramp(5000);
  const src = new MemoryTokenSource(data);
  const s = new RandomWindowSampler(src, { batchSize: 4, blockSize: 16, seed: 42 });
  const rng = new Rng(42);
  for (let k = 0; k < 20; k++) {
    const starts = rowStarts(s.next(), data);
    assert.deepEqual(starts, [0, 1, 2, 3].map(() => rng.int(5000 - 16)));
  }
});

test('random sampler: same seed same batches; save / restore resumes exactly', () => {
  const src = new MemoryTokenSource(ramp(3000));
  const a = new RandomWindowSampler(src, { batchSize: 3, blockSize: 8, seed: 1 });
  const b = new RandomWindowSampler(src, { batchSize: 3, blockSize: 8, seed: 1 });
  for (let k = 0; k < 5; k++) assert.deepEqual(a.next(), b.next());
  const state = JSON.parse(JSON.stringify(a.getState()));
  const cont = [a.next(), a.next(), a.next()];
  const c = new RandomWindowSampler(src, { batchSize: 3, blockSize: 8, seed: 999 });
  c.setState(state);
  assert.deepEqual([c.next(), c.next(), c.next()], cont);
  assert.notDeepEqual(new RandomWindowSampler(src, { batchSize: 3, blockSize: 8, seed: 2 }).next(), new RandomWindowSampler(src, { batchSize: 3, blockSize: 8, seed: 1 }).next());
  assert.throws(() => c.setState({ kind: 'sequential', shard: 0, pos: 0, epoch: 0, batchesDrawn: 0 }), /expected a 'random' state/);
});

test('sequential loader walks shards like DataLoaderLite, no repetition within an epoch, then wraps', () => {
  // Shards of 100, 50 and 70 tokens, B*T = 16: batches start at 0..80 | 0..32 | 0..48 within each shard
  // (a batch at pos needs pos + B*T + 1 <= shard length).
  const shards = [ramp(100, 0), ramp(50, 1000), ramp(70, 2000)];
  const src = new ConcatTokenSource(shards.map((d, i) => new MemoryTokenSource(d, `s${i}`)));
  const L = new SequentialLoader(src, { batchSize: 2, blockSize: 8 });
  const expected: Array<[number, number]> = [
    [0, 0], [0, 16], [0, 32], [0, 48], [0, 64], [0, 80], [1, 0], [1, 16], [1, 32], [2, 0], [2, 16], [2, 32], [2, 48],
  ];
  const seen = new Set<string>();
  for (const [sh, pos] of expected) {
    const st = L.getState();
    assert.equal(st.kind, 'sequential');
    if (st.kind === 'sequential') assert.deepEqual([st.shard, st.pos, st.epoch], [sh, pos, 0]);
    const b = L.next();
    // Rows are consecutive: x = buf[0:B*T], y = buf[1:B*T+1] of one contiguous read.
    const expX = Array.from(shards[sh].subarray(pos, pos + 16));
    const expY = Array.from(shards[sh].subarray(pos + 1, pos + 17));
    assert.deepEqual(Array.from(b.x), expX);
    assert.deepEqual(Array.from(b.y), expY);
    seen.add(`${sh}:${pos}`);
  }
  assert.equal(seen.size, expected.length);
  assert.equal(L.currentEpoch, 1);
  const again = L.next();
  assert.deepEqual(Array.from(again.x), Array.from(shards[0].subarray(0, 16)));
});

test('sequential loader: save / restore mid-shard; ranks interleave', () => {
  const src = new ConcatTokenSource([new MemoryTokenSource(ramp(400)), new MemoryTokenSource(ramp(300, 5000))]);
  const L = new SequentialLoader(src, { batchSize: 2, blockSize: 10 });
  for (let k = 0; k < 7; k++) L.next();
  const st = L.getState();
  const cont = Array.from({ length: 30 }, () => L.next());
  const M = new SequentialLoader(src, { batchSize: 2, blockSize: 10 });
  M.setState(JSON.parse(JSON.stringify(st)));
  assert.deepEqual(Array.from({ length: 30 }, () => M.next()), cont);
  assert.throws(() => M.setState({ kind: 'sequential', shard: 0, pos: 390, epoch: 0, batchesDrawn: 0 }), /does not fit a batch/);
  // Two ranks read alternating B*T blocks, together covering the stream without overlap.
  const r0 = new SequentialLoader(src, { batchSize: 2, blockSize: 10, rank: 0, worldSize: 2 });
  const r1 = new SequentialLoader(src, { batchSize: 2, blockSize: 10, rank: 1, worldSize: 2 });
  assert.deepEqual([r0.next().x[0], r1.next().x[0], r0.next().x[0], r1.next().x[0]], [0, 20, 40, 60]);
});

test('validation batches are fixed and evenly spaced; head mode reads from token 0', () => {
  const data = ramp(10_000);
  const src = new MemoryTokenSource(data);
  const v1 = validationBatches(src, { batchSize: 4, blockSize: 32, numBatches: 5 });
  const v2 = validationBatches(src, { batchSize: 4, blockSize: 32, numBatches: 5 });
  assert.deepEqual(v1, v2);
  const starts = v1.flatMap((b) => rowStarts(b, data));
  assert.equal(starts.length, 20);
  assert.equal(starts[0], 0);
  assert.equal(starts[19], 10_000 - 32 - 1);
  const gaps = starts.slice(1).map((s, i) => s - starts[i]);
  assert.ok(Math.max(...gaps) - Math.min(...gaps) <= 1);
  const head = validationBatches(src, { batchSize: 2, blockSize: 8, numBatches: 3, mode: 'head' });
  assert.deepEqual(head.flatMap((b) => rowStarts(b, data)), [0, 8, 16, 24, 32, 40]);
  assert.throws(() => validationBatches(new MemoryTokenSource(ramp(10)), { batchSize: 1, blockSize: 16, numBatches: 1 }), /fewer than blockSize \+ 1/);
});
