// One PyTorch training fixture (test/reference/make_gpt2_fixtures.py, case.json "adamw") run through train(): the
// same batch every step, torch.optim.AdamW with weight decay on params with dim >= 2, clip_grad_norm_, constant lr.
// Shared by the training fixture tests and the native kernels' tests, which take the same path with another kernel.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { FIXTURE_DIR, expected, fixtureParams, loadCase } from '../model/fixtures';
import { disposeParams } from '../../lib/model/params';
import { train } from '../../lib/train/trainer';
import { FixedBatchSampler } from './util';

interface AdamWFixture {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weight_decay: number;
  grad_clip: number;
  steps: number;
  losses: number[];
  grad_norms: number[];
}

/** Worst errors against the fixture: loss before each step (abs), grad norm before clipping (rel), final params (abs). */
export interface FixtureTrainingErrors {
  steps: number;
  expectedSteps: number;
  lossErr: number;
  normErr: number;
  paramErr: number;
}

/** Trains fixture `name` for its steps (plain or fast path); asserts no tensor is left behind and the lr is constant. */
export async function trainAgainstFixture(name: string, fast: boolean): Promise<FixtureTrainingErrors> {
  const fc = loadCase(name);
  const adamw = JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, name, 'case.json'), 'utf8')).adamw as AdamWFixture;
  const params = fixtureParams(fc);
  const before = tf.memory().numTensors;
  try {
    const res = await train({
      params,
      config: fc.cfg,
      data: { train: new FixedBatchSampler(fc.tokens, fc.targets), batchSize: fc.B, blockSize: fc.T },
      maxSteps: adamw.steps,
      schedule: { lr: adamw.lr, minLr: adamw.lr, warmupIters: 0, decay: 'constant' },
      optimizer: { beta1: adamw.beta1, beta2: adamw.beta2, eps: adamw.eps, weightDecay: adamw.weight_decay, decayRule: 'rank>=2' },
      gradClip: adamw.grad_clip,
      fast,
      logInterval: 5,
      progress: false,
    });
    assert.equal(tf.memory().numTensors, before, 'train() left tensors behind');
    const steps = res.history.steps;
    let lossErr = 0;
    let normErr = 0;
    for (let i = 0; i < steps.length; i++) {
      assert.equal(steps[i].lr, adamw.lr);
      lossErr = Math.max(lossErr, Math.abs(steps[i].loss - adamw.losses[i]));
      normErr = Math.max(normErr, Math.abs(steps[i].gradNorm - adamw.grad_norms[i]) / adamw.grad_norms[i]);
    }
    let paramErr = 0;
    for (const [n, v] of Object.entries(params)) {
      const want = expected(fc, `final.${n}`).data;
      const got = v.dataSync();
      for (let i = 0; i < got.length; i++) paramErr = Math.max(paramErr, Math.abs(got[i] - want[i]));
    }
    return { steps: steps.length, expectedSteps: adamw.steps, lossErr, normErr, paramErr };
  } finally {
    disposeParams(params);
  }
}
