// The sampling protocol of the paper (reference/paper.md §1.4): N windows of T tokens, attention patterns of every
// head of every layer, k*(tau) and m*(eta) per (sequence, layer, head), then the layer and head aggregates.
//
// Model coupling is one function: (tokens, B, T) => one attention-pattern tensor per layer, each (B, nh, T, T)
// post-softmax (TransformerLens `blocks.{l}.attn.hook_pattern`). Our GPT's runWithCache, a Hugging Face GPT-2 or
// a fake source in the tests all fit. The returned tensors are owned (and disposed) here.
import * as tf from '@tensorflow/tfjs';
import { approxRankFromSingularValues, columnMass, singularValuesBatch } from './rank';
import {
  Aggregated,
  AGGREGATION_LABELS,
  Aggregation,
  aggregate,
  headTable,
  layerTable,
  perSequenceTable,
  RankMeasures,
} from './attention-rank';
import type * as aq from 'arquero';

/** Returns one (B, nh, T, T) attention pattern per model layer for B windows of T tokens, (B*T) row-major. */
export type PatternFn = (tokens: Int32Array, B: number, T: number) => Promise<tf.Tensor4D[]>;
export type PatternSource = PatternFn | { patterns: PatternFn };
/** A batch sampler as in lib/data (RandomWindowSampler): next() gives x, (B, T) row-major. */
export interface BatchLike {
  next(): { x: Int32Array; shape: [number, number] };
}
/** Windows of exactly T tokens, a function called once as sampler(N, T), or a batch sampler drawn until N windows. */
export type WindowSource =
  | readonly Int32Array[]
  | ((count: number, T: number) => Int32Array[] | Promise<Int32Array[]>)
  | BatchLike;

export interface MeasureProgress {
  done: number;
  N: number;
  forwardMs: number;
  svdMs: number;
}

export interface RankMetadata {
  model: string;
  data: string;
  N: number;
  T: number;
  tau: number;
  /** Every tau measured (a sweep reuses one SVD per matrix); tau is taus[0]. */
  taus: number[];
  eta: number;
  seed: number | null;
  /** The order of the `layers` / `heads` tables; the other order is in `layersMeanMatrix` / `headsMeanMatrix`. */
  aggregation: Aggregation;
  aggregations: Record<string, string>;
  layers: number[];
  heads: number;
  batchSize: number;
  timings: MeasureTimings;
  createdAt: string;
  [extra: string]: unknown;
}

export interface MeasureTimings {
  /** Model forward plus copying the patterns off the backend. */
  forwardMs: number;
  /** SVDs, k*, m* and the mean-matrix accumulation, on the CPU in float64. */
  svdMs: number;
  totalMs: number;
  batches: number;
  matrices: number;
}

export interface MeasureOptions {
  N?: number;
  T?: number;
  tau?: number;
  /** More thresholds for a sensitivity sweep (paper Fig. 10); measured from the same SVDs. */
  extraTaus?: number[];
  eta?: number;
  /** Model layer indices to measure (default: every layer the source returns). */
  layers?: number[];
  batchSize?: number;
  /** The model's context length; T above it is an error. */
  contextLength?: number;
  /** Also accumulate the sequence-mean matrix per (layer, head) for the notebook order (default true). */
  meanMatrix?: boolean;
  onProgress?: (p: MeasureProgress) => void;
  /** Recorded in the metadata. */
  model?: string;
  data?: string;
  seed?: number;
}

export interface RankTables {
  perSequence: aq.ColumnTable;
  layers: aq.ColumnTable;
  heads: aq.ColumnTable;
  layersMeanMatrix?: aq.ColumnTable;
  headsMeanMatrix?: aq.ColumnTable;
}

export interface MeasureResult {
  meta: RankMetadata;
  measures: RankMeasures;
  /** Paper order ('mean-of-kstar') at the primary tau. */
  aggregated: Aggregated;
  /** Notebook order ('kstar-of-mean-matrix') at the primary tau, if meanMatrix was on. */
  aggregatedMeanMatrix?: Aggregated;
  tables: RankTables;
  timings: MeasureTimings;
}

