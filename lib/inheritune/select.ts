// Block selection from a rank profile (reference/paper.md §1.3, §4): which reference blocks to inherit.
//   potent, 'window-avgrank' (default; Algorithm 1 step 2: "l early, contiguous layers with high AvgRank"): the
//          contiguous window of k layers with the highest AvgRank = mean MaxRank; ties go to the earliest window.
//   potent, 'top-maxrank': the k layers with the highest MaxRank (ties to the lower index), returned in model order.
//   lazy, selectLazy: every layer with MaxRank <= threshold. Default threshold LAZY_MAXRANK = 1 + 1e-6: the
//          paper's "MaxRank = 1" (every head of the layer has k* = 1 on every sequence); MaxRank is a mean of
//          integers >= 1, so the epsilon only absorbs float noise. A looser cut such as 1.5 also takes layers that
//          are lazy on most sequences (Table 4's "lazy" group 9-12 has AvgRank 1.22, so not every layer is exactly 1).
//   lazy, 'window' (lazyWindow): the contiguous window of k layers with the LOWEST AvgRank, ties to the latest
//          window: the fixed-size lazy groups that paper Table 4 / Fig. 3 compare against potent groups.
// Rows carry 0-based model block indices (lib/metrics/attention-rank LayerRow; the paper's figures count from 1).

/** The part of lib/metrics' LayerRow this needs. */
export interface RankRow {
  layer: number;
  maxRank: number;
}

export interface Selection {
  /** Model block indices, ascending. */
  layers: number[];
  /** Mean MaxRank of the chosen layers (NaN when none). */
  avgRank: number;
  /** How they were chosen, in words. */
  reason: string;
}

export type PotentMethod = 'window-avgrank' | 'top-maxrank';

/** The default lazy cut: MaxRank = 1 up to float noise. */
export const LAZY_MAXRANK = 1 + 1e-6;

function checkRows(rows: readonly RankRow[]): RankRow[] {
  if (!Array.isArray(rows) || rows.length === 0) throw new Error('no layer rows: measure the reference first (lib/metrics)');
  const seen = new Set<number>();
  for (const r of rows) {
    if (!Number.isInteger(r.layer) || r.layer < 0) throw new Error(`layer rows need 0-based integer layer indices, got ${String(r.layer)}`);
    if (seen.has(r.layer)) throw new Error(`layer ${r.layer} appears twice in the rank rows`);
    if (typeof r.maxRank !== 'number' || !Number.isFinite(r.maxRank)) throw new Error(`layer ${r.layer} has no finite maxRank (${String(r.maxRank)})`);
    seen.add(r.layer);
  }
  return [...rows].sort((a, b) => a.layer - b.layer);
}

function checkK(k: number, n: number): void {
  if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive integer, got ${k}`);
  if (k > n) throw new Error(`asked for ${k} layers but the rank profile has only ${n}`);
}

function mean(rows: readonly RankRow[]): number {
  return rows.length ? rows.reduce((s, r) => s + r.maxRank, 0) / rows.length : NaN;
}

/** Contiguous windows of k consecutive layer indices, with their AvgRank. */
function windows(sorted: readonly RankRow[], k: number): Array<{ rows: RankRow[]; avg: number }> {
  const out: Array<{ rows: RankRow[]; avg: number }> = [];
  for (let s = 0; s + k <= sorted.length; s++) {
    const w = sorted.slice(s, s + k);
    if (w[k - 1].layer - w[0].layer === k - 1) out.push({ rows: w, avg: mean(w) });
  }
  if (!out.length) throw new Error(`no ${k} consecutive layers were measured (have ${sorted.map((r) => r.layer).join(', ')})`);
  return out;
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : String(v));

/** The k potent layers (see the note at the top). */
export function selectPotent(rows: readonly RankRow[], k: number, method: PotentMethod = 'window-avgrank'): Selection {
  const sorted = checkRows(rows);
  checkK(k, sorted.length);
  if (method === 'window-avgrank') {
    let best: { rows: RankRow[]; avg: number } | undefined;
    for (const w of windows(sorted, k)) if (!best || w.avg > best.avg) best = w; // strict: earliest window wins ties
    const b = best as { rows: RankRow[]; avg: number };
    const layers = b.rows.map((r) => r.layer);
    return { layers, avgRank: b.avg, reason: `contiguous ${k}-layer window with the highest AvgRank (${fmt(b.avg)}): blocks ${layers[0]}..${layers[k - 1]}` };
  }
  if (method === 'top-maxrank') {
    const top = [...sorted].sort((a, b) => b.maxRank - a.maxRank || a.layer - b.layer).slice(0, k);
    const layers = top.map((r) => r.layer).sort((a, b) => a - b);
    return { layers, avgRank: mean(top), reason: `the ${k} layers with the highest MaxRank (AvgRank ${fmt(mean(top))})` };
  }
  throw new Error(`unknown potent-selection method '${String(method)}'; use 'window-avgrank' or 'top-maxrank'`);
}

/** Every layer with MaxRank <= threshold (default LAZY_MAXRANK); may be empty. */
export function selectLazy(rows: readonly RankRow[], threshold = LAZY_MAXRANK): Selection {
  const sorted = checkRows(rows);
  if (!(threshold >= 1)) throw new Error(`the lazy threshold is a MaxRank (>= 1), got ${threshold}`);
  const lazy = sorted.filter((r) => r.maxRank <= threshold);
  const layers = lazy.map((r) => r.layer);
  const reason = layers.length
    ? `${layers.length} layer(s) with MaxRank <= ${threshold === LAZY_MAXRANK ? '1' : threshold}`
    : `no layer has MaxRank <= ${threshold === LAZY_MAXRANK ? '1' : threshold} (lowest: ${fmt(Math.min(...sorted.map((r) => r.maxRank)))})`;
  return { layers, avgRank: mean(lazy), reason };
}

/** The contiguous k-layer window with the lowest AvgRank (ties to the latest window). */
export function lazyWindow(rows: readonly RankRow[], k: number): Selection {
  const sorted = checkRows(rows);
  checkK(k, sorted.length);
  let best: { rows: RankRow[]; avg: number } | undefined;
  for (const w of windows(sorted, k)) if (!best || w.avg <= best.avg) best = w;
  const b = best as { rows: RankRow[]; avg: number };
  const layers = b.rows.map((r) => r.layer);
  return { layers, avgRank: b.avg, reason: `contiguous ${k}-layer window with the lowest AvgRank (${fmt(b.avg)}): blocks ${layers[0]}..${layers[k - 1]}` };
}

/** AvgRank of every contiguous k-layer window, for a notebook table (paper Table 4: 1-4, 5-8, 9-12). */
export function windowTable(rows: readonly RankRow[], k: number): Array<{ first: number; last: number; avgRank: number }> {
  const sorted = checkRows(rows);
  checkK(k, sorted.length);
  return windows(sorted, k).map((w) => ({ first: w.rows[0].layer, last: w.rows[k - 1].layer, avgRank: w.avg }));
}
