// The fuzz suite's format families. Each builds a valid base once, then makes mutants of it: files written into a
// fresh folder, the public loader to call, and an independent check of what a successful load returned (finite
// values, shapes that fit the config, fields read as the file says, nothing a checksum covers altered).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../../lib/util/rng';
import { GPTConfig, validateConfig } from '../../lib/model/config';
import { Checkpoint, checkShapes, loadHFFolder, loadModelPath, loadNanoGPTSafetensors, toHFConfigJSON, writeHFFolder, writeNanoGPTSafetensors } from '../../lib/model/hf';
import { TensorMap } from '../../lib/model/safetensors';
import { openTokenFile } from '../../lib/data/source';
import { writeLlmcShard, writeNanoGptBin, writeNpy } from '../../lib/data/formats';
import { Json, mutateBytes, mutateJsonText, pick } from './mutate';
import { randomTensors, tinyModelConfig } from '../robustness/helpers';

export interface Mutant {
  op: string;
  /** Calls the public loader(s); resolves to what they returned. */
  load: () => Promise<unknown>;
  /** Why a successful load is wrong (silent garbage), or null when it is a correct load. */
  verify: (loaded: unknown) => string | null;
}

export interface Family {
  name: string;
  setup: (work: string) => Promise<void>;
  mutant: (rng: Rng, dir: string) => Promise<Mutant>;
}

// ---- shared checks -----------------------------------------------------------------------------------------------

function nonFinite(t: TensorMap): string | null {
  for (const [name, e] of Object.entries(t)) {
    const d = e.data;
    if (d instanceof Float32Array || d instanceof Float64Array) for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return `tensor '${name}' holds ${d[i]} at ${i}`;
  }
  return null;
}

/** A loaded model is usable: a valid config, the exact parameters it needs as float32, all finite. */
export function checkModel(ck: Checkpoint): string | null {
  try {
    validateConfig({ ...ck.config });
    checkShapes(ck.config, ck.tensors, 'loaded');
  } catch (e) {
    return (e as Error).message.slice(0, 300);
  }
  for (const [n, t] of Object.entries(ck.tensors)) if (t.dtype !== 'F32') return `tensor '${n}' is ${t.dtype}`;
  return nonFinite(ck.tensors);
}

// ---- safetensors ---------------------------------------------------------------------------------------------------

const cfg: GPTConfig = tinyModelConfig({ bias: false, scaleAttnByInverseLayerIdx: true, vocabSize: 48 });
let nanoBytes = Buffer.alloc(0);
let hfBytes = Buffer.alloc(0);
let hfConfigText = '';

function headerSplit(b: Buffer): { header: string; data: Buffer; dataStart: number } {
  const n = Number(b.readBigUInt64LE(0));
  return { header: b.subarray(8, 8 + n).toString('utf8'), data: b.subarray(8 + n), dataStart: 8 + n };
}

function withHeader(header: string, data: Buffer): Buffer {
  const h = Buffer.from(header, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, data]);
}

async function setupModels(work: string): Promise<void> {
  const t = randomTensors(cfg, 7);
  writeNanoGPTSafetensors(path.join(work, 'base.safetensors'), cfg, t);
  writeHFFolder(path.join(work, 'base-hf'), cfg, t);
  nanoBytes = fs.readFileSync(path.join(work, 'base.safetensors'));
  hfBytes = fs.readFileSync(path.join(work, 'base-hf', 'model.safetensors'));
  hfConfigText = fs.readFileSync(path.join(work, 'base-hf', 'config.json'), 'utf8');
}

/** A mutated safetensors file (whole file, data region with NaN/Inf patterns, or the header JSON re-framed). */
function mutateSafetensors(rng: Rng, base: Buffer): { bytes: Buffer; op: string } {
  const k = rng.int(10);
  const { header, data, dataStart } = headerSplit(base);
  if (k < 4) return mutateBytes(rng, base);
  if (k < 7) return mutateBytes(rng, base, [dataStart, base.length]);
  const m = mutateJsonText(rng, header);
  return { bytes: withHeader(m.text, data), op: `header: ${m.op}` };
}

export const safetensorsFamily: Family = {
  name: 'safetensors',
  setup: setupModels,
  async mutant(rng, dir) {
    const nano = rng.int(2) === 0;
    const m = mutateSafetensors(rng, nano ? nanoBytes : hfBytes);
    if (nano) {
      const f = path.join(dir, 'model.safetensors');
      fs.writeFileSync(f, m.bytes);
      return { op: `nanoGPT ${m.op}`, load: async () => loadNanoGPTSafetensors(f), verify: (r) => checkModel(r as Checkpoint) };
    }
    fs.writeFileSync(path.join(dir, 'model.safetensors'), m.bytes);
    fs.writeFileSync(path.join(dir, 'config.json'), hfConfigText);
    return { op: `HF ${m.op}`, load: async () => loadHFFolder(dir), verify: (r) => checkModel(r as Checkpoint) };
  },
};

// ---- config.json ---------------------------------------------------------------------------------------------------

const BOOLEAN_FIELDS = ['scale_attn_by_inverse_layer_idx', 'tie_word_embeddings', 'scale_attn_weights', 'add_cross_attention', 'inheritune_bias', 'reorder_and_upcast_attn'];

