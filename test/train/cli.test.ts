// The `train` command: defaults, overrides, clear errors for bad arguments, and a tiny real run that resumes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { optionsFromArgs, trainCommand } from '../../lib/train/cli';
import { main } from '../../lib/cli/main';
import { readHistory } from '../../lib/train/history';
import { tmpDir } from './util';

test('defaults: tiny-4L on owt-mini, nanoGPT optimizer settings, eval every steps/10', () => {
  const o = optionsFromArgs({ steps: 50 });
  assert.equal(o.base.preset, 'tiny-4L');
  assert.equal(o.dataName, 'owt-mini');
  assert.equal(o.blockSize, 64);
  assert.deepEqual(o.base.schedule, { lr: 6e-4, minLr: 6e-4 / 10, warmupIters: 0, decayIters: 50, warmup: 'nanogpt', decay: 'cosine' });
  assert.deepEqual(o.base.optimizer, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, decayRule: 'rank>=2' });
  assert.equal(o.base.eval?.interval, 5);
  assert.equal(o.base.checkpointInterval, 5);
});

test("overrides: the authors' settings and model shape", () => {
  const o = optionsFromArgs({
    preset: 'tiny-8L', 'n-layer': 6, 'block-size': 32, 'warmup-rule': 'authors', accumulation: 'sum', 'grad-accum': 4,
    'decay-rule': 'linear-weights', lr: 2e-4, 'min-lr': 1e-5, warmup: 10, steps: 100,
  });
  assert.equal(o.base.config.nLayer, 6);
  assert.equal(o.base.config.blockSize, 32);
  assert.equal(o.blockSize, 32);
  assert.equal(o.base.accumulation, 'sum');
  assert.equal(o.base.gradAccumSteps, 4);
  assert.equal(o.base.optimizer?.decayRule, 'linear-weights');
  assert.deepEqual(o.base.schedule, { lr: 2e-4, minLr: 1e-5, warmupIters: 10, decayIters: 100, warmup: 'authors', decay: 'cosine' });
});

test('bad arguments are refused with what was expected', async () => {
  await assert.rejects(trainCommand(['--stepz', '3']), /unknown option --stepz; options: --preset/);
  await assert.rejects(trainCommand(['--accumulation', 'avg']), /--accumulation must be one of mean, sum, got 'avg'/);
  await assert.rejects(trainCommand(['--steps', 'ten']), /--steps needs a number, got 'ten'/);
  await assert.rejects(trainCommand(['--preset', 'huge']), /unknown --preset 'huge'; choose one of: gpt2/);
  await assert.rejects(trainCommand(['--n-head', '3']), /nEmbd \(32\) must be divisible by nHead \(3\)/);
  await assert.rejects(trainCommand(['extra']), /train takes no positional arguments/);
  await assert.rejects(trainCommand(['--bias', '--no-bias']), /--bias and --no-bias contradict/);
});

test('a tiny run on owt-mini writes logs and checkpoints; --resume with more steps continues it', async () => {
  const out = path.join(tmpDir('cli'), 'run');
  const args = ['--out', out, '--batch-size', '1', '--block-size', '8', '--eval-batches', '1', '--log-interval', '1', '--quiet'];
  assert.equal(await main(['train', ...args, '--steps', '2', '--eval-interval', '1', '--decay-iters', '4']), 0);
  assert.deepEqual(fs.readdirSync(path.join(out, 'checkpoints')).sort(), ['latest', 'step-00000001', 'step-00000002']);
  assert.equal(readHistory(out).steps.length, 2);
  // A different batch size would change the trajectory: refused.
  await assert.rejects(trainCommand([...args, '--resume', '--batch-size', '2']), /data\.batchSize: checkpoint 1, this run 2/);
  assert.equal(await trainCommand(['--out', out, '--resume', '--steps', '3', '--quiet']), 0);
  const h = readHistory(out);
  assert.deepEqual(h.steps.map((s) => s.step), [0, 1, 2]);
  assert.deepEqual(h.evals.map((e) => e.step), [0, 1, 2, 3]);
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  assert.equal(cfg.maxSteps, 3);
  assert.equal(cfg.data.name, 'owt-mini');
});
