// A Llama or GPT-NeoX Hugging Face folder as a HookedModel for analysis (patterns, residuals, logits, losses).
//
// Memory: the weights stay as the file stores them (F16/BF16 bit patterns or F32). In 'resident' mode each block's
// tensors are widened to float32 tfjs tensors once, at load time; in 'streamed' mode nothing but the embedding rows is
// held: each block's weights are read from disk, widened and uploaded just before the block runs, inside the block's
// tf.tidy, and freed when it ends. Peak memory is then one block in float32 plus the activations, whatever the depth
// (Llama-3-8B: ~0.9 GB per block; the 4 GB wasm heap could never hold the whole model in float32).
// The embedding lookup runs on the host (rows widened one token at a time); the LM head, only needed for logits and
// losses, is applied in vocabulary chunks when streamed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { HookedModel, HookedRunOptions, ModelDims } from '../hooked-model';
import { RunResult } from '../gpt';
import { HookRunner } from '../hookpoints';
import { crossEntropy, layerNorm } from '../ops';
import { TensorEntry } from '../safetensors';
import { widenHalf } from '../half';
import { countNonFinite } from '../finite';
import { listProblems, quoteName } from '../../util/errors';
import { FamilyConfig, parseFamilyConfig } from './family-config';
import { HFTensorStore, openTensorStore, readJSONFile } from './hf-folder';
import { BlockCtx, linearT, rmsNorm } from './attention';
import { ropeTables } from './rope';
import { describeSlidingWindow, layerWindow } from './sliding-window';
import { LLAMA_EMBED, LLAMA_FINAL_NORM, LLAMA_HEAD, llamaBlock, llamaBlockPrefix, llamaBlockTensors } from './llama';
import { NEOX_EMBED, NEOX_FINAL_NORM, NEOX_FINAL_NORM_BIAS, NEOX_HEAD, neoxBlock, neoxBlockPrefix, neoxBlockTensors } from './neox';

export type WeightMode = 'resident' | 'streamed';

export interface FamilyLoadOptions {
  /** Default: 'resident' when the float32 weights fit in residentLimitBytes, else 'streamed'. */
  mode?: WeightMode;
  /** Default 2 GB of float32 weights (the wasm heap tops out at 4 GB). */
  residentLimitBytes?: number;
  /** Refuse weights with NaN/Inf (checked as each tensor is read). Default true. */
  checkFinite?: boolean;
}

/** Tensors that checkpoints carry but the forward recomputes (RoPE frequencies, causal-mask buffers). */
const IGNORED = /(rotary_emb\.inv_freq|attention\.bias|attention\.masked_bias)$/;

export class FamilyModel implements HookedModel {
  readonly dims: ModelDims;
  readonly description: string;
  private readonly resident = new Map<string, tf.Tensor>();
  private readonly embed: TensorEntry;
  private readonly headName: string;
  readonly streamed: boolean;

  constructor(readonly cfg: FamilyConfig, readonly store: HFTensorStore, readonly mode: WeightMode, private readonly checkFinite = true) {
    this.streamed = mode === 'streamed';
    this.dims = { nLayer: cfg.nLayer, nHead: cfg.nHead, nEmbd: cfg.dModel, blockSize: cfg.contextLength, vocabSize: cfg.vocabSize };
    const dt = [...new Set(store.names().map((n) => store.info(n).dtype))].join('/');
    const gqa = cfg.nKVHead !== cfg.nHead ? `, GQA ${cfg.nHead}/${cfg.nKVHead} heads` : '';
    const swa = cfg.slidingWindow ? `, ${describeSlidingWindow(cfg.slidingWindow)}` : '';
    this.description = `${cfg.modelType} (${cfg.nLayer} layers x ${cfg.nHead} heads${gqa}${swa}, width ${cfg.dModel}; ${dt} weights, ${mode === 'streamed' ? 'streamed from disk per block' : 'resident in float32'})`;
    const isLlama = cfg.family === 'llama';
    this.embed = this.readChecked(isLlama ? LLAMA_EMBED : NEOX_EMBED);
    this.headName = isLlama ? (store.has(LLAMA_HEAD) ? LLAMA_HEAD : LLAMA_EMBED) : NEOX_HEAD;
    if (mode === 'resident') {
      try {
        for (const n of this.weightNames()) this.resident.set(n, this.upload(n));
      } catch (e) {
        this.dispose();
        throw e;
      }
    }
  }

  /** Every tensor the forward reads, except the embedding (kept on the host). */
  private weightNames(): string[] {
    const c = this.cfg;
    const out: string[] = [];
    for (let l = 0; l < c.nLayer; l++) for (const [s] of this.blockTensors()) out.push(this.prefix(l) + s);
    out.push(...this.finalNormNames(), this.headName);
    return out;
  }

