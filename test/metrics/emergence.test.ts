// Emergence over training: the trainer's probe writes one (step x layer x head) record per probe, survives a resume
// without duplicates, and on Bigram-Backcopy data the attention on BOS rises well above its uniform value within
// 200 steps of a tiny model (the pipeline can see a sink forming). The `rank` command profiles a run directory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as aq from 'arquero';
import { setupBackend } from '../helpers';
import { makeConfig } from '../../lib/model/config';
import { disposeParams, initParams } from '../../lib/model/params';
import { prepareSynthetic } from '../../lib/data/synthetic';
import { describeDataset, openDataset } from '../../lib/data/dataset';
import { train } from '../../lib/train/trainer';
import { EMERGENCE_FILES, ProbeResult, lazyOnsetSteps, readEmergenceLog } from '../../lib/metrics/emergence';
import { rankCommand } from '../../lib/metrics/cli';

let tmp: string;
before(async () => {
  await setupBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emergence-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function trainRun(out: string, steps: number, resume: boolean): Promise<Awaited<ReturnType<typeof train>>> {
  const res = await prepareSynthetic('synth-backcopy', { dataDir: tmp, quiet: true, overrides: { trainTokens: 60_000, valTokens: 8_000, docTokens: 65 } });
  const info = describeDataset(res.dir);
  const cfg = makeConfig('tiny-4L', { nLayer: 2, vocabSize: 128, scaleAttnByInverseLayerIdx: false });
  const params = initParams(cfg, { seed: 3 });
  const trainSrc = openDataset(info, 'train');
  const val = openDataset(info, 'val');
  try {
    return await train({
      params, config: cfg, data: { train: trainSrc, val, batchSize: 8, blockSize: 64 }, maxSteps: steps,
      schedule: { lr: 1e-2, warmupIters: 10, decayIters: 200 }, optimizer: { weightDecay: 0 }, probe: { interval: 50, N: 8, T: 64 },
      outDir: out, checkpointInterval: 50, resume: resume ? 'auto' : undefined, progress: false,
    });
  } finally {
    disposeParams(params);
    trainSrc.close();
    val.close();
  }
}

test('trainer probe: a record per probe, Arrow tables, a resume without duplicates; attention on BOS rises; no leaks', async () => {
  const out = path.join(tmp, 'run');
  const tensors = tf.memory().numTensors;
  const first = await trainRun(out, 100, false);
  assert.deepEqual(first.emergence.map((p) => p.layers[0].step), [0, 50, 100]);
  const second = await trainRun(out, 200, true);
  assert.equal(second.resumedFrom, 100);
  assert.equal(tf.memory().numTensors, tensors, 'training with the probe leaves no tensors behind');
  const steps = readEmergenceLog(out).map((p) => p.layers[0].step);
  assert.deepEqual(steps, [0, 50, 100, 150, 200], 'the resumed run appends after its checkpoint, no step twice');
  const heads = aq.fromArrow(fs.readFileSync(path.join(out, EMERGENCE_FILES.heads)));
  assert.equal(heads.numRows(), 5 * 2 * 2, 'step x layer x head rows');
  assert.deepEqual(heads.columnNames().slice(0, 4), ['step', 'layer', 'head', 'rank']);
  // Uniform attention over rows 5..63 puts (H_64 - H_5) / 59 = 0.0416 on position 0; a forming sink puts far more.
  const mass = (p: ProbeResult) => Math.max(...p.layers.map((l) => l.meanSinkMass));
  const log = readEmergenceLog(out);
  assert.ok(mass(log[0]) < 0.05, `at init: ${mass(log[0])}`);
  assert.ok(mass(log[log.length - 1]) > 2.5 * mass(log[0]), `after 200 steps: ${mass(log[log.length - 1])} vs ${mass(log[0])} at init`);
});

test('rank --model <run dir>: every checkpoint profiled, emergence tables and figures written', async () => {
  const out = path.join(tmp, 'run');
  if (!fs.existsSync(out)) await trainRun(out, 100, false);
  const lines: string[] = [];
  const dest = path.join(tmp, 'rank-out');
  const code = await rankCommand(['--model', out, '--data', path.join(tmp, 'synth-backcopy'), '--n', '4', '--t', '32', '--out', dest], (s) => lines.push(s));
  assert.equal(code, 0);
  assert.ok(lines.some((l) => /checkpoints of/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^Lazy from step/.test(l)));
  for (const f of ['emergence-heads.arrow', 'emergence-layers.arrow', 'emergence-maxrank.html', 'emergence-sink-rate.html', 'emergence-curves.html']) {
    assert.ok(fs.existsSync(path.join(dest, f)), f);
  }
});

test('lazyOnsetSteps: the first step from which a layer stays lazy; a torn last log line is skipped', () => {
  const probe = (step: number, ranks: number[]): ProbeResult => ({
    ms: 0,
    heads: [{ step, layer: 0, head: 0, rank: ranks[0], sinkMass: 0, entropyFraction: 1 }],
    layers: ranks.map((r, layer) => ({ step, layer, maxRank: r, sinkRate: 0, meanSinkMass: 0, meanEntropyFraction: 1, residRatio: 1, valueRatio: 1, blockInfluence: 0 })),
  });
  const probes = [probe(0, [5, 5, 5]), probe(10, [5, 1.2, 1.4]), probe(20, [5, 3, 1.1]), probe(30, [5, 1.3, 1.0])];
  assert.deepEqual(lazyOnsetSteps(probes, 1.5), [null, 30, 10]);
  const dir = path.join(tmp, 'torn');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, EMERGENCE_FILES.log), probes.map((p) => JSON.stringify(p)).join('\n') + '\n{"heads": [');
  assert.equal(readEmergenceLog(dir).length, 4);
  fs.writeFileSync(path.join(dir, EMERGENCE_FILES.log), '{"x": 1}\n' + JSON.stringify(probes[0]) + '\n');
  assert.throws(() => readEmergenceLog(dir), /line 1: not a probe record/);
});
