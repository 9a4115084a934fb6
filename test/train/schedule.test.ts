import { test } from 'node:test';
import assert from 'node:assert/strict';
import { learningRate, validateSchedule, LrSchedule } from '../../lib/train/schedule';

const paper: LrSchedule = { lr: 2e-4, minLr: 1e-5, warmupIters: 2000, decayIters: 100000 };

// nanoGPT get_lr, written out independently for the test (train.py @3adf61e).
function nanoGptGetLr(it: number, s: LrSchedule): number {
  if (it < s.warmupIters) return (s.lr * (it + 1)) / (s.warmupIters + 1);
  if (it > s.decayIters) return s.minLr;
  const decayRatio = (it - s.warmupIters) / (s.decayIters - s.warmupIters);
  const coeff = 0.5 * (1.0 + Math.cos(Math.PI * decayRatio));
  return s.minLr + coeff * (s.lr - s.minLr);
}

test('nanogpt warmup + cosine equals get_lr at every step', () => {
  for (let it = 0; it <= 100500; it++) assert.equal(learningRate(paper, it), nanoGptGetLr(it, paper), `step ${it}`);
});

test('landmarks: first step, end of warmup, half-way, end', () => {
  assert.equal(learningRate(paper, 0), 2e-4 / 2001);
  assert.equal(learningRate(paper, 1999), 2e-4 * 2000 / 2001);
  assert.equal(learningRate(paper, 2000), 2e-4);
  assert.ok(Math.abs(learningRate(paper, 51000) - (1e-5 + 0.5 * (2e-4 - 1e-5))) < 1e-18);
  assert.equal(learningRate(paper, 100000), 1e-5);
  assert.equal(learningRate(paper, 200000), 1e-5);
});

test("the authors' warmup starts at 0 and is linear", () => {
  const s = { ...paper, warmup: 'authors' as const };
  assert.equal(learningRate(s, 0), 0);
  assert.equal(learningRate(s, 1000), 1e-4);
  assert.equal(learningRate(s, 2000), 2e-4);
});

test('bad schedules are refused with every problem named', () => {
  assert.throws(() => validateSchedule({ lr: 0, minLr: 1, warmupIters: 10, decayIters: 5 }),
    /lr must be > 0.*minLr must be in \[0, lr\].*decayIters \(5\) must be an integer > warmupIters \(10\)/);
});