  private blockTensors(): Array<[string, number[]]> {
    return this.cfg.family === 'llama' ? llamaBlockTensors(this.cfg) : neoxBlockTensors(this.cfg);
  }

  private prefix(l: number): string {
    return this.cfg.family === 'llama' ? llamaBlockPrefix(l) : neoxBlockPrefix(l);
  }

  private finalNormNames(): string[] {
    return this.cfg.family === 'llama' ? [LLAMA_FINAL_NORM] : [NEOX_FINAL_NORM, NEOX_FINAL_NORM_BIAS];
  }

  private readChecked(name: string): TensorEntry {
    const t = this.store.read(name, 'keep');
    if (this.checkFinite) {
      const bad = countNonFinite(t.data, t.dtype);
      if (bad.nan + bad.inf > 0) {
        throw new Error(`${this.store.dir}: tensor ${quoteName(name)} holds ${bad.nan} NaN and ${bad.inf} infinite values (first at index ${bad.first}); refusing it`);
      }
    }
    return t;
  }

  /** A float32 tfjs tensor of a stored tensor (16-bit patterns widened). The caller owns it. */
  private upload(name: string): tf.Tensor {
    const t = this.readChecked(name);
    const values = t.dtype === 'F16' || t.dtype === 'BF16' ? widenHalf(t.data as Uint16Array, t.dtype) : (t.data as Float32Array);
    return tf.tensor(values, t.shape, 'float32');
  }

  private weight(name: string): tf.Tensor {
    return this.resident.get(name) ?? this.upload(name);
  }

  /** Embedding rows of the ids, (N, C) float32, looked up on the host. */
  private embedRows(ids: Int32Array): Float32Array {
    const C = this.cfg.dModel;
    const out = new Float32Array(ids.length * C);
    const e = this.embed;
    for (let i = 0; i < ids.length; i++) {
      const row = e.data.subarray(ids[i] * C, (ids[i] + 1) * C);
      out.set(e.dtype === 'F16' || e.dtype === 'BF16' ? widenHalf(row as Uint16Array, e.dtype) : (row as Float32Array), i * C);
    }
    return out;
  }

  /** logits = x W_head^T, x (N, C) -> (N, V); streamed heads go through in chunks of rows. */
  private head(x: tf.Tensor): tf.Tensor {
    const W = this.resident.get(this.headName);
    if (W) return linearT(x, W);
    const t = this.headName === (this.cfg.family === 'llama' ? LLAMA_EMBED : NEOX_EMBED) ? this.embed : this.readChecked(this.headName);
    const [V, C] = t.shape;
    const rows = Math.max(1, Math.floor((64 * 1024 * 1024) / (4 * C))); // 64 MB of float32 per chunk
    const parts: tf.Tensor[] = [];
    for (let r = 0; r < V; r += rows) {
      const n = Math.min(rows, V - r);
      const slice = t.data.subarray(r * C, (r + n) * C);
      const vals = t.dtype === 'F16' || t.dtype === 'BF16' ? widenHalf(slice as Uint16Array, t.dtype) : Float32Array.from(slice as Float32Array);
      parts.push(tf.tidy(() => linearT(x, tf.tensor2d(vals, [n, C]))));
    }
    return tf.concat(parts, 1);
  }

