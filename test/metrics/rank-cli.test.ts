// The `rank` command end to end on a tiny random GPT-2 saved as a Hugging Face folder and a nanoGPT token file made
// here: it prints one row per layer with the same MaxRank as measureRankProfile on the same windows, writes the
// tables and figures, and refuses bad input with a clear message. No tensor leaks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../helpers';
import { makeConfig } from '../../lib/model/config';
import { initParams, disposeParams, Params } from '../../lib/model/params';
import { paramsToTensors, writeHFFolder } from '../../lib/model/hf';
import { rankCommand } from '../../lib/metrics/cli';
import { loadRankResult } from '../../lib/metrics/io';
import { measureRankProfile } from '../../lib/experiments/rank-profile';
import { describeDataset, openDataset } from '../../lib/data/dataset';

const cfg = makeConfig('gpt2', { nLayer: 3, nHead: 2, nEmbd: 16, blockSize: 32 });
let tmp: string;
let modelDir: string;
let dataDir: string;
let params: Params;

before(async () => {
  await setupBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rank-cli-'));
  params = initParams(cfg, { seed: 21, trainable: false });
  modelDir = path.join(tmp, 'tiny-gpt');
  writeHFFolder(modelDir, cfg, await paramsToTensors(params));
  // nanoGPT layout: raw uint16 token ids in train.bin / val.bin (a format fixture, not a corpus)
  dataDir = path.join(tmp, 'toks');
  fs.mkdirSync(dataDir);
  const ids = Uint16Array.from({ length: 4000 }, (_, i) => (i * 7919) % 50257);
  fs.writeFileSync(path.join(dataDir, 'train.bin'), Buffer.from(ids.buffer));
  fs.writeFileSync(path.join(dataDir, 'val.bin'), Buffer.from(ids.buffer));
});

after(() => {
  disposeParams(params);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('rank: per-layer MaxRank as measureRankProfile on the same windows; tables and figures written; no leaks', async () => {
  const lines: string[] = [];
  const out = path.join(tmp, 'out');
  const before = tf.memory().numTensors;
  const code = await rankCommand(['--model', modelDir, '--data', dataDir, '--n', '6', '--t', '20', '--seed', '5', '--out', out], (s) => lines.push(s));
  assert.equal(code, 0);
  assert.equal(tf.memory().numTensors, before, 'the command leaves no tensors behind');
  const header = lines.findIndex((l) => l.trim().startsWith('layer'));
  assert.ok(header >= 0, lines.join('\n'));
  const rows = lines.slice(header + 1, header + 1 + cfg.nLayer).map((l) => l.trim().split(/\s+/));
  const val = openDataset(describeDataset(dataDir), 'val');
  const direct = await measureRankProfile(params, cfg, val, { N: 6, T: 20, seed: 5, model: 'x', data: 'y' });
  val.close();
  direct.aggregated.layers.forEach((r, i) => {
    assert.equal(Number(rows[i][0]), r.layer + 1);
    assert.equal(rows[i][1], r.maxRank.toFixed(2), `layer ${r.layer + 1} MaxRank`);
  });
  assert.ok(lines.some((l) => l.startsWith('- Mean MaxRank of layers 1-1')), 'the verdict is printed');
  const saved = loadRankResult(out);
  assert.equal(saved.meta.N, 6);
  assert.equal(saved.tables.layers.numRows(), cfg.nLayer);
  for (const f of ['layers.csv', 'maxrank-profile.html', 'rank-heatmap.html', 'tau-sensitivity.html']) assert.ok(fs.existsSync(path.join(out, f)), f);
  assert.equal(fs.readFileSync(path.join(out, 'layers.csv'), 'utf8').trim().split('\n').length, cfg.nLayer + 1);
});

test('rank: clear errors for a missing model, a window longer than the context and an unknown dataset', async () => {
  const quiet = () => {};
  await assert.rejects(rankCommand(['--data', dataDir], quiet), /--model is required/);
  await assert.rejects(rankCommand(['--model', path.join(tmp, 'nope')], quiet), /no such file or folder/);
  await assert.rejects(rankCommand(['--model', modelDir, '--data', dataDir, '--t', '64'], quiet), /--t 64 exceeds the model's context \(32\)/);
  await assert.rejects(rankCommand(['--model', modelDir, '--data', 'no-such-dataset'], quiet), /dataset 'no-such-dataset' not found/);
  const help: string[] = [];
  assert.equal(await rankCommand(['--help'], (s) => help.push(s)), 0);
  assert.match(help.join('\n'), /usage: rank --model/);
});

test('rank --windows-per-batch: the same table with 4 windows per forward as with the default 10; peak memory printed', async () => {
  const run = async (extra: string[]): Promise<string[]> => {
    const lines: string[] = [];
    const code = await rankCommand(['--model', modelDir, '--data', dataDir, '--n', '12', '--t', '20', '--seed', '7', '--out', path.join(tmp, `wpb${extra.length}`), ...extra], (s) => lines.push(s));
    assert.equal(code, 0);
    return lines;
  };
  const dflt = await run([]);
  const small = await run(['--windows-per-batch', '4']);
  const table = (ls: string[]) => ls.slice(ls.findIndex((l) => l.trim().startsWith('layer')), ls.findIndex((l) => l.trim().startsWith('layer')) + cfg.nLayer + 1);
  assert.deepEqual(table(small), table(dflt));
  assert.ok(small.some((l) => /peak memory \d+\.\d\d GB RSS/.test(l)), small.join('\n'));
  const meta = loadRankResult(path.join(tmp, 'wpb2')).meta;
  assert.equal(meta.batchSize, 4);
  await assert.rejects(rankCommand(['--model', modelDir, '--data', dataDir, '--windows-per-batch', '0'], () => {}), /--windows-per-batch must be a positive integer/);
});
