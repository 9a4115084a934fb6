// Issue 17, cases 2-5 and 8 (training): the NaN guard names only a checkpoint whose weights and loss are finite,
// resume never runs past --steps or trusts an edited state.json, two writers never share a run directory, a lost
// `latest` never wipes a run, and corrupt run files give errors naming the file.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../helpers';
import { initParams, disposeParams, Params } from '../../lib/model/params';
import { loadModelPath } from '../../lib/model/hf';
import { train } from '../../lib/train/trainer';
import { TrainOptions } from '../../lib/train/options';
import { CHECKPOINTS_DIR, LATEST_FILE, listCheckpoints, readCheckpoint } from '../../lib/train/checkpoint';
import { trainCommand } from '../../lib/train/cli';
import { tinyConfig, tokenData } from '../train/util';
import { runCli, tmpDir } from './helpers';

const cfg = tinyConfig();
const trainSrc = tokenData(4000, cfg.vocabSize, 3);
let dataRoot: string;

before(async () => {
  await setupBackend();
  // A token dataset for the CLI runs: data/<name>/train.bin + val.bin under INHERITUNE_DATA.
  dataRoot = tmpDir('train-data');
  fs.mkdirSync(path.join(dataRoot, 'toy'));
  const ids = Uint16Array.from({ length: 20000 }, (_, i) => (i * 7 + (i % 13) * 101) % 50257);
  fs.writeFileSync(path.join(dataRoot, 'toy', 'train.bin'), Buffer.from(ids.buffer));
  fs.writeFileSync(path.join(dataRoot, 'toy', 'val.bin'), Buffer.from(ids.subarray(0, 4000).slice().buffer));
});

function options(params: Params, outDir: string, over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    params, config: cfg, preset: 'test-tiny', data: { train: trainSrc, batchSize: 2, blockSize: 8, name: 'test-data' },
    maxSteps: 6, schedule: { lr: 3e-3 }, checkpointInterval: 1, logInterval: 1, outDir, progress: false, ...over,
  };
}

const CLI_RUN = ['--preset', 'tiny-4L', '--data', 'toy', '--batch-size', '1', '--block-size', '8', '--eval-batches', '1', '--quiet'];
const cliEnv = () => ({ INHERITUNE_DATA: dataRoot });

/** Every step directory left in a run must load as finite weights, and `latest` (if any) must name one of them. */
function assertOnlyGoodCheckpoints(out: string): string[] {
  const names = listCheckpoints(path.join(out, CHECKPOINTS_DIR));
  for (const n of names) loadModelPath(path.join(out, CHECKPOINTS_DIR, n)); // throws on NaN/Inf or a bad checksum
  const latest = path.join(out, CHECKPOINTS_DIR, LATEST_FILE);
  if (fs.existsSync(latest)) assert.ok(names.includes(fs.readFileSync(latest, 'utf8').trim()), 'latest names a kept checkpoint');
  return names;
}

test('case 2: train --lr 1e38 --checkpoint-interval 1 stops without naming a broken checkpoint as good (CLI)', () => {
  const out = path.join(tmpDir('nan-guard-cli'), 'run');
  const r = runCli(['train', ...CLI_RUN, '--steps', '30', '--lr', '1e38', '--checkpoint-interval', '1', '--out', out], { env: cliEnv() });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /training diverged: the model after 1 updates has non-finite values \(weight '.*': \d+ NaN, \d+ Inf of \d+; \d+ tensor\(s\), \d+ values in all\); checkpoint step-00000001 was not written\. .*; no good checkpoint was written/);
  assert.deepEqual(assertOnlyGoodCheckpoints(out), []);
});

