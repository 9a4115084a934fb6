// Checkpoints and resume: a run killed after a checkpoint and resumed reproduces the uninterrupted run bit for bit
// (losses, gradient norms, evaluations, final weights); corrupt, foreign or half-written checkpoints are refused or
// never become `latest`.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../helpers';
import { initParams, disposeParams, Params } from '../../lib/model/params';
import { GPTConfig } from '../../lib/model/config';
import { train } from '../../lib/train/trainer';
import { TrainOptions } from '../../lib/train/options';
import { AdamW } from '../../lib/train/adamw';
import { readHistory } from '../../lib/train/history';
import { CHECKPOINTS_DIR, LATEST_FILE, cleanStaleTemps, latestCheckpoint, readCheckpoint, saveCheckpoint, TrainState } from '../../lib/train/checkpoint';
import * as os from 'node:os';
import { tinyConfig, tokenData, tmpDir } from './util';

before(() => setupBackend());

const cfg = tinyConfig({ dropout: 0.1 }); // dropout on: its per-step seeds must survive a resume too
const trainSrc = tokenData(6000, cfg.vocabSize, 7);
const valSrc = tokenData(2000, cfg.vocabSize, 9);

function options(params: Params, outDir: string, over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    params,
    config: cfg,
    preset: 'test-tiny',
    data: { train: trainSrc, val: valSrc, batchSize: 3, blockSize: 16, name: 'test-data' },
    maxSteps: 6,
    schedule: { lr: 3e-3, minLr: 3e-4, warmupIters: 2 },
    gradAccumSteps: 2,
    eval: { interval: 2, fixedBatches: 2, randomIters: 2, trainIters: 1 },
    checkpointInterval: 3,
    logInterval: 2,
    outDir,
    progress: false,
    ...over,
  };
}

function values(params: Params): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(params)) out[k] = v.dataSync() as Float32Array;
  return out;
}

let straightDir = '';
let straight: Awaited<ReturnType<typeof train>>;
let straightParams: Record<string, Float32Array>;

