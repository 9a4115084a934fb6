// The training loop's guards and invariants: NaN/Inf stop naming the step, gradient accumulation conventions,
// constant tensor count, loss-spike skip, evaluation that leaves the training stream alone, abort.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend, assertClose, assertNoLeak } from '../helpers';
import { initParams, disposeParams, Params } from '../../lib/model/params';
import { Batch, BatchSampler, RandomWindowSampler, SamplerState } from '../../lib/data/sampler';
import { train } from '../../lib/train/trainer';
import { TrainOptions } from '../../lib/train/options';
import { accumulateGradients } from '../../lib/train/step';
import { SpikeDetector, TrainingDivergedError } from '../../lib/train/guards';
import { tinyConfig, tokenData } from './util';

before(() => setupBackend());

const cfg = tinyConfig();
const src = tokenData(5000, cfg.vocabSize, 3);
const val = tokenData(1500, cfg.vocabSize, 4);

function base(params: Params, over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    params,
    config: cfg,
    data: { train: src, val, batchSize: 2, blockSize: 16 },
    maxSteps: 4,
    schedule: { lr: 1e-3 },
    progress: false,
    ...over,
  };
}

test('a NaN or infinite loss stops training with a message naming the step', async () => {
  const p = initParams(cfg, { seed: 1 });
  // lr 1e30: the first update blows the weights up, so the loss of step 1 is no longer finite.
  await assert.rejects(train(base(p, { schedule: { lr: 1e30, minLr: 1e30 }, logInterval: 3 })), (e: Error) => {
    assert.ok(e instanceof TrainingDivergedError, e.message);
    assert.match(e.message, /^training diverged: (loss is (NaN|Infinity|-Infinity)|gradient norm is \S+ \(loss [^)]*\)) at step 1 \(lr 1\.000e\+30\)/);
    assert.equal((e as TrainingDivergedError).step, 1);
    return true;
  });
  disposeParams(p);
  // An injected NaN weight: the very first loss is NaN.
  const q = initParams(cfg, { seed: 1 });
  const w = q['transformer.h.0.mlp.c_fc.weight'];
  w.assign(tf.tidy(() => tf.mul(w, tf.scalar(NaN))));
  const logged: number[] = [];
  await assert.rejects(train(base(q, { onLog: (es) => logged.push(...es.map((e) => e.step)) })), /loss is NaN at step 0/);
  assert.deepEqual(logged, [0], 'the failing step is logged before stopping');
  disposeParams(q);
});

test("gradient accumulation: 'mean' over 2 micro-batches = one double batch; 'sum' = 2 x the mean", async () => {
  const p = initParams(cfg, { seed: 2 });
  const sampler = new RandomWindowSampler(src, { batchSize: 2, blockSize: 16, seed: 11 });
  const m1 = sampler.next();
  const m2 = sampler.next();
  const big: Batch = { x: Int32Array.from([...m1.x, ...m2.x]), y: Int32Array.from([...m1.y, ...m2.y]), shape: [4, 16] };
  const one = accumulateGradients(p, cfg, [big], { accumulation: 'mean' });
  const mean = await assertNoLeak(() => accumulateGradients(p, cfg, [m1, m2], { accumulation: 'mean' }), Object.keys(p).length + 1, 'accumulateGradients');
  const sum = accumulateGradients(p, cfg, [m1, m2], { accumulation: 'sum' });
  assertClose([mean.loss.dataSync()[0]], [one.loss.dataSync()[0]], 1e-6, 'mean loss');
  assertClose([sum.loss.dataSync()[0]], [one.loss.dataSync()[0]], 1e-6, 'reported loss is the micro-batch mean in both modes');
  for (const k of Object.keys(p)) {
    const scale = Math.max(...Array.from(one.grads[k].dataSync(), Math.abs));
    const d1 = tf.tidy(() => tf.max(tf.abs(tf.sub(mean.grads[k], one.grads[k]))).dataSync()[0]);
    assert.ok(d1 <= 1e-5 * Math.max(1, scale), `${k}: mean-accumulated gradient differs from the big batch by ${d1}`);
    const d2 = tf.tidy(() => tf.max(tf.abs(tf.sub(sum.grads[k], tf.mul(mean.grads[k], 2)))).dataSync()[0]);
    assert.ok(d2 <= 1e-6 * Math.max(1, scale), `${k}: sum-accumulated gradient is not 2x the mean (${d2})`);
  }
  for (const g of [one, mean, sum]) tf.dispose([g.loss, ...Object.values(g.grads)]);
  disposeParams(p);
});

test('no tensor leaks: the tensor count is constant across steps and back to the start after train()', async () => {
  const p = initParams(cfg, { seed: 3 });
  const start = tf.memory().numTensors;
  const counts: number[] = [];
  await train(base(p, {
    maxSteps: 6,
    logInterval: 1,
    gradAccumSteps: 2,
    eval: { interval: 2, fixedBatches: 1, randomIters: 1, trainIters: 1 },
    spike: { zThreshold: 50, window: 3 },
    onLog: () => counts.push(tf.memory().numTensors),
  }));
  assert.equal(counts.length, 6);
  // After step 0 the optimizer holds its 2 moments per parameter; from then on nothing grows.
  assert.ok(counts.slice(1).every((c) => c === counts[1]), `tensor counts per step: ${counts.join(', ')}`);
  assert.equal(tf.memory().numTensors, start);
  disposeParams(p);
});

