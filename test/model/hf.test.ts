// Checkpoint folders: Hugging Face GPT-2 (ours, transformers-style, Hub-style) and nanoGPT state dicts, and the
// tfjs adapters. Layout conversions are checked element by element against a plain transpose.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { GPTConfig, makeConfig } from '../../lib/model/config';
import { checkParams, disposeParams, initParams, paramSpecs } from '../../lib/model/params';
import { forward } from '../../lib/model/gpt';
import { TensorEntry, TensorMap, readSafetensors } from '../../lib/model/safetensors';
import { writeSafetensors } from '../../lib/model/safetensors-write';
import {
  fromHFConfigJSON, loadHFFolder, loadNanoGPTSafetensors, loadSafetensorsCheckpoint, paramsToTensors, tensorsToParams,
  toHFConfigJSON, writeHFFolder, writeNanoGPTSafetensors,
} from '../../lib/model/hf';
import { assertNoLeak, setupBackend } from '../helpers';

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'inheritune-hf-'));
before(() => setupBackend());
after(() => fs.rmSync(TMP, { recursive: true, force: true }));
let dirNo = 0;
const tmpDir = () => path.join(TMP, `d${dirNo++}`);

const NOBIAS = makeConfig('tiny-4L', { nLayer: 2, blockSize: 8, vocabSize: 11 }); // C = 32, nh = 2
const BIAS = makeConfig(NOBIAS, { bias: true, scaleAttnByInverseLayerIdx: false, dropout: 0.1 });

/** Distinct, non-zero, deterministic values for every parameter of a config. */
function randomTensors(cfg: GPTConfig, seed = 1): TensorMap {
  let s = seed;
  const out: TensorMap = {};
  for (const spec of paramSpecs(cfg)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      data[i] = (s / 2 ** 32 - 0.5) * 0.1 + (spec.role === 'layernorm.weight' ? 1 : 0);
    }
    out[spec.name] = { dtype: 'F32', shape: spec.shape.slice(), data };
  }
  return out;
}

