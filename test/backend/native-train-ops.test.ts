// Native cross-entropy and paired products (lib/backend/native-train-ops) against the tfjs code they replace, run on
// plain wasm: forward, gradient, odd sizes, ignored targets, bad input, no leaks; and the model really uses them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { enableNativeKernels, disableNativeKernels } from '../../lib/backend/native';
import { crossEntropyNative, matMulPairNative } from '../../lib/backend/native-train-ops';
import { crossEntropy } from '../../lib/model/ops';
import { lossFn } from '../../lib/model/gpt';
import { initParams, disposeParams } from '../../lib/model/params';
import { makeConfig } from '../../lib/model/config';
import { assertClose, assertNoLeak, randomTensor } from '../helpers';
import { nativeKernelsForTests } from './native-setup';
import { Rng } from '../../lib/util/rng';

const skipUnlessBuilt = nativeKernelsForTests();
const rng = new Rng(4242);
const rand = (shape: number[], scale = 1): tf.Tensor2D => randomTensor(rng, shape, scale) as tf.Tensor2D;

/** Runs f with native kernels on `threads` threads, or on plain wasm (threads 0); native is back on (2) afterwards. */
function readWith<T extends tf.Tensor | tf.Tensor[]>(threads: number, f: () => T): Float32Array[] {
  if (threads > 0) enableNativeKernels({ threads });
  else disableNativeKernels();
  const out = tf.tidy(f);
  const list = Array.isArray(out) ? out : [out];
  const values = list.map((t) => t.dataSync() as Float32Array);
  tf.dispose(list);
  enableNativeKernels({ threads: 2 });
  return values;
}

test('matMulPairNative equals two tf.matMul on plain wasm: every transpose combination, odd sizes, 1 and 2 threads', async (t) => {
  if (skipUnlessBuilt(t)) return;
  const stored = (rows: number, cols: number, tr: boolean): number[] => (tr ? [cols, rows] : [rows, cols]);
  for (const [m, n, k] of [[37, 11, 5], [1, 1, 1], [64, 130, 33], [3, 7, 0]]) {
    for (const [ta1, tb1, ta2, tb2] of [[false, true, true, false], [false, false, true, true], [true, true, false, false]]) {
      // product 1: (m, k) @ (k, n); product 2: (n, m) @ (m, k) (other sizes, so the outputs cannot be swapped)
      const a1 = rand(stored(m, k, ta1)), b1 = rand(stored(k, n, tb1));
      const a2 = rand(stored(n, m, ta2)), b2 = rand(stored(m, k, tb2));
      const tag = `m${m} n${n} k${k} flags ${[ta1, tb1, ta2, tb2].map(Number).join('')}`;
      const [p1, p2] = readWith(0, () => [tf.matMul(a1, b1, ta1, tb1), tf.matMul(a2, b2, ta2, tb2)]);
      for (const threads of [1, 2]) {
        const [c1, c2] = readWith(threads, () => matMulPairNative(a1, b1, ta1, tb1, a2, b2, ta2, tb2));
        // atol 1: entries are sums of k products of N(0, 1) values; summation order may differ (blocking, FMA)
        assertClose(c1, p1, 1e-5, `first product ${tag}, ${threads}T`, 1);
        assertClose(c2, p2, 1e-5, `second product ${tag}, ${threads}T`, 1);
      }
      tf.dispose([a1, b1, a2, b2]);
    }
  }
  const a = rand([4, 3]);
  await assertNoLeak(() => tf.tidy(() => matMulPairNative(a, a, true, false, a, a, false, true)), 2, 'pair returns its two products');
  assert.throws(() => matMulPairNative(a, a, false, false, a, a, true, false), /cannot multiply \[4,3\] by \[4,3\]/);
  a.dispose();
});

/** 1.7 * mean cross-entropy and its gradient in float64: (softmax - onehot) * 1.7 / counted rows. */
function crossEntropyFloat64(x: Float32Array, t: Int32Array, V: number, k: number): { loss: number; grad: Float64Array } {
  const N = t.length;
  const counted = t.filter((v) => v >= 0).length;
  const grad = new Float64Array(N * V);
  let loss = 0;
  for (let r = 0; r < N; r++) {
    if (t[r] < 0) continue;
    let m = -Infinity;
    for (let j = 0; j < V; j++) m = Math.max(m, x[r * V + j]);
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(x[r * V + j] - m);
    loss += m + Math.log(s) - x[r * V + t[r]];
    for (let j = 0; j < V; j++) grad[r * V + j] = ((Math.exp(x[r * V + j] - m) / s - (j === t[r] ? 1 : 0)) * k) / counted;
  }
  return { loss: (loss * k) / counted, grad };
}

