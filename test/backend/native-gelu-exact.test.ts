// The native exact (erf) GELU (native/src/fused.cc gelu_exact, lib/backend/native-ops geluExactNative):
// - forward and gradient against float64 closed forms at the same float32 inputs, with erf/erfc in float64 below
//   (Taylor series / continued fraction, itself checked against 18-digit mpmath values);
// - against the composite tfjs version on plain wasm (tfjs's erf is Abramowitz-Stegun 7.1.26, 1.5e-7 absolute);
// - the model and the training step really dispatch to it for activation 'gelu'; PyTorch's nanogpt_exact_gelu
//   fixture through the fast training path with it (10 AdamW steps);
// - no leaks; outputs that grow the wasm heap do not detach the input views.
// Tolerances (measured worst in brackets, see the diagnostics):
//   forward: |y - ref| <= 1e-6 |ref| + 1e-40 (relative, also in the left tail down to 1e-38)
//   gradient: |dx - ref| <= 1e-6 (|cdf| + |x pdf|) |dy| + 1e-40 (relative to the size of the two terms: gelu'(x) crosses 0
//   at x = -0.75, where a relative error of the sum means nothing)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { enableNativeKernels, disableNativeKernels } from '../../lib/backend/native';
import { geluExactNative, nativeOpsActive } from '../../lib/backend/native-ops';
import { geluExact, geluExactComposite } from '../../lib/model/ops';
import { makeConfig } from '../../lib/model/config';
import { initParams, disposeParams } from '../../lib/model/params';
import { lossFn } from '../../lib/model/gpt';
import { assertClose, assertNoLeak, randomTensor } from '../helpers';
import { nativeKernelsForTests } from './native-setup';
import { Rng } from '../../lib/util/rng';
import { fixturesPresent } from '../model/fixtures';
import { trainAgainstFixture } from '../train/fixture-training';

const skipUnlessBuilt = nativeKernelsForTests();
const rng = new Rng(2718);

// ---- float64 reference ------------------------------------------------------------------------------------------

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** erf(x) by its Taylor series, for |x| <= 2.5 (the largest term is ~16: about 1e-15 absolute). */
function erfSeries(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n; // (-1)^n x^(2n+1) / n!
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-18 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * sum;
}

