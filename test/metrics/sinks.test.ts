// Sink diagnostics against closed forms: uniform causal attention, an exact sink, the identity (diagonal), norm
// ratios of constructed residuals, and a real GPT whose attention is made uniform (zero c_attn) and one of whose
// blocks is made the identity (zero c_proj), so every layer metric has a value known without running the model.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { makeConfig } from '../../lib/model/config';
import { disposeParams, initParams } from '../../lib/model/params';
import { blockChangeSums, headSinkStats, position0NormRatios, sinkFirstRow, sinkRate } from '../../lib/metrics/sinks';
import { measureSinkDiagnostics } from '../../lib/metrics/sink-measure';
import { assertClose, assertNoLeak, setupBackend } from '../helpers';

before(async () => {
  await setupBackend();
});

function uniformCausal(T: number): Float64Array {
  const a = new Float64Array(T * T);
  for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) a[i * T + j] = 1 / (i + 1);
  return a;
}

/** Closed form of the sink mass of uniform causal attention: mean over rows i >= first of 1 / (i + 1). */
function uniformSinkMass(T: number): number {
  const first = sinkFirstRow(T);
  let s = 0;
  for (let i = first; i < T; i++) s += 1 / (i + 1);
  return s / (T - first);
}

test('headSinkStats: uniform causal, exact sink and identity', () => {
  const T = 100;
  const u = headSinkStats(uniformCausal(T), 0, T);
  assert.ok(Math.abs(u.sinkMass - uniformSinkMass(T)) < 1e-12, `uniform sink mass ${u.sinkMass}`);
  assert.ok(Math.abs(u.entropyFraction - 1) < 1e-12, `uniform entropy fraction ${u.entropyFraction}`);
  // Uniform causal attention at T = 100: the sink mass is the harmonic tail, (H_100 - H_5) / 95 = 0.0306, far below 0.3.
  assert.ok(u.sinkMass > 0.0305 && u.sinkMass < 0.0307, `${u.sinkMass}`);

  const sink = new Float64Array(T * T);
  for (let i = 0; i < T; i++) sink[i * T] = 1;
  const s = headSinkStats(sink, 0, T);
  assert.equal(s.sinkMass, 1);
  assert.equal(s.entropyFraction, 0);

  const eye = new Float64Array(T * T);
  for (let i = 0; i < T; i++) eye[i * T + i] = 1;
  const e = headSinkStats(eye, 0, T);
  assert.equal(e.sinkMass, 0);
  assert.equal(e.entropyFraction, 0);

  // Half sink, half uniform: both measures are the averages' closed forms.
  const mix = uniformCausal(T).map((v, i) => 0.5 * v + 0.5 * sink[i]);
  const m = headSinkStats(mix, 0, T);
  assert.ok(Math.abs(m.sinkMass - (0.5 + 0.5 * uniformSinkMass(T))) < 1e-12);
  // Entries above the diagonal are ignored, and the matrix may sit at an offset.
  const padded = new Float64Array(2 * T * T).fill(7);
  padded.set(uniformCausal(T), T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) padded[T * T + i * T + j] = 9;
  assert.ok(Math.abs(headSinkStats(padded, T * T, T).sinkMass - uniformSinkMass(T)) < 1e-12);
  assert.equal(sinkRate([0.1, 0.31, 0.5, 0.3]), 0.5);
});

test('position0NormRatios: constructed residuals', () => {
  const B = 2;
  const T = 5;
  const C = 3;
  const x = new Float32Array(B * T * C);
  // window 0: norms 10, 1, 2, 3, 4 -> median 3, ratio 10/3; window 1: all norm 2 -> 1.
  const norms0 = [10, 1, 2, 3, 4];
  for (let t = 0; t < T; t++) x[t * C + 1] = norms0[t];
  for (let t = 0; t < T; t++) {
    x[(T + t) * C] = 2 * Math.cos(t);
    x[(T + t) * C + 2] = 2 * Math.sin(t);
  }
  const r = position0NormRatios(x, B, T, C);
  assert.ok(Math.abs(r[0] - 10 / 3) < 1e-6);
  assert.ok(Math.abs(r[1] - 1) < 1e-6);
  // Even T: the median is the mean of the middle two.
  const y = Float32Array.from([6, 1, 3, 5]); // C = 1, norms 6, 1, 3, 5 -> median 4
  assert.ok(Math.abs(position0NormRatios(y, 1, 4, 1)[0] - 1.5) < 1e-12);
});

test('blockChangeSums: identity, orthogonal and opposite outputs', () => {
  const T = 4;
  const C = 2;
  const xin = Float32Array.from([1, 0, 0, 1, 1, 1, 2, 0]);
  const same = blockChangeSums(xin, xin, 1, T, C);
  assert.ok(Math.abs(same.blockInfluence) < 1e-7);
  assert.ok(Math.abs(same.angularDistance) < 1e-3); // acos near 1 is steep: float32 inputs
  // Rotate every vector by 90 degrees: cos 0, influence 1, angular distance 1/2.
  const rot = new Float32Array(T * C);
  for (let t = 0; t < T; t++) {
    rot[t * C] = -xin[t * C + 1];
    rot[t * C + 1] = xin[t * C];
  }
  const r = blockChangeSums(xin, rot, 1, T, C);
  assert.ok(Math.abs(r.blockInfluence - 1) < 1e-7);
  assert.ok(Math.abs(r.angularDistance - 0.5) < 1e-7);
  const neg = xin.map((v) => -v);
  const n = blockChangeSums(xin, neg, 1, T, C);
  assert.ok(Math.abs(n.blockInfluence - 2) < 1e-7);
  assert.ok(Math.abs(n.angularDistance - 1) < 1e-7);
});

