// 10 training steps against PyTorch (test/reference/make_gpt2_fixtures.py): torch.optim.AdamW (lr 1e-3, betas
// 0.9/0.95, eps 1e-8, weight decay 0.1 on params with dim >= 2), clip_grad_norm_(1.0), the same batch every step.
// Checked: the loss before each step (1e-3 abs, test/reference/README.md), the gradient norm before clipping
// (1e-3 rel) and every parameter after 10 steps (1e-4 abs), on the plain and the fast model paths.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../helpers';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CASES, FIXTURE_DIR, loadCase, fixtureParams, expected, fixturesPresent } from '../model/fixtures';
import { disposeParams } from '../../lib/model/params';
import { train } from '../../lib/train/trainer';
import { FixedBatchSampler } from './util';

before(() => setupBackend());

const VERBOSE = !!process.env.PARITY_VERBOSE;

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

function readAdamW(name: string): AdamWFixture {
  return JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, name, 'case.json'), 'utf8')).adamw as AdamWFixture;
}

for (const name of CASES) {
  for (const fast of [false, true]) {
    const label = `${name} (${fast ? 'fast' : 'plain'})`;
    test(`${label}: 10 AdamW steps match PyTorch's losses, grad norms and final parameters`, async (t) => {
      if (!fixturesPresent()) return t.skip('test/fixtures/gpt2 not generated yet');
      const fc = loadCase(name);
      const adamw = readAdamW(name);
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
        assert.equal(steps.length, adamw.steps);
        let lossErr = 0;
        let normErr = 0;
        for (let i = 0; i < steps.length; i++) {
          assert.equal(steps[i].lr, adamw.lr);
          lossErr = Math.max(lossErr, Math.abs(steps[i].loss - adamw.losses[i]));
          normErr = Math.max(normErr, Math.abs(steps[i].gradNorm - adamw.grad_norms[i]) / adamw.grad_norms[i]);
        }
        let paramErr = 0;
        for (const [n, v] of Object.entries(params)) {
          const want = expected(fc, `final.${n}`);
          const got = v.dataSync();
          for (let i = 0; i < got.length; i++) paramErr = Math.max(paramErr, Math.abs(got[i] - want.data[i]));
        }
        if (VERBOSE) console.log(`  ${label}: max |loss err| ${lossErr.toExponential(2)}, grad norm rel ${normErr.toExponential(2)}, final params abs ${paramErr.toExponential(2)}`);
        assert.ok(lossErr <= 1e-3, `${label}: loss trajectory off by ${lossErr} (> 1e-3)`);
        assert.ok(normErr <= 1e-3, `${label}: grad norms off by ${normErr} relative (> 1e-3)`);
        assert.ok(paramErr <= 1e-4, `${label}: final parameters off by ${paramErr} (> 1e-4)`);
      } finally {
        disposeParams(params);
      }
    });
  }
}
