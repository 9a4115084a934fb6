// Notebook 02: the attention-rank profile of a trained GPT-2 (paper Fig. 1, 10, 11, 12, 14) measured with the
// paper's protocol on our reference model, with the paper's read-off values beside ours.
import * as tf from '@tensorflow/tfjs';
import { GPTConfig } from '../model/config';
import { Params } from '../model/params';
import { actName, runWithCache } from '../model/hooks';
import { TokenSource } from '../data/source';
import { RandomWindowSampler } from '../data/sampler';
import { drawWindows, measureAttentionRanks, MeasureResult, MeasureProgress } from '../metrics/measure';
import { gptPatternSource } from '../metrics/gpt-patterns';
import { aggregate, LayerRow } from '../metrics/attention-rank';
import { SinkAccumulator, SinkResult, finishHookedSinkDiagnostics, hookedSinkPatternSource } from '../metrics/sink-measure';
import { HookedModel, gptHookedModel } from '../model/hooked-model';
import { BlockProgress, layerMajorSinkPatternSource } from '../metrics/layer-major';

/** MaxRank(l) read off the repo's rank PNGs (reference/paper.md §1.4, about ±0.02; the plots start at layer 3). */
export const PAPER_MAXRANK = {
  'GPT-2 Medium 24L (Fig. 1a)': {
    layers: [3, 4, 5, 6, 7, 8, 9, 10, 11],
    maxRank: [1.8, 6.2, 5.8, 33.6, 1.0, 8.5, 8.5, 6.4, 3.1],
    note: 'layers 12-24: about 1-2.7',
  },
  'GPT-2 Large 36L (Fig. 1b)': {
    layers: [10, 12, 14, 16],
    maxRank: [24.4, 5.8, 5.2, 4.7],
    note: 'peak at layer 10; layers 17-36: about 1-2',
  },
} as const;

/**
 * The protocol's windows: N random windows of T tokens from `val` (starting at BOS when the source is aligned),
 * drawn in batches of 10 with `seed`. The rank profile and the sink diagnostics read the same windows.
 */
export function rankWindows(val: TokenSource, N: number, T: number, seed: number): Int32Array[] {
  return drawWindows(new RandomWindowSampler(val, { batchSize: Math.min(10, N), blockSize: T, seed }), N, T);
}

/** The paper's protocol: N random windows of T tokens from the validation split, every head of every layer. */
export async function measureRankProfile(
  params: Params, cfg: GPTConfig, val: TokenSource,
  o: { N: number; T: number; seed: number; model: string; data: string; onProgress?: (p: MeasureProgress) => void; windows?: Int32Array[]; batchSize?: number },
): Promise<MeasureResult> {
  // The windows are drawn 10 at a time whatever the forward batch, so every batch size sees the same windows.
  const windows = o.windows ?? rankWindows(val, o.N, o.T, o.seed);
  return measureAttentionRanks(gptPatternSource(params, cfg), windows, {
    N: o.N, T: o.T, tau: 0.9, extraTaus: [0.8, 0.85, 0.95], eta: 0.9, batchSize: Math.min(o.batchSize ?? 10, o.N),
    contextLength: cfg.blockSize, model: o.model, data: o.data, seed: o.seed, onProgress: o.onProgress,
  });
}

/**
 * The rank profile and the sink diagnostics of one model on the same windows, from one forward per batch (the
 * sink diagnostics read the residuals and values of the forward that captures the patterns), plus the layer-skip
 * losses on the first `causalWindows` windows (default 20; 0 = off).
 */
export async function measureRankAndSinks(
  params: Params, cfg: GPTConfig, val: TokenSource,
  o: { N: number; T: number; seed: number; model: string; data: string; causalWindows?: number; batchSize?: number; onProgress?: (p: MeasureProgress) => void },
): Promise<{ rank: MeasureResult; sinks: SinkResult }> {
  return measureRankAndSinksOn(gptHookedModel(params, cfg), val, o);
}

/** measureRankAndSinks for any model family (a Llama / GPT-NeoX folder: lib/model/families). */
export async function measureRankAndSinksOn(
  model: HookedModel, val: TokenSource,
  o: {
    N: number; T: number; seed: number; model: string; data: string; causalWindows?: number; batchSize?: number;
    onProgress?: (p: MeasureProgress) => void;
    /** Streamed models only: each block's end in the layer-major pass (it does all the forward work up front). */
    onBlock?: BlockProgress;
  },
): Promise<{ rank: MeasureResult; sinks: SinkResult }> {
  const windows = rankWindows(val, o.N, o.T, o.seed);
  const acc = new SinkAccumulator(model.dims);
  const bs = Math.min(o.batchSize ?? 10, o.N);
  // Weights streamed from disk: one layer-major pass reads each block once for all windows.
  const source = model.streamed && model.runLayerMajor ? layerMajorSinkPatternSource(model, acc, windows, bs, o.onBlock) : hookedSinkPatternSource(model, acc);
  const rank = await measureAttentionRanks(source, windows, {
    N: o.N, T: o.T, tau: 0.9, extraTaus: [0.8, 0.85, 0.95], eta: 0.9, batchSize: bs,
    contextLength: model.dims.blockSize, model: o.model, data: o.data, seed: o.seed, onProgress: o.onProgress,
  });
  const sinks = await finishHookedSinkDiagnostics(model, acc, windows, { causalWindows: o.causalWindows ?? Math.min(o.N, 20), batchSize: Math.min(o.batchSize ?? 10, o.N) });
  return { rank, sinks };
}

