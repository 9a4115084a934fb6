// Fused native attention softmax and AdamW (lib/backend/native-ops) against the composite tfjs code they replace
// (lib/model/gpt attention, lib/train/adamw) run on plain wasm: forward, gradient, odd sizes, no leaks; and the
// model and optimizer really dispatch to them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { enableNativeKernels, disableNativeKernels } from '../../lib/backend/native';
import { causalSoftmaxNative } from '../../lib/backend/native-ops';
import { causalMask, forward } from '../../lib/model/gpt';
import { initParams, disposeParams } from '../../lib/model/params';
import { makeConfig } from '../../lib/model/config';
import { AdamW } from '../../lib/train/adamw';
import { assertClose, assertNoLeak, randomTensor } from '../helpers';
import { nativeKernelsForTests } from './native-setup';
import { Rng } from '../../lib/util/rng';

const skipUnlessBuilt = nativeKernelsForTests();
const rng = new Rng(777);
const rand = (shape: number[], scale = 1): tf.Tensor => randomTensor(rng, shape, scale);

/** fNative with native kernels on, then fPlain with them off (plain wasm); native stays on afterwards. */
function bothWays(fNative: () => tf.Tensor, fPlain: () => tf.Tensor): [Float32Array, Float32Array] {
  enableNativeKernels({ threads: 2 });
  const a = tf.tidy(fNative);
  const nat = a.dataSync() as Float32Array;
  a.dispose();
  disableNativeKernels();
  const b = tf.tidy(fPlain);
  const plain = b.dataSync() as Float32Array;
  b.dispose();
  enableNativeKernels({ threads: 2 });
  return [nat, plain];
}

const composite = (s: tf.Tensor, scale: number): tf.Tensor => tf.softmax(tf.add(tf.mul(s, tf.scalar(scale)), causalMask(s.shape[s.rank - 1])), -1);

test('causal softmax: forward and gradient equal scale + -Infinity mask + softmax on plain wasm (odd T, many rows)', async (t) => {
  if (skipUnlessBuilt(t)) return;
  for (const [shape, scale] of [[[2, 3, 37, 37], 0.17], [[1, 1, 1, 1], 1], [[4, 2, 64, 64], 0.0625], [[3, 5, 130, 130], 0.3]] as Array<[number[], number]>) {
    const s = rand(shape, 3);
    const dy = rand(shape);
    const tag = `[${shape}] scale ${scale}`;
    const [fn, fc] = bothWays(() => causalSoftmaxNative(s, scale), () => composite(s, scale));
    assertClose(fn, fc, 1e-6, `forward ${tag}`, 1);
    const T = shape[3];
    for (let r = 0; r < fn.length / T; r++) {
      for (let j = (r % T) + 1; j < T; j++) assert.equal(fn[r * T + j], 0, `masked entry (${r}, ${j}) must be exactly 0`);
    }
    const grad = (f: (x: tf.Tensor, k: number) => tf.Tensor) => (): tf.Tensor => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x, scale), dy)))(s);
    const [gn, gc] = bothWays(grad(causalSoftmaxNative), grad(composite));
    assertClose(gn, gc, 1e-5, `gradient ${tag}`, 1e-3);
    tf.dispose([s, dy]);
  }
  const s = rand([2, 2, 9, 9]);
  await assertNoLeak(() => tf.dispose(tf.grad((x: tf.Tensor) => tf.sum(causalSoftmaxNative(x, 0.5)))(s)), 0, 'causal softmax fwd + bwd');
  assert.throws(() => causalSoftmaxNative(tf.zeros([2, 3, 4]), 1), /must end in \(T, T\)/);
  s.dispose();
});

test('the model forward uses the fused causal softmax once per layer (no hooks)', async (t) => {
  if (skipUnlessBuilt(t)) return;
  const cfg = makeConfig('tiny-4L', { nLayer: 3, vocabSize: 32 });
  const params = initParams(cfg, { seed: 3 });
  const idx = tf.tensor2d([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], undefined, 'int32');
  const info = await tf.profile(() => forward(params, cfg, idx).logits);
  assert.equal(info.kernels.filter((k) => k.name === 'InherituneCausalSoftmax').length, 3); // kernelNames is deduplicated
  idx.dispose();
  disposeParams(params);
});

test('AdamW: the fused native update equals the composite one over 4 steps (decayed and non-decayed tensors)', async (t) => {
  if (skipUnlessBuilt(t)) return;
  const shapes: Record<string, number[]> = { 'transformer.h.0.attn.c_attn.weight': [37, 11], 'transformer.h.0.ln_1.bias': [11], 'transformer.wte.weight': [5, 3] };
  const init = Object.fromEntries(Object.entries(shapes).map(([n, s]) => [n, rand(s)]));
  const grads = [0, 1, 2, 3].map(() => Object.fromEntries(Object.entries(shapes).map(([n, s]) => [n, rand(s, 0.1)])));
  const run = (native: boolean): Record<string, Float32Array> => {
    if (native) enableNativeKernels({ threads: 2 });
    else disableNativeKernels();
    const params = Object.fromEntries(Object.entries(init).map(([n, v]) => [n, tf.variable(v.clone(), true, `adamw-test.${native}.${n}`)]));
    const opt = new AdamW({ weightDecay: 0.1, beta2: 0.99 });
    grads.forEach((g, i) => opt.apply(params, g, 1e-2 * (i + 1)));
    const out: Record<string, Float32Array> = {};
    for (const [n, p] of Object.entries(params)) out[n] = p.dataSync() as Float32Array;
    const st = opt.getState();
    for (const n of Object.keys(shapes)) {
      out[`m:${n}`] = st.m[n].dataSync() as Float32Array;
      out[`v:${n}`] = st.v[n].dataSync() as Float32Array;
    }
    opt.dispose();
    tf.dispose(Object.values(params));
    enableNativeKernels({ threads: 2 });
    return out;
  };
  const plain = run(false);
  const fused = run(true);
  for (const k of Object.keys(plain)) assertClose(fused[k], plain[k], 1e-6, `AdamW ${k}`, 1e-3);
  // the fused path really ran, and leaks nothing beyond the optimizer's own moments
  const params = { 'transformer.h.0.ln_1.bias': tf.variable(rand([11]), true, 'adamw-test.leak') };
  const g = { 'transformer.h.0.ln_1.bias': rand([11]) };
  const opt = new AdamW();
  opt.apply(params, g, 1e-3); // creates m and v
  const info = await tf.profile(() => opt.apply(params, g, 1e-3));
  assert.ok(info.kernelNames.includes('InherituneAdamW'), `kernels: ${info.kernelNames.join(', ')}`);
  await assertNoLeak(() => opt.apply(params, g, 1e-3), 0, 'fused AdamW step');
  opt.dispose();
  tf.dispose([...Object.values(params), ...Object.values(g), ...Object.values(init), ...grads.flatMap((x) => Object.values(x))]);
});
