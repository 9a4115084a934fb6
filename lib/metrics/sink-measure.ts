// Sink diagnostics of a GPT on windows of T tokens (the rank protocol's windows): per head sink mass and entropy
// fraction; per layer sink rate, position-0 norm ratios of the residual stream and the values, block influence and
// angular distance; and, causally, the validation-loss increase when a layer's attention output (or its whole block)
// is skipped. Layers and heads are 0-based here, as in the rank tables.
import * as tf from '@tensorflow/tfjs';
import { GPTConfig } from '../model/config';
import { Params } from '../model/params';
import { ActivationCache, actName } from '../model/hooks';
import { HookedModel, ModelDims, gptHookedModel, runHookedWithCache } from '../model/hooked-model';
import type { PatternFn } from './measure';
import { HookList } from '../model/hookpoints';
import { SINK_THRESHOLD, blockChangeSums, headSinkStats, position0NormRatios, sinkFirstRow, sinkRate } from './sinks';

export interface SinkHeadRow {
  layer: number;
  head: number;
  /** Mean attention on position 0 over query rows >= firstRow and windows. */
  sinkMass: number;
  /** Attention entropy over the uniform-causal entropy, mean over windows. */
  entropyFraction: number;
  sink: boolean;
}

export interface SinkLayerRow {
  layer: number;
  /** Fraction of the layer's heads whose sink mass is above the threshold (Gu et al.'s sink metric). */
  sinkRate: number;
  meanSinkMass: number;
  maxSinkMass: number;
  meanEntropyFraction: number;
  /** ||resid_post[0]|| / median_t ||resid_post[t]||, mean over windows (massive activations). */
  residRatio: number;
  /** The same for the value vectors, heads side by side (value drain). */
  valueRatio: number;
  /** ShortGPT block influence: 1 - mean cos(resid_pre, resid_post). */
  blockInfluence: number;
  /** Gromov et al.: arccos(cos(resid_pre, resid_post)) / pi at the last position. */
  angularDistance: number;
  /** Loss with blocks.{l}.hook_attn_out zeroed, minus the base loss (NaN when the causal part is off). */
  attnSkipDeltaLoss: number;
  /** Loss with the block replaced by the identity, minus the base loss (NaN when off). */
  blockSkipDeltaLoss: number;
}

export interface SinkOptions {
  /** Windows per forward batch (default 10). */
  batchSize?: number;
  /** How many of the windows the causal (layer-skip) losses use; 0 = off. Default min(windows, 20). */
  causalWindows?: number;
  threshold?: number;
}

export interface SinkResult {
  heads: SinkHeadRow[];
  layers: SinkLayerRow[];
  /** Mean next-token loss over the causal windows (positions 0..T-2 predict 1..T-1); NaN when off. */
  baseLoss: number;
  meta: { N: number; T: number; firstRow: number; threshold: number; causalWindows: number };
  timings: { forwardMs: number; causalMs: number };
}

/** The hook names one diagnostic forward reads per layer. */
function layerNames(l: number): string[] {
  return [actName('pattern', l), actName('resid_pre', l), actName('resid_post', l), actName('v', l)];
}

/**
 * Sums of the per-head and per-layer diagnostics over batches of windows. Fed either by its own forward
 * (measureSinkDiagnostics) or by the rank protocol's forward (sinkPatternSource), so the two share one pass.
 */
export class SinkAccumulator {
  readonly L: number;
  readonly H: number;
  readonly C: number;
  private readonly mass: Float64Array;
  private readonly ent: Float64Array;
  private readonly resid: Float64Array;
  private readonly value: Float64Array;
  private readonly bi: Float64Array;
  private readonly ang: Float64Array;
  windows = 0;
  T = 0;
  forwardMs = 0;

  constructor(cfg: ModelDims) {
    this.L = cfg.nLayer;
    this.H = cfg.nHead;
    this.C = cfg.nEmbd;
    this.mass = new Float64Array(this.L * this.H);
    this.ent = new Float64Array(this.L * this.H);
    this.resid = new Float64Array(this.L);
    this.value = new Float64Array(this.L);
    this.bi = new Float64Array(this.L);
    this.ang = new Float64Array(this.L);
  }

