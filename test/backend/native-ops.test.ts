// Native-path extras (lib/backend/native-grads, native-ops, nativeSingularValues): fused gradients and ops against
// tfjs's composite versions on plain wasm, the LAPACK singular values against ml-matrix, and no leaks.
// Tolerance as in native.test.ts: max |native - reference| / (|reference| + scale) <= 1e-5 unless stated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/backend';
import { enableNativeKernels, disableNativeKernels, loadAddon, nativeSingularValues } from '../../lib/backend/native';
import { geluTanhNative, nativeOpsActive } from '../../lib/backend/native-ops';
import { geluTanh, geluTanhComposite, layerNorm, layerNormComposite } from '../../lib/model/ops';
import { singularValues, approxRankFromSingularValues } from '../../lib/metrics/rank';
import { assertClose, assertNoLeak, randomTensor } from '../helpers';
import { nativeKernelsForTests } from './native-setup';
import { Rng } from '../../lib/util/rng';

const skipUnlessBuilt = nativeKernelsForTests();
const rng = new Rng(54321);
const rand = (shape: number[], scale = 1): tf.Tensor => randomTensor(rng, shape, scale);

function compare(label: string, f: () => tf.Tensor, scale = 1): void {
  enableNativeKernels({ threads: 2 });
  const a = tf.tidy(f);
  const nat = a.dataSync();
  a.dispose();
  disableNativeKernels();
  const b = tf.tidy(f);
  const was = b.dataSync();
  b.dispose();
  enableNativeKernels({ threads: 2 });
  assertClose(nat, was, 1e-5, label, scale);
}

test('nativeSingularValues (LAPACK dgesdd) matches ml-matrix to 1e-12 of sigma_max, and gives the same k*', (t) => {
  if (skipUnlessBuilt(t)) return;
  const T = 40;
  const mats: Float64Array[] = [];
  const r = new Rng(7);
  // Gaussian, rank-5 product, causal softmax (attention-like), identity, zeros, and a wide 3 x 7
  mats.push(Float64Array.from({ length: T * T }, () => r.normal()));
  const L = Float64Array.from({ length: T * 5 }, () => r.normal());
  const R = Float64Array.from({ length: 5 * T }, () => r.normal());
  mats.push(Float64Array.from({ length: T * T }, (_, i) => {
    let s = 0;
    for (let q = 0; q < 5; q++) s += L[Math.floor(i / T) * 5 + q] * R[q * T + (i % T)];
    return s;
  }));
  const S = new Float64Array(T * T);
  for (let i = 0; i < T; i++) {
    let z = 0;
    for (let j = 0; j <= i; j++) z += S[i * T + j] = Math.exp(2 * r.normal());
    for (let j = 0; j <= i; j++) S[i * T + j] /= z;
  }
  mats.push(S);
  mats.push(Float64Array.from({ length: T * T }, (_, i) => (Math.floor(i / T) === i % T ? 1 : 0)));
  mats.push(new Float64Array(T * T));
  const packed = new Float64Array(mats.length * T * T);
  mats.forEach((m, i) => packed.set(m, i * T * T));
  const sv = nativeSingularValues(packed, mats.length, T, T) as Float64Array;
  mats.forEach((m, i) => {
    const ref = singularValues(m, T, T);
    const got = sv.subarray(i * T, (i + 1) * T);
    const smax = Math.max(ref[0], 1e-300);
    for (let j = 0; j < T; j++) assert.ok(Math.abs(got[j] - ref[j]) <= 1e-12 * smax, `matrix ${i} sigma_${j}: ${got[j]} vs ${ref[j]}`);
    for (const tau of [0.5, 0.9, 0.99]) assert.equal(approxRankFromSingularValues(got, tau), approxRankFromSingularValues(ref, tau), `k* matrix ${i} tau ${tau}`);
  });
  const wide = Float64Array.from({ length: 21 }, () => r.normal());
  const w = nativeSingularValues(wide, 1, 3, 7) as Float64Array;
  const wr = singularValues(wide, 3, 7);
  assertClose(w, wr, 1e-12, 'wide 3x7', 1e-12);
  assert.throws(() => nativeSingularValues(wide, 2, 3, 7), /expected count\*rows\*cols/);
});

