// The sampling protocol on a fake pattern source whose matrices we know, plus result files and error paths.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { measureAttentionRanks, MeasureProgress, PatternFn } from '../../lib/metrics/measure';
import { loadRankResult, saveRankResult } from '../../lib/metrics/io';
import { approxRank, columnMass } from '../../lib/metrics/rank';
import { assertNoLeak, setupBackend } from '../helpers';

before(async () => {
  await setupBackend();
});

const T = 8;
const H = 2;
const L = 3;

/** The (T, T) matrix of (layer, head) for one window; float32-rounded like a real pattern. */
function fakeMatrix(layer: number, head: number, w: Int32Array): Float32Array {
  const A = new Float32Array(T * T);
  for (let i = 0; i < T; i++) {
    if (layer === 0 && head === 0) A[i * T] = 1; // first-token sink: k* = m* = 1
    else if (layer === 0) A[i * T + i] = 1; // identity: k* = ceil(0.9·8) = 8
    else if (layer === 1 && head === 1) for (let j = 0; j <= i; j++) A[i * T + j] = 1 / (i + 1); // uniform causal
    else {
      // Token-dependent causal softmax (layer 1 head 0; layer 2 with a temperature per head).
      const temp = layer === 1 ? 1 : head === 0 ? 0.2 : 5;
      let z = 0;
      const row = new Float64Array(i + 1);
      for (let j = 0; j <= i; j++) z += row[j] = Math.exp(Math.sin(w[i] * 0.7 + w[j] * 1.3 + j) / temp);
      for (let j = 0; j <= i; j++) A[i * T + j] = row[j] / z;
    }
  }
  return A;
}

function makeSource(opts: { nanAt?: { layer: number; head: number }; badShape?: boolean } = {}): PatternFn {
  return async (tokens, B, t) => {
    assert.equal(t, T);
    return Array.from({ length: L }, (_, l) => {
      const data = new Float32Array(B * H * T * T); // (B, nh, T, T)
      for (let b = 0; b < B; b++) {
        const w = tokens.subarray(b * T, (b + 1) * T);
        for (let h = 0; h < H; h++) {
          const A = fakeMatrix(l, h, w);
          if (opts.nanAt && opts.nanAt.layer === l && opts.nanAt.head === h) A[3] = NaN;
          data.set(A, (b * H + h) * T * T);
        }
      }
      const shape: [number, number, number, number] = opts.badShape ? [B, H, T * T, 1] : [B, H, T, T];
      return tf.tensor4d(data, shape);
    });
  };
}

function windows(N: number, len = T): Int32Array[] {
  return Array.from({ length: N }, (_, n) => Int32Array.from({ length: len }, (_, i) => (n * 31 + i * 17) % 101));
}

test('per-(n, layer, head) k* and m* equal the single-matrix functions; no tensor leaks', async () => {
  const N = 5;
  const progress: MeasureProgress[] = [];
  const r = await assertNoLeak(
    () => measureAttentionRanks(makeSource(), windows(N), { N, T, batchSize: 2, onProgress: (p) => progress.push(p), model: 'fake', data: 'synthetic', seed: 3 }),
    0,
    'measureAttentionRanks',
  );
  assert.deepEqual(progress.map((p) => p.done), [2, 4, 5]);
  assert.equal(r.timings.batches, 3);
  assert.equal(r.timings.matrices, N * L * H);
  assert.ok(r.timings.forwardMs >= 0 && r.timings.svdMs > 0);
  const rows = r.tables.perSequence.objects() as { n: number; layer: number; head: number; kstar: number; mstar: number; mstarIndexOrder: number }[];
  assert.equal(rows.length, N * L * H);
  for (const row of rows) {
    const A = Float64Array.from(fakeMatrix(row.layer, row.head, windows(N)[row.n]));
    assert.equal(row.kstar, approxRank(A, T, 0.9), `n=${row.n} l=${row.layer} h=${row.head}`);
    assert.equal(row.mstar, columnMass(A, T, 0.9, 'sorted'));
    assert.equal(row.mstarIndexOrder, columnMass(A, T, 0.9, 'index'));
  }
  const l0 = r.aggregated.layers[0];
  assert.equal(l0.maxRank, 8); // the identity head
  assert.equal(l0.maxRankHead, 1);
  assert.equal(l0.avgMass, (1 + 8) / 2); // sink head m* = 1, identity head m* = 8
  assert.equal(r.meta.model, 'fake');
  assert.equal(r.meta.seed, 3);
  assert.equal(r.meta.aggregation, 'mean-of-kstar');
  assert.deepEqual(r.meta.layers, [0, 1, 2]);
  assert.equal(r.meta.heads, H);
});

test("notebook order: k* of the sequence-mean matrix, checked against a directly averaged matrix", async () => {
  const N = 6;
  const r = await measureAttentionRanks(makeSource(), windows(N), { N, T, batchSize: 4 });
  assert.ok(r.measures.meanMatrixKstar && r.aggregatedMeanMatrix && r.tables.layersMeanMatrix);
  for (let l = 0; l < L; l++) {
    for (let h = 0; h < H; h++) {
      const mean = new Float64Array(T * T);
      for (const w of windows(N)) fakeMatrix(l, h, w).forEach((v, i) => (mean[i] += v / N));
      assert.equal(r.measures.meanMatrixKstar[0][l * H + h], approxRank(mean, T, 0.9), `l=${l} h=${h}`);
    }
  }
  assert.equal(r.aggregatedMeanMatrix.aggregation, 'kstar-of-mean-matrix');
});