test('case 2: a checkpoint with finite weights whose loss is NaN is moved aside; the previous one is kept (even with keep 1) and named', async () => {
  const out = tmpDir('nan-guard');
  const params = initParams(cfg, { seed: 2 });
  // After step 2 is logged, blow the weights up to finite but overflowing values: the step-3 checkpoint is written
  // (its weights are finite), then the loss computed from them is NaN.
  const onLog = (entries: { step: number }[]) => {
    if (entries.some((e) => e.step === 2)) for (const p of Object.values(params)) tf.tidy(() => p.assign(tf.mul(p, 1e25)));
  };
  try {
    await assert.rejects(train(options(params, out, { keepCheckpoints: 1, onLog })), (e: Error) => {
      assert.match(e.message, /training diverged: (loss|gradient norm) is NaN .*at step 3 .*; the last good checkpoint \(finite weights and loss\) is .*step-00000002; checkpoint step-00000003 gives a non-finite loss or gradient and was moved to step-00000003\.diverged/);
      return true;
    });
  } finally {
    disposeParams(params);
  }
  assert.deepEqual(assertOnlyGoodCheckpoints(out), ['step-00000002']);
  assert.equal(fs.readFileSync(path.join(out, CHECKPOINTS_DIR, LATEST_FILE), 'utf8').trim(), 'step-00000002');
  assert.ok(fs.existsSync(path.join(out, CHECKPOINTS_DIR, 'step-00000003.diverged', 'model.safetensors')), 'kept aside for study');
});

test('case 3: --steps below the checkpoint step is refused (CLI and train()); nothing is pruned; edited state.json steps are refused', async () => {
  const out = path.join(tmpDir('resume-below'), 'run');
  const ok = runCli(['train', ...CLI_RUN, '--steps', '6', '--checkpoint-interval', '2', '--keep-checkpoints', '2', '--out', out], { env: cliEnv() });
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual(listCheckpoints(path.join(out, CHECKPOINTS_DIR)), ['step-00000004', 'step-00000006']);
  const r = runCli(['train', '--out', out, '--resume', '--steps', '3', '--quiet'], { env: cliEnv(), timeoutMs: 60_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /--steps 3 is below step 6 of the checkpoint in .*: that run is already past it; pass --steps >= 6/);
  assert.deepEqual(listCheckpoints(path.join(out, CHECKPOINTS_DIR)), ['step-00000004', 'step-00000006'], 'nothing pruned');

  // The trainer itself refuses too (a notebook calling train() with a smaller maxSteps).
  const dir = tmpDir('resume-below-api');
  const p = initParams(cfg, { seed: 1 });
  try {
    await train(options(p, dir, { maxSteps: 4 }));
    await assert.rejects(train(options(p, dir, { maxSteps: 2, resume: true, keepCheckpoints: 1 })), /is at step 4, beyond maxSteps 2 \(--steps\): nothing to train/);
    assert.deepEqual(listCheckpoints(path.join(dir, CHECKPOINTS_DIR)), ['step-00000001', 'step-00000002', 'step-00000003', 'step-00000004']);
    const state = path.join(dir, CHECKPOINTS_DIR, 'step-00000004', 'state.json');
    const orig = fs.readFileSync(state, 'utf8');
    for (const [step, re] of [[-5, /step must be an integer >= 0, got -5/], [999, /records step 999, but its folder is step-00000004/], [2.5, /step must be an integer >= 0, got 2\.5/]] as const) {
      fs.writeFileSync(state, orig.replace('"step":4,', `"step":${step},`));
      await assert.rejects(train(options(p, dir, { maxSteps: 2000, resume: true })), re);
    }
    fs.writeFileSync(state, orig);

    // Pruning (keep 1) never removes the checkpoint a run resumed from before a newer one is known good: when the
    // step-5 checkpoint is written, step 4 is still there; once step 5's loss is finite, step 4 goes.
    const seen: string[][] = [];
    await train(options(p, dir, { maxSteps: 6, schedule: { lr: 3e-3, decayIters: 4 }, resume: true, keepCheckpoints: 1, onCheckpoint: () => seen.push(listCheckpoints(path.join(dir, CHECKPOINTS_DIR))) }));
    assert.deepEqual(seen, [['step-00000004', 'step-00000005'], ['step-00000006']]);
  } finally {
    disposeParams(p);
  }
});

test('case 4: a run directory held by another live process is refused; a lock left by a dead one is taken over', async () => {
  const out = tmpDir('lock');
  const p = initParams(cfg, { seed: 1 });
  const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    fs.writeFileSync(path.join(out, '.lock'), String(holder.pid));
    await assert.rejects(train(options(p, out, { maxSteps: 1 })), new RegExp(`is in use by process ${holder.pid} \\(.*\\.lock\\); wait for it to finish`));
    assert.ok(!fs.existsSync(path.join(out, 'train.csv')), 'nothing was written');
  } finally {
    holder.kill('SIGKILL');
  }
  await new Promise((r) => holder.once('exit', r));
  const res = await train(options(p, out, { maxSteps: 1 })); // the holder is gone: its lock is stale
  assert.equal(res.steps, 1);
  assert.ok(!fs.existsSync(path.join(out, '.lock')), 'released at the end');
  disposeParams(p);
});

