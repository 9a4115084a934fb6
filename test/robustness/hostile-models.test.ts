// Issue 17, cases 1, 6, 7 and 8 (loaders): hostile model files and configs fed to the public loaders and the CLI.
// NaN/Inf weights are refused naming the tensor (with an opt-out), a config that would allocate without bound is
// refused before any allocation, string booleans are refused, a train checkpoint's recorded SHA-256 is verified by
// every --model reader, and errors stay one bounded line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadHFFolder, loadModelPath, loadNanoGPTSafetensors, toHFConfigJSON, writeHFFolder, writeNanoGPTSafetensors } from '../../lib/model/hf';
import { sha256File } from '../../lib/model/checksums';
import { inspectTokenFile, buildNpyHeader } from '../../lib/data/formats';
import { asF16, randomTensors, runCli, safetensorsBytes, tinyModelConfig, tmpDir } from './helpers';

const cfg = tinyModelConfig();

function hfFolder(dir: string, poison?: (t: ReturnType<typeof randomTensors>) => void): string {
  const t = randomTensors(cfg, 3);
  poison?.(t);
  writeHFFolder(dir, cfg, t);
  return dir;
}

test('case 1: NaN / Inf weights in F32, F16, F64 and nanoGPT files are refused naming the tensor; allowNonFinite loads them', () => {
  const tmp = tmpDir('nan-models');
  const f32 = hfFolder(path.join(tmp, 'f32'), (t) => {
    t['transformer.h.1.mlp.c_fc.weight'].data[5] = NaN;
    t['transformer.h.1.mlp.c_fc.weight'].data[7] = Infinity;
  });
  assert.throws(() => loadModelPath(f32), /tensor 'transformer\.h\.1\.mlp\.c_fc\.weight' has 1 NaN and 1 infinite values of 256 \(first at index 5\); 1 tensor\(s\), 2 of \d+ values are not finite; refusing/);
  const ck = loadModelPath(f32, '--model', { allowNonFinite: true });
  assert.ok(Number.isNaN(ck.tensors['transformer.h.1.mlp.c_fc.weight'].data[5]), 'the opt-out loads the values as they are');

  // F16 (transformers' torch_dtype float16 exports): Inf in the embedding.
  const t = randomTensors(cfg, 4);
  t['transformer.wte.weight'].data[0] = -Infinity;
  const f16 = path.join(tmp, 'f16');
  fs.mkdirSync(f16);
  fs.writeFileSync(path.join(f16, 'model.safetensors'), safetensorsBytes(asF16(t), { format: 'pt' }));
  fs.writeFileSync(path.join(f16, 'config.json'), JSON.stringify(toHFConfigJSON(cfg)));
  assert.throws(() => loadHFFolder(f16), /tensor 'transformer\.wte\.weight' has 0 NaN and 1 infinite values/);

  // F64 values beyond float32's range become Inf on conversion: refused too.
  const f64 = path.join(tmp, 'f64');
  fs.mkdirSync(f64);
  const parts = Object.keys(t).sort().map((name) => {
    const d = Float64Array.from(t[name].data, (x) => (Number.isFinite(x) ? x : 1e300));
    return { name, dtype: 'F64', shape: t[name].shape, bytes: new Uint8Array(d.buffer) };
  });
  fs.writeFileSync(path.join(f64, 'model.safetensors'), safetensorsBytes(parts));
  fs.writeFileSync(path.join(f64, 'config.json'), JSON.stringify(toHFConfigJSON(cfg)));
  assert.throws(() => loadHFFolder(f64), /transformer\.wte\.weight' has 0 NaN and 1 infinite/);

  const nano = path.join(tmp, 'nano.safetensors');
  const tn = randomTensors(cfg, 5);
  tn['transformer.ln_f.weight'].data.fill(NaN);
  writeNanoGPTSafetensors(nano, cfg, tn);
  assert.throws(() => loadNanoGPTSafetensors(nano), /tensor 'transformer\.ln_f\.weight' has 8 NaN and 0 infinite values of 8/);
});

test('case 6: a config that would allocate without bound is refused before allocating, in config.json and in model_args', () => {
  const tmp = tmpDir('huge-config');
  const dir = hfFolder(path.join(tmp, 'hf'));
  const json = { ...toHFConfigJSON(cfg), n_layer: 10_000_000 };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(json));
  const heapBefore = process.memoryUsage().heapUsed;
  assert.throws(() => loadHFFolder(dir), /nLayer is 10000000, above the limit of 1024/);
  assert.ok(process.memoryUsage().heapUsed - heapBefore < 200e6, 'nothing large was allocated');

  const nano = path.join(tmp, 'nano.safetensors');
  writeNanoGPTSafetensors(nano, cfg, randomTensors(cfg));
  // Rewrite model_args with n_layer 1e7 (same tensors, new header).
  const bytes = fs.readFileSync(nano);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  header.__metadata__.model_args = JSON.stringify({ ...JSON.parse(header.__metadata__.model_args), n_layer: 10_000_000, n_embd: 1 << 20 });
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  fs.writeFileSync(nano, Buffer.concat([len, h, bytes.subarray(8 + n)]));
  assert.throws(() => loadNanoGPTSafetensors(nano), /nLayer is 10000000, above the limit of 1024; nEmbd is 1048576, above the limit of 65536/);
});

test('case 6: the CLI on a config with n_layer 10,000,000 exits 1 with one line, not out of memory', () => {
  const tmp = tmpDir('huge-config-cli');
  const dir = hfFolder(path.join(tmp, 'hf'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...toHFConfigJSON(cfg), n_layer: 10_000_000 }));
  const r = runCli(['rank', '--model', dir], { timeoutMs: 60_000 });
  assert.equal(r.status, 1, r.stderr.slice(0, 2000));
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr.slice(0, 2000));
  assert.match(lines[0], /^error: .*config\.json|^error: .*nLayer is 10000000, above the limit of 1024/);
});

