// `rank --model <Llama or GPT-NeoX folder>` end to end on the PyTorch fixture folders (test/fixtures/families): one
// row per layer with the same MaxRank as the protocol on the patterns of the model's own forward, sink columns from
// the same forward (values of grouped-query heads included), a sharded BF16 folder, and no leaked tensors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setupBackend, assertNoLeak } from '../helpers';
import { rankCommand } from '../../lib/metrics/cli';
import { loadFamilyFolder } from '../../lib/model/families/family-model';
import { measureAttentionRanks } from '../../lib/metrics/measure';
import { measureRankAndSinksOn, rankWindows } from '../../lib/experiments/rank-profile';
import { describeDataset, openDataset } from '../../lib/data/dataset';
import { runHookedWithCache } from '../../lib/model/hooked-model';
import { actName } from '../../lib/model/hooks';
import { SinkAccumulator, hookedSinkPatternSource } from '../../lib/metrics/sink-measure';
import { openRankModel } from '../../lib/metrics/rank-model';

const FIX = path.join(__dirname, '..', 'fixtures', 'families');
let tmp: string;
let dataDir: string;

before(async () => {
  await setupBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rank-fam-'));
  // raw uint16 token ids below the fixtures' vocabulary of 64 (a format fixture, not a corpus)
  dataDir = path.join(tmp, 'toks');
  fs.mkdirSync(dataDir);
  const ids = Uint16Array.from({ length: 3000 }, (_, i) => (i * 37 + ((i * i) % 11)) % 64);
  fs.writeFileSync(path.join(dataDir, 'train.bin'), Buffer.from(ids.buffer));
  fs.writeFileSync(path.join(dataDir, 'val.bin'), Buffer.from(ids.buffer));
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

for (const name of ['llama_gqa_llama3_bf16', 'neox_sequential']) {
  test(`rank --model ${name}: MaxRank as the protocol on the model's patterns, sink columns, no leaks`, async () => {
    const lines: string[] = [];
    const before = tf.memory().numTensors;
    const code = await rankCommand(['--model', path.join(FIX, name), '--data', dataDir, '--n', '6', '--t', '16', '--seed', '3', '--causal-windows', '2', '--out', path.join(tmp, name)], (s) => lines.push(s));
    assert.equal(code, 0);
    assert.equal(tf.memory().numTensors, before, 'the command leaves no tensors behind');
    const header = lines.findIndex((l) => l.trim().startsWith('layer'));
    assert.ok(header >= 0 && /sinks/.test(lines[header]), lines.join('\n'));
    const rows = lines.slice(header + 1, header + 3).map((l) => l.trim().split(/\s+/));

    const model = loadFamilyFolder(path.join(FIX, name));
    const val = openDataset(describeDataset(dataDir), 'val');
    const windows = rankWindows(val, 6, 16, 3);
    val.close();
    const direct = await measureAttentionRanks(async (tokens, B, T) => {
      const idx = tf.tensor2d(tokens, [B, T], 'int32');
      const res = runHookedWithCache(model, idx, [actName('pattern', 0), actName('pattern', 1)], { stopAtLayer: 2 });
      idx.dispose();
      res.resid?.dispose();
      return [res.cache.get(actName('pattern', 0)) as tf.Tensor4D, res.cache.get(actName('pattern', 1)) as tf.Tensor4D];
    }, windows, { N: 6, T: 16 });
    model.dispose();
    direct.aggregated.layers.forEach((r, i) => assert.equal(rows[i][1], r.maxRank.toFixed(2), `layer ${i + 1} MaxRank`));
    assert.ok(lines.some((l) => l.includes('Cheapest blocks to skip')), 'the causal sink verdict is printed');
    assert.ok(fs.existsSync(path.join(tmp, name, 'sinks-layers.csv')));
  });
}

test('sink diagnostics of a GQA model: the same in resident and streamed modes; value ratios from n_kv_heads-wide values', async () => {
  const windows = [Int32Array.from({ length: 12 }, (_, i) => (i * 5) % 64), Int32Array.from({ length: 12 }, (_, i) => (i * 11 + 3) % 64)];
  const tokens = new Int32Array(24);
  tokens.set(windows[0], 0);
  tokens.set(windows[1], 12);
  const results = [];
  for (const mode of ['resident', 'streamed'] as const) {
    const model = loadFamilyFolder(path.join(FIX, 'llama_gqa_llama3'), { mode });
    const acc = new SinkAccumulator(model.dims);
    const pats = await assertNoLeak(() => hookedSinkPatternSource(model, acc)(tokens, 2, 12), 2);
    for (const p of pats) p.dispose();
    model.dispose();
    results.push(acc.finish().layers);
  }
  assert.deepEqual(results[0], results[1]);
  for (const r of results[0]) assert.ok(Number.isFinite(r.valueRatio) && r.valueRatio > 0, `value ratio ${r.valueRatio}`);
});

test('rank --model: a family folder with a missing shard or a mismatched shape fails in one clear line', async () => {
  const bad = path.join(tmp, 'bad');
  fs.cpSync(path.join(FIX, 'llama_gqa_llama3_bf16'), bad, { recursive: true });
  fs.rmSync(path.join(bad, 'model-00002-of-00002.safetensors'));
  await assert.rejects(rankCommand(['--model', bad, '--data', dataDir], () => {}), /missing shard 'model-00002-of-00002.safetensors' named by model.safetensors.index.json/);
  const cfg = JSON.parse(fs.readFileSync(path.join(FIX, 'neox_parallel', 'config.json'), 'utf8'));
  const shaped = path.join(tmp, 'shaped');
  fs.cpSync(path.join(FIX, 'neox_parallel'), shaped, { recursive: true });
  fs.writeFileSync(path.join(shaped, 'config.json'), JSON.stringify({ ...cfg, intermediate_size: 96 }));
  await assert.rejects(rankCommand(['--model', shaped, '--data', dataDir], () => {}), /weights do not match config.json .*'gpt_neox.layers.0.mlp.dense_h_to_4h.weight' has shape \[128, 32\], expected \[96, 32\]/);
});

test('streamed models take the layer-major pass: rank and sink tables equal the batch-major pass, no leaks', async () => {
  const val = openDataset(describeDataset(dataDir), 'val');
  try {
    const out = [];
    for (const mode of ['resident', 'streamed'] as const) {
      const model = loadFamilyFolder(path.join(FIX, 'neox_parallel_bf16'), { mode });
      assert.equal(model.streamed, mode === 'streamed');
      const before = tf.memory().numTensors;
      const blocks: Array<[number, number]> = [];
      const onBlock = (p: { done: number; total: number }) => blocks.push([p.done, p.total]);
      out.push(await measureRankAndSinksOn(model, val, { N: 7, T: 12, seed: 4, model: 'm', data: 'd', batchSize: 3, causalWindows: 2, onBlock }));
      assert.equal(tf.memory().numTensors, before, `${mode}: no tensors left behind`);
      // Streamed: one progress call per block, after the last batch ran through it; resident models report nothing.
      const L = model.dims.nLayer;
      assert.deepEqual(blocks, mode === 'streamed' ? Array.from({ length: L }, (_, l) => [l + 1, L]) : []);
      model.dispose();
    }
    assert.deepEqual(out[1].rank.aggregated.layers, out[0].rank.aggregated.layers);
    assert.deepEqual(out[1].sinks.layers, out[0].sinks.layers);
    assert.deepEqual(out[1].sinks.heads, out[0].sinks.heads);
  } finally {
    val.close();
  }
});

test('rank --model: --activation is for GPT-2 checkpoints; a Llama or NeoX folder names its own and the flag is refused', () => {
  for (const name of ['llama_gqa_llama3', 'neox_parallel']) {
    assert.throws(() => openRankModel(path.join(FIX, name), { allowNonFinite: false, activation: 'gelu' }), /--activation is for GPT-2 models/);
  }
});