test('case 4: two `train` processes on one --out: the second exits 1 naming the first; the first finishes cleanly', async () => {
  const out = path.join(tmpDir('two-trains'), 'run');
  const tsx = path.join(__dirname, '..', '..', 'node_modules', 'tsx', 'dist', 'cli.mjs');
  const main = path.join(__dirname, '..', '..', 'lib', 'cli', 'main.ts');
  const first = spawn(process.execPath, [tsx, main, 'train', ...CLI_RUN, '--steps', '40', '--out', out], { env: { ...process.env, ...cliEnv() }, stdio: 'ignore' });
  const firstDone = new Promise<number | null>((r) => first.once('exit', (c) => r(c)));
  try {
    const lock = path.join(out, '.lock');
    for (let i = 0; i < 600 && !fs.existsSync(path.join(out, 'train.csv')); i++) await new Promise((r) => setTimeout(r, 100));
    const holder = Number(fs.readFileSync(lock, 'utf8').trim()); // the node process tsx started for the first run
    assert.ok(holder > 0);
    const second = runCli(['train', ...CLI_RUN, '--steps', '40', '--out', out, '--overwrite'], { env: cliEnv(), timeoutMs: 60_000 });
    assert.equal(second.status, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`is in use by process ${holder} `));
  } finally {
    const code = await firstDone;
    assert.equal(code, 0, 'the first run is undisturbed');
  }
  const rows = fs.readFileSync(path.join(out, 'train.csv'), 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[0]));
  assert.deepEqual(rows, Array.from({ length: 40 }, (_, i) => i), 'train.csv holds one run, in order');
});