test("case 6: booleans must be booleans: 'scale_attn_by_inverse_layer_idx': \"true\" is refused, not read as false", () => {
  const tmp = tmpDir('bool-config');
  const dir = hfFolder(path.join(tmp, 'hf'));
  for (const [k, v] of [['scale_attn_by_inverse_layer_idx', 'true'], ['tie_word_embeddings', 0], ['inheritune_bias', 'false']] as const) {
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...toHFConfigJSON(cfg), [k]: v }));
    assert.throws(() => loadHFFolder(dir), new RegExp(`${k} must be true or false, got ${JSON.stringify(JSON.stringify(v)).slice(1, -1)}`));
  }
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...toHFConfigJSON(cfg), scale_attn_by_inverse_layer_idx: true }));
  assert.equal(loadHFFolder(dir).config.scaleAttnByInverseLayerIdx, true);
});

/** A folder like a `train` checkpoint: HF files plus state.json recording their sizes and SHA-256. */
function recordedFolder(dir: string): string {
  hfFolder(dir);
  const files = Object.fromEntries(['config.json', 'model.safetensors'].map((f) => [f, sha256File(path.join(dir, f))]));
  fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify({ format: 'inheritune-train-checkpoint', version: 1, files }));
  return dir;
}

test('case 7: a --model folder with recorded SHA-256 (a train checkpoint) is verified: a flipped bit is refused by eval and rank', async () => {
  const tmp = tmpDir('bitflip');
  const dir = recordedFolder(path.join(tmp, 'step-00000010'));
  assert.equal(loadModelPath(dir).config.nLayer, 2, 'an intact checkpoint loads');
  const w = path.join(dir, 'model.safetensors');
  const b = fs.readFileSync(w);
  b[b.length - 3] ^= 0x01; // a low mantissa bit of the last weight: still a finite, plausible value
  fs.writeFileSync(w, b);
  assert.throws(() => loadModelPath(dir), /checkpoint .*step-00000010 is corrupt: model\.safetensors has \d+ bytes \/ sha256 [0-9a-f]{12}…, state\.json recorded/);
  for (const cmd of ['rank', 'eval']) {
    const r = runCli([cmd, '--model', dir, '--tasks', 'arc_easy', '--data-dir', tmp].slice(0, cmd === 'rank' ? 3 : 7), { timeoutMs: 60_000 });
    assert.equal(r.status, 1, `${cmd}: ${r.stderr}`);
    assert.match(r.stderr, /is corrupt: model\.safetensors has/, cmd);
  }
});

test('case 8: a header with 300k bogus entries gives a bounded one-line error', () => {
  const tmp = tmpDir('bogus-entries');
  const t = randomTensors(cfg);
  const parts = Object.keys(t).sort().map((name) => ({ name, dtype: 'F32', shape: t[name].shape, bytes: new Uint8Array(t[name].data.buffer) }));
  for (let i = 0; i < 300_000; i++) parts.push({ name: `transformer.h.0.bogus_${i}`, dtype: 'F32', shape: [0], bytes: new Uint8Array(0) });
  const f = path.join(tmp, 'bogus.safetensors');
  fs.writeFileSync(f, safetensorsBytes(parts, { model_args: JSON.stringify({ n_head: 2 }) }));
  let msg = '';
  try {
    loadNanoGPTSafetensors(f);
  } catch (e) {
    msg = (e as Error).message;
  }
  assert.match(msg, /unexpected 'transformer\.h\.0\.bogus_0'.*… and 299970 more/);
  assert.ok(msg.length < 4000 && !msg.includes('\n'), `message of ${msg.length} chars`);
});

test('case 8: .npy headers with a duplicated shape key or a descr hidden in another value are refused', () => {
  const tmp = tmpDir('npy-hostile');
  const tokens = new Uint16Array(12).map((_, i) => i);
  const npy = (dict: string) => {
    const body = Buffer.from(dict.padEnd(Math.ceil((dict.length + 11) / 64) * 64 - 11, ' ') + '\n', 'latin1');
    const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
    pre.writeUInt16LE(body.length, 8);
    return Buffer.concat([pre, body, Buffer.from(tokens.buffer)]);
  };
  const f = path.join(tmp, 'x.npy');
  fs.writeFileSync(f, npy(`{'descr': '<u2', 'fortran_order': False, 'shape': (12,), }`));
  assert.equal(inspectTokenFile(f).numTokens, 12, 'the plain header loads');
  assert.equal(buildNpyHeader(12).length % 64, 0);
  // numpy keeps the last 'shape': a (3, 4) array, not 12 tokens.
  fs.writeFileSync(f, npy(`{'descr': '<u2', 'fortran_order': False, 'shape': (12,), 'shape': (3, 4), }`));
  assert.throws(() => inspectTokenFile(f), /key 'shape' appears twice/);
  // The real dtype is float16; a regex finds the '<u2' inside another value first.
  fs.writeFileSync(f, npy(`{'fortran_order': False, 'shape': (12,), 'note': "'descr': '<u2'", 'descr': '<f2', }`));
  assert.throws(() => inspectTokenFile(f), /unexpected key "note"/);
  fs.writeFileSync(f, npy(`{'fortran_order': False, 'shape': (12,), 'descr': '<f2', }`));
  assert.throws(() => inspectTokenFile(f), /\.npy dtype '<f2'; expected '<u2'/);
});
