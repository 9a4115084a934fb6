// Test-only access to the PyTorch GPT-2 fixtures in test/fixtures/gpt2/<case>/ (made by test/reference/).
// A minimal safetensors reader: 8-byte little-endian header length, a JSON header {name: {dtype, shape,
// data_offsets: [begin, end]}} (offsets relative to the end of the header), then the raw little-endian bytes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { GPTConfig, makeConfig } from '../../lib/model/config';
import { Params } from '../../lib/model/params';

export const FIXTURE_DIR = path.join(__dirname, '..', 'fixtures', 'gpt2');
export const CASES = ['gpt2_bias_plain', 'paper_nobias_scaled', 'bias_scaled', 'nobias_plain', 'nanogpt_exact_gelu'] as const;

export interface RawTensor {
  shape: number[];
  data: Float32Array;
}

/** Reads every F32 tensor of a .safetensors file into JS arrays. */
export function readSafetensors(file: string): Map<string, RawTensor> {
  const buf = fs.readFileSync(file);
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const base = 8 + headerLen;
  const out = new Map<string, RawTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (info.dtype !== 'F32') throw new Error(`${file}: ${name} has dtype ${info.dtype}; this test reader handles F32 only`);
    const [begin, end] = info.data_offsets;
    const bytes = buf.subarray(base + begin, base + end);
    // Copy into an aligned buffer (the slice may start at any byte offset).
    const data = new Float32Array(new Uint8Array(bytes).buffer);
    const n = info.shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new Error(`${file}: ${name} has ${data.length} values for shape [${info.shape}]`);
    out.set(name, { shape: info.shape, data });
  }
  return out;
}

export interface FixtureCase {
  name: string;
  cfg: GPTConfig;
  B: number;
  T: number;
  tokens: number[][];
  targets: number[][];
  loss: number;
  generate: { prompt: number[]; max_new_tokens: number; greedy_tokens: number[] };
  params: Map<string, RawTensor>;
  expected: Map<string, RawTensor>;
}

export function fixturesPresent(): boolean {
  return CASES.every((c) => fs.existsSync(path.join(FIXTURE_DIR, c, 'case.json')));
}

export function loadCase(name: string): FixtureCase {
  const dir = path.join(FIXTURE_DIR, name);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'case.json'), 'utf8'));
  const c = json.config;
  const cfg = makeConfig({
    nLayer: c.n_layer,
    nHead: c.n_head,
    nEmbd: c.n_embd,
    blockSize: c.block_size,
    vocabSize: c.vocab_size,
    bias: c.bias,
    dropout: c.dropout,
    scaleAttnByInverseLayerIdx: c.scale_attn_by_inverse_layer_idx,
    layerNormEps: c.layer_norm_eps,
    ...(c.activation_function === 'gelu' ? { activation: 'gelu' as const } : {}),
  });
  return {
    name,
    cfg,
    B: json.B,
    T: json.T,
    tokens: json.tokens,
    targets: json.targets,
    loss: json.loss,
    generate: json.generate,
    params: readSafetensors(path.join(dir, 'params.safetensors')),
    expected: readSafetensors(path.join(dir, 'expected.safetensors')),
  };
}

/** The fixture's initial parameters as tf.Variables (the caller disposes them). */
export function fixtureParams(fc: FixtureCase): Params {
  const p: Params = {};
  for (const [name, t] of fc.params) {
    const init = tf.tensor(t.data, t.shape, 'float32');
    p[name] = tf.variable(init);
    init.dispose();
  }
  return p;
}

export function expected(fc: FixtureCase, key: string): RawTensor {
  const t = fc.expected.get(key);
  if (!t) throw new Error(`fixture ${fc.name} has no '${key}'`);
  return t;
}