test('crossEntropyNative: loss and gradient equal float64 closed forms and the plain tfjs loss, ignored targets, odd V', async (t) => {
  if (skipUnlessBuilt(t)) return;
  for (const [N, V, ignored] of [[7, 37, [2, 5]], [1, 1, []], [33, 1000, [0]], [16, 50304, []]] as Array<[number, number, number[]]>) {
    const logits = rand([N, V], 3);
    const tv = Int32Array.from({ length: N }, (_, i) => (ignored.includes(i) ? -1 : rng.int(V)));
    const targets = tf.tensor1d(tv, 'int32');
    const tag = `N${N} V${V}, ${ignored.length} ignored`;
    const both = (native: boolean) => (): tf.Tensor[] => {
      const f = (x: tf.Tensor) => (native ? crossEntropyNative(x as tf.Tensor2D, targets) : crossEntropy(x as tf.Tensor2D, targets, false));
      const { value, grads } = tf.valueAndGrads((x: tf.Tensor) => tf.mul(f(x), tf.scalar(1.7)))([logits]);
      return [value, grads[0]];
    };
    const [lp, gp] = readWith(0, both(false));
    const [ln, gn] = readWith(2, both(true));
    const ref = crossEntropyFloat64(logits.dataSync() as Float32Array, tv, V, 1.7);
    assertClose(ln, [ref.loss], 1e-6, `loss vs float64 ${tag}`);
    assertClose(gn, ref.grad, 1e-5, `gradient vs float64 ${tag}`, 1e-4);
    // The tfjs composite is the one further from float64: its softmax is exp(x - lse) with lse rounded to float32,
    // so its gradient drifts with |lse| (1.2e-5 at V = 1000, 3e-4 at V = 50304); compared where that stays small.
    assertClose(ln, lp, 1e-5, `loss vs plain tfjs ${tag}`);
    if (V <= 1000) assertClose(gn, gp, 3e-5, `gradient vs plain tfjs ${tag}`, 1e-4);
    tf.dispose([logits, targets]);
  }
  const logits = rand([3, 5]);
  const allIgnored = tf.tensor1d([-1, -1, -1], 'int32');
  assert.ok(Number.isNaN(readWith(2, () => crossEntropyNative(logits, allIgnored))[0][0]), 'all targets ignored: NaN, as PyTorch');
  const bad = tf.tensor1d([0, 5, 1], 'int32');
  assert.throws(() => crossEntropyNative(logits, bad), /target 5 at row 1 is outside \[0, 5\)/);
  assert.throws(() => crossEntropyNative(logits, tf.tensor1d([0, 1], 'int32')), /logits \(N, V\) and int32 targets \(N\)/);
  const ok = tf.tensor1d([0, 4, -1], 'int32');
  await assertNoLeak(() => tf.dispose(tf.grad((x: tf.Tensor) => crossEntropyNative(x as tf.Tensor2D, ok))(logits)), 0, 'cross-entropy fwd + bwd');
  tf.dispose([logits, allIgnored, bad, ok]);
});

test('crossEntropyNative reads its inputs after allocating: outputs that grow the wasm heap do not detach them', (t) => {
  if (skipUnlessBuilt(t)) return;
  // Logits larger than the whole current heap: allocating p (as large) must grow the heap, which detaches every
  // Float32Array view taken before (the first version of the kernel read the targets through such a view).
  const heapBytes = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
  const V = 50304;
  const N = Math.ceil(heapBytes / (4 * V)) + 1;
  const logits = tf.zeros([N, V]) as tf.Tensor2D;
  const targets = tf.tensor1d(Int32Array.from({ length: N }, (_, i) => (i * 7) % V), 'int32');
  const loss = crossEntropyNative(logits, targets);
  assert.ok(Math.abs(loss.dataSync()[0] - Math.log(V)) < 1e-4, `uniform logits: loss log(V) = ${Math.log(V)}, got ${loss.dataSync()[0]}`);
  const grown = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
  assert.ok(grown > heapBytes, `the heap grew (${heapBytes} -> ${grown} bytes)`);
  tf.dispose([logits, targets, loss]);
});

test('the fast training loss runs the native cross-entropy once and pairs every Linear backward product', async (t) => {
  if (skipUnlessBuilt(t)) return;
  const cfg = makeConfig('tiny-4L', { nLayer: 2, vocabSize: 32 });
  const params = initParams(cfg, { seed: 5 });
  const idx = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8]], undefined, 'int32');
  const targets = tf.tensor2d([[2, 3, 4, 5], [6, 7, 8, -1]], undefined, 'int32');
  const info = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => lossFn(params, cfg, idx, targets, { fast: true }), Object.values(params));
    tf.dispose([value, ...Object.values(grads)]);
  });
  const count = (name: string) => info.kernels.filter((k) => k.name === name).length;
  assert.equal(count('InherituneSoftmaxXent'), 1);
  assert.equal(count('InherituneSoftmaxXentGrad'), 1);
  // 4 Linears per layer and the tied head: each backward is one paired kernel
  assert.equal(count('InherituneMatMulPair'), 4 * cfg.nLayer + 1);
  tf.dispose([idx, targets]);
  disposeParams(params);
});
