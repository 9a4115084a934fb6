// Autoregressive sampling as nanoGPT's GPT.generate: crop the context to blockSize, take the last position's logits,
// divide by temperature, optionally keep the top k, sample (or argmax). Sampling runs in JS with the project's seeded
// Rng, so a seed gives the same tokens on every backend (up to float ties in the logits).
import * as tf from '@tensorflow/tfjs';
import { GPTConfig } from './config';
import { Params } from './params';
import { runModel } from './gpt';
import { Rng } from '../util/rng';
import { encodeOrdinary, decode, GPT2_VOCAB_SIZE } from '../data/tokenizer';

export interface GenerateOptions {
  /** Number of tokens to append. */
  maxNewTokens: number;
  /** Softmax temperature (default 1); 0 means greedy. */
  temperature?: number;
  /** Sample only among the k most likely tokens (ties with the k-th are kept, as nanoGPT). */
  topK?: number;
  /** Argmax instead of sampling (the first maximum on ties, as torch.argmax). */
  greedy?: boolean;
  /** Seed of the sampling Rng (default 0). Ignored when greedy. */
  seed?: number;
  /** Only ids below this can be produced (e.g. 50257 for a model whose vocab is padded to 50304). */
  vocabLimit?: number;
  /** Use the 2-D matMul ops (default: as forward). */
  fast?: boolean;
}

/** Prompt plus maxNewTokens generated ids (nanoGPT returns the whole sequence too). */
export function generate(params: Params, cfg: GPTConfig, promptIds: number[], opts: GenerateOptions): number[] {
  const n = opts.maxNewTokens;
  if (!Number.isInteger(n) || n < 0) throw new Error(`maxNewTokens must be a non-negative integer, got ${n}`);
  if (!Array.isArray(promptIds) || promptIds.length === 0) throw new Error('generate needs a non-empty prompt (number[] of token ids)');
  promptIds.forEach((t, i) => {
    if (!Number.isInteger(t) || t < 0 || t >= cfg.vocabSize) {
      throw new Error(`prompt token ${i} = ${t} is out of range; ids must be integers in [0, ${cfg.vocabSize})`);
    }
  });
  const temperature = opts.temperature ?? 1;
  if (!(temperature >= 0)) throw new Error(`temperature must be >= 0, got ${temperature}`);
  const greedy = opts.greedy === true || temperature === 0;
  const limit = Math.min(opts.vocabLimit ?? cfg.vocabSize, cfg.vocabSize);
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`vocabLimit must be a positive integer, got ${opts.vocabLimit}`);
  if (opts.topK !== undefined && (!Number.isInteger(opts.topK) || opts.topK < 1)) {
    throw new Error(`topK must be a positive integer, got ${opts.topK}`);
  }
  const rng = new Rng(opts.seed ?? 0);
  const ids = promptIds.slice();
  for (let step = 0; step < n; step++) {
    const ctxIds = ids.slice(-cfg.blockSize); // crop to the context window
    const logits = lastLogits(params, cfg, ctxIds, opts.fast).subarray(0, limit);
    ids.push(greedy ? argmax(logits) : sample(logits, temperature, opts.topK, rng));
  }
  return ids;
}

/** Logits (V) at the last position of one sequence. */
function lastLogits(params: Params, cfg: GPTConfig, ctxIds: number[], fast: boolean | undefined): Float32Array {
  const idx = tf.tensor2d(ctxIds, [1, ctxIds.length], 'int32');
  try {
    const out = runModel(params, cfg, idx, { lastPositionOnly: true, checkIds: false, fast });
    const logits = out.logits as tf.Tensor;
    const data = logits.dataSync() as Float32Array;
    logits.dispose();
    return data;
  } finally {
    idx.dispose();
  }
}

/** Index of the first maximum. */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** One draw from softmax(logits / temperature), restricted to the top k (ties with the k-th kept). */
export function sample(logits: ArrayLike<number>, temperature: number, topK: number | undefined, rng: Rng): number {
  const V = logits.length;
  const z = new Float64Array(V);
  for (let i = 0; i < V; i++) z[i] = logits[i] / temperature;
  if (topK !== undefined && topK < V) {
    const kth = Float64Array.from(z).sort()[V - topK]; // k-th largest value
    for (let i = 0; i < V; i++) if (z[i] < kth) z[i] = -Infinity;
  }
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (z[i] > max) max = z[i];
  let total = 0;
  for (let i = 0; i < V; i++) {
    z[i] = Math.exp(z[i] - max);
    total += z[i];
  }
  let u = rng.next() * total;
  for (let i = 0; i < V; i++) {
    u -= z[i];
    if (u < 0) return i;
  }
  // Rounding left u >= 0 after the last term: return the last token with non-zero probability.
  for (let i = V - 1; i >= 0; i--) if (z[i] > 0) return i;
  return V - 1;
}

/**
 * Text in, text out with the GPT-2 tokenizer: the prompt followed by the continuation. Ids are limited to the
 * tokenizer's vocabulary (50257), so a model padded to 50304 never emits an undecodable id.
 */
export function generateText(params: Params, cfg: GPTConfig, text: string, opts: GenerateOptions): string {
  const prompt = encodeOrdinary(text);
  if (prompt.length === 0) throw new Error('generateText needs a non-empty prompt text');
  const limit = Math.min(opts.vocabLimit ?? GPT2_VOCAB_SIZE, GPT2_VOCAB_SIZE);
  return decode(generate(params, cfg, prompt, { ...opts, vocabLimit: limit }));
}
