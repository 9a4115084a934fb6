// Aggregating per-(sequence, layer, head) k* and m* into the paper's layer and head statistics
// (reference/paper.md §1.3 and §1.5, paper eq. 3-4), in the two orders in use:
//
//   'mean-of-kstar'         the paper: Rank(h,l) = mean_n k*_{n,l,h};  MaxRank(l) = max_h Rank(h,l)
//   'kstar-of-mean-matrix'  the authors' notebook (compute_attention_rank): average the attention matrices over
//                           the sequences first, Rank(h,l) = k*(mean_n A_{n,l,h});  MaxRank(l) = max_h
//
// They differ: a mean of matrices that each put their mass on different columns can have a higher or lower
// rank than the typical matrix. AvgMass(l) is a MEAN over heads (the rank uses the MAX). Layer indices are the
// model's 0-based block indices (TransformerLens `blocks.{l}`); the paper's figures count from 1.
import * as aq from 'arquero';

export type Aggregation = 'mean-of-kstar' | 'kstar-of-mean-matrix';
export const AGGREGATIONS: readonly Aggregation[] = ['mean-of-kstar', 'kstar-of-mean-matrix'];
export const AGGREGATION_LABELS: Record<Aggregation, string> = {
  'mean-of-kstar': 'paper eq. 3: mean over sequences of per-matrix k*, then max over heads',
  'kstar-of-mean-matrix': "authors' notebook: k* of the sequence-mean attention matrix, then max over heads",
};

/**
 * Per-matrix measurements. Arrays indexed [n][l][h] are row-major Float64Arrays of length N*L*H:
 * index (n * L + li) * H + h, where li is the position of the layer in `layers`.
 */
export interface RankMeasures {
  N: number;
  T: number;
  H: number;
  /** Model layer indices measured, in order (length L). */
  layers: number[];
  /** Thresholds; taus[0] is the primary one (paper: 0.90). */
  taus: number[];
  eta: number;
  /** k*(taus[t]) per (n, l, h); one array per tau. */
  kstar: Float64Array[];
  /** m*(eta), columns sorted by mass (the minimal count), per (n, l, h). */
  mstar: Float64Array;
  /** m*(eta), columns in index order j = 1..m (the formula as printed), per (n, l, h). */
  mstarIndexOrder: Float64Array;
  /** k*(taus[t]) of the sequence-mean matrix per (l, h), one (L*H) array per tau; absent if not computed. */
  meanMatrixKstar?: Float64Array[];
  /** m*(eta) (sorted columns) of the sequence-mean matrix per (l, h). */
  meanMatrixMstar?: Float64Array;
}

export interface HeadRow {
  layer: number;
  head: number;
  /** Rank(h,l). */
  rank: number;
  /** m(h,l): mean over sequences of m* (or m* of the mean matrix). */
  mass: number;
}

export interface LayerRow {
  layer: number;
  /** MaxRank(l) = max over heads of Rank(h,l). */
  maxRank: number;
  /** The head attaining MaxRank(l) (the first one on ties). */
  maxRankHead: number;
  /** Per-sequence max over heads, then mean/std(ddof 0)/min/max over sequences: the band in the plots. NaN for
   *  'kstar-of-mean-matrix', which has no per-sequence values. */
  maxRankMeanOverSeq: number;
  maxRankStdOverSeq: number;
  maxRankMinOverSeq: number;
  maxRankMaxOverSeq: number;
  /** AvgMass(l) = mean over heads of m(h,l). */
  avgMass: number;
  /** MaxRank(l) == 1. */
  lazy: boolean;
}

export interface Aggregated {
  aggregation: Aggregation;
  tau: number;
  heads: HeadRow[];
  layers: LayerRow[];
}

function checkLength(a: ArrayLike<number>, n: number, what: string): void {
  if (a.length !== n) throw new Error(`${what} has length ${a.length}, expected ${n}`);
}

/**
 * Paper order. kstar and mstar are (N, L, H) row-major; mstar may be omitted (mass columns are then NaN).
 * `layers` gives the model layer index of each of the L positions (default 0..L-1).
 */
