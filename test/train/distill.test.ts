// Knowledge-distillation loss against a hand computation (float64), and in the training loop: the teacher gets no
// gradient and never changes; alpha = 1 is plain cross-entropy training.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend, assertClose, assertNoLeak } from '../helpers';
import { initParams, disposeParams } from '../../lib/model/params';
import { distillLoss } from '../../lib/train/distill';
import { accumulateGradients } from '../../lib/train/step';
import { RandomWindowSampler } from '../../lib/data/sampler';
import { train } from '../../lib/train/trainer';
import { tinyConfig, tokenData } from './util';

before(() => setupBackend());

function logSoftmax(z: number[]): number[] {
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
  return z.map((v) => v - lse);
}

/** alpha·CE + (1−alpha)·s·KL(p_t ‖ p_s), means over positions with target >= 0, written out per the definition. */
function byHand(s: number[][], t: number[][], y: number[], alpha: number, tau: number, t2: boolean): number {
  let ce = 0;
  let kl = 0;
  let n = 0;
  s.forEach((row, i) => {
    if (y[i] < 0) return;
    n++;
    ce -= logSoftmax(row)[y[i]];
    const ls = logSoftmax(row.map((v) => v / tau));
    const lt = logSoftmax(t[i].map((v) => v / tau));
    for (let k = 0; k < row.length; k++) kl += Math.exp(lt[k]) * (lt[k] - ls[k]);
  });
  return alpha * (ce / n) + (1 - alpha) * (t2 ? tau * tau : 1) * (kl / n);
}

const S = [[1, 2, 0.5], [0.3, -1, 2], [-0.7, 0.1, 0.4]];
const T = [[0.2, 1.5, 1.0], [1, 1, 1], [2.2, -0.3, 0.0]];

test('distillLoss equals alpha·CE + (1-alpha)·τ²·KL(teacher‖student) computed by hand', async () => {
  const cases: { y: number[]; alpha: number; tau: number; t2: boolean }[] = [
    { y: [1, 2, 0], alpha: 0.6, tau: 1, t2: true }, // the paper's setting
    { y: [1, 2, 0], alpha: 0.6, tau: 2, t2: true },
    { y: [1, 2, 0], alpha: 0.6, tau: 2, t2: false },
    { y: [1, -1, 2], alpha: 0.3, tau: 1.5, t2: true }, // an ignored position counts in neither term
    { y: [0, 1, 2], alpha: 0, tau: 1, t2: true }, // pure KL
  ];
  const s = tf.tensor3d([S]);
  const t = tf.tensor3d([T]);
  for (const c of cases) {
    const y = tf.tensor2d([c.y], [1, 3], 'int32');
    const got = await assertNoLeak(() => {
      const l = distillLoss(s, t, y, { alpha: c.alpha, temperature: c.tau, scaleByT2: c.t2 });
      const v = l.dataSync()[0];
      l.dispose();
      return v;
    }, 0, 'distillLoss');
    assertClose([got], [byHand(S, T, c.y, c.alpha, c.tau, c.t2)], 1e-6, `distill ${JSON.stringify(c)}`);
    y.dispose();
  }
  // Identical logits: KL is 0 and the loss is alpha·CE.
  const y = tf.tensor2d([[1, 2, 0]], [1, 3], 'int32');
  const same = distillLoss(s, s, y, { alpha: 0.6 });
  assertClose([same.dataSync()[0]], [0.6 * byHand(S, S, [1, 2, 0], 1, 1, true)], 1e-6, 'KL(p‖p) = 0');
  assert.throws(() => distillLoss(s, tf.zeros([1, 3, 4]), y), /same shape \(same vocabulary\)/);
  assert.throws(() => distillLoss(s, t, y, { alpha: 1.5 }), /alpha must be in \[0, 1\], got 1\.5/);
  tf.dispose([s, t, y, same]);
});

test('distillLoss gradient wrt the student logits equals central differences of the hand formula (float64)', async () => {
  for (const c of [{ y: [1, -1, 2], alpha: 0.3, tau: 1.5, t2: true }, { y: [0, 1, 2], alpha: 0, tau: 2, t2: false }]) {
    const s = tf.tensor3d([S]);
    const t = tf.tensor3d([T]);
    const y = tf.tensor2d([c.y], [1, 3], 'int32');
    const g = await assertNoLeak(() => {
      const gr = tf.grad((x: tf.Tensor) => distillLoss(x, t, y, { alpha: c.alpha, temperature: c.tau, scaleByT2: c.t2 }))(s);
      const d = Array.from(gr.dataSync());
      gr.dispose();
      return d;
    }, 0, 'distillLoss gradient');
    const h = 1e-6;
    const fd: number[] = [];
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const plus = S.map((r) => [...r]);
        const minus = S.map((r) => [...r]);
        plus[i][j] += h;
        minus[i][j] -= h;
        fd.push((byHand(plus, T, c.y, c.alpha, c.tau, c.t2) - byHand(minus, T, c.y, c.alpha, c.tau, c.t2)) / (2 * h));
      }
    }
    assertClose(g, fd, 1e-4, `d loss / d student ${JSON.stringify(c)}`, 1e-2);
    tf.dispose([s, t, y]);
  }
});

test('KD training: the teacher never changes and gets no gradient; alpha = 1 is plain cross-entropy', async () => {
  const cfg = tinyConfig();
  const src = tokenData(3000, cfg.vocabSize, 5);
  const teacherCfg = tinyConfig({ nLayer: 3 });
  const teacher = initParams(teacherCfg, { seed: 10 });
  const before = Object.fromEntries(Object.entries(teacher).map(([k, v]) => [k, v.dataSync().slice()]));
  const student = initParams(cfg, { seed: 11 });
  const batch = new RandomWindowSampler(src, { batchSize: 2, blockSize: 16, seed: 1 }).next();
  const g = accumulateGradients(student, cfg, [batch], { accumulation: 'mean', distill: { teacher, teacherConfig: teacherCfg } });
  assert.deepEqual(Object.keys(g.grads).sort(), Object.keys(student).sort(), 'gradients for the student only');
  tf.dispose([g.loss, ...Object.values(g.grads)]);
  const kd = await train({
    params: student, config: cfg, data: { train: src, batchSize: 2, blockSize: 16 }, maxSteps: 3,
    schedule: { lr: 1e-3 }, progress: false, distill: { teacher, teacherConfig: teacherCfg, alpha: 0.6, temperature: 1 },
  });
  assert.equal(kd.runConfig.distill?.alpha, 0.6);
  for (const [k, v] of Object.entries(teacher)) assert.deepEqual(v.dataSync(), before[k], `teacher ${k} changed`);
  disposeParams(student);

  const a = initParams(cfg, { seed: 12 });
  const b = initParams(cfg, { seed: 12 });
  const opts = { config: cfg, data: { train: src, batchSize: 2, blockSize: 16 }, maxSteps: 3, schedule: { lr: 1e-3 }, progress: false as const, fast: false };
  const ce = await train({ ...opts, params: a });
  const kd1 = await train({ ...opts, params: b, distill: { teacher, teacherConfig: teacherCfg, alpha: 1 } });
  assertClose(kd1.history.steps.map((s) => s.loss), ce.history.steps.map((s) => s.loss), 1e-6, 'alpha = 1 losses');
  disposeParams(a);
  disposeParams(b);
  disposeParams(teacher);
});
