// Hostile inputs to the Llama / GPT-NeoX loader: every one stops with one clear line (no newline, names the problem):
// unknown model_type, activation or rope_scaling type; a missing shard; an index naming a tensor its shard lacks; a
// tensor the config needs but the folder lacks; a shape mismatch; NaN weights; ids or windows out of range. Plus the
// random-folder writer: real parameter counts, sharding, loadable output.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setupBackend, assertNoLeak } from '../helpers';
import { loadFamilyFolder } from '../../lib/model/families/family-model';
import { openRankModel } from '../../lib/metrics/rank-model';
import { readSafetensorsHeader } from '../../lib/model/safetensors';
import { RANDOM_SHAPES, tensorList, writeRandomHFFolder } from '../../lib/model/families/random-folder';
import { parseRopeScaling, ropeInvFreq } from '../../lib/model/families/rope';

const FIX = path.join(__dirname, '..', 'fixtures', 'families');
let tmp: string;

before(async () => {
  await setupBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fam-err-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** A copy of a fixture folder with its config.json edited. */
function variant(name: string, edit: (cfg: Record<string, unknown>) => Record<string, unknown> = (c) => c): string {
  const dir = path.join(tmp, `${name}-${n++}`);
  fs.cpSync(path.join(FIX, name), dir, { recursive: true });
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify(edit(JSON.parse(fs.readFileSync(file, 'utf8')))));
  return dir;
}

function oneLineError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: Error) => {
    assert.match(e.message, re);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    return true;
  });
}

test('config errors: unknown model_type, activation, rope_scaling type; malformed fields', () => {
  oneLineError(() => openRankModel(variant('llama_gqa_llama3', (c) => ({ ...c, model_type: 'falcon' })), { allowNonFinite: false }), /unknown model_type "falcon"; rank --model reads gpt2, llama, mistral, qwen2, gpt_neox/);
  oneLineError(() => loadFamilyFolder(variant('llama_gqa_llama3', (c) => ({ ...c, model_type: 'falcon' }))), /unknown model_type "falcon"/);
  oneLineError(() => loadFamilyFolder(variant('llama_gqa_llama3', (c) => ({ ...c, hidden_act: 'gelu' }))), /hidden_act "gelu" is not supported for llama \(silu\)/);
  oneLineError(() => loadFamilyFolder(variant('neox_parallel', (c) => ({ ...c, hidden_act: 'relu' }))), /hidden_act "relu" is not supported for gpt_neox/);
  oneLineError(() => loadFamilyFolder(variant('llama_gqa_llama3', (c) => ({ ...c, rope_scaling: { rope_type: 'yarn', factor: 4 } }))), /rope_scaling type "yarn" is not supported \(supported: default, linear, llama3\)/);
  oneLineError(() => loadFamilyFolder(variant('llama_gqa_llama3', (c) => ({ ...c, rope_scaling: { type: 'dynamic', factor: 2 } }))), /rope_scaling type "dynamic" is not supported/);
  oneLineError(() => loadFamilyFolder(variant('llama_gqa_llama3', (c) => ({ ...c, num_key_value_heads: 3 }))), /num_attention_heads \(4\) must be a multiple of num_key_value_heads \(3\)/);
  oneLineError(() => loadFamilyFolder(variant('neox_parallel', (c) => ({ ...c, use_parallel_residual: 'yes' }))), /use_parallel_residual must be true or false, got "yes"/);
  oneLineError(() => loadFamilyFolder(variant('llama_gqa_llama3', (c) => ({ ...c, hidden_size: undefined }))), /hidden_size is missing/);
  oneLineError(() => loadFamilyFolder(variant('llama_gqa_llama3', (c) => ({ ...c, num_hidden_layers: 1e9 }))), /num_hidden_layers is 1000000000, above the limit of 1024/);
  const escape = variant('llama_gqa_llama3_bf16');
  const ix = path.join(escape, 'model.safetensors.index.json');
  fs.writeFileSync(ix, JSON.stringify({ weight_map: { 'model.norm.weight': '../../etc/passwd' } }));
  oneLineError(() => loadFamilyFolder(escape), /maps to "..\/..\/etc\/passwd"; expected a shard file name in the folder/);
});