  run(idx: tf.Tensor, opts: HookedRunOptions = {}): RunResult {
    const c = this.cfg;
    const [B, T] = checkIds(idx, c, 'idx', false);
    if (opts.targets) {
      const [tb, tt] = checkIds(opts.targets, c, 'targets', true);
      if (tb !== B || tt !== T) throw new Error(`targets shape [${tb},${tt}] must equal idx shape [${B},${T}]`);
    }
    let stop = opts.stopAtLayer;
    if (stop !== undefined) {
      if (!Number.isInteger(stop) || stop < -c.nLayer || stop > c.nLayer) throw new Error(`stopAtLayer must be an integer in [${-c.nLayer}, ${c.nLayer}], got ${stop}`);
      if (stop < 0) stop += c.nLayer;
    }
    const hk = opts.hooks && opts.hooks.length ? new HookRunner(opts.hooks, this.dims) : undefined;
    const C = c.dModel;
    const ids = idx.dataSync() as Int32Array;
    return tf.tidy(() => {
      const { cos, sin } = ropeTables(T, c.rotaryDim, c.ropeTheta, c.ropeScaling);
      let x: tf.Tensor = tf.tensor2d(this.embedRows(ids), [B * T, C]); // (B*T, C)
      if (hk) x = hk.runAs('hook_embed', x, [B, T, C]);
      const nBlocks = stop ?? c.nLayer;
      for (let l = 0; l < nBlocks; l++) {
        const xIn = x;
        // One tidy per block: its intermediates and (streamed) its weights are freed when it ends.
        x = tf.tidy(() => this.block(l, xIn, B, T, hk, cos, sin));
      }
      if (stop !== undefined) return { resid: tf.reshape(x, [B, T, C]) as tf.Tensor3D };
      x = c.family === 'llama'
        ? rmsNorm(x, this.weight(LLAMA_FINAL_NORM), c.normEps)
        : layerNorm(x, this.weight(NEOX_FINAL_NORM), this.weight(NEOX_FINAL_NORM_BIAS), c.normEps);
      if (hk) x = hk.runAs('ln_final.hook_normalized', x, [B, T, C]);
      const logits2d = this.head(x) as tf.Tensor2D; // (B*T, V)
      const logits = tf.reshape(logits2d, [B, T, c.vocabSize]) as tf.Tensor3D;
      if (!opts.targets) return { logits };
      return { logits, loss: crossEntropy(logits2d, tf.reshape(opts.targets, [B * T]) as tf.Tensor1D, false) };
    });
  }

  /** Block l on x (B*T, C); weights from `w` (preloaded) or read as needed. */
  private block(l: number, x: tf.Tensor, B: number, T: number, hk: HookRunner | undefined, cos: tf.Tensor2D, sin: tf.Tensor2D, w?: Map<string, tf.Tensor>): tf.Tensor {
    const c = this.cfg;
    const pre = this.prefix(l);
    const get = (s: string) => w?.get(s) ?? this.weight(pre + s);
    const ctx: BlockCtx = { B, T, hk, cos, sin, window: layerWindow(c.slidingWindow, l), w: get, maybe: (s) => (this.store.has(pre + s) ? get(s) : undefined) };
    return c.family === 'llama' ? llamaBlock(c, ctx, x, l) : neoxBlock(c, ctx, x, l);
  }

  /**
   * Layer-major pass for weights streamed from disk: every batch through block 0, then every batch through block 1,
   * ..., so each block is read and widened once for all windows (a batch-major pass reads the whole model once per
   * batch). `onActivation(b, name, t)` sees the activations `keep` selects of batch b; t is freed after the call.
   * batches: token ids (B_b * T) row-major, one entry per batch. Blocks 0..stopAtLayer-1 run; no final norm or head.
   */
  runLayerMajor(batches: Int32Array[], T: number, keep: (name: string) => boolean, onActivation: (b: number, name: string, t: tf.Tensor) => void, stopAtLayer = this.cfg.nLayer): void {
    const c = this.cfg;
    const C = c.dModel;
    if (T > c.contextLength) throw new Error(`sequence length ${T} exceeds the model's context (max_position_embeddings ${c.contextLength})`);
    for (const ids of batches) {
      if (ids.length === 0 || ids.length % T !== 0) throw new Error(`runLayerMajor: a batch of ${ids.length} ids is not a whole number of windows of ${T}`);
      for (let i = 0; i < ids.length; i++) if (!(ids[i] >= 0 && ids[i] < c.vocabSize)) throw new Error(`token id ${ids[i]} is out of range [0, ${c.vocabSize})`);
    }
    tf.engine().startScope();
    try {
      const { cos, sin } = ropeTables(T, c.rotaryDim, c.ropeTheta, c.ropeScaling);
      const xs: tf.Tensor[] = batches.map((ids) => tf.keep(tf.tensor2d(this.embedRows(ids), [ids.length, C]))); // (B_b*T, C) each
      try {
        for (let l = 0; l < stopAtLayer; l++) {
          const pre = this.prefix(l);
          const w = new Map<string, tf.Tensor>();
          const uploaded: tf.Tensor[] = [];
          try {
            for (const [s] of this.blockTensors()) {
              if (!this.store.has(pre + s)) continue;
              const r = this.resident.get(pre + s);
              const t = r ?? tf.keep(this.upload(pre + s));
              if (!r) uploaded.push(t);
              w.set(s, t);
            }
            for (let b = 0; b < xs.length; b++) {
              const B = xs[b].shape[0] / T;
              const hk = new HookRunner([[keep, (t, name) => onActivation(b, name, t)]], this.dims);
              const xIn = xs[b];
              xs[b] = tf.keep(tf.tidy(() => this.block(l, xIn, B, T, hk, cos, sin, w)));
              xIn.dispose();
            }
          } finally {
            for (const t of uploaded) t.dispose();
          }
        }
      } finally {
        for (const x of xs) x.dispose();
      }
    } finally {
      tf.engine().endScope();
    }
  }