  /** Adds B windows of T tokens from one forward's cache (every layer's pattern, resid_pre, resid_post and v). */
  async addBatch(cache: ActivationCache, B: number, T: number): Promise<void> {
    this.checkT(T);
    for (let l = 0; l < this.L; l++) {
      const pat = (await cache.get(actName('pattern', l)).data()) as Float32Array; // (B, nh, T, T)
      const pre = (await cache.get(actName('resid_pre', l)).data()) as Float32Array; // (B, T, C)
      const post = (await cache.get(actName('resid_post', l)).data()) as Float32Array; // (B, T, C)
      const v = (await cache.get(actName('v', l)).data()) as Float32Array; // (B, T, nh or n_kv_heads, hs)
      this.addLayer(l, pat, pre, post, v, B, T);
    }
    this.windows += B;
  }

  /**
   * Adds layer l of B windows (a layer-major pass feeds one layer at a time; call addWindows once per batch).
   * pat (B, nh, T, T); pre and post (B, T, C); v (B, T, nh or n_kv_heads, hs).
   */
  addLayer(l: number, pat: Float32Array, pre: Float32Array, post: Float32Array, v: Float32Array, B: number, T: number): void {
    this.checkT(T);
    const { H, C } = this;
    const vWidth = v.length / (B * T); // nh * hs, or n_kv_heads * hs with grouped-query attention
    checkFinite(pat, `attention pattern of layer ${l}`);
    checkFinite(post, `residual stream after layer ${l}`);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const s = headSinkStats(pat, (b * H + h) * T * T, T);
        this.mass[l * H + h] += s.sinkMass;
        this.ent[l * H + h] += s.entropyFraction;
      }
    }
    for (const r of position0NormRatios(post, B, T, C)) this.resid[l] += r;
    for (const r of position0NormRatios(v, B, T, vWidth)) this.value[l] += r;
    const ch = blockChangeSums(pre, post, B, T, C);
    this.bi[l] += ch.blockInfluence;
    this.ang[l] += ch.angularDistance;
  }

  /** Counts B windows whose layers were all added with addLayer. */
  addWindows(B: number): void {
    this.windows += B;
  }

  private checkT(T: number): void {
    if (this.T && T !== this.T) throw new Error(`SinkAccumulator: windows of ${T} tokens after windows of ${this.T}`);
    this.T = T;
  }

  /** The means over every window added; the causal columns are NaN until filled by addLayerSkips. */
  finish(threshold = SINK_THRESHOLD): { heads: SinkHeadRow[]; layers: SinkLayerRow[] } {
    const N = this.windows;
    if (N === 0) throw new Error('SinkAccumulator: no windows were added');
    const { H } = this;
    const heads: SinkHeadRow[] = [];
    const layers: SinkLayerRow[] = [];
    for (let l = 0; l < this.L; l++) {
      const lm = Array.from({ length: H }, (_, h) => this.mass[l * H + h] / N);
      const le = Array.from({ length: H }, (_, h) => this.ent[l * H + h] / N);
      for (let h = 0; h < H; h++) heads.push({ layer: l, head: h, sinkMass: lm[h], entropyFraction: le[h], sink: lm[h] > threshold });
      layers.push({
        layer: l,
        sinkRate: sinkRate(lm, threshold),
        meanSinkMass: mean(lm),
        maxSinkMass: Math.max(...lm),
        meanEntropyFraction: mean(le),
        residRatio: this.resid[l] / N,
        valueRatio: this.value[l] / N,
        blockInfluence: this.bi[l] / N,
        angularDistance: this.ang[l] / N,
        attnSkipDeltaLoss: NaN,
        blockSkipDeltaLoss: NaN,
      });
    }
    return { heads, layers };
  }
}

/**
 * A rank-protocol pattern source that also feeds `acc`: one forward per batch captures the patterns the protocol
 * needs and the residuals and values the sink diagnostics need. The returned patterns pass to the protocol.
 */
export function sinkPatternSource(params: Params, cfg: GPTConfig, acc: SinkAccumulator): PatternFn {
  return hookedSinkPatternSource(gptHookedModel(params, cfg), acc);
}