/** Runs the protocol. Throws with a specific message on bad windows, shapes, or NaN/Inf in a pattern. */
export async function measureAttentionRanks(
  source: PatternSource,
  windows: WindowSource,
  opts: MeasureOptions = {},
): Promise<MeasureResult> {
  const N = opts.N ?? 100;
  const T = opts.T ?? 100;
  const tau = opts.tau ?? 0.9;
  const taus = [tau, ...(opts.extraTaus ?? []).filter((t) => t !== tau)];
  const eta = opts.eta ?? 0.9;
  const batchSize = Math.min(opts.batchSize ?? 10, N);
  const wantMean = opts.meanMatrix ?? true;
  for (const [v, name] of [[N, 'N'], [T, 'T'], [batchSize, 'batchSize']] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} (${v}) must be a positive integer`);
  }
  for (const t of taus) if (!(t > 0 && t <= 1)) throw new Error(`tau (${t}) must be in (0, 1]`);
  if (!(eta > 0 && eta <= 1)) throw new Error(`eta (${eta}) must be in (0, 1]`);
  if (opts.contextLength !== undefined && T > opts.contextLength) {
    throw new Error(`T (${T}) exceeds the model's context length (${opts.contextLength})`);
  }
  const fn: PatternFn = typeof source === 'function' ? source : (tok, B, t) => source.patterns(tok, B, t);
  const wins = await resolveWindows(windows, N, T);

  const t0 = performance.now();
  let forwardMs = 0;
  let svdMs = 0;
  let batches = 0;
  let layers: number[] | undefined;
  let H = 0;
  let kstar: Float64Array[] = [];
  let mstar = new Float64Array(0);
  let mstarIdx = new Float64Array(0);
  let sums: Float64Array[] = []; // per (l, h): sum over n of A, (T*T)
  const TT = T * T;

  for (let start = 0; start < N; start += batchSize) {
    const B = Math.min(batchSize, N - start);
    const tokens = new Int32Array(B * T);
    for (let b = 0; b < B; b++) tokens.set(wins[start + b], b * T);

    const f0 = performance.now();
    const pats = await fn(tokens, B, T);
    let data: Float32Array[];
    try {
      if (!Array.isArray(pats) || pats.length === 0) throw new Error('the pattern source returned no tensors');
      if (!layers) {
        layers = opts.layers ?? pats.map((_, i) => i);
        for (const l of layers) {
          if (!Number.isInteger(l) || l < 0 || l >= pats.length) {
            throw new Error(`layer ${l} requested, but the source returned ${pats.length} layers`);
          }
        }
        H = pats[layers[0]].shape[1];
        const L = layers.length;
        kstar = taus.map(() => new Float64Array(N * L * H));
        mstar = new Float64Array(N * L * H);
        mstarIdx = new Float64Array(N * L * H);
        if (wantMean) sums = Array.from({ length: L * H }, () => new Float64Array(TT));
      }
      data = [];
      for (const l of layers) {
        const s = pats[l].shape;
        if (s.length !== 4 || s[0] !== B || s[1] !== H || s[2] !== T || s[3] !== T) {
          throw new Error(`layer ${l} pattern has shape [${s}], expected [B, nh, T, T] = [${B}, ${H}, ${T}, ${T}]`);
        }
        data.push((await pats[l].data()) as Float32Array); // (B, nh, T, T)
      }
    } finally {
      if (Array.isArray(pats)) for (const p of pats) p.dispose();
    }
    forwardMs += performance.now() - f0;

    const s0 = performance.now();
    const L = layers.length;
    for (let li = 0; li < L; li++) {
      const d = data[li];
      const layer = layers[li];
      const packed = Float64Array.from(d); // (B, nh, T, T) in float64, every matrix's SVD in one batch
      const where = (i: number): string => `attention pattern at sequence ${start + Math.floor(i / H)}, layer ${layer}, head ${i % H}`;
      const svals = singularValuesBatch(packed, B * H, T, T, where);
      for (let b = 0; b < B; b++) {
        const n = start + b;
        for (let h = 0; h < H; h++) {
          const A = packed.subarray((b * H + h) * TT, (b * H + h + 1) * TT);
          const s = svals[b * H + h];
          const idx = (n * L + li) * H + h;
          for (let t = 0; t < taus.length; t++) kstar[t][idx] = approxRankFromSingularValues(s, taus[t]);
          mstar[idx] = columnMass(A, T, eta, 'sorted');
          mstarIdx[idx] = columnMass(A, T, eta, 'index');
          if (wantMean) {
            const acc = sums[li * H + h];
            for (let i = 0; i < TT; i++) acc[i] += A[i];
          }
        }
      }
    }
    svdMs += performance.now() - s0;
    batches++;
    opts.onProgress?.({ done: start + B, N, forwardMs, svdMs });
  }

  const L = layers!.length;
  const measures: RankMeasures = { N, T, H, layers: layers!, taus, eta, kstar, mstar, mstarIndexOrder: mstarIdx };
  if (wantMean) {
    const s0 = performance.now();
    const mk = taus.map(() => new Float64Array(L * H));
    const mm = new Float64Array(L * H);
    const means = new Float64Array(L * H * TT);
    for (let j = 0; j < L * H; j++) for (let i = 0; i < TT; i++) means[j * TT + i] = sums[j][i] / N;
    const svals = singularValuesBatch(means, L * H, T, T, (j) => `mean pattern of layer ${layers![Math.floor(j / H)]}, head ${j % H}`);
    for (let j = 0; j < L * H; j++) {
      const mean = means.subarray(j * TT, (j + 1) * TT);
      const s = svals[j];
      for (let t = 0; t < taus.length; t++) mk[t][j] = approxRankFromSingularValues(s, taus[t]);
      mm[j] = columnMass(mean, T, eta, 'sorted');
    }
    measures.meanMatrixKstar = mk;
    measures.meanMatrixMstar = mm;
    svdMs += performance.now() - s0;
  }
  const timings: MeasureTimings = { forwardMs, svdMs, totalMs: performance.now() - t0, batches, matrices: N * L * H };
  const aggregated = aggregate(measures, 'mean-of-kstar');
  const aggregatedMeanMatrix = wantMean ? aggregate(measures, 'kstar-of-mean-matrix') : undefined;
  const tables: RankTables = {
    perSequence: perSequenceTable(measures),
    layers: layerTable(aggregated),
    heads: headTable(aggregated),
  };
  if (aggregatedMeanMatrix) {
    tables.layersMeanMatrix = layerTable(aggregatedMeanMatrix);
    tables.headsMeanMatrix = headTable(aggregatedMeanMatrix);
  }
  const meta: RankMetadata = {
    model: opts.model ?? 'unknown',
    data: opts.data ?? 'unknown',
    N,
    T,
    tau,
    taus,
    eta,
    seed: opts.seed ?? null,
    aggregation: 'mean-of-kstar',
    aggregations: { ...AGGREGATION_LABELS },
    layers: layers!,
    heads: H,
    batchSize,
    timings,
    createdAt: new Date().toISOString(),
  };
  return { meta, measures, aggregated, aggregatedMeanMatrix, tables, timings };
}

