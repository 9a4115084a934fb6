// Batched log-likelihood scoring of token requests with our GPT, exactly as lm-evaluation-harness's HFLM scores
// them (reference/data.md §3c): input = (context + continuation)[-(max_length+1):][:-1], right-padded to the batch's
// longest input; log_softmax over the full vocabulary (padded rows included, as the harness); the continuation is
// read from its last len(continuation) positions; is_greedy = every continuation token is the argmax.
// Only the needed positions go through ln_f and the tied head, in chunks, so (B, T, V) logits never exist.
import * as tf from '@tensorflow/tfjs';
import { GPTConfig } from '../model/config';
import { Params } from '../model/params';
import { runModel } from '../model/gpt';
import { layerNorm, tiedHead } from '../model/ops';
import { EOT_TOKEN, encodeOrdinary } from '../data/tokenizer';
import { RequestCache, requestKey } from './cache';
import {
  EvalTokenizer, LoglikResult, Scorer, TokenRequest, checkTokenRequest, encodeRequest, requestInput, rollingRequests,
} from './requests';
import { DEFAULT_HARNESS, HarnessVersion } from './tasks';

/** GPT-2 BPE (tiktoken encode_ordinary) with EOT 50256 as the prefix token. */
export const GPT2_EVAL_TOKENIZER: EvalTokenizer = { encode: encodeOrdinary, eot: EOT_TOKEN };

export interface ScoreBatchOptions {
  /** The harness's max_length: inputs keep their last maxLength tokens. Default cfg.blockSize. */
  maxLength?: number;
  /** The 2-D matMul ops (default: as forward). */
  fast?: boolean;
  /** Rows of (rows, V) logits computed at once by the head (default: about 16M floats per chunk). */
  headChunkRows?: number;
}

/** The model inputs of a batch, right-padded with token 0, and which position predicts which target. */
export interface BatchLayout {
  ids: Int32Array; // (B, T) row-major
  B: number;
  T: number;
  rows: Int32Array; // (N) flat index b*T + t of each scored position
  targets: Int32Array; // (N) the continuation token each position must predict
  owner: Int32Array; // (N) request index of each position
}

export function layoutBatch(reqs: TokenRequest[], maxLength: number): BatchLayout {
  const inputs = reqs.map((r) => requestInput(r, maxLength));
  const B = reqs.length;
  const T = Math.max(...inputs.map((x) => x.length));
  const N = reqs.reduce((n, r) => n + r.continuation.length, 0);
  const ids = new Int32Array(B * T);
  const rows = new Int32Array(N);
  const targets = new Int32Array(N);
  const owner = new Int32Array(N);
  let k = 0;
  for (let b = 0; b < B; b++) {
    const inp = inputs[b];
    ids.set(inp, b * T);
    const cont = reqs[b].continuation;
    const first = inp.length - cont.length; // logits at inp position p predict token p+1
    for (let j = 0; j < cont.length; j++, k++) {
      rows[k] = b * T + first + j;
      targets[k] = cont[j];
      owner[k] = b;
    }
  }
  return { ids, B, T, rows, targets, owner };
}

/**
 * Scores one batch of requests in a single forward pass. Creates no lasting tensors. Requests must pass
 * checkTokenRequest (ModelScorer checks them).
 */