/** sinkPatternSource for any model family (lib/model/hooked-model). */
export function hookedSinkPatternSource(model: HookedModel, acc: SinkAccumulator): PatternFn {
  const cfg = model.dims;
  const names = Array.from({ length: cfg.nLayer }, (_, l) => layerNames(l)).flat();
  return async (tokens: Int32Array, B: number, T: number) => {
    if (T > cfg.blockSize) throw new Error(`T (${T}) exceeds the model's context length (block size ${cfg.blockSize})`);
    const t0 = performance.now();
    const idx = tf.tensor2d(tokens, [B, T], 'int32'); // (B, T)
    let res: ReturnType<typeof runHookedWithCache>;
    try {
      res = runHookedWithCache(model, idx, names, { stopAtLayer: cfg.nLayer });
    } finally {
      idx.dispose();
    }
    res.resid?.dispose();
    const patterns = Array.from({ length: cfg.nLayer }, (_, l) => res.cache.get(actName('pattern', l)) as tf.Tensor4D);
    try {
      await acc.addBatch(res.cache, B, T);
    } catch (e) {
      res.cache.dispose();
      throw e;
    }
    // The patterns pass to the caller as they are (no copy); the residuals and values are disposed here.
    const kept = new Set<tf.Tensor>(patterns);
    for (const n of res.cache.names()) {
      const t = res.cache.get(n);
      if (!kept.has(t)) t.dispose();
    }
    acc.forwardMs += performance.now() - t0;
    return patterns;
  };
}

/** Diagnostics on `windows` (each exactly T tokens, BOS-aligned or not as the caller drew them), in their own pass. */
export async function measureSinkDiagnostics(params: Params, cfg: GPTConfig, windows: readonly Int32Array[], o: SinkOptions = {}): Promise<SinkResult> {
  const N = windows.length;
  if (N === 0) throw new Error('measureSinkDiagnostics: no windows');
  const T = windows[0].length;
  if (T < 2) throw new Error(`measureSinkDiagnostics: windows of ${T} token(s); need at least 2`);
  if (T > cfg.blockSize) throw new Error(`T (${T}) exceeds the model's context length (${cfg.blockSize})`);
  for (let i = 0; i < N; i++) if (windows[i].length !== T) throw new Error(`window ${i} has ${windows[i].length} tokens, expected ${T}`);
  const bs = o.batchSize ?? 10;
  if (!Number.isInteger(bs) || bs < 1) throw new Error(`batchSize must be a positive integer, got ${bs}`);
  checkCausal(o.causalWindows ?? Math.min(N, 20), N);
  const acc = new SinkAccumulator(cfg);
  const source = sinkPatternSource(params, cfg, acc);
  for (let start = 0; start < N; start += bs) {
    const B = Math.min(bs, N - start);
    const tokens = new Int32Array(B * T);
    for (let b = 0; b < B; b++) tokens.set(windows[start + b], b * T);
    for (const p of await source(tokens, B, T)) p.dispose();
  }
  return finishSinkDiagnostics(params, cfg, acc, windows, o);
}

function checkCausal(causalN: number, N: number): void {
  if (!Number.isInteger(causalN) || causalN < 0 || causalN > N) throw new Error(`causalWindows must be an integer in [0, ${N}], got ${causalN}`);
}

/** Means from an accumulator fed with `windows`, plus the layer-skip losses on the first causalWindows of them. */
export async function finishSinkDiagnostics(params: Params, cfg: GPTConfig, acc: SinkAccumulator, windows: readonly Int32Array[], o: SinkOptions = {}): Promise<SinkResult> {
  return finishHookedSinkDiagnostics(gptHookedModel(params, cfg), acc, windows, o);
}

/** finishSinkDiagnostics for any model family. */
export async function finishHookedSinkDiagnostics(model: HookedModel, acc: SinkAccumulator, windows: readonly Int32Array[], o: SinkOptions = {}): Promise<SinkResult> {
  const cfg = model.dims;
  const N = windows.length;
  const T = windows[0].length;
  const bs = o.batchSize ?? 10;
  const causalN = o.causalWindows ?? Math.min(N, 20);
  const threshold = o.threshold ?? SINK_THRESHOLD;
  checkCausal(causalN, N);
  if (acc.windows !== N) throw new Error(`the sink accumulator saw ${acc.windows} windows, expected ${N}`);
  const { heads, layers } = acc.finish(threshold);
  const c0 = performance.now();
  let baseLoss = NaN;
  if (causalN > 0) {
    const sub = windows.slice(0, causalN);
    baseLoss = await hookedWindowLoss(model, sub, bs, () => []);
    for (let l = 0; l < cfg.nLayer; l++) {
      layers[l].attnSkipDeltaLoss = (await hookedWindowLoss(model, sub, bs, () => skipAttentionHooks(l))) - baseLoss;
      layers[l].blockSkipDeltaLoss = (await hookedWindowLoss(model, sub, bs, () => skipBlockHooks(l))) - baseLoss;
    }
  }
  const causalMs = performance.now() - c0;
  return {
    heads,
    layers,
    baseLoss,
    meta: { N, T, firstRow: sinkFirstRow(T), threshold, causalWindows: causalN },
    timings: { forwardMs: acc.forwardMs, causalMs },
  };
}

