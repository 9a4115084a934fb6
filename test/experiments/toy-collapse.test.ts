// The authors' toy demos at tiny scale: structure, the softmax-rank claim, gradients of the 2-D linear op, leaks.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  COLLAPSE_TRAINING_SIZES,
  runCollapseTraining,
  runSoftmaxRankDemo,
  SOFTMAX_RANK_SIZES,
  softmaxDemoWeightStd,
} from '../../lib/experiments/toy-collapse';
import { linear2d, toyAttentionForward, initToyAttention, disposeToyAttention } from '../../lib/experiments/toy-attention';
import { Rng } from '../../lib/util/rng';
import { assertClose, assertNoLeak, setupBackend } from '../helpers';

before(async () => {
  await setupBackend();
});

test('paper sizes are the notebook settings; demo-1 weight std is 1/256 at hidden 2048, head_dim 64', () => {
  assert.equal(softmaxDemoWeightStd(2048, 64), 1 / 256);
  assert.deepEqual(
    { ...SOFTMAX_RANK_SIZES.paper },
    { seed: 42, T: 1024, hidden: 2048, heads: 32, headDim: 64, batch: 8, tau: 0.9 },
  );
  const p = COLLAPSE_TRAINING_SIZES.paper;
  assert.deepEqual([p.T, p.hidden, p.heads, p.batch, p.steps, p.checkpointEvery, p.lr, p.tau], [128, 512, 8, 16, 1000, 50, 1e-3, 0.9]);
});

test('demo 1 (tiny): post-softmax k* = 1 for every head, pre-softmax k* far larger; no leaks', async () => {
  const r = await assertNoLeak(() => runSoftmaxRankDemo({}, 'tiny'), 0, 'runSoftmaxRankDemo');
  const { heads, T, batch, headDim } = r.config;
  assert.equal(r.preRank.length, heads);
  assert.deepEqual(r.postRank, new Array(heads).fill(1));
  // The batch-mean logits have rank <= min(T, batch·headDim); k* sits well above 1 (here about 26 of 64).
  for (const k of r.preRank) assert.ok(k >= 10 && k <= Math.min(T, batch * headDim), `pre-softmax k* ${k}`);
  // Why post-softmax collapses: the logits' std is about 2/headDim (0.031), so every row is nearly uniform.
  assert.ok(Math.abs(r.logitStd - 2 / headDim) < 0.3 * (2 / headDim), `logit std ${r.logitStd}`);
  assert.equal(r.weightStd, softmaxDemoWeightStd(r.config.hidden, headDim));
});

test('linear2d: value and gradients equal plain matMul autodiff; no leaks', async () => {
  const rng = new Rng(5);
  const xs = Float32Array.from({ length: 6 * 4 }, () => rng.normal());
  const ws = Float32Array.from({ length: 4 * 3 }, () => rng.normal());
  const dys = Float32Array.from({ length: 6 * 3 }, () => rng.normal());
  await assertNoLeak(() => {
    tf.tidy(() => {
      const x = tf.tensor2d(xs, [6, 4]);
      const w = tf.tensor2d(ws, [4, 3]);
      const dy = tf.tensor2d(dys, [6, 3]);
      const f1 = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(linear2d(a as tf.Tensor2D, b as tf.Tensor2D), dy));
      const f2 = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), dy));
      assertClose(linear2d(x, w).dataSync(), tf.matMul(x, w).dataSync(), 1e-6, 'value');
      const [gx1, gw1] = tf.grads(f1)([x, w]);
      const [gx2, gw2] = tf.grads(f2)([x, w]);
      assertClose(gx1.dataSync(), gx2.dataSync(), 1e-5, 'dx');
      assertClose(gw1.dataSync(), gw2.dataSync(), 1e-5, 'dw');
    });
  }, 0, 'linear2d');
});

test('toy attention forward: row-stochastic (B, nh, T, T) patterns and (B, T, d) output', async () => {
  const p = initToyAttention(16, new Rng(1));
  try {
    await assertNoLeak(async () => {
      const x = tf.randomNormal([2, 5, 16], 0, 1, 'float32', 1) as tf.Tensor3D;
      const { out, att } = toyAttentionForward(p, x, 4);
      assert.deepEqual(out.shape, [2, 5, 16]);
      assert.deepEqual(att.shape, [2, 4, 5, 5]);
      const rowSums = tf.sum(att, -1);
      assertClose(await rowSums.data(), new Float32Array(2 * 4 * 5).fill(1), 1e-5, 'row sums');
      tf.dispose([x, out, att, rowSums]);
    }, 0, 'toyAttentionForward');
    assert.throws(() => toyAttentionForward(p, tf.zeros([1, 2, 16]) as tf.Tensor3D, 3), /hidden size \(16\) must be divisible by the number of heads \(3\)/);
  } finally {
    disposeToyAttention(p);
  }
});

test('demo 2 (tiny): a well-formed, reproducible trajectory; variables and optimizer state disposed', async () => {
  const seen: number[] = [];
  const r = await assertNoLeak(
    () => runCollapseTraining({}, { scale: 'tiny', onProgress: (p) => seen.push(p.checkpoint.step) }),
    0,
    'runCollapseTraining',
  );
  const { steps, checkpointEvery, heads, T } = r.config;
  const expectedSteps = [0];
  for (let s = checkpointEvery; s < steps; s += checkpointEvery) expectedSteps.push(s);
  expectedSteps.push(steps);
  assert.deepEqual(r.trajectory.map((c) => c.step), expectedSteps);
  assert.deepEqual(seen, expectedSteps);
  for (const c of r.trajectory) {
    assert.equal(c.perHead.length, heads);
    for (const k of c.perHead) assert.ok(Number.isInteger(k) && k >= 1 && k <= T, `k* ${k}`);
    assert.equal(c.avgRank, c.perHead.reduce((a, b) => a + b, 0) / heads);
  }
  assert.ok(Number.isNaN(r.trajectory[0].loss));
  assert.equal(r.losses.length, steps);
  assert.ok(r.losses.every((v) => Number.isFinite(v) && v > 0));
  // Against pure noise targets the best constant prediction is 0, with loss Var(target) = 1; training moves toward it.
  assert.ok(r.losses[steps - 1] < r.losses[0], `loss ${r.losses[0]} -> ${r.losses[steps - 1]}`);
  assert.deepEqual(r.seeds, { init: 42, data: 43, val: 44 });

  const again = await runCollapseTraining({ steps: 10, checkpointEvery: 5 }, { scale: 'tiny' });
  assert.deepEqual(again.trajectory[0].perHead, r.trajectory[0].perHead, 'same seed -> same initial ranks');
  assert.equal(again.losses[9], r.losses[9], 'same seed -> same losses');
});

test('demo 2 validates its configuration', async () => {
  await assert.rejects(runCollapseTraining({ hidden: 30, heads: 4 }, { scale: 'tiny' }), /hidden \(30\) must be divisible by heads \(4\)/);
  await assert.rejects(runCollapseTraining({ checkpointEvery: 0 }, { scale: 'tiny' }), /checkpointEvery \(0\) must be a positive integer/);
});