test('case 5: a missing checkpoints/latest resumes from the newest checkpoint that verifies; nothing is deleted', async () => {
  const out = path.join(tmpDir('no-latest'), 'run');
  const ok = runCli(['train', ...CLI_RUN, '--steps', '4', '--checkpoint-interval', '1', '--keep-checkpoints', '10', '--out', out], { env: cliEnv() });
  assert.equal(ok.status, 0, ok.stderr);
  const ck = path.join(out, CHECKPOINTS_DIR);
  fs.rmSync(path.join(ck, LATEST_FILE));
  const w = path.join(ck, 'step-00000004', 'model.safetensors');
  const b = fs.readFileSync(w);
  b[b.length - 1] ^= 1; // the newest checkpoint is also corrupt: step 3 is the newest valid one
  fs.writeFileSync(w, b);
  const r = runCli(['train', '--out', out, '--resume', '--steps', '5', '--keep-checkpoints', '10', '--quiet'], { env: cliEnv(), timeoutMs: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /checkpoints\/latest is missing; resuming from the newest valid checkpoint step-00000003 \(skipped step-00000004: checkpoint .* is corrupt/);
  assert.deepEqual(listCheckpoints(ck), ['step-00000001', 'step-00000002', 'step-00000003', 'step-00000004', 'step-00000005']);
  assert.equal(readCheckpoint(path.join(ck, 'step-00000005')).state.step, 5);
  assert.equal(readCheckpoint(path.join(ck, 'step-00000004')).state.step, 4, 'the corrupt step 4 was trained again and replaced');
});

test('case 5: train() without resume never deletes a run whose `latest` is missing', async () => {
  const out = tmpDir('no-wipe');
  const p = initParams(cfg, { seed: 1 });
  try {
    await train(options(p, out, { maxSteps: 2 }));
    fs.rmSync(path.join(out, CHECKPOINTS_DIR, LATEST_FILE));
    await assert.rejects(train(options(p, out, { maxSteps: 2 })), /already holds a run with checkpoints; pass resume to continue it, overwrite to replace it/);
    assert.deepEqual(listCheckpoints(path.join(out, CHECKPOINTS_DIR)), ['step-00000001', 'step-00000002']);
  } finally {
    disposeParams(p);
  }
});

test('case 8: a corrupt history in state.json and a corrupt run config.json give errors naming the file, or are not needed', async () => {
  const out = tmpDir('corrupt-run');
  const p = initParams(cfg, { seed: 1 });
  try {
    await train(options(p, out, { maxSteps: 2 }));
    const state = path.join(out, CHECKPOINTS_DIR, 'step-00000002', 'state.json');
    const orig = JSON.parse(fs.readFileSync(state, 'utf8'));
    fs.writeFileSync(state, JSON.stringify({ ...orig, history: { steps: 5, evals: [] } }));
    await assert.rejects(train(options(p, out, { maxSteps: 3, resume: true })), new RegExp(`${state.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: history must be \\{steps: \\[\\.\\.\\.\\], evals: \\[\\.\\.\\.\\]\\}, got \\{"steps":5,"evals":\\[\\]\\}`));
    fs.writeFileSync(state, JSON.stringify({ ...orig, history: { steps: [{ step: 0, loss: 'x' }], evals: [] } }));
    await assert.rejects(train(options(p, out, { maxSteps: 3, resume: true })), /history\.steps\[0\]\.loss must be a finite number, got "x"/);
    fs.writeFileSync(state, '{"format": "inheritune-train-checkpoint", "vers');
    await assert.rejects(train(options(p, out, { maxSteps: 3, resume: true })), /step-00000002 is corrupt: state\.json is not valid JSON/);
    fs.writeFileSync(state, JSON.stringify(orig));
  } finally {
    disposeParams(p);
  }
  // The run directory's config.json is rewritten on resume; the CLI takes the run config from the checkpoint.
  fs.writeFileSync(path.join(out, 'config.json'), '{"maxSteps": 2, "mod');
  process.env.INHERITUNE_DATA = dataRoot;
  const cli = path.join(tmpDir('corrupt-cli'), 'run');
  assert.equal(await trainCommand([...CLI_RUN, '--steps', '2', '--out', cli]), 0);
  fs.writeFileSync(path.join(cli, 'config.json'), '{"maxSteps": 2, "mod');
  const state = path.join(cli, CHECKPOINTS_DIR, 'step-00000002', 'state.json');
  assert.equal(await trainCommand(['--out', cli, '--resume', '--steps', '3', '--quiet']), 0, 'a corrupt config.json does not stop a resume');
  assert.equal(JSON.parse(fs.readFileSync(path.join(cli, 'config.json'), 'utf8')).maxSteps, 3, 'and is rewritten');
  fs.writeFileSync(path.join(cli, CHECKPOINTS_DIR, 'step-00000003', 'state.json'), '[1, 2');
  await assert.rejects(trainCommand(['--out', cli, '--resume', '--steps', '4', '--quiet']), /step-00000003\/state\.json: the run config is not valid JSON/);
  assert.ok(fs.existsSync(state));
});