  /** Frees the resident weights. */
  dispose(): void {
    for (const t of this.resident.values()) t.dispose();
    this.resident.clear();
  }
}

function checkIds(t: tf.Tensor, c: FamilyConfig, label: string, allowIgnore: boolean): [number, number] {
  if (!(t instanceof tf.Tensor) || t.rank !== 2 || t.dtype !== 'int32') throw new Error(`${label} must be an int32 tensor of shape [B, T]`);
  const [B, T] = t.shape as [number, number];
  if (B < 1 || T < 1) throw new Error(`${label} is empty: shape [${t.shape}]`);
  if (T > c.contextLength) throw new Error(`sequence length ${T} exceeds the model's context (max_position_embeddings ${c.contextLength})`);
  const v = t.dataSync();
  const lo = allowIgnore ? -1 : 0;
  for (let i = 0; i < v.length; i++) {
    if (v[i] < lo || v[i] >= c.vocabSize) throw new Error(`${label}[${Math.floor(i / T)}, ${i % T}] = ${v[i]} is out of range [${lo}, ${c.vocabSize})`);
  }
  return [B, T];
}

/** Checks every tensor the family needs is in the store with the right shape and a float dtype; one Error for all. */
export function checkFamilyTensors(cfg: FamilyConfig, store: HFTensorStore): void {
  const llama = cfg.family === 'llama';
  const V = cfg.vocabSize;
  const C = cfg.dModel;
  const expected = new Map<string, number[]>();
  expected.set(llama ? LLAMA_EMBED : NEOX_EMBED, [V, C]);
  if (llama) expected.set(LLAMA_FINAL_NORM, [C]);
  else expected.set(NEOX_FINAL_NORM, [C]).set(NEOX_FINAL_NORM_BIAS, [C]);
  const blocks = llama ? llamaBlockTensors(cfg) : neoxBlockTensors(cfg);
  for (let l = 0; l < cfg.nLayer; l++) for (const [s, shape] of blocks) expected.set((llama ? llamaBlockPrefix(l) : neoxBlockPrefix(l)) + s, shape);
  const headName = llama ? LLAMA_HEAD : NEOX_HEAD;
  const headNeeded = !(llama && cfg.tiedEmbeddings);
  if (headNeeded || store.has(headName)) expected.set(headName, [V, C]);
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    if (!store.has(name)) {
      problems.push(`missing ${quoteName(name)}`);
      continue;
    }
    const e = store.info(name);
    if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) problems.push(`${quoteName(name)} has shape [${e.shape.join(', ')}], expected [${shape.join(', ')}]`);
    else if (!['F32', 'F64', 'F16', 'BF16'].includes(e.dtype)) problems.push(`${quoteName(name)} has dtype ${e.dtype}, expected a float type`);
  }
  for (const name of store.names()) if (!expected.has(name) && !IGNORED.test(name)) problems.push(`unexpected ${quoteName(name)}`);
  if (problems.length) {
    const dims = `${cfg.nLayer} layers, hidden ${C}, ${cfg.nHead}/${cfg.nKVHead} heads of ${cfg.headDim}, mlp ${cfg.dMLP}, vocab ${V}`;
    throw new Error(`${store.dir}: weights do not match config.json (${cfg.modelType}: ${dims}): ${listProblems(problems, 8)}`);
  }
}

/** Float32 bytes of a family's weights (for the resident/streamed choice). */
export function familyFloat32Bytes(store: HFTensorStore): number {
  let n = 0;
  for (const name of store.names()) n += (store.info(name).shape.reduce((a, b) => a * b, 1)) * 4;
  return n;
}

/** Opens a Llama / Mistral / Qwen2 / GPT-NeoX folder: config checked, every shard header and tensor shape checked. */
export function loadFamilyFolder(dir: string, o: FamilyLoadOptions = {}): FamilyModel {
  const cfgFile = path.join(dir, 'config.json');
  if (!fs.existsSync(cfgFile)) throw new Error(`${dir}: no config.json`);
  const cfg = parseFamilyConfig(readJSONFile(cfgFile), cfgFile);
  const store = openTensorStore(dir);
  checkFamilyTensors(cfg, store);
  const mode = o.mode ?? (familyFloat32Bytes(store) <= (o.residentLimitBytes ?? 2 * 1024 ** 3) ? 'resident' : 'streamed');
  return new FamilyModel(cfg, store, mode, o.checkFinite ?? true);
}
