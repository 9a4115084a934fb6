// Request cache: content hash of (model identity, max_length, request tokens) -> (loglikelihood, is_greedy), so
// re-running an evaluation of the same weights costs no forward passes (lm-eval's --use_cache, anchors.md §2.3).
// One append-only JSONL file per model fingerprint under the cache dir; an interrupted run keeps what it scored.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { GPTConfig } from '../model/config';
import { LoglikResult, TokenRequest } from './requests';

/**
 * A fingerprint of a model's function: sha256 over the config fields that change outputs and every parameter's
 * name, shape and float32 bytes (sorted by name). Equal weights give equal fingerprints whatever file they came from.
 * Reads each parameter back once (async, no tensors created).
 */
export async function modelFingerprint(params: Record<string, tf.Tensor>, cfg: GPTConfig): Promise<string> {
  const h = createHash('sha256');
  const c = cfg;
  const fields: unknown[] = [c.nLayer, c.nHead, c.nEmbd, c.blockSize, c.vocabSize, c.bias, c.scaleAttnByInverseLayerIdx, c.layerNormEps];
  // The exact GELU changes outputs too; the default (tanh) adds nothing, so fingerprints made before the field stay.
  if (c.activation !== undefined) fields.push(c.activation);
  h.update(JSON.stringify(fields));
  for (const name of Object.keys(params).sort()) {
    const t = params[name];
    h.update(`\n${name}:${t.dtype}:${t.shape.join('x')}\n`);
    const data = (await t.data()) as Float32Array | Int32Array;
    h.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return h.digest('hex');
}

/**
 * A fingerprint of a Hugging Face folder model (Llama / NeoX families) with its tokenizer: sha256 over config.json,
 * every weight file's name and bytes (read in 16 MB chunks, in the given order), and the tokenizer's own sha256. The
 * cache keys are token ids, but a cache made with one tokenizer is never read with another: the tokenizer is part of
 * the identity. GPT-2 checkpoints keep modelFingerprint (their tokenizer is fixed), so their caches stay valid.
 */
export function folderModelFingerprint(configFile: string, weightFiles: string[], tokenizerSha256: string): string {
  const h = createHash('sha256');
  h.update('hf-folder-model\n').update(fs.readFileSync(configFile));
  const buf = Buffer.allocUnsafe(16 * 1024 * 1024);
  for (const file of weightFiles) {
    h.update(`\n--${path.basename(file)}--\n`);
    const fd = fs.openSync(file, 'r');
    try {
      for (let n: number; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
    } finally {
      fs.closeSync(fd);
    }
  }
  h.update(`\n--tokenizer--\n${tokenizerSha256}`);
  return h.digest('hex');
}

/** The cache key of one request for one model. */
export function requestKey(modelId: string, maxLength: number, req: TokenRequest): string {
  return createHash('sha256')
    .update(`${modelId}|${maxLength}|${req.context.join(',')}|${req.continuation.join(',')}`)
    .digest('hex');
}

interface CacheLine {
  k: string;
  ll: number;
  g: boolean;
}

/** Log-likelihoods of one model, in memory and (if `dir` is given) in `<dir>/<modelId>.jsonl`. */
export class RequestCache {
  readonly file: string | undefined;
  private readonly map = new Map<string, LoglikResult>();

  constructor(readonly modelId: string, dir?: string) {
    if (!/^[0-9a-zA-Z._-]+$/.test(modelId)) throw new Error(`cache model id must be a file-name-safe string, got '${modelId}'`);
    this.file = dir ? path.join(dir, `${modelId}.jsonl`) : undefined;
    if (this.file && fs.existsSync(this.file)) this.load(this.file);
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string): LoglikResult | undefined {
    return this.map.get(key);
  }

  /** Stores results and appends them to the file (one line each, flushed before returning). */
  putMany(entries: Array<[string, LoglikResult]>): void {
    const lines: string[] = [];
    for (const [k, r] of entries) {
      if (this.map.has(k)) continue;
      this.map.set(k, r);
      if (!Number.isFinite(r.ll)) continue; // JSON has no -Infinity/NaN; such results are recomputed next run
      const line: CacheLine = { k, ll: r.ll, g: r.isGreedy };
      lines.push(JSON.stringify(line));
    }
    if (this.file && lines.length) {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      fs.appendFileSync(this.file, lines.join('\n') + '\n');
    }
  }

  private load(file: string): void {
    const text = fs.readFileSync(file, 'utf8');
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i]) continue;
      let obj: CacheLine;
      try {
        obj = JSON.parse(lines[i]) as CacheLine;
      } catch {
        // A line cut by an interrupted write is the only expected damage: it is the last one; skip it.
        if (i >= lines.length - 2) continue;
        throw new Error(`${file}:${i + 1}: not a JSON cache line; delete the file to rebuild the cache`);
      }
      if (typeof obj.k !== 'string' || typeof obj.ll !== 'number' || typeof obj.g !== 'boolean') {
        throw new Error(`${file}:${i + 1}: expected {"k": string, "ll": number, "g": boolean}; delete the file to rebuild the cache`);
      }
      this.map.set(obj.k, { ll: obj.ll, isGreedy: obj.g });
    }
  }
}
