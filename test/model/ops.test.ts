// The building blocks in lib/model/ops against closed forms computed in float64 JS, plain vs fast gradients of each
// custom-gradient op, and no leaks.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend, assertNoLeak, assertClose } from '../helpers';
import { linear, tiedHead, crossEntropy, geluTanh, layerNorm, pickDifferentiable } from '../../lib/model/ops';
import { Rng } from '../../lib/util/rng';

before(async () => {
  await setupBackend();
});

function randn(shape: number[], seed: number, scale = 1): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => scale * rng.normal()), shape);
}

test('geluTanh and layerNorm match their float64 closed forms', async () => {
  const x = randn([4, 6], 1, 2);
  const w = randn([6], 2);
  const b = randn([6], 3);
  try {
    const xs = Array.from(x.dataSync());
    const g = await assertNoLeak(() => geluTanh(x), 1, 'geluTanh');
    const ref = xs.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
    assertClose(g.dataSync(), ref, 1e-5, 'gelu', 1e-5); // float32 cancellation for x < -3
    g.dispose();
    const y = await assertNoLeak(() => layerNorm(x, w, b, 1e-5), 1, 'layerNorm');
    const ws = w.dataSync();
    const bs = b.dataSync();
    const expect: number[] = [];
    for (let r = 0; r < 4; r++) {
      const row = xs.slice(r * 6, r * 6 + 6);
      const mean = row.reduce((a, c) => a + c, 0) / 6;
      const variance = row.reduce((a, c) => a + (c - mean) ** 2, 0) / 6; // biased, as torch
      row.forEach((c, i) => expect.push(((c - mean) / Math.sqrt(variance + 1e-5)) * ws[i] + bs[i]));
    }
    assertClose(y.dataSync(), expect, 1e-5, 'layerNorm', 1e-5);
    y.dispose();
    const yNoBias = layerNorm(x, w, undefined, 1e-5);
    assertClose(yNoBias.dataSync(), expect.map((v, i) => v - bs[i % 6]), 1e-5, 'layerNorm without bias', 1e-5);
    yNoBias.dispose();
  } finally {
    tf.dispose([x, w, b]);
  }
});

test('fast linear, tied head and fused cross-entropy: same values and gradients as autograd, no leaks', async () => {
  const x = tf.variable(randn([12, 8], 4) as tf.Tensor2D);
  const w = tf.variable(randn([8, 5], 5) as tf.Tensor2D);
  const bias = tf.variable(randn([5], 6));
  const wte = tf.variable(randn([7, 8], 7) as tf.Tensor2D);
  const targets = tf.tensor1d([0, 6, 3, -1, 2, 2, 5, 1, -1, 4, 0, 6], 'int32');
  const vars = [x, w, bias, wte];
  const fns: Record<string, (fast: boolean) => tf.Scalar> = {
    'linear+bias': (fast) => tf.sum(tf.square(linear(x, w, bias, fast))),
    linear: (fast) => tf.sum(tf.square(linear(x, w, undefined, fast))),
    tiedHead: (fast) => tf.sum(tf.square(tiedHead(x, wte, fast))),
    crossEntropy: (fast) => crossEntropy(tiedHead(x, wte, false), targets, fast),
  };
  try {
    for (const [name, f] of Object.entries(fns)) {
      const gp = tf.variableGrads(() => f(false), vars);
      const gf = await assertNoLeak(() => tf.variableGrads(() => f(true), vars), 1 + Object.keys(gp.grads).length, `${name} grads`);
      assertClose(gf.value.dataSync(), gp.value.dataSync(), 1e-6, `${name} value`);
      for (const k of Object.keys(gp.grads)) assertClose(gf.grads[k].dataSync(), gp.grads[k].dataSync(), 1e-5, `${name} grad`, 1e-5);
      tf.dispose([gp.value, gf.value, ...Object.values(gp.grads), ...Object.values(gf.grads)]);
      // The op itself keeps nothing but its output (the test's own sum/square are the op's output here).
      for (const fast of [false, true]) (await assertNoLeak(() => tf.tidy(() => f(fast)), 1, `${name} (fast=${fast})`)).dispose();
    }
    // Cross-entropy against float64: mean over the 10 counted rows of lse - logit[target].
    const logits = tf.matMul(x, wte, false, true);
    const lg = logits.arraySync() as number[][];
    const tg = targets.arraySync() as number[];
    let sum = 0;
    let n = 0;
    tg.forEach((t, i) => {
      if (t < 0) return;
      const m = Math.max(...lg[i]);
      sum += m + Math.log(lg[i].reduce((a, v) => a + Math.exp(v - m), 0)) - lg[i][t];
      n++;
    });
    for (const fast of [false, true]) {
      const l = await assertNoLeak(() => crossEntropy(logits as tf.Tensor2D, targets, fast), 1, 'crossEntropy');
      assertClose(l.dataSync(), [sum / n], 1e-6, `cross-entropy (fast=${fast})`);
      l.dispose();
    }
    // The one-hot branch used beyond int32 flat indices picks the same values.
    const safe = tf.maximum(targets, tf.scalar(0, 'int32'));
    const a = pickDifferentiable(logits as tf.Tensor2D, safe);
    const b = await assertNoLeak(() => pickDifferentiable(logits as tf.Tensor2D, safe, 1), 1, 'pickDifferentiable');
    assert.deepEqual(b.dataSync(), a.dataSync());
    tf.dispose([logits, safe, a, b]);
    // All targets ignored: NaN, as PyTorch's mean over zero elements.
    const none = tf.fill([12], -1, 'int32') as tf.Tensor1D;
    for (const fast of [false, true]) {
      const l = crossEntropy(tiedHead(x, wte, false), none, fast);
      assert.ok(Number.isNaN(l.dataSync()[0]));
      l.dispose();
    }
    none.dispose();
  } finally {
    tf.dispose([x, w, bias, wte, targets]);
  }
});