test('measureSinkDiagnostics on a GPT with uniform attention and an identity block: closed forms; no leaks', async () => {
  const cfg = makeConfig('tiny-4L', { vocabSize: 64 });
  const params = initParams(cfg, { seed: 5 });
  try {
    const zero = (name: string): void => params[name].assign(tf.zerosLike(params[name]));
    // Zero q/k/v weights everywhere: every score is 0, so every head attends uniformly over the causal window.
    for (let l = 0; l < cfg.nLayer; l++) zero(`transformer.h.${l}.attn.c_attn.weight`);
    // Block 2 writes nothing into the residual stream: it is the identity.
    zero('transformer.h.2.attn.c_proj.weight');
    zero('transformer.h.2.mlp.c_proj.weight');
    const T = 24;
    const wins = Array.from({ length: 6 }, (_, n) => Int32Array.from({ length: T }, (_, i) => (n * 11 + i * 7 + 1) % 64));
    const r = await assertNoLeak(() => measureSinkDiagnostics(params, cfg, wins, { batchSize: 4, causalWindows: 3 }), 0, 'sink diagnostics');
    assert.equal(r.heads.length, cfg.nLayer * cfg.nHead);
    for (const h of r.heads) {
      assert.ok(Math.abs(h.sinkMass - uniformSinkMass(T)) < 1e-5, `layer ${h.layer} head ${h.head}: sink mass ${h.sinkMass}`);
      assert.ok(Math.abs(h.entropyFraction - 1) < 1e-5, `entropy fraction ${h.entropyFraction}`);
      assert.equal(h.sink, false);
    }
    const l2 = r.layers[2];
    assert.ok(Math.abs(l2.blockInfluence) < 1e-6, `identity block influence ${l2.blockInfluence}`);
    assert.ok(Math.abs(l2.angularDistance) < 2e-3, `identity angular distance ${l2.angularDistance}`);
    assert.ok(Math.abs(l2.attnSkipDeltaLoss) < 1e-5, `identity attention skip ${l2.attnSkipDeltaLoss}`);
    assert.ok(Math.abs(l2.blockSkipDeltaLoss) < 1e-5, `identity block skip ${l2.blockSkipDeltaLoss}`);
    // The other blocks do change the stream, and skipping them changes the loss.
    for (const l of [0, 1, 3]) {
      assert.ok(r.layers[l].blockInfluence > 1e-4, `block ${l} influence ${r.layers[l].blockInfluence}`);
      assert.ok(Math.abs(r.layers[l].blockSkipDeltaLoss) > 1e-6, `block ${l} skip ${r.layers[l].blockSkipDeltaLoss}`);
    }
    assert.ok(Number.isFinite(r.baseLoss) && r.baseLoss > 0);
    for (const l of r.layers) {
      assert.equal(l.sinkRate, 0);
      assert.ok(l.residRatio > 0 && l.valueRatio > 0);
    }
  } finally {
    disposeParams(params);
  }
});

test('measureSinkDiagnostics: causal part off, bad windows refused', async () => {
  const cfg = makeConfig('tiny-4L', { vocabSize: 64 });
  const params = initParams(cfg, { seed: 6 });
  try {
    const wins = [Int32Array.from({ length: 8 }, (_, i) => i)];
    const r = await measureSinkDiagnostics(params, cfg, wins, { causalWindows: 0 });
    assert.ok(Number.isNaN(r.baseLoss));
    assert.ok(r.layers.every((l) => Number.isNaN(l.attnSkipDeltaLoss) && Number.isNaN(l.blockSkipDeltaLoss)));
    await assert.rejects(() => measureSinkDiagnostics(params, cfg, [new Int32Array(8), new Int32Array(7)]), /window 1 has 7 tokens/);
    await assert.rejects(() => measureSinkDiagnostics(params, cfg, []), /no windows/);
    await assert.rejects(() => measureSinkDiagnostics(params, cfg, wins, { causalWindows: 3 }), /causalWindows/);
  } finally {
    disposeParams(params);
  }
});

test('sink metrics equal the PyTorch float64 reference (test/reference/make_sink_fixtures.py)', () => {
  const fx = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'sinks', 'sinks.json'), 'utf8'));
  const { B, H, T, C, firstRow } = fx.shape as { B: number; H: number; T: number; C: number; firstRow: number };
  assert.equal(sinkFirstRow(T), firstRow);
  const pattern = Float64Array.from(fx.pattern as number[]);
  const mass: number[] = [];
  const ent: number[] = [];
  for (let i = 0; i < B * H; i++) {
    const s = headSinkStats(pattern, i * T * T, T);
    mass.push(s.sinkMass);
    ent.push(s.entropyFraction);
  }
  // Both sides in float64 over the same inputs: only summation order differs.
  assertClose(mass, fx.expected.sinkMass, 1e-12, 'sink mass');
  assertClose(ent, fx.expected.entropyFraction, 1e-12, 'entropy fraction');
  const xin = Float64Array.from(fx.x_in as number[]);
  const xout = Float64Array.from(fx.x_out as number[]);
  assertClose(position0NormRatios(xin, B, T, C), fx.expected.normRatio, 1e-12, 'norm ratio');
  const bi: number[] = [];
  const ang: number[] = [];
  for (let b = 0; b < B; b++) {
    const s = blockChangeSums(xin.subarray(b * T * C, (b + 1) * T * C), xout.subarray(b * T * C, (b + 1) * T * C), 1, T, C);
    bi.push(s.blockInfluence);
    ang.push(s.angularDistance);
  }
  assertClose(bi, fx.expected.blockInfluence, 1e-12, 'block influence');
  assertClose(ang, fx.expected.angularDistance, 1e-12, 'angular distance');
});