/** erfc(x) for x >= 2.5 by the continued fraction exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))). */
function erfcFraction(x: number): number {
  let f = x;
  for (let k = 300; k >= 1; k--) f = x + k / 2 / f;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** erfc in float64 for any x, without cancellation for x > 0. */
function erfc64(x: number): number {
  if (x < 0) return 2 - erfc64(-x);
  return x < 2.5 ? 1 - erfSeries(x) : erfcFraction(x);
}

/** gelu(x) = 0.5 x (1 + erf(x / sqrt 2)) = 0.5 x erfc(-x / sqrt 2), and its two derivative terms. */
function gelu64(x: number): { y: number; cdf: number; xpdf: number } {
  const cdf = 0.5 * erfc64(-x * Math.SQRT1_2);
  return { y: x * cdf, cdf, xpdf: (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI) };
}

test('the float64 erf reference matches 18-digit mpmath values', () => {
  const erfs: Array<[number, number]> = [[0.1, 0.112462916018284892], [0.5, 0.520499877813046538], [1, 0.842700792949714869], [2, 0.995322265018952734]];
  for (const [x, want] of erfs) assert.ok(Math.abs(1 - erfc64(x) - want) <= 2e-15, `erf(${x})`);
  const erfcs: Array<[number, number]> = [[2.5, 0.00040695201744495894], [3, 0.0000220904969985854414], [5, 1.53745979442803485e-12], [8, 1.12242971729829271e-29], [10, 2.08848758376254476e-45]];
  for (const [x, want] of erfcs) assert.ok(Math.abs(erfc64(x) / want - 1) <= 1e-13, `erfc(${x}): ${erfc64(x)} vs ${want}`);
  // both branches agree where they meet (the series' 1e-15 absolute is 1e-11 relative of erfc(2.5) = 4e-4)
  assert.ok(Math.abs(erfcFraction(2.5) / (1 - erfSeries(2.5)) - 1) < 1e-10);
});

/** Inputs: a dense grid over [-14, 14] (the left tail reaches float's subnormals), random normals, special points. */
function inputs(): Float32Array {
  const grid = Array.from({ length: 28001 }, (_, i) => -14 + i * 0.001);
  const normals = Array.from({ length: 5000 }, () => 3 * rng.normal());
  const special = [0, -0, 1e-30, -1e-30, 1e-8, -1e-8, 0.75, -0.7518, 1.414, -1.414, 1.4142135, 30, -30, 1e6, -1e6];
  return Float32Array.from([...grid, ...normals, ...special]);
}

test('native exact GELU forward equals the float64 closed form to 1e-6 relative (left tail included)', (t) => {
  if (skipUnlessBuilt(t)) return;
  const xs = inputs();
  const x = tf.tensor1d(xs);
  const y = geluExactNative(x);
  const got = y.dataSync();
  let worst = 0;
  for (let i = 0; i < xs.length; i++) {
    const ref = gelu64(xs[i]).y;
    const err = Math.abs(got[i] - ref) / (Math.abs(ref) + 1e-34); // |y - ref| <= 1e-6 |ref| + 1e-40
    worst = Math.max(worst, err);
    assert.ok(err <= 1e-6, `gelu(${xs[i]}) = ${got[i]}, float64 ${ref}`);
  }
  t.diagnostic(`forward: worst |y - ref| / (|ref| + 1e-34) = ${worst.toExponential(2)} over ${xs.length} inputs`);
  tf.dispose([x, y]);
  const odd = tf.tensor1d([NaN, Infinity]);
  const o = geluExactNative(odd).dataSync();
  assert.ok(Number.isNaN(o[0]) && o[1] === Infinity, `NaN -> NaN, Infinity -> Infinity, got ${o}`);
  odd.dispose();
});

test('native exact GELU gradient equals dy (Phi(x) + x phi(x)) in float64 to 1e-6 of the terms', (t) => {
  if (skipUnlessBuilt(t)) return;
  const xs = inputs();
  const dys = Float32Array.from(xs, () => rng.normal());
  const x = tf.tensor1d(xs);
  const dy = tf.tensor1d(dys);
  const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(geluExactNative(a), dy)))(x);
  const got = g.dataSync();
  let worst = 0;
  for (let i = 0; i < xs.length; i++) {
    const { cdf, xpdf } = gelu64(xs[i]);
    const ref = dys[i] * (cdf + xpdf);
    const err = Math.abs(got[i] - ref) / ((Math.abs(cdf) + Math.abs(xpdf)) * Math.abs(dys[i]) + 1e-34); // + 1e-40 absolute
    worst = Math.max(worst, err);
    assert.ok(err <= 1e-6, `gelu'(${xs[i]}) * ${dys[i]} = ${got[i]}, float64 ${ref}`);
  }
  t.diagnostic(`gradient: worst error / (|cdf| + |x pdf|) |dy| = ${worst.toExponential(2)}`);
  tf.dispose([x, dy, g]);
});

test('model geluExact runs the native kernel each way, matches the composite on plain wasm, and does not leak', async (t) => {
  if (skipUnlessBuilt(t)) return;
  assert.equal(nativeOpsActive(), true);
  const x = randomTensor(rng, [257, 131], 2);
  const dy = randomTensor(rng, [257, 131]);
  const kernelsOf = async (f: () => tf.Tensor): Promise<string[]> => (await tf.profile(() => f())).kernelNames.filter((k) => k !== '');
  assert.deepEqual(await kernelsOf(() => geluExact(x)), ['InherituneGeluExact']);
  const gradOf = (f: (a: tf.Tensor) => tf.Tensor) => (): tf.Tensor => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a), dy)))(x);
  assert.ok((await kernelsOf(gradOf(geluExact))).includes('InherituneGeluExactGrad'));
  const nat = [tf.tidy(() => geluExact(x)), tf.tidy(gradOf(geluExact))].map((r) => { const d = r.dataSync(); r.dispose(); return d; });
  disableNativeKernels();
  try {
    assert.ok(!(await kernelsOf(() => geluExact(x))).includes('InherituneGeluExact'));
    assert.throws(() => geluExactNative(x), /native kernels are not active/);
    const plain = [tf.tidy(() => geluExactComposite(x)), tf.tidy(gradOf(geluExactComposite))].map((r) => { const d = r.dataSync(); r.dispose(); return d; });
    // tfjs's erf is good to 1.5e-7 absolute, so 0.5 x erf and its gradient are off by up to ~1e-6 where |x| ~ 6
    assertClose(nat[0], plain[0], 1e-5, 'exact gelu vs composite', 0.1);
    assertClose(nat[1], plain[1], 1e-5, 'exact gelu grad vs composite', 0.1);
  } finally {
    enableNativeKernels({ threads: 2 });
  }
  await assertNoLeak(() => tf.tidy(() => geluExactNative(x)), 1, 'exact gelu forward');
  await assertNoLeak(() => tf.dispose(tf.grad((a: tf.Tensor) => tf.sum(geluExactNative(a)))(x)), 0, 'exact gelu fwd + bwd');
  tf.dispose([x, dy]);
});