export function scoreBatch(params: Params, cfg: GPTConfig, reqs: TokenRequest[], opts: ScoreBatchOptions = {}): LoglikResult[] {
  if (reqs.length === 0) return [];
  const maxLength = opts.maxLength ?? cfg.blockSize;
  const lay = layoutBatch(reqs, maxLength);
  const C = cfg.nEmbd;
  const V = cfg.vocabSize;
  const chunk = Math.max(1, opts.headChunkRows ?? Math.floor(2 ** 24 / V));
  const out: LoglikResult[] = reqs.map(() => ({ ll: 0, isGreedy: true }));
  const resid = tf.tidy(() => {
    const idx = tf.tensor2d(lay.ids, [lay.B, lay.T], 'int32');
    // Stop "before block nLayer": every block has run, ln_f and the head have not. (B, T, C)
    const r = runModel(params, cfg, idx, { stopAtLayer: cfg.nLayer, checkIds: false, fast: opts.fast }).resid as tf.Tensor3D;
    return tf.reshape(r, [lay.B * lay.T, C]) as tf.Tensor2D; // (B*T, C)
  });
  try {
    for (let s = 0; s < lay.rows.length; s += chunk) {
      const e = Math.min(lay.rows.length, s + chunk);
      const n = e - s;
      const [picked, argmax] = tf.tidy(() => {
        const h = tf.gather(resid, tf.tensor1d(lay.rows.subarray(s, e), 'int32')); // (n, C)
        const x = layerNorm(h, params['transformer.ln_f.weight'], params['transformer.ln_f.bias'], cfg.layerNormEps);
        const logits = tiedHead(x as tf.Tensor2D, params['transformer.wte.weight'], opts.fast ?? false); // (n, V)
        const logp = tf.logSoftmax(logits); // (n, V)
        const at = new Int32Array(2 * n);
        for (let i = 0; i < n; i++) {
          at[2 * i] = i;
          at[2 * i + 1] = lay.targets[s + i];
        }
        const lp = tf.gatherND(logp, tf.tensor2d(at, [n, 2], 'int32')) as tf.Tensor1D; // (n)
        return [lp, tf.argMax(logits, 1) as tf.Tensor1D]; // (n) each
      });
      const lp = picked.dataSync();
      const am = argmax.dataSync();
      picked.dispose();
      argmax.dispose();
      for (let i = 0; i < n; i++) {
        const r = out[lay.owner[s + i]];
        r.ll += lp[i];
        if (am[i] !== lay.targets[s + i]) r.isGreedy = false;
      }
    }
  } finally {
    resid.dispose();
  }
  return out;
}

export interface ModelScorerOptions {
  /** Requests per forward pass (padded to the longest). Default 8. */
  batchSize?: number;
  /** The harness's max_length. Default cfg.blockSize (1024 for GPT-2). */
  maxLength?: number;
  /** Default: GPT-2 BPE with EOT 50256. */
  tokenizer?: EvalTokenizer;
  /** The harness version whose pair encoding loglikelihood() uses when a call does not say (default DEFAULT_HARNESS). */
  harness?: HarnessVersion;
  /** Results by request; a hit costs no forward pass. */
  cache?: RequestCache;
  fast?: boolean;
  /** Called after each batch with (requests scored so far, requests to score in this call). */
  onProgress?: (done: number, total: number) => void;
}

export interface ScorerStats {
  /** Token requests asked for. */
  requests: number;
  /** Answered from the cache. */
  cacheHits: number;
  /** Forward passes run (one per batch). */
  forwardPasses: number;
}

/** The harness's loglikelihood / loglikelihood_rolling for our GPT, batched and cached. */
export class ModelScorer implements Scorer {
  readonly maxLength: number;
  readonly batchSize: number;
  readonly tokenizer: EvalTokenizer;
  readonly stats: ScorerStats = { requests: 0, cacheHits: 0, forwardPasses: 0 };