test('weight errors: missing shard, index naming an absent tensor, missing tensor, shape mismatch, NaN', () => {
  const noShard = variant('llama_gqa_llama3_bf16');
  fs.rmSync(path.join(noShard, 'model-00001-of-00002.safetensors'));
  oneLineError(() => loadFamilyFolder(noShard), /missing shard 'model-00001-of-00002.safetensors' named by model.safetensors.index.json/);

  const ghost = variant('llama_gqa_llama3_bf16');
  const idxFile = path.join(ghost, 'model.safetensors.index.json');
  const index = JSON.parse(fs.readFileSync(idxFile, 'utf8'));
  const moved = 'model.layers.0.mlp.gate_proj.weight';
  const [s1, s2] = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  index.weight_map[moved] = index.weight_map[moved] === s1 ? s2 : s1; // the index points at the wrong shard
  fs.writeFileSync(idxFile, JSON.stringify(index));
  oneLineError(() => loadFamilyFolder(ghost), /names tensor 'model.layers.0.mlp.gate_proj.weight', which this shard does not hold/);

  const dropped = variant('llama_gqa_llama3_bf16');
  const idx2 = JSON.parse(fs.readFileSync(path.join(dropped, 'model.safetensors.index.json'), 'utf8'));
  delete idx2.weight_map['model.layers.1.self_attn.k_proj.weight'];
  fs.writeFileSync(path.join(dropped, 'model.safetensors.index.json'), JSON.stringify(idx2));
  oneLineError(() => loadFamilyFolder(dropped), /weights do not match config.json .*missing 'model.layers.1.self_attn.k_proj.weight'/);

  oneLineError(() => loadFamilyFolder(variant('llama_gqa_llama3', (c) => ({ ...c, intermediate_size: 40 }))), /'model.layers.0.mlp.gate_proj.weight' has shape \[48, 32\], expected \[40, 32\]/);
  oneLineError(() => loadFamilyFolder(variant('neox_parallel', (c) => ({ ...c, tie_word_embeddings: true, vocab_size: 65 }))), /'gpt_neox.embed_in.weight' has shape \[64, 32\], expected \[65, 32\]/);
  oneLineError(() => loadFamilyFolder(variant('qwen2_tied_linear', (c) => ({ ...c, model_type: 'llama' }))), /unexpected 'model.layers.0.self_attn.q_proj.bias'/);

  const nan = variant('neox_parallel');
  const file = path.join(nan, 'model.safetensors');
  const h = readSafetensorsHeader(file);
  const e = h.tensors['gpt_neox.layers.1.attention.dense.weight'];
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.from(new Float32Array([NaN]).buffer), 0, 4, h.dataStart + e.begin + 8);
  fs.closeSync(fd);
  oneLineError(() => loadFamilyFolder(nan), /tensor 'gpt_neox.layers.1.attention.dense.weight' holds 1 NaN and 0 infinite values/);
  const streamed = loadFamilyFolder(nan, { mode: 'streamed' }); // streamed: found when the block's weights are read
  const idx = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
  assert.throws(() => streamed.run(idx), /holds 1 NaN/);
  idx.dispose();
});

test('input errors: ids out of range, windows longer than the context, and no leak when refusing', async () => {
  const m = loadFamilyFolder(path.join(FIX, 'neox_parallel'));
  try {
    const bad = tf.tensor2d([[1, 64]], [1, 2], 'int32');
    await assertNoLeak(() => assert.throws(() => m.run(bad), /idx\[0, 1\] = 64 is out of range \[0, 64\)/));
    bad.dispose();
    const long = tf.zeros([1, 65], 'int32');
    assert.throws(() => m.run(long), /sequence length 65 exceeds the model's context \(max_position_embeddings 64\)/);
    long.dispose();
  } finally {
    m.dispose();
  }
});

test('RoPE scaling: llama3 leaves high frequencies, divides low ones by the factor, blends the band between', () => {
  const s = parseRopeScaling({ rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 });
  const base = ropeInvFreq(128, 500000, { type: 'none' });
  const scaled = ropeInvFreq(128, 500000, s);
  let blended = 0;
  for (let i = 0; i < 64; i++) {
    const wavelen = (2 * Math.PI) / base[i];
    if (wavelen < 8192 / 4) assert.equal(scaled[i], base[i]);
    else if (wavelen > 8192) assert.ok(Math.abs(scaled[i] - base[i] / 8) < 1e-18);
    else {
      blended++;
      assert.ok(scaled[i] < base[i] && scaled[i] > base[i] / 8);
    }
  }
  assert.ok(blended > 0, 'Llama 3.1 has frequencies in the blended band');
  const lin = ropeInvFreq(8, 10000, parseRopeScaling({ type: 'linear', factor: 2 }));
  assert.deepEqual(Array.from(lin), Array.from(ropeInvFreq(8, 10000, { type: 'none' })).map((v) => v / 2));
});

test('random folders: published parameter counts; sharded F16 tiny folders load and run', () => {
  const count = (s: string) => tensorList(RANDOM_SHAPES[s]).reduce((a, [, shape]) => a + shape.reduce((x, y) => x * y, 1), 0);
  assert.equal(count('llama-3-8b'), 8030261248); // Meta-Llama-3-8B
  assert.equal(count('pythia-410m'), 405334016); // EleutherAI/pythia-410m
  assert.equal(count('smollm-135m'), 134515008); // HuggingFaceTB/SmolLM-135M (tied)
  for (const shape of ['tiny-llama', 'tiny-neox']) {
    const dir = path.join(tmp, `rand-${shape}`);
    const res = writeRandomHFFolder(dir, RANDOM_SHAPES[shape], { dtype: 'F16', shardBytes: 1 << 20 });
    assert.ok(res.files.length > 1, 'sharded');
    const m = loadFamilyFolder(dir, { mode: 'streamed' });
    const idx = tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32');
    const out = m.run(idx);
    const v = out.logits!.dataSync();
    assert.ok(v.every(Number.isFinite));
    out.logits!.dispose();
    idx.dispose();
    m.dispose();
  }
});