test('exact GELU reads its inputs after allocating: outputs that grow the wasm heap do not detach them', (t) => {
  if (skipUnlessBuilt(t)) return;
  const heapOf = (): number => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
  const heapBytes = heapOf();
  // x as large as the whole current heap (filled with 1): allocating y must grow the heap, detaching older views.
  const n = Math.ceil(heapBytes / 4) + 1024;
  const x = tf.fill([n], 1);
  const y = geluExactNative(x);
  assert.ok(heapOf() > heapBytes, `the heap grew (${heapBytes} -> ${heapOf()} bytes)`);
  const want = gelu64(1).y;
  const d = y.dataSync();
  for (const i of [0, n >> 1, n - 1]) assert.ok(Math.abs(d[i] - want) < 1e-6, `y[${i}] = ${d[i]}, want ${want}`);
  y.dispose();
  const heap2 = heapOf();
  const dy = tf.fill([Math.ceil(heap2 / 8) + 1024], 2);
  const x2 = tf.fill(dy.shape, -1);
  const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(geluExactNative(a), dy)))(x2);
  const r = gelu64(-1);
  const gd = g.dataSync();
  for (const i of [0, gd.length - 1]) assert.ok(Math.abs(gd[i] - 2 * (r.cdf + r.xpdf)) < 1e-6, `dx[${i}] = ${gd[i]}`);
  tf.dispose([x, dy, x2, g]);
});

test("a model with activation 'gelu' runs the native exact GELU in every layer of the fast training step", async (t) => {
  if (skipUnlessBuilt(t)) return;
  const cfg = makeConfig('tiny-4L', { nLayer: 3, vocabSize: 32, activation: 'gelu' });
  const params = initParams(cfg, { seed: 5 });
  const idx = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8]], undefined, 'int32');
  const targets = tf.tensor2d([[2, 3, 4, 5], [6, 7, 8, 9]], undefined, 'int32');
  const info = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => lossFn(params, cfg, idx, targets, { fast: true }), Object.values(params));
    tf.dispose([value, ...Object.values(grads)]);
  });
  const count = (name: string) => info.kernels.filter((k) => k.name === name).length;
  assert.equal(count('InherituneGeluExact'), 3);
  assert.equal(count('InherituneGeluExactGrad'), 3);
  assert.equal(count('InherituneGelu'), 0);
  assert.equal(count('Erf'), 0);
  tf.dispose([idx, targets]);
  disposeParams(params);
});

test('nanogpt_exact_gelu: 10 AdamW steps on the fast path with the native exact GELU match PyTorch', async (t) => {
  if (skipUnlessBuilt(t)) return;
  if (!fixturesPresent()) return t.skip('test/fixtures/gpt2 not generated');
  const { steps, expectedSteps, lossErr, paramErr } = await trainAgainstFixture('nanogpt_exact_gelu', true);
  t.diagnostic(`max |loss err| ${lossErr.toExponential(2)}, final params max abs err ${paramErr.toExponential(2)}`);
  assert.equal(steps, expectedSteps);
  assert.ok(lossErr <= 1e-3, `loss trajectory off by ${lossErr}`);
  assert.ok(paramErr <= 1e-4, `final parameters off by ${paramErr}`);
});