test('kill after the step-3 checkpoint, resume: losses, evals and final weights equal the uninterrupted run bit for bit', async () => {
  straightDir = tmpDir();
  const pa = initParams(cfg, { seed: 1 });
  straight = await train(options(pa, straightDir));
  straightParams = values(pa);
  disposeParams(pa);
  assert.equal(straight.history.steps.length, 6);
  assert.deepEqual(straight.history.evals.map((e) => e.step), [0, 2, 4, 6]);

  const killedDir = tmpDir();
  const pb = initParams(cfg, { seed: 1 });
  const before = tf.memory().numTensors;
  await assert.rejects(
    train(options(pb, killedDir, {
      logInterval: 1,
      onLog: (entries) => {
        if (entries.some((e) => e.step === 4)) throw new Error('simulated kill');
      },
    })),
    /simulated kill/,
  );
  assert.equal(tf.memory().numTensors, before, 'a failed run must not leak tensors');
  disposeParams(pb);
  assert.equal(path.basename(latestCheckpoint(killedDir) as string), 'step-00000003');

  // Different initial weights: everything must come from the checkpoint.
  const pc = initParams(cfg, { seed: 999 });
  const resumed = await train(options(pc, killedDir, { resume: true }));
  assert.equal(resumed.resumedFrom, 3);
  assert.deepEqual(resumed.history.steps.map((s) => s.loss), straight.history.steps.map((s) => s.loss));
  assert.deepEqual(resumed.history.steps.map((s) => s.gradNorm), straight.history.steps.map((s) => s.gradNorm));
  assert.deepEqual(resumed.history.evals.map(({ tokens, ...e }) => e), straight.history.evals.map(({ tokens, ...e }) => e));
  assert.deepEqual(resumed.bestVal, straight.bestVal);
  const got = values(pc);
  for (const k of Object.keys(straightParams)) assert.deepEqual(got[k], straightParams[k], `final ${k}`);
  disposeParams(pc);

  // The logs were rewritten from the checkpoint: no duplicate rows from the killed steps 3 and 4.
  const h = readHistory(killedDir);
  assert.deepEqual(h.steps.map((s) => s.step), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(h.steps.map((s) => s.loss), straight.history.steps.map((s) => s.loss));
  assert.deepEqual(h.evals.map((e) => e.step), [0, 2, 4, 6]);
  const runCfg = JSON.parse(fs.readFileSync(path.join(killedDir, 'config.json'), 'utf8'));
  assert.equal(runCfg.model.nLayer, cfg.nLayer);
});

test('resuming a finished run does nothing; a longer maxSteps continues it', async () => {
  const p = initParams(cfg, { seed: 5 });
  const again = await train(options(p, straightDir, { resume: true }));
  assert.equal(again.steps, 6);
  assert.equal(again.history.steps.length, 6);
  // The schedule must stay the same (its default decayIters is maxSteps), so it is given explicitly.
  const more = await train(options(p, straightDir, { resume: true, maxSteps: 8, schedule: { lr: 3e-3, minLr: 3e-4, warmupIters: 2, decayIters: 6 } }));
  assert.equal(more.history.steps.length, 8);
  assert.equal(path.basename(more.checkpoint as string), 'step-00000008');
  disposeParams(p);
});

test('a checkpoint of another model, preset or batch size is refused, naming the mismatch', async () => {
  const dir = tmpDir();
  const p = initParams(cfg, { seed: 1 });
  await train(options(p, dir, { maxSteps: 2, eval: undefined }));
  const other: GPTConfig = tinyConfig({ dropout: 0.1, nLayer: 3 });
  const p3 = initParams(other, { seed: 1 });
  await assert.rejects(train({ ...options(p3, dir, { resume: true }), config: other }), /different run.*model\.nLayer: checkpoint 2, this run 3/);
  await assert.rejects(train(options(p, dir, { resume: true, preset: 'tiny-8L' })), /preset: checkpoint "test-tiny", this run "tiny-8L"/);
  await assert.rejects(
    train(options(p, dir, { resume: true, data: { train: trainSrc, val: valSrc, batchSize: 4, blockSize: 16 } })),
    /data\.batchSize: checkpoint 3, this run 4/,
  );
  // Starting fresh over an existing run needs overwrite.
  await assert.rejects(train(options(p, dir)), /already holds a run with checkpoints; pass resume/);
  await assert.rejects(train(options(p, tmpDir(), { resume: true })), /nothing to resume/);
  disposeParams(p);
  disposeParams(p3);
});

test('a corrupt checkpoint is refused: flipped weight byte, truncated optimizer file, broken state.json or latest', async () => {
  const dir = tmpDir();
  const p = initParams(cfg, { seed: 1 });
  await train(options(p, dir, { maxSteps: 2, eval: undefined }));
  const ck = latestCheckpoint(dir) as string;
  const copy = (name: string) => {
    const d = tmpDir();
    fs.cpSync(dir, d, { recursive: true });
    return { run: d, ck: path.join(d, CHECKPOINTS_DIR, path.basename(ck)), file: path.join(d, CHECKPOINTS_DIR, path.basename(ck), name) };
  };
  const flip = copy('model.safetensors');
  const buf = fs.readFileSync(flip.file);
  buf[buf.length - 3] ^= 0x40;
  fs.writeFileSync(flip.file, buf);
  await assert.rejects(train(options(p, flip.run, { resume: true })), /is corrupt: model\.safetensors has .* sha256/);

  const trunc = copy('optimizer.safetensors');
  fs.truncateSync(trunc.file, 100);
  await assert.rejects(train(options(p, trunc.run, { resume: true })), /is corrupt: optimizer\.safetensors has 100 bytes/);

  const st = copy('state.json');
  fs.writeFileSync(st.file, fs.readFileSync(st.file, 'utf8').slice(0, 50));
  await assert.rejects(train(options(p, st.run, { resume: true })), /is corrupt: state\.json is not valid JSON/);

  const lt = copy('state.json');
  fs.writeFileSync(path.join(lt.run, CHECKPOINTS_DIR, LATEST_FILE), 'garbage');
  await assert.rejects(train(options(p, lt.run, { resume: true })), /latest is corrupt/);
  disposeParams(p);
});

test('a checkpoint interrupted mid-write never becomes latest, and its leftovers are cleaned up', async () => {
  const dir = tmpDir();
  const p = initParams(cfg, { seed: 1 });
  await train(options(p, dir, { maxSteps: 2, eval: undefined }));
  const ckDir = path.join(dir, CHECKPOINTS_DIR);
  assert.equal(path.basename(latestCheckpoint(dir) as string), 'step-00000002');
  const good = readCheckpoint(latestCheckpoint(dir) as string).state;
  const opt = new AdamW();
  const state: TrainState = { ...good, step: 7 };
  // 1. An error while writing: nothing of step 7 remains and latest is unchanged.
  await assert.rejects(
    saveCheckpoint(dir, p, cfg, opt, state, { beforeCommit: () => { throw new Error('disk full'); } }),
    /disk full/,
  );
  assert.equal(path.basename(latestCheckpoint(dir) as string), 'step-00000002');
  assert.deepEqual(fs.readdirSync(ckDir).sort(), ['latest', 'step-00000002']);
  // 2. A process killed mid-write (no cleanup): a hidden temporary directory with a partial file stays behind ...
  const orphan = path.join(ckDir, '.step-00000009.tmp-999999999-dead');
  fs.mkdirSync(orphan);
  fs.writeFileSync(path.join(orphan, 'model.safetensors'), 'partial');
  assert.equal(path.basename(latestCheckpoint(dir) as string), 'step-00000002');
  const resumed = await train(options(p, dir, { resume: true, maxSteps: 3, eval: undefined }));
  assert.equal(resumed.resumedFrom, 2);
  // ... and the next save removes it.
  assert.deepEqual(fs.readdirSync(ckDir).sort(), ['latest', 'step-00000002', 'step-00000003']);
  opt.dispose();
  disposeParams(p);
});

test('cleanStaleTemps removes half-written latest pointers and checkpoint folders of dead processes only', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stale-'));
  try {
    const dead = 2 ** 22 + 12345; // above Linux's pid_max default: never a live process
    fs.writeFileSync(path.join(dir, `.latest.${dead}.0a1b2c3d4e5f.tmp`), 'step-0000');
    fs.mkdirSync(path.join(dir, `.step-00000010.tmp-${dead}-abcd`));
    fs.mkdirSync(path.join(dir, `.step-00000010.tmp-1-abcd`)); // pid 1 (init) is alive
    fs.mkdirSync(path.join(dir, 'step-00000010'));
    fs.writeFileSync(path.join(dir, 'latest'), 'step-00000010\n');
    const removed = cleanStaleTemps(dir).sort();
    assert.deepEqual(removed, [`.latest.${dead}.0a1b2c3d4e5f.tmp`, `.step-00000010.tmp-${dead}-abcd`]);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['.step-00000010.tmp-1-abcd', 'latest', 'step-00000010']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
