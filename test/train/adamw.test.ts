import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { AdamW, clipByGlobalNorm, decays } from '../../lib/train/adamw';
import { setupBackend, assertNoLeak, assertClose } from '../helpers';

before(() => setupBackend());

// Float64 reference of torch.optim.AdamW's update, written from the PyTorch documentation's algorithm.
function referenceAdamW(p0: number[], grads: number[][], lr: number[], c: { b1: number; b2: number; eps: number; wd: number }): number[] {
  const p = p0.slice();
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  grads.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < p.length; i++) {
      p[i] *= 1 - lr[k] * c.wd;
      m[i] = c.b1 * m[i] + (1 - c.b1) * g[i];
      v[i] = c.b2 * v[i] + (1 - c.b2) * g[i] * g[i];
      const mhat = m[i] / (1 - c.b1 ** t);
      const vhat = v[i] / (1 - c.b2 ** t);
      p[i] -= (lr[k] * mhat) / (Math.sqrt(vhat) + c.eps);
    }
  });
  return p;
}

test('AdamW matches the PyTorch update rule over 5 steps (float32 vs float64 reference, 1e-5 rel)', async () => {
  const p0 = [0.5, -1.25, 2.0, 0.001, -0.3, 0.75];
  const grads = [
    [0.1, -0.2, 0.3, 0.0, 1.5, -0.05],
    [0.12, -0.1, 0.25, 0.01, 1.2, -0.06],
    [-0.3, 0.2, 0.1, -0.02, 0.9, 0.04],
    [0.05, 0.0, -0.2, 0.03, 0.4, 0.0],
    [0.2, 0.1, 0.05, -0.01, -0.1, 0.02],
  ];
  const lrs = [1e-3, 2e-3, 3e-3, 2e-3, 1e-3];
  const params = { 'transformer.h.0.mlp.c_fc.weight': tf.variable(tf.tensor2d(p0, [2, 3])) };
  const opt = new AdamW({ beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  for (let k = 0; k < grads.length; k++) {
    const g = { 'transformer.h.0.mlp.c_fc.weight': tf.tensor2d(grads[k], [2, 3]) };
    opt.apply(params, g, lrs[k]);
    tf.dispose(g);
  }
  const want = referenceAdamW(p0, grads, lrs, { b1: 0.9, b2: 0.95, eps: 1e-8, wd: 0.1 });
  assertClose(await params['transformer.h.0.mlp.c_fc.weight'].data(), want, 1e-5, 'AdamW params');
  assert.equal(opt.step, 5);
  opt.dispose();
  tf.dispose(Object.values(params));
});

test('weight decay touches only the decay set: rank >= 2 (nanoGPT) or Linear weights only (authors)', async () => {
  assert.equal(decays('transformer.wte.weight', [10, 4], 'rank>=2'), true);
  assert.equal(decays('transformer.h.0.ln_1.weight', [4], 'rank>=2'), false);
  assert.equal(decays('transformer.h.0.attn.c_attn.bias', [12], 'rank>=2'), false);
  assert.equal(decays('transformer.wte.weight', [10, 4], 'linear-weights'), false);
  assert.equal(decays('transformer.wpe.weight', [8, 4], 'linear-weights'), false);
  assert.equal(decays('transformer.h.3.mlp.c_proj.weight', [16, 4], 'linear-weights'), true);
  // With a zero gradient, Adam's step is 0, so any change is the decay alone.
  const params = { w: tf.variable(tf.ones([2, 2])), b: tf.variable(tf.ones([2])) };
  const opt = new AdamW({ weightDecay: 0.5 });
  const g = { w: tf.zeros([2, 2]), b: tf.zeros([2]) };
  opt.apply(params, g, 0.1);
  assertClose(await params.w.data(), [0.95, 0.95, 0.95, 0.95], 1e-7, 'decayed matrix');
  assertClose(await params.b.data(), [1, 1], 0, 'vector not decayed');
  tf.dispose([...Object.values(g), ...Object.values(params)]);
  opt.dispose();
});

test('AdamW and clipping do not leak tensors', async () => {
  const params = { w: tf.variable(tf.randomNormal([3, 3])) };
  const opt = new AdamW();
  const g0 = { w: tf.ones([3, 3]) };
  opt.apply(params, g0, 1e-3); // creates the two moment variables
  await assertNoLeak(() => opt.apply(params, g0, 1e-3), 0, 'AdamW.apply');
  await assertNoLeak(() => {
    const { grads, norm } = clipByGlobalNorm(g0, 1);
    tf.dispose([...Object.values(grads), norm]);
  }, 0, 'clipByGlobalNorm');
  opt.dispose();
  tf.dispose([params.w, g0.w]);
});

test('global-norm clipping scales only when the norm exceeds the limit', async () => {
  const g = { a: tf.tensor1d([3, 0]), b: tf.tensor1d([0, 4]) }; // norm 5
  const c1 = clipByGlobalNorm(g, 1);
  assertClose([(await c1.norm.data())[0]], [5], 1e-7, 'norm');
  assertClose(await c1.grads.a.data(), [3 / (5 + 1e-6), 0], 1e-6, 'clipped a');
  const c2 = clipByGlobalNorm(g, 10);
  assert.deepEqual(Array.from(await c2.grads.b.data()), [0, 4]);
  tf.dispose([...Object.values(g), ...Object.values(c1.grads), c1.norm, ...Object.values(c2.grads), c2.norm]);
});

test('AdamW frees its moments on dispose, and two optimizers over the same parameter names coexist', async () => {
  const start = tf.memory().numTensors;
  const params = { 'transformer.wte.weight': tf.tidy(() => tf.variable(tf.ones([2, 2]))) };
  const g = { 'transformer.wte.weight': tf.ones([2, 2]) };
  const a = new AdamW();
  const b = new AdamW(); // tfjs variable names are global: the moments must not collide
  a.apply(params, g, 1e-3);
  b.apply(params, g, 1e-3);
  a.dispose();
  b.dispose();
  tf.dispose([params['transformer.wte.weight'], g['transformer.wte.weight']]);
  assert.equal(tf.memory().numTensors, start);
});
