// Shared helpers of the robustness tests: tiny models written without a backend, raw safetensors files of any
// dtype (F16 / BF16 too), temp folders, and the CLI run as a child process (exit code, stdout, stderr).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync, SpawnSyncReturns } from 'node:child_process';
import { GPTConfig, makeConfig } from '../../lib/model/config';
import { expectedShapes } from '../../lib/model/hf';
import { TensorMap } from '../../lib/model/safetensors';
import { Rng } from '../../lib/util/rng';

export const REPO = path.resolve(__dirname, '..', '..');

/** A 2-layer GPT-2 with biases, vocab 64: files of a few kB. */
export function tinyModelConfig(over: Partial<GPTConfig> = {}): GPTConfig {
  return makeConfig('gpt2', { nLayer: 2, nHead: 2, nEmbd: 8, blockSize: 16, vocabSize: 64, ...over });
}

/** Random float32 weights of every parameter of a config (our names and layout), N(0, 0.02). */
export function randomTensors(cfg: GPTConfig, seed = 1): TensorMap {
  const rng = new Rng(seed);
  const out: TensorMap = {};
  for (const [name, shape] of expectedShapes(cfg)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = 0.02 * rng.normal();
    out[name] = { dtype: 'F32', shape, data };
  }
  return out;
}

export interface RawTensor {
  name: string;
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** A safetensors file from raw parts: any dtype string, any bytes (no validation: tests write hostile files). */
export function safetensorsBytes(tensors: RawTensor[], metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.bytes.length] };
    off += t.bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...tensors.map((t) => Buffer.from(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength))]);
}

/** float32 -> IEEE half bits (round toward zero is enough for test weights; NaN and Inf kept). */
export function toHalfBits(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) return sign; // flush subnormals to zero
  return sign | (e << 10) | (mant >>> 13);
}

/** The tensors of a map as F16 raw parts. */
export function asF16(tensors: TensorMap): RawTensor[] {
  return Object.keys(tensors).sort().map((name) => {
    const t = tensors[name];
    const h = new Uint16Array(t.data.length);
    for (let i = 0; i < h.length; i++) h[i] = toHalfBits(t.data[i]);
    return { name, dtype: 'F16', shape: t.shape, bytes: new Uint8Array(h.buffer) };
  });
}

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

export function tmpDir(label: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `inheritune-${label}-`));
  made.push(d);
  return d;
}

/** Runs `npm run cli -- args` as a child process (tsx directly), with a time limit; never throws. */
export function runCli(args: string[], o: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [path.join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(REPO, 'lib', 'cli', 'main.ts'), ...args], {
    cwd: o.cwd ?? REPO,
    env: { ...process.env, ...o.env },
    encoding: 'utf8',
    timeout: o.timeoutMs ?? 120_000,
  });
}