/** One fixed batch, except at step `spikeAt` where the targets are shuffled (a loss spike). */
class SpikySampler implements BatchSampler {
  private n = 0;
  constructor(private readonly good: Batch, private readonly bad: Batch, private readonly spikeAt: number) {}
  next(): Batch {
    return this.n++ === this.spikeAt ? this.bad : this.good;
  }
  getState(): SamplerState {
    return { kind: 'sequential', shard: 0, pos: 0, epoch: 0, batchesDrawn: this.n };
  }
  setState(s: SamplerState): void {
    this.n = s.batchesDrawn;
  }
}

test('loss-spike guard: a z-score above the threshold skips the update and logs it', async () => {
  const p = initParams(cfg, { seed: 4 });
  const good = new RandomWindowSampler(src, { batchSize: 2, blockSize: 16, seed: 5 }).next();
  const bad: Batch = { x: good.x, y: good.y.map((t, i) => (t * 13 + i * 5 + 1) % cfg.vocabSize), shape: good.shape };
  const name = 'transformer.h.1.attn.c_attn.weight';
  const snapshots: Record<number, Float32Array> = {};
  const res = await train(base(p, {
    data: { train: new SpikySampler(good, bad, 9), batchSize: 2, blockSize: 16 },
    maxSteps: 11,
    schedule: { lr: 1e-3, minLr: 1e-3, decay: 'constant' },
    spike: { zThreshold: 4, window: 5 },
    logInterval: 1,
    onLog: (es) => es.forEach((e) => (snapshots[e.step] = p[name].dataSync() as Float32Array)),
  }));
  const skipped = res.history.steps.filter((s) => s.skipped).map((s) => s.step);
  assert.deepEqual(skipped, [9]);
  assert.ok(res.history.steps[9].loss > res.history.steps[8].loss + 0.1, `step 9 is a real spike: ${res.history.steps.map((s) => s.loss.toFixed(3))}`);
  assert.deepEqual(snapshots[9], snapshots[8], 'the skipped step left the weights alone');
  assert.notDeepEqual(snapshots[10], snapshots[9], 'training continued after the spike');
  disposeParams(p);
});

test('SpikeDetector: z-scores against the previous window, NaN while it fills', () => {
  const d = new SpikeDetector({ zThreshold: 3, window: 4 });
  for (const v of [1, 2, 3, 4]) assert.ok(Number.isNaN(d.update(v)));
  const z = d.update(10); // window 1..4: mean 2.5, population std sqrt(1.25)
  assert.ok(Math.abs(z - 7.5 / Math.sqrt(1.25)) < 1e-12);
  assert.ok(d.isSpike(z));
  const s = d.getState();
  const e = new SpikeDetector({ zThreshold: 3, window: 4 });
  e.setState(s);
  assert.equal(e.update(2), d.update(2));
});

test('evaluation and train-loss probes never change the training stream', async () => {
  const a = initParams(cfg, { seed: 6 });
  const b = initParams(cfg, { seed: 6 });
  const plain = await train(base(a, { maxSteps: 5 }));
  const evaluated = await train(base(b, { maxSteps: 5, eval: { interval: 1, fixedBatches: 2, randomIters: 2, trainIters: 2 } }));
  assert.deepEqual(evaluated.history.steps.map((s) => s.loss), plain.history.steps.map((s) => s.loss));
  assert.equal(evaluated.history.evals.length, 6);
  const e = evaluated.history.evals[0];
  assert.ok(e.valLoss === e.valLossFixed && e.valLossRandom !== undefined && e.trainLoss !== undefined);
  assert.deepEqual(evaluated.bestVal?.loss, Math.min(...evaluated.history.evals.map((x) => x.valLoss as number)));
  disposeParams(a);
  disposeParams(b);
});

test('an abort signal stops at the next step boundary', async () => {
  const p = initParams(cfg, { seed: 7 });
  const ac = new AbortController();
  const res = await train(base(p, { maxSteps: 50, logInterval: 1, signal: ac.signal, onLog: (es) => es.some((e) => e.step === 2) && ac.abort() }));
  assert.equal(res.stopped, 'aborted');
  assert.equal(res.steps, 3);
  disposeParams(p);
});

test('bad options are refused with what was expected', async () => {
  const p = initParams(cfg, { seed: 8 });
  await assert.rejects(train(base(p, { data: { train: src, batchSize: 2, blockSize: 32 } })), /data\.blockSize 32 exceeds the model's blockSize 16/);
  await assert.rejects(train(base(p, { accumulation: 'avg' as 'mean' })), /accumulation must be 'mean' or 'sum', got 'avg'/);
  await assert.rejects(train(base(p, { gradAccumSteps: 0 })), /gradAccumSteps must be an integer >= 1, got 0/);
  await assert.rejects(train(base(p, { schedule: { lr: 1e-3, warmupIters: 10, decayIters: 5 } })), /decayIters \(5\) must be an integer > warmupIters \(10\)/);
  await assert.rejects(train(base(p, { checkpointInterval: 5 })), /checkpointInterval needs outDir/);
  await assert.rejects(train(base(p, { eval: { interval: 1, randomIters: 1 }, data: { train: src, batchSize: 2, blockSize: 16 } })), /needs a val split/);
  disposeParams(p);
});

test('live progress goes to the given display: HTML with the sparkline, text for the command line', async () => {
  const p = initParams(cfg, { seed: 9 });
  const shown: { html: string; text: string }[] = [];
  await train(base(p, { maxSteps: 3, logInterval: 1, progress: { html: (html, text) => shown.push({ html, text }) } }));
  const last = shown[shown.length - 1];
  assert.match(last.text, /^step 3\/3 \| loss \d+\.\d{4} \| lr .* tok\/s \| \d+ ms\/step \| ETA 0s \| done$/);
  assert.match(last.html, /<svg [^>]*><polyline/);
  disposeParams(p);
});