/** What the sink diagnostics say, in words computed from the numbers. */
export function sinkVerdict(s: SinkResult): string[] {
  const sinkLayers = s.layers.filter((l) => l.sinkRate >= 0.5).map((l) => l.layer + 1);
  const out = [
    sinkLayers.length
      ? `Sink layers (at least half the heads put > ${s.meta.threshold} of their attention on position 0): ${sinkLayers.join(', ')}.`
      : `No layer has a majority of sink heads (attention on position 0 > ${s.meta.threshold}); uniform causal attention over ${s.meta.T} tokens puts ${uniformMass(s.meta.T, s.meta.firstRow).toFixed(3)} there.`,
  ];
  const causal = s.layers.filter((l) => !Number.isNaN(l.blockSkipDeltaLoss));
  if (causal.length) {
    const cheap = [...causal].sort((a, b) => a.blockSkipDeltaLoss - b.blockSkipDeltaLoss).slice(0, Math.max(1, Math.floor(causal.length / 4)));
    out.push(`Cheapest blocks to skip (loss increase): ${cheap.map((l) => `${l.layer + 1} (${signed(l.blockSkipDeltaLoss)})`).join(', ')}.`);
  }
  return out;
}

function uniformMass(T: number, first: number): number {
  let m = 0;
  for (let i = first; i < T; i++) m += 1 / (i + 1);
  return m / (T - first);
}

function signed(v: number): string {
  return `${v >= 0 ? '+' : ''}${v.toFixed(3)}`;
}

function mean(v: number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

function checkFinite(a: Float32Array, what: string): void {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new Error(`sink diagnostics: ${what} holds a non-finite value (${a[i]}) at index ${i}; the model's weights or inputs are broken`);
  }
}

/** Zeroes layer l's attention output: the residual stream skips the attention sub-layer. */
export function skipAttentionHooks(l: number): HookList {
  return [[actName('attn_out', l), (t) => tf.zerosLike(t)]];
}

/** Replaces layer l's block by the identity: its output residual is its input residual. */
export function skipBlockHooks(l: number): HookList {
  let saved: tf.Tensor | null = null;
  return [
    [actName('resid_pre', l), (t) => {
      saved = t.clone();
    }],
    [actName('resid_post', l), () => {
      const s = saved;
      saved = null;
      if (!s) throw new Error(`skipBlockHooks: resid_post of layer ${l} reached before its resid_pre`);
      return s;
    }],
  ];
}

/** Mean next-token loss of windows (inputs 0..T-1, targets 1..T-1 and -1 at the last position) under hooks. */
export async function windowLoss(params: Params, cfg: GPTConfig, windows: readonly Int32Array[], bs: number, hooks: () => HookList): Promise<number> {
  return hookedWindowLoss(gptHookedModel(params, cfg), windows, bs, hooks);
}

/** windowLoss for any model family. */
export async function hookedWindowLoss(model: HookedModel, windows: readonly Int32Array[], bs: number, hooks: () => HookList): Promise<number> {
  const T = windows[0].length;
  let sum = 0;
  let count = 0;
  for (let start = 0; start < windows.length; start += bs) {
    const B = Math.min(bs, windows.length - start);
    const x = new Int32Array(B * T);
    const y = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const w = windows[start + b];
      x.set(w, b * T);
      for (let t = 0; t < T; t++) y[b * T + t] = t < T - 1 ? w[t + 1] : -1;
    }
    const loss = tf.tidy(() => {
      const idx = tf.tensor2d(x, [B, T], 'int32');
      const targets = tf.tensor2d(y, [B, T], 'int32');
      const out = model.run(idx, { hooks: hooks(), targets });
      out.logits?.dispose();
      return out.loss as tf.Scalar;
    });
    const v = (await loss.data())[0];
    loss.dispose();
    if (!Number.isFinite(v)) throw new Error(`sink diagnostics: the loss is ${v}; the model's weights or inputs are broken`);
    sum += v * B * (T - 1);
    count += B * (T - 1);
  }
  return sum / count;
}