  constructor(readonly params: Params, readonly cfg: GPTConfig, readonly opts: ModelScorerOptions = {}) {
    this.maxLength = opts.maxLength ?? cfg.blockSize;
    this.batchSize = opts.batchSize ?? 8;
    this.tokenizer = opts.tokenizer ?? GPT2_EVAL_TOKENIZER;
    if (!Number.isInteger(this.maxLength) || this.maxLength < 1 || this.maxLength > cfg.blockSize) {
      throw new Error(`maxLength must be an integer in [1, ${cfg.blockSize}] (the model's blockSize), got ${this.maxLength}`);
    }
    const th = this.tokenizer.harness;
    if (th !== undefined && (opts.harness ?? DEFAULT_HARNESS) !== th) {
      throw new Error(`the tokenizer follows harness ${th}'s rules but the scorer is for harness ${opts.harness ?? DEFAULT_HARNESS}`);
    }
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${this.batchSize}`);
  }

  async loglikelihood(requests: Array<[string, string]>, harness?: HarnessVersion): Promise<LoglikResult[]> {
    const h = harness ?? this.opts.harness ?? DEFAULT_HARNESS;
    if (this.tokenizer.harness !== undefined && this.tokenizer.harness !== h) {
      throw new Error(`the scorer's tokenizer follows harness ${this.tokenizer.harness}'s rules; requests asked for ${h}`);
    }
    return this.loglikelihoodTokens(requests.map(([c, x]) => encodeRequest(this.tokenizer, c, x, h)));
  }

  /** Rolling windows use the tokenizer's tok_encode and prefix token (a version-specific tokenizer: its version's). */
  async loglikelihoodRolling(texts: string[]): Promise<number[]> {
    return this.loglikelihoodRollingTokens(texts.map((t) => this.tokenizer.encode(t)));
  }

  /** Sum of the rolling-window log-likelihoods of each token list (0 for an empty one, as the harness). */
  async loglikelihoodRollingTokens(docs: number[][]): Promise<number[]> {
    const reqs: TokenRequest[] = [];
    const owner: number[] = [];
    docs.forEach((tokens, d) => {
      for (const r of rollingRequests(tokens, this.tokenizer.eot, this.maxLength)) {
        reqs.push(r);
        owner.push(d);
      }
    });
    const res = await this.loglikelihoodTokens(reqs);
    const sums = docs.map(() => 0);
    res.forEach((r, i) => (sums[owner[i]] += r.ll));
    return sums;
  }

  /** Scores token requests: cache first, then the rest longest-first in batches (results in request order). */
  async loglikelihoodTokens(reqs: TokenRequest[]): Promise<LoglikResult[]> {
    reqs.forEach((r, i) => checkTokenRequest(r, this.maxLength, this.cfg.vocabSize, `request ${i}`));
    this.stats.requests += reqs.length;
    const cache = this.opts.cache;
    const keys = reqs.map((r) => (cache ? requestKey(cache.modelId, this.maxLength, r) : `${r.context.join(',')}|${r.continuation.join(',')}`));
    const out: Array<LoglikResult | undefined> = reqs.map((_, i) => cache?.get(keys[i]));
    // Identical requests are scored once.
    const todo = new Map<string, number[]>();
    out.forEach((r, i) => {
      if (r) {
        this.stats.cacheHits++;
        return;
      }
      const list = todo.get(keys[i]);
      if (list) list.push(i);
      else todo.set(keys[i], [i]);
    });
    // Longest inputs first (as the harness) so padded batches waste little.
    const inputLen = (i: number) => Math.min(reqs[i].context.length + reqs[i].continuation.length, this.maxLength + 1) - 1;
    const order = [...todo.values()].sort((a, b) => inputLen(b[0]) - inputLen(a[0]) || a[0] - b[0]);
    let done = 0;
    for (let s = 0; s < order.length; s += this.batchSize) {
      const group = order.slice(s, s + this.batchSize);
      const res = this.scoreGroup(group.map((g) => reqs[g[0]]));
      this.stats.forwardPasses++;
      group.forEach((g, j) => g.forEach((i) => (out[i] = res[j])));
      cache?.putMany(group.map((g, j) => [keys[g[0]], res[j]] as [string, LoglikResult]));
      done += group.length;
      this.opts.onProgress?.(done, order.length);
      await new Promise((resolve) => setImmediate(resolve)); // let a notebook or progress display update
    }
    return out as LoglikResult[];
  }

  /** One forward pass over a batch of checked requests (lib/eval/hooked-score overrides it for other families). */
  protected scoreGroup(reqs: TokenRequest[]): LoglikResult[] {
    return scoreBatch(this.params, this.cfg, reqs, { maxLength: this.maxLength, fast: this.opts.fast });
  }
}