/** The loaded config must say what config.json says (no silent defaults for present fields, booleans as booleans). */
function checkConfigAgainstJson(ck: Checkpoint, text: string): string | null {
  const bad = checkModel(ck);
  if (bad) return bad;
  let j: Record<string, Json>;
  try {
    j = JSON.parse(text) as Record<string, Json>;
  } catch {
    return 'config.json is not JSON, yet the folder loaded';
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) return 'config.json is not an object, yet the folder loaded';
  for (const k of BOOLEAN_FIELDS) if (j[k] !== undefined && j[k] !== null && typeof j[k] !== 'boolean') return `${k} is ${JSON.stringify(j[k])}, not a boolean`;
  const c = ck.config;
  const want: [string, unknown, unknown][] = [
    ['n_layer', j.n_layer, c.nLayer], ['n_head', j.n_head, c.nHead], ['n_embd', j.n_embd, c.nEmbd], ['vocab_size', j.vocab_size, c.vocabSize],
    ['n_positions', j.n_positions ?? j.n_ctx, c.blockSize], ['layer_norm_epsilon', j.layer_norm_epsilon ?? 1e-5, c.layerNormEps],
    ['resid_pdrop', j.resid_pdrop ?? 0, c.dropout], ['scale_attn_by_inverse_layer_idx', j.scale_attn_by_inverse_layer_idx === true, c.scaleAttnByInverseLayerIdx],
  ];
  for (const [k, a, b] of want) if (a !== b) return `config.json ${k} is ${JSON.stringify(a)} but the model has ${String(b)}`;
  return null;
}

export const configFamily: Family = {
  name: 'config.json',
  setup: setupModels,
  async mutant(rng, dir) {
    fs.writeFileSync(path.join(dir, 'model.safetensors'), hfBytes);
    let text = hfConfigText;
    let op: string;
    if (rng.int(5) === 0) {
      const m = mutateBytes(rng, Buffer.from(text, 'utf8'));
      fs.writeFileSync(path.join(dir, 'config.json'), m.bytes);
      text = m.bytes.toString('utf8');
      op = m.op;
    } else {
      // One to three structure-aware mutations.
      const n = 1 + rng.int(3);
      const ops: string[] = [];
      for (let i = 0; i < n; i++) {
        const m = mutateJsonText(rng, text);
        text = m.text;
        ops.push(m.op);
      }
      fs.writeFileSync(path.join(dir, 'config.json'), text);
      op = ops.join(', ');
    }
    return { op, load: async () => loadHFFolder(dir), verify: (r) => checkConfigAgainstJson(r as Checkpoint, text) };
  },
};

// ---- token files ---------------------------------------------------------------------------------------------------

const tokenBases: Record<string, Buffer> = {};

async function setupTokens(work: string): Promise<void> {
  const rng = new Rng(3);
  const toks = Uint16Array.from({ length: 3000 }, () => rng.int(50257));
  writeNanoGptBin(path.join(work, 'train.bin'), toks);
  writeLlmcShard(path.join(work, 'fineweb_train_000001.bin'), toks);
  writeNpy(path.join(work, 'edufineweb_train_000001.npy'), toks);
  for (const f of ['train.bin', 'fineweb_train_000001.bin', 'edufineweb_train_000001.npy']) tokenBases[f] = fs.readFileSync(path.join(work, f));
}

/** Independent check of a token file that loaded: its layout fits its size and every id is a GPT-2 token. */
function checkTokens(file: string, bytes: Buffer, src: { length: number; read: (o: number, n: number) => Uint16Array; close: () => void }): string | null {
  try {
    const toks = src.read(0, src.length);
    for (let i = 0; i < toks.length; i++) if (toks[i] >= 50257) return `token ${toks[i]} at ${i} is outside the GPT-2 vocabulary`;
  } finally {
    src.close();
  }
  const n = src.length;
  if (file.endsWith('.npy')) {
    const text = bytes.subarray(10, Math.min(bytes.length, 10 + bytes.readUInt16LE(8))).toString('latin1');
    if ((text.match(/descr/g) ?? []).length !== 1 || (text.match(/shape/g) ?? []).length !== 1) return `npy header ${JSON.stringify(text.slice(0, 120))} is ambiguous`;
    if (!/^\{'descr': '[<|]u2', 'fortran_order': False, 'shape': \(\d+,\), \} *\n$/.test(text)) return `npy header ${JSON.stringify(text.slice(0, 120))} is not numpy's`;
    if (10 + text.length + 2 * n !== bytes.length) return `npy of ${bytes.length} bytes read as ${n} tokens`;
  } else if (bytes.length >= 4 && bytes.readInt32LE(0) === 20240520) {
    if (bytes.length !== 1024 + 2 * n || bytes.readInt32LE(8) !== n || bytes.readInt32LE(4) !== 1) return `llm.c shard of ${bytes.length} bytes read as ${n} tokens`;
  } else if (path.basename(file) !== 'train.bin' || bytes.length !== 2 * n) return `${path.basename(file)} of ${bytes.length} bytes read as ${n} raw tokens`;
  return null;
}

export const tokenFamily: Family = {
  name: 'token files (.bin, llm.c, .npy)',
  setup: setupTokens,
  async mutant(rng, dir) {
    const name = pick(rng, Object.keys(tokenBases));
    const base = tokenBases[name];
    const header = name.endsWith('.npy') ? 128 : name.startsWith('fineweb') ? 1024 : 64;
    const m = rng.int(2) === 0 ? mutateBytes(rng, base, [0, header]) : mutateBytes(rng, base);
    const f = path.join(dir, name);
    fs.writeFileSync(f, m.bytes);
    return {
      op: `${name}: ${m.op}`,
      load: async () => openTokenFile(f, 'full'),
      verify: (src) => checkTokens(f, m.bytes, src as Parameters<typeof checkTokens>[2]),
    };
  },
};

export { loadModelPath, toHFConfigJSON };