function assertSameTensors(actual: TensorMap, expected: TensorMap, label: string): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${label}: names`);
  for (const [name, t] of Object.entries(expected)) {
    assert.deepEqual(actual[name].shape, t.shape, `${label}: ${name} shape`);
    const a = Buffer.from(actual[name].data.buffer, actual[name].data.byteOffset, actual[name].data.byteLength);
    assert.ok(a.equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), `${label}: ${name} values`);
  }
}

function plainTranspose(t: TensorEntry): Float32Array {
  const [r, c] = t.shape;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
  return out;
}

test('HF folder round trip (biases on): config.json has GPT2Config keys, weights come back bit-identical', () => {
  const dir = tmpDir();
  const tensors = randomTensors(BIAS);
  writeHFFolder(dir, BIAS, tensors);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'model.safetensors']);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.equal(json.model_type, 'gpt2');
  assert.deepEqual(json.architectures, ['GPT2LMHeadModel']);
  assert.equal(json.activation_function, 'gelu_new');
  assert.equal(json.n_embd, 32);
  assert.equal(json.n_positions, 8);
  assert.equal(json.n_ctx, 8);
  assert.equal(json.resid_pdrop, 0.1);
  assert.equal(json.attn_pdrop, 0.1);
  assert.equal(json.tie_word_embeddings, true);
  assert.equal(json.eos_token_id, 50256);
  assert.equal('inheritune_bias' in json, false);
  const { metadata } = readSafetensors(path.join(dir, 'model.safetensors'), { names: [] });
  assert.equal(metadata.format, 'pt', 'transformers refuses safetensors files without format=pt');
  const ck = loadHFFolder(dir);
  assert.deepEqual({ ...ck.config }, { ...BIAS });
  assert.equal(ck.layout, 'hf');
  assertSameTensors(ck.tensors, tensors, 'round trip');
});

test('a bias-free model is written for transformers with zero biases, and loads back without them', () => {
  const dir = tmpDir();
  const tensors = randomTensors(NOBIAS);
  writeHFFolder(dir, NOBIAS, tensors);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.equal(json.inheritune_bias, false);
  assert.equal(json.scale_attn_by_inverse_layer_idx, true);
  const raw = readSafetensors(path.join(dir, 'model.safetensors'));
  const biasNames = paramSpecs({ ...NOBIAS, bias: true }).map((s) => s.name).filter((n) => n.endsWith('.bias'));
  assert.equal(biasNames.length, 2 * 6 + 1);
  for (const n of biasNames) {
    assert.ok(raw.tensors[n], `${n} written`);
    assert.ok(raw.tensors[n].data.every((v) => Object.is(v, 0)), `${n} is +0`);
  }
  assert.equal(raw.metadata.inheritune_bias, 'false');
  const ck = loadHFFolder(dir);
  assert.equal(ck.config.bias, false);
  assert.deepEqual({ ...ck.config }, { ...NOBIAS });
  assertSameTensors(ck.tensors, tensors, 'bias-free round trip');
  assert.ok(ck.notes.some((n) => /dropped the all-zero biases/.test(n)));

  // Biases that became non-zero (further training in transformers) are kept: dropping them would change the function.
  raw.tensors['transformer.h.1.mlp.c_fc.bias'].data[3] = 0.5;
  writeSafetensors(path.join(dir, 'model.safetensors'), raw.tensors, raw.metadata);
  const trained = loadHFFolder(dir);
  assert.equal(trained.config.bias, true);
  assert.equal(trained.tensors['transformer.h.1.mlp.c_fc.bias'].data[3], 0.5);
});

test('the zero biases compute the same function: logits with and without them agree', async () => {
  const dir = tmpDir();
  const tensors = randomTensors(NOBIAS, 7);
  writeHFFolder(dir, NOBIAS, tensors);
  const withZeros = tensorsToParams(readSafetensors(path.join(dir, 'model.safetensors')).tensors);
  const plain = tensorsToParams(tensors);
  const idx = tf.tensor2d([[1, 5, 3, 10, 0, 2]], undefined, 'int32');
  const a = forward(withZeros, { ...NOBIAS, bias: true }, idx).logits;
  const b = forward(plain, NOBIAS, idx).logits;
  assert.deepEqual(Array.from(await a.data()), Array.from(await b.data()));
  tf.dispose([a, b, idx]);
  disposeParams(withZeros);
  disposeParams(plain);
});

test('Hub-style files load: unprefixed keys, mask buffers ignored, F16 weights, tied lm_head, real config.json', () => {
  const dir = tmpDir();
  fs.mkdirSync(dir);
  const cfg = BIAS;
  // F16 values 0, 1, -2, 0.5 (bits 0x0000, 0x3c00, 0xc000, 0x3800): exact in float32.
  const f16Bits = [0x0000, 0x3c00, 0xc000, 0x3800];
  const f16Vals = [0, 1, -2, 0.5];
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const chunks: Buffer[] = [];
  let offset = 0;
  const add = (name: string, dtype: string, shape: number[], bytes: Buffer) => {
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  };
  for (const spec of paramSpecs(cfg)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const bytes = Buffer.alloc(2 * n);
    for (let i = 0; i < n; i++) bytes.writeUInt16LE(f16Bits[(i + spec.name.length) % 4], 2 * i);
    add(spec.name.replace(/^transformer\./, ''), 'F16', spec.shape, bytes);
    if (spec.name === 'transformer.wte.weight') add('lm_head.weight', 'F16', spec.shape, bytes);
  }
  for (let l = 0; l < cfg.nLayer; l++) {
    add(`h.${l}.attn.bias`, 'U8', [1, 1, cfg.blockSize, cfg.blockSize], Buffer.alloc(cfg.blockSize ** 2, 1));
    add(`h.${l}.attn.masked_bias`, 'F32', [], Buffer.from(new Float32Array([-1e4]).buffer));
  }
  const text = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  fs.writeFileSync(path.join(dir, 'model.safetensors'), Buffer.concat([len, text, ...chunks]));
  // A config.json as the Hub has it for gpt2 (extra fields that do not concern us are ignored).
  const hub = { ...toHFConfigJSON(cfg), summary_type: 'cls_index', task_specific_params: { 'text-generation': { do_sample: true } } };
  delete (hub as Record<string, unknown>).n_inner;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(hub));

  const ck = loadHFFolder(dir);
  assert.deepEqual({ ...ck.config }, { ...cfg });
  assert.deepEqual(Object.keys(ck.tensors).sort(), paramSpecs(cfg).map((s) => s.name).sort());
  const wte = ck.tensors['transformer.wte.weight'];
  assert.equal(wte.dtype, 'F32');
  assert.deepEqual(Array.from(wte.data.slice(0, 4)), [0, 1, 2, 3].map((i) => f16Vals[(i + 'transformer.wte.weight'.length) % 4]));
  assert.ok(ck.notes.some((n) => /mask buffers/.test(n)) && ck.notes.some((n) => /F16/.test(n)));

  // An lm_head that differs from wte is refused.
  const st = readSafetensors(path.join(dir, 'model.safetensors'));
  const head = st.tensors['lm_head.weight'].data as Float32Array;
  head[0] += 1;
  writeSafetensors(path.join(dir, 'model.safetensors'), st.tensors, st.metadata);
  assert.throws(() => loadHFFolder(dir), /lm_head\.weight differs from transformer\.wte\.weight: untied LM heads are not supported/);
});

test('shapes are validated against config.json with one error listing every problem', () => {
  const dir = tmpDir();
  const tensors = randomTensors(BIAS);
  writeHFFolder(dir, BIAS, tensors);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...json, n_layer: 3, vocab_size: 12 }));
  assert.throws(() => loadHFFolder(dir), (e: Error) => {
    assert.match(e.message, /model\.safetensors: weights do not match the config \(nLayer=3, .*vocabSize=12, bias=true\)/);
    assert.match(e.message, /'transformer\.wte\.weight' has shape \[11, 32\], expected \[12, 32\]/);
    assert.match(e.message, /missing 'transformer\.h\.2\.ln_1\.weight'/);
    assert.match(e.message, /missing 'transformer\.h\.2\.mlp\.c_proj\.bias'/);
    return true;
  });
  assert.throws(
    () => fromHFConfigJSON({ ...json, model_type: 'bert', tie_word_embeddings: false, n_inner: 7 }, 'cfg.json'),
    /cfg\.json: unsupported GPT-2 config: model_type is 'bert', expected 'gpt2'; tie_word_embeddings is false: untied LM heads are not supported; n_inner is 7/,
  );
  assert.throws(() => writeHFFolder(tmpDir(), NOBIAS, tensors), /unexpected 'transformer\.h\.0\.ln_1\.bias' \(config has bias=false\)/);
});

test('nanoGPT layout round trip: [out, in] Linear weights, lm_head and model_args on disk; ours after loading', () => {
  const file = path.join(tmpDir() + '-ckpt.safetensors');
  const tensors = randomTensors(NOBIAS, 3);
  writeNanoGPTSafetensors(file, NOBIAS, tensors);
  const raw = readSafetensors(file);
  const C = NOBIAS.nEmbd;
  const ours = tensors['transformer.h.1.attn.c_attn.weight'];
  assert.deepEqual(raw.tensors['transformer.h.1.attn.c_attn.weight'].shape, [3 * C, C]);
  assert.deepEqual(Array.from(raw.tensors['transformer.h.1.attn.c_attn.weight'].data), Array.from(plainTranspose(ours)));
  assert.deepEqual(raw.tensors['transformer.h.0.mlp.c_fc.weight'].shape, [4 * C, C]);
  assert.deepEqual(raw.tensors['transformer.h.0.mlp.c_proj.weight'].shape, [C, 4 * C]);
  assert.deepEqual(Array.from(raw.tensors['lm_head.weight'].data), Array.from(tensors['transformer.wte.weight'].data));
  assert.equal(JSON.parse(raw.metadata.model_args).n_head, 2);
  const ck = loadNanoGPTSafetensors(file);
  assert.equal(ck.layout, 'nanogpt');
  assert.deepEqual({ ...ck.config }, { ...NOBIAS, dropout: 0 });
  assertSameTensors(ck.tensors, tensors, 'nanoGPT round trip');
});

test('a torch.compile nanoGPT export without model_args is detected by shape; n_head must then be given', () => {
  const file = path.join(tmpDir() + '-compiled.safetensors');
  const nano = randomTensors(BIAS, 5);
  const exported: TensorMap = {};
  for (const [name, t] of Object.entries(nano)) {
    const linear = /\.(c_attn|c_proj|c_fc)\.weight$/.test(name);
    exported[`_orig_mod.${name}`] = linear ? { dtype: 'F32', shape: [t.shape[1], t.shape[0]], data: plainTranspose(t) } : t;
  }
  exported['_orig_mod.lm_head.weight'] = nano['transformer.wte.weight'];
  exported['_orig_mod.transformer.h.0.attn.bias'] = { dtype: 'F32', shape: [1, 1, 8, 8], data: new Float32Array(64) };
  writeSafetensors(file, exported, { format: 'pt' });
  assert.throws(() => loadNanoGPTSafetensors(file), /n_head cannot be inferred from the weights; pass options\.config\.nHead/);
  const ck = loadNanoGPTSafetensors(file, { config: { nHead: 2 } });
  assert.equal(ck.layout, 'nanogpt');
  assert.deepEqual({ ...ck.config }, { ...BIAS, dropout: 0 });
  assertSameTensors(ck.tensors, nano, 'compiled nanoGPT export');
});

test('partial loads read only the selected tensors and still check every shape', () => {
  const dir = tmpDir();
  writeHFFolder(dir, NOBIAS, randomTensors(NOBIAS));
  const ck = loadHFFolder(dir, { select: (n) => n.startsWith('transformer.h.1.attn.') });
  assert.deepEqual(Object.keys(ck.tensors).sort(), ['transformer.h.1.attn.c_attn.weight', 'transformer.h.1.attn.c_proj.weight']);
  assert.equal(ck.config.nLayer, 2);
  assert.equal(ck.config.bias, false);

  // From a nanoGPT file: the selected weights come back in our layout; lm_head is not read.
  const file = path.join(tmpDir() + '-nano.safetensors');
  const tensors = randomTensors(NOBIAS, 4);
  writeNanoGPTSafetensors(file, NOBIAS, tensors);
  const some = loadNanoGPTSafetensors(file, { select: (n) => n === 'transformer.h.0.mlp.c_fc.weight' || n === 'lm_head.weight' });
  assertSameTensors(some.tensors, { 'transformer.h.0.mlp.c_fc.weight': tensors['transformer.h.0.mlp.c_fc.weight'] }, 'partial nanoGPT');
  assert.ok(some.notes.some((n) => /did not check that lm_head\.weight equals wte/.test(n)));
});

test('the PyTorch fixtures load through the checkpoint loader with the right bias inference', (t) => {
  const root = path.join(__dirname, '..', 'fixtures', 'gpt2');
  if (!fs.existsSync(root)) return t.skip('no fixtures');
  for (const c of fs.readdirSync(root)) {
    const json = JSON.parse(fs.readFileSync(path.join(root, c, 'case.json'), 'utf8')).config;
    const ck = loadSafetensorsCheckpoint(path.join(root, c, 'params.safetensors'), undefined, {
      config: { nHead: json.n_head, scaleAttnByInverseLayerIdx: json.scale_attn_by_inverse_layer_idx },
    });
    assert.equal(ck.config.bias, json.bias, c);
    assert.equal(ck.config.nLayer, json.n_layer, c);
    assert.equal(ck.config.vocabSize, json.vocab_size, c);
    assert.equal(ck.layout, 'hf', c);
  }
});

test('tfjs adapters: tensorsToParams / paramsToTensors round trip without leaks', async () => {
  const tensors = randomTensors(NOBIAS, 9);
  const n = Object.keys(tensors).length;
  const params = await assertNoLeak(() => tensorsToParams(tensors), n, 'tensorsToParams');
  checkParams(params, NOBIAS);
  tensors['transformer.wte.weight'].data[0] = 123; // the variables own copies
  const back = await assertNoLeak(() => paramsToTensors(params), 0, 'paramsToTensors');
  assert.notEqual(back['transformer.wte.weight'].data[0], 123);
  tensors['transformer.wte.weight'].data[0] = back['transformer.wte.weight'].data[0];
  assertSameTensors(back, tensors, 'adapters');
  disposeParams(params);

  // initParams -> disk -> Params again.
  const init = initParams(NOBIAS, { seed: 1 });
  const dir = tmpDir();
  writeHFFolder(dir, NOBIAS, await paramsToTensors(init));
  const loaded = loadHFFolder(dir);
  const again = await assertNoLeak(() => tensorsToParams(loaded.tensors, false), n, 'tensorsToParams');
  assert.equal(again['transformer.h.0.attn.c_attn.weight'].trainable, false);
  for (const name of Object.keys(init)) {
    assert.deepEqual(Array.from(await again[name].data()), Array.from(await init[name].data()), name);
  }
  disposeParams(init);
  disposeParams(again);
});