export function aggregateMeanOfKstar(
  kstar: ArrayLike<number>,
  mstar: ArrayLike<number> | undefined,
  N: number,
  L: number,
  H: number,
  layers: number[] = range(L),
  tau = NaN,
): Aggregated {
  checkDims(N, L, H, layers);
  checkLength(kstar, N * L * H, 'kstar (N*L*H)');
  if (mstar) checkLength(mstar, N * L * H, 'mstar (N*L*H)');
  const heads: HeadRow[] = [];
  const out: LayerRow[] = [];
  for (let li = 0; li < L; li++) {
    const rank = new Float64Array(H);
    const mass = new Float64Array(H);
    const perSeqMax = new Float64Array(N);
    for (let n = 0; n < N; n++) {
      let mx = -Infinity;
      for (let h = 0; h < H; h++) {
        const i = (n * L + li) * H + h;
        rank[h] += kstar[i];
        mass[h] += mstar ? mstar[i] : NaN;
        if (kstar[i] > mx) mx = kstar[i];
      }
      perSeqMax[n] = mx;
    }
    for (let h = 0; h < H; h++) {
      rank[h] /= N;
      mass[h] /= N;
      heads.push({ layer: layers[li], head: h, rank: rank[h], mass: mass[h] });
    }
    const { mean, std, min, max } = describeSpread(perSeqMax);
    out.push({
      ...maxOverHeads(layers[li], rank, mass),
      maxRankMeanOverSeq: mean,
      maxRankStdOverSeq: std,
      maxRankMinOverSeq: min,
      maxRankMaxOverSeq: max,
    });
  }
  return { aggregation: 'mean-of-kstar', tau, heads, layers: out };
}

/** Notebook order: kstarLH and mstarLH are (L, H) row-major values of the sequence-mean matrices. */
export function aggregateKstarOfMeanMatrix(
  kstarLH: ArrayLike<number>,
  mstarLH: ArrayLike<number> | undefined,
  L: number,
  H: number,
  layers: number[] = range(L),
  tau = NaN,
): Aggregated {
  checkDims(1, L, H, layers);
  checkLength(kstarLH, L * H, 'kstar of mean matrices (L*H)');
  if (mstarLH) checkLength(mstarLH, L * H, 'mstar of mean matrices (L*H)');
  const heads: HeadRow[] = [];
  const out: LayerRow[] = [];
  for (let li = 0; li < L; li++) {
    const rank = new Float64Array(H);
    const mass = new Float64Array(H);
    for (let h = 0; h < H; h++) {
      rank[h] = kstarLH[li * H + h];
      mass[h] = mstarLH ? mstarLH[li * H + h] : NaN;
      heads.push({ layer: layers[li], head: h, rank: rank[h], mass: mass[h] });
    }
    out.push({
      ...maxOverHeads(layers[li], rank, mass),
      maxRankMeanOverSeq: NaN,
      maxRankStdOverSeq: NaN,
      maxRankMinOverSeq: NaN,
      maxRankMaxOverSeq: NaN,
    });
  }
  return { aggregation: 'kstar-of-mean-matrix', tau, heads, layers: out };
}

/** Aggregates RankMeasures in the given order at taus[tauIndex] (default the primary tau). */
export function aggregate(m: RankMeasures, aggregation: Aggregation = 'mean-of-kstar', tauIndex = 0): Aggregated {
  if (!(tauIndex >= 0 && tauIndex < m.taus.length)) throw new Error(`tauIndex ${tauIndex} out of range 0..${m.taus.length - 1}`);
  const L = m.layers.length;
  if (aggregation === 'mean-of-kstar') {
    return aggregateMeanOfKstar(m.kstar[tauIndex], m.mstar, m.N, L, m.H, m.layers, m.taus[tauIndex]);
  }
  if (aggregation === 'kstar-of-mean-matrix') {
    if (!m.meanMatrixKstar) throw new Error("these measures have no mean-matrix k* (run with meanMatrix: true)");
    return aggregateKstarOfMeanMatrix(m.meanMatrixKstar[tauIndex], m.meanMatrixMstar, L, m.H, m.layers, m.taus[tauIndex]);
  }
  throw new Error(`aggregation '${aggregation}' is not one of: ${AGGREGATIONS.join(', ')}`);
}