test('native gradients (Softmax, Tanh fused; Sum, Mean by broadcast) and broadcast Tile match tfjs on wasm', async (t) => {
  if (skipUnlessBuilt(t)) return;
  const x = rand([3, 5, 33]);
  const w = rand([3, 5, 33]);
  const fns: Array<[string, (a: tf.Tensor) => tf.Scalar]> = [
    ['softmax', (a) => tf.sum(tf.mul(tf.softmax(a), w))],
    ['tanh', (a) => tf.sum(tf.mul(tf.tanh(a), w))],
    ['sum axis 1 keepDims', (a) => tf.sum(tf.mul(tf.sum(a, 1, true), tf.slice(w, [0, 0, 0], [-1, 1, -1])))],
    ['sum all', (a) => tf.mul(tf.sum(a), 0.5)],
    ['mean last', (a) => tf.sum(tf.mul(tf.mean(a, -1), tf.sum(w, -1)))],
    ['mean axes [0,2]', (a) => tf.sum(tf.mul(tf.mean(a, [0, 2]), tf.range(0, 5)))],
  ];
  for (const [label, f] of fns) {
    enableNativeKernels({ threads: 2 });
    const gn = await assertNoLeak(() => {
      const g = tf.grad(f)(x);
      const d = g.dataSync();
      g.dispose();
      return d;
    }, 0, `${label} gradient`);
    disableNativeKernels();
    const g2 = tf.grad(f)(x);
    const gw = g2.dataSync();
    g2.dispose();
    enableNativeKernels({ threads: 2 });
    assertClose(gn, gw, 1e-5, `d ${label}`, 1e-3);
  }
  compare('broadcastTo (Tile of size-1 axes)', () => tf.broadcastTo(tf.slice(x, [0, 0, 0], [1, -1, 1]), [4, 5, 7]));
  compare('tile with repeats (wasm fallback)', () => tf.tile(x, [2, 1, 3]));
  tf.dispose([x, w]);
});

test('model geluTanh and layerNorm run fused native kernels, and match their composites on plain wasm', async (t) => {
  if (skipUnlessBuilt(t)) return;
  assert.equal(nativeOpsActive(), true);
  const x = rand([257, 131], 2);
  const big = rand([1024, 512], 3);
  const w = tf.add(rand([131], 0.3), 1);
  const b = rand([131], 0.3);
  const dy = rand([257, 131]);
  // the model ops really dispatch to the fused kernels while native is on, and to the composites when it is off
  const kernelsOf = async (f: () => tf.Tensor): Promise<string[]> => (await tf.profile(() => f())).kernelNames.filter((k) => k !== ''); // customGrad records an unnamed entry
  assert.deepEqual(await kernelsOf(() => geluTanh(x)), ['InherituneGelu']);
  assert.ok((await kernelsOf(() => layerNorm(x, w, b, 1e-5))).includes('InherituneLayerNorm'));
  disableNativeKernels();
  assert.ok(!(await kernelsOf(() => geluTanh(x))).includes('InherituneGelu'));
  assert.throws(() => geluTanhNative(x), /native kernels are not active/);
  enableNativeKernels({ threads: 2 });
  compare('gelu forward', () => geluTanh(x));
  compare('gelu forward, large (threads)', () => geluTanh(big));
  // reference: the model's own composite on plain wasm
  const vs = (label: string, fused: () => tf.Tensor, composite: () => tf.Tensor, scale = 1): void => {
    enableNativeKernels({ threads: 2 });
    const a = tf.tidy(fused).dataSync();
    disableNativeKernels();
    const r = tf.tidy(composite).dataSync();
    enableNativeKernels({ threads: 2 });
    assertClose(a, r, 1e-5, label, scale);
  };
  vs('gelu vs composite', () => geluTanh(x), () => geluTanhComposite(x));
  vs('gelu grad', () => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(geluTanh(a), dy)))(x), () => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(geluTanhComposite(a), dy)))(x));
  for (const bias of [b, undefined]) {
    const tag = bias ? 'with bias' : 'no bias';
    vs(`layerNorm ${tag}`, () => layerNorm(x, w, bias, 1e-5), () => layerNormComposite(x, w, bias, 1e-5));
    const loss = (f: typeof layerNorm) => (xs: tf.Tensor, ws: tf.Tensor, bs?: tf.Tensor) => tf.sum(tf.mul(f(xs, ws, bs, 1e-5), dy));
    const grads = (f: typeof layerNorm): tf.Tensor[] =>
      bias ? tf.grads((xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) => loss(f)(xs, ws, bs))([x, w, bias]) : tf.grads((xs: tf.Tensor, ws: tf.Tensor) => loss(f)(xs, ws))([x, w]);
    enableNativeKernels({ threads: 2 });
    const gn = grads(layerNorm).map((g) => g.dataSync());
    disableNativeKernels();
    const gc = grads(layerNormComposite).map((g) => g.dataSync());
    enableNativeKernels({ threads: 2 });
    assertClose(gn[0], gc[0], 1e-4, `layerNorm dx ${tag}`, 1);
    assertClose(gn[1], gc[1], 1e-5, `layerNorm dw ${tag}`, 4);
    if (bias) assertClose(gn[2], gc[2], 1e-5, `layerNorm db ${tag}`, 4);
  }
  await assertNoLeak(() => {
    const g = tf.grads((xs: tf.Tensor, ws: tf.Tensor) => tf.sum(geluTanh(layerNorm(xs, ws, b, 1e-5))))([x, w]);
    tf.dispose(g);
  }, 0, 'fused ops forward + backward');
  assert.throws(() => layerNorm(x, tf.ones([3]), undefined, 1e-5), /w and b must have shape \[131\]/);
  tf.dispose([x, big, w, b, dy]);
});
