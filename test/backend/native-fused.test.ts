// Fused native attention softmax and AdamW (lib/backend/native-ops) against the composite tfjs code they replace
// (lib/model/gpt attention, lib/train/adamw) run on plain wasm: forward, gradient, odd sizes, no leaks; and the
// model and optimizer really dispatch to them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { enableNativeKernels, disableNativeKernels } from '../../lib/backend/native';
import { attentionNative, causalSoftmaxNative } from '../../lib/backend/native-ops';
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

/** The model's step-by-step attention core (lib/model/gpt without hooks): split, heads, masked softmax, merge. */
function attentionComposite(qkv: tf.Tensor, B: number, T: number, nh: number, scale: number): tf.Tensor {
  const C = (qkv.shape[1] as number) / 3;
  const hs = C / nh;
  const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, T, nh, hs]), [0, 2, 1, 3]); // (B, nh, T, hs)
  const [q, k, v] = tf.split(qkv, 3, 1).map(heads);
  const p = composite(tf.matMul(q, k, false, true), scale); // (B, nh, T, T)
  return tf.reshape(tf.transpose(tf.matMul(p, v), [0, 2, 1, 3]), [B * T, C]);
}

test('attention core from qkv: forward and gradient equal the step-by-step path on plain wasm (odd sizes)', async (t) => {
  if (skipUnlessBuilt(t)) return;
  for (const [B, T, nh, hs, scale] of [[2, 37, 3, 5, 0.4], [1, 1, 1, 1, 1], [3, 64, 4, 16, 0.25], [1, 130, 2, 7, 0.1]]) {
    const qkv = rand([B * T, 3 * nh * hs], 1.5) as tf.Tensor2D;
    const dy = rand([B * T, nh * hs]);
    const tag = `B${B} T${T} nh${nh} hs${hs}`;
    const [yn, yc] = bothWays(() => attentionNative(qkv, B, T, nh, scale), () => attentionComposite(qkv, B, T, nh, scale));
    assertClose(yn, yc, 1e-5, `forward ${tag}`, 1);
    const grad = (f: (x: tf.Tensor2D) => tf.Tensor) => (): tf.Tensor => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x as tf.Tensor2D), dy)))(qkv);
    const [gn, gc] = bothWays(grad((x) => attentionNative(x, B, T, nh, scale)), grad((x) => attentionComposite(x, B, T, nh, scale)));
    assertClose(gn, gc, 1e-5, `dqkv ${tag}`, 1);
    tf.dispose([qkv, dy]);
  }
  const qkv = rand([2 * 9, 3 * 2 * 4]) as tf.Tensor2D;
  await assertNoLeak(() => tf.dispose(tf.grad((x: tf.Tensor) => tf.sum(attentionNative(x as tf.Tensor2D, 2, 9, 2, 0.5)))(qkv)), 0, 'attention fwd + bwd');
  await assertNoLeak(() => tf.tidy(() => attentionNative(qkv, 2, 9, 2, 0.5)), 1, 'attention forward only');
  assert.throws(() => attentionNative(qkv, 2, 8, 2, 0.5), /qkv must be \(B\*T, 3\*nh\*hs\)/);
  qkv.dispose();
});

test('the model forward takes the fused attention once per layer without hooks, the fused softmax with a pattern hook', async (t) => {
  if (skipUnlessBuilt(t)) return;
  const cfg = makeConfig('tiny-4L', { nLayer: 3, vocabSize: 32 });
  const params = initParams(cfg, { seed: 3 });
  const idx = tf.tensor2d([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], undefined, 'int32');
  const count = (info: Awaited<ReturnType<typeof tf.profile>>, name: string) => info.kernels.filter((k) => k.name === name).length; // kernelNames is deduplicated
  const plain = await tf.profile(() => forward(params, cfg, idx).logits);
  assert.equal(count(plain, 'InherituneAttention'), 3);
  assert.equal(count(plain, 'InherituneCausalSoftmax'), 0);
  let seen = 0;
  const hooked = await tf.profile(() => forward(params, cfg, idx, { hooks: [[(n: string) => n.endsWith('hook_pattern'), () => void seen++]] }).logits);
  assert.equal(count(hooked, 'InherituneAttention'), 0);
  assert.equal(count(hooked, 'InherituneCausalSoftmax'), 3);
  assert.equal(seen, 3);
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
  // 1e-5: the fused loop may contract m*b1 + g*(1-b1) into one FMA; m's cancellations amplify that last-bit change
  for (const k of Object.keys(plain)) assertClose(fused[k], plain[k], 1e-5, `AdamW ${k}`, 1e-3);
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