export interface GroupRank {
  layers: number[];
  /** AvgRank = mean over the group's layers of MaxRank(l). */
  avgRank: number;
  /** floor(AvgRank) == 1. */
  lazy: boolean;
}

/** AvgRank over a group of layers (model layer indices), with the lazy-group test floor(AvgRank) == 1. */
export function avgRank(rows: readonly LayerRow[], group: readonly number[]): GroupRank {
  if (group.length === 0) throw new Error('avgRank: the layer group is empty');
  let sum = 0;
  for (const l of group) {
    const row = rows.find((r) => r.layer === l);
    if (!row) throw new Error(`avgRank: layer ${l} was not measured (have ${rows.map((r) => r.layer).join(', ')})`);
    sum += row.maxRank;
  }
  const v = sum / group.length;
  return { layers: [...group], avgRank: v, lazy: Math.floor(v) === 1 };
}

/** Model layer indices whose MaxRank(l) == 1. */
export function lazyLayers(rows: readonly LayerRow[]): number[] {
  return rows.filter((r) => r.lazy).map((r) => r.layer);
}

// ---- arquero tables ----------------------------------------------------------------------------------------

/** Long table: one row per (n, layer, head): n, layer, head, kstar (primary tau), mstar, mstarIndexOrder, and
 *  kstar_<tau> for every tau (e.g. kstar_0.8). */
export function perSequenceTable(m: RankMeasures): aq.ColumnTable {
  const L = m.layers.length;
  const size = m.N * L * m.H;
  const n = new Int32Array(size);
  const layer = new Int32Array(size);
  const head = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    head[i] = i % m.H;
    layer[i] = m.layers[Math.floor(i / m.H) % L];
    n[i] = Math.floor(i / (m.H * L));
  }
  const cols: Record<string, ArrayLike<number>> = { n, layer, head, kstar: m.kstar[0], mstar: m.mstar, mstarIndexOrder: m.mstarIndexOrder };
  m.taus.forEach((t, i) => (cols[`kstar_${t}`] = m.kstar[i]));
  return aq.table(cols);
}

/** Layer-level table of one aggregation, with `aggregation` and `tau` columns so tables can be stacked. */
export function layerTable(a: Aggregated): aq.ColumnTable {
  return aq.from(a.layers.map((r) => ({ ...r, aggregation: a.aggregation, tau: a.tau })));
}

/** Head-level table of one aggregation. */
export function headTable(a: Aggregated): aq.ColumnTable {
  return aq.from(a.heads.map((r) => ({ ...r, aggregation: a.aggregation, tau: a.tau })));
}

// ---- helpers ------------------------------------------------------------------------------------------------

function maxOverHeads(layer: number, rank: Float64Array, mass: Float64Array) {
  let maxRank = -Infinity;
  let maxRankHead = -1;
  let massSum = 0;
  for (let h = 0; h < rank.length; h++) {
    if (rank[h] > maxRank) {
      maxRank = rank[h];
      maxRankHead = h;
    }
    massSum += mass[h];
  }
  return { layer, maxRank, maxRankHead, avgMass: massSum / rank.length, lazy: maxRank === 1 };
}

/** mean, population std (ddof 0, numpy's default), min and max. */
export function describeSpread(x: ArrayLike<number>): { mean: number; std: number; min: number; max: number } {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) {
    sum += x[i];
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
  }
  const mean = sum / x.length;
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += (x[i] - mean) ** 2;
  return { mean, std: Math.sqrt(ss / x.length), min, max };
}

function checkDims(N: number, L: number, H: number, layers: number[]): void {
  for (const [v, name] of [[N, 'N'], [L, 'L'], [H, 'H']] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} (${v}) must be a positive integer`);
  }
  if (layers.length !== L) throw new Error(`layers has ${layers.length} entries, expected L = ${L}`);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