/** MaxRank rows for each measured tau (paper Fig. 10), from the one set of SVDs. */
export function tauSeries(m: MeasureResult): Array<{ tau: number; rows: LayerRow[] }> {
  return m.measures.taus.map((tau, i) => ({ tau, rows: aggregate(m.measures, 'mean-of-kstar', i).layers }));
}

/**
 * Batch-mean attention patterns of chosen (layer, head) pairs over `windows` windows of T tokens (paper Fig. 9 uses
 * 3 strings of 40 tokens). Returns row-major (T, T) Float64Arrays.
 */
export async function meanPatterns(
  params: Params, cfg: GPTConfig, val: TokenSource, heads: Array<{ layer: number; head: number }>,
  o: { T: number; windows: number; seed: number },
): Promise<Float64Array[]> {
  const sampler = new RandomWindowSampler(val, { batchSize: o.windows, blockSize: o.T, seed: o.seed });
  const batch = sampler.next();
  const layers = [...new Set(heads.map((h) => h.layer))];
  const idx = tf.tensor2d(batch.x, [o.windows, o.T], 'int32'); // (B, T)
  const res = runWithCache(params, cfg, idx, { namesFilter: layers.map((l) => actName('pattern', l)) });
  try {
    const out: Float64Array[] = [];
    for (const h of heads) {
      const p = res.cache.get(actName('pattern', h.layer)) as tf.Tensor4D; // (B, nh, T, T)
      const m = tf.tidy(() => tf.mean(tf.slice(p, [0, h.head, 0, 0], [-1, 1, -1, -1]), 0).reshape([o.T * o.T]));
      out.push(Float64Array.from(await m.data()));
      m.dispose();
    }
    return out;
  } finally {
    idx.dispose();
    for (const t of [res.logits, res.loss, res.resid]) t?.dispose();
    res.cache.dispose();
  }
}

/** The most and least collapsed layers and their highest-rank head, for the attention-map figure. */
export function extremeHeads(m: MeasureResult): { potent: { layer: number; head: number }; lazy: { layer: number; head: number } } {
  const rows = m.aggregated.layers;
  const potent = rows.reduce((a, b) => (b.maxRank > a.maxRank ? b : a));
  const lazy = rows.reduce((a, b) => (b.maxRank < a.maxRank ? b : a));
  return { potent: { layer: potent.layer, head: potent.maxRankHead }, lazy: { layer: lazy.layer, head: lazy.maxRankHead } };
}

/** A computed statement of what the profile shows, with the numbers (never written in advance). */
export function rankVerdict(m: MeasureResult, nLayer: number): string[] {
  const rows = m.aggregated.layers;
  const half = Math.floor(nLayer / 2);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const early = mean(rows.filter((r) => r.layer < half).map((r) => r.maxRank));
  const late = mean(rows.filter((r) => r.layer >= half).map((r) => r.maxRank));
  const lazy = rows.filter((r) => r.maxRank <= 1 + 1e-9).map((r) => r.layer + 1);
  const nearLazy = rows.filter((r) => r.maxRank < 2).map((r) => r.layer + 1);
  const out = [
    `Mean MaxRank of layers 1-${half}: ${early.toFixed(2)}; of layers ${half + 1}-${nLayer}: ${late.toFixed(2)} ` +
      `(paper: the deeper half of GPT-2 Medium/Large/XL is close to 1).`,
    lazy.length
      ? `Lazy layers (MaxRank = 1 exactly): ${lazy.join(', ')}.`
      : `No layer is exactly rank-1 (MaxRank = 1); layers with MaxRank < 2: ${nearLazy.length ? nearLazy.join(', ') : 'none'}.`,
  ];
  // A difference of a fraction of a rank is noise at N windows, not the collapse the paper reports.
  if (late <= 0.5 * early) out.push('As in the paper, the deeper half attends with much lower rank than the first half.');
  else if (late < early - Math.max(0.5, 0.1 * early)) out.push('The deeper half attends with lower rank than the first half, but far from the collapse (about 1) the paper reports.');
  else out.push('Unlike the paper, the deeper half does NOT attend with clearly lower rank than the first half at this scale: no collapse is visible in this model.');
  return out;
}