test('a tau sweep reuses the SVDs (extra kstar_<tau> columns); a layer subset keeps model indices', async () => {
  const N = 3;
  const r = await measureAttentionRanks(makeSource(), windows(N), { N, T, extraTaus: [0.8, 0.95], layers: [2], meanMatrix: false });
  assert.deepEqual(r.meta.taus, [0.9, 0.8, 0.95]);
  const cols = r.tables.perSequence.columnNames();
  for (const c of ['kstar_0.9', 'kstar_0.8', 'kstar_0.95']) assert.ok(cols.includes(c), `missing column ${c}`);
  const rows = r.tables.perSequence.objects() as Record<string, number>[];
  for (const row of rows) {
    assert.equal(row.layer, 2);
    const A = Float64Array.from(fakeMatrix(2, row.head, windows(N)[row.n]));
    assert.equal(row['kstar_0.8'], approxRank(A, T, 0.8));
    assert.ok(row['kstar_0.8'] <= row['kstar_0.9'] && row['kstar_0.9'] <= row['kstar_0.95']);
  }
  assert.equal(r.tables.layersMeanMatrix, undefined);
  assert.deepEqual(r.aggregated.layers.map((x) => x.layer), [2]);
});

test('windows can come from a function sampler(N, T) or a batch sampler', async () => {
  const calls: [number, number][] = [];
  const r = await measureAttentionRanks(makeSource(), (n, t) => (calls.push([n, t]), windows(n, t)), { N: 2, T });
  assert.deepEqual(calls, [[2, T]]);
  assert.equal(r.meta.N, 2);
  // A lib/data-style batch sampler (next() -> { x, shape: [B, T] }) is drawn until N windows.
  let drawn = 0;
  const batchSampler = (t: number) => ({
    next: () => {
      drawn++;
      const w = windows(2, t);
      const x = new Int32Array(2 * t);
      x.set(w[0], 0);
      x.set(w[1], t);
      return { x, shape: [2, t] as [number, number] };
    },
  });
  const r2 = await measureAttentionRanks(makeSource(), batchSampler(T), { N: 3, T });
  assert.equal(drawn, 2);
  assert.equal(r2.tables.perSequence.numRows(), 3 * L * H);
  await assert.rejects(measureAttentionRanks(makeSource(), batchSampler(T + 1), { N: 3, T }), /the batch sampler gives windows of 9 tokens, expected T = 8/);
});

test('degenerate input: NaN in a pattern, wrong window length, T above the context, bad shapes; no leaks on error', async () => {
  await assertNoLeak(
    () =>
      assert.rejects(
        measureAttentionRanks(makeSource({ nanAt: { layer: 1, head: 1 } }), windows(2), { N: 2, T }),
        /attention pattern at sequence 0, layer 1, head 1: .*entry \(0, 3\) is NaN/,
      ),
    0,
    'NaN path',
  );
  await assert.rejects(
    measureAttentionRanks(makeSource(), [windows(1)[0], new Int32Array(5)], { N: 2, T }),
    /window 1 has 5 tokens, expected exactly T = 8/,
  );
  await assert.rejects(measureAttentionRanks(makeSource(), windows(1), { N: 2, T }), /got 1 windows, expected at least N = 2/);
  await assert.rejects(
    measureAttentionRanks(makeSource(), windows(2, 2000), { N: 2, T: 2000, contextLength: 1024 }),
    /T \(2000\) exceeds the model's context length \(1024\)/,
  );
  await assertNoLeak(
    () =>
      assert.rejects(
        measureAttentionRanks(makeSource({ badShape: true }), windows(2), { N: 2, T }),
        /layer 0 pattern has shape \[2,2,64,1\], expected \[B, nh, T, T\] = \[2, 2, 8, 8\]/,
      ),
    0,
    'bad-shape path',
  );
  await assert.rejects(measureAttentionRanks(makeSource(), windows(2), { N: 2, T, layers: [3] }), /layer 3 requested, but the source returned 3 layers/);
  await assert.rejects(measureAttentionRanks(makeSource(), windows(2), { N: 0, T }), /N \(0\) must be a positive integer/);
  await assert.rejects(measureAttentionRanks(makeSource(), windows(2), { N: 2, T, extraTaus: [1.5] }), /tau \(1.5\) must be in \(0, 1\]/);
});

test('results save to Arrow IPC files plus meta.json and load back unchanged', async () => {
  const r = await measureAttentionRanks({ patterns: makeSource() }, windows(3), { N: 3, T, extraTaus: [0.8], model: 'fake', data: 'synthetic', seed: 1 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rank-io-'));
  try {
    const files = saveRankResult(dir, r);
    assert.deepEqual(files.map((f) => path.basename(f)).sort(), [
      'heads-mean-matrix.arrow', 'heads.arrow', 'layers-mean-matrix.arrow', 'layers.arrow', 'meta.json', 'per-sequence.arrow',
    ]);
    const back = loadRankResult(dir);
    assert.deepEqual(back.meta, JSON.parse(JSON.stringify(r.meta)));
    for (const key of ['perSequence', 'layers', 'heads', 'layersMeanMatrix', 'headsMeanMatrix'] as const) {
      const a = r.tables[key]!;
      const b = back.tables[key]!;
      assert.deepEqual(b.columnNames(), a.columnNames(), key);
      assert.deepEqual(b.objects(), a.objects(), key);
    }
    assert.throws(() => loadRankResult(path.join(dir, 'nope')), /meta.json not found: not a saved rank result directory/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