async function resolveWindows(windows: WindowSource, N: number, T: number): Promise<Int32Array[]> {
  const wins = typeof windows === 'function' ? await windows(N, T) : isBatchLike(windows) ? drawWindows(windows, N, T) : windows;
  if (!Array.isArray(wins)) throw new Error('windows must be an array of Int32Array or a sampler (N, T) => Int32Array[]');
  if (wins.length < N) throw new Error(`got ${wins.length} windows, expected at least N = ${N}`);
  for (let i = 0; i < N; i++) {
    const w = wins[i];
    if (!w || w.length !== T) {
      throw new Error(`window ${i} has ${w ? w.length : 'no'} tokens, expected exactly T = ${T}`);
    }
  }
  return wins.slice(0, N);
}

function isBatchLike(w: WindowSource): w is BatchLike {
  return !Array.isArray(w) && typeof (w as BatchLike).next === 'function';
}

/** The first N windows a batch sampler gives (rows of its batches, in order). */
export function drawWindows(sampler: BatchLike, N: number, T: number): Int32Array[] {
  const out: Int32Array[] = [];
  while (out.length < N) {
    const { x, shape } = sampler.next();
    const [B, t] = shape;
    if (t !== T) throw new Error(`the batch sampler gives windows of ${t} tokens, expected T = ${T}`);
    for (let b = 0; b < B && out.length < N; b++) out.push(x.slice(b * T, (b + 1) * T));
  }
  return out;
}

