// Figures of the paper's attention-rank analysis, as plotly Figure data (render with showFigure / saveFigure).
// Paper figures: layer profile of MaxRank with a band (Fig. 1, 8, 13), layer x head heatmap of Rank(h,l) with
// collapsed heads marked (Fig. 11, 21, 22), tau sensitivity (Fig. 10), AvgMass profile (Fig. 14), attention maps (Fig. 9, 12).
import type { Figure } from './plotly';

/** Per-layer values as the metrics return them (lib/metrics/attention-rank LayerRow). Layers are 0-based. */
export interface LayerProfileRow {
  layer: number;
  maxRank: number;
  maxRankMeanOverSeq?: number;
  maxRankStdOverSeq?: number;
  avgMass?: number;
}

/** A reference curve to draw beside ours, e.g. values read off a paper figure. */
export interface ReferenceCurve {
  name: string;
  layers: number[];
  values: number[];
}

const PAPER_COLOR = '#888';

function referenceTrace(ref: ReferenceCurve): Record<string, unknown> {
  return {
    x: ref.layers.map((l) => l + 1), y: ref.values, name: ref.name, type: 'scatter', mode: 'lines+markers',
    line: { dash: 'dot', color: PAPER_COLOR }, marker: { symbol: 'diamond', color: PAPER_COLOR },
  };
}

/** MaxRank(l) against layer (1-based on the axis, as in the paper), with a mean ± std band over sequences. */
export function maxRankProfileFigure(rows: LayerProfileRow[], opts: { title: string; name?: string; reference?: ReferenceCurve } ): Figure {
  const x = rows.map((r) => r.layer + 1);
  const data: Array<Record<string, unknown>> = [];
  const band = rows.every((r) => Number.isFinite(r.maxRankMeanOverSeq) && Number.isFinite(r.maxRankStdOverSeq));
  if (band) {
    const hi = rows.map((r) => (r.maxRankMeanOverSeq as number) + (r.maxRankStdOverSeq as number));
    const lo = rows.map((r) => Math.max(0, (r.maxRankMeanOverSeq as number) - (r.maxRankStdOverSeq as number)));
    data.push({ x: [...x, ...x.slice().reverse()], y: [...hi, ...lo.reverse()], fill: 'toself', type: 'scatter', mode: 'lines',
      line: { width: 0 }, fillcolor: 'rgba(31,119,180,0.18)', name: 'per-sequence max over heads, mean ± std', hoverinfo: 'skip' });
  }
  data.push({ x, y: rows.map((r) => r.maxRank), type: 'scatter', mode: 'lines+markers', name: opts.name ?? 'MaxRank(l)', line: { color: '#1f77b4', width: 2 } });
  if (opts.reference) data.push(referenceTrace(opts.reference));
  return {
    data,
    layout: {
      title: { text: opts.title },
      xaxis: { title: { text: 'layer' }, dtick: rows.length > 24 ? 4 : 1 },
      yaxis: { title: { text: 'MaxRank (k* at τ)' }, rangemode: 'tozero' },
      shapes: [{ type: 'line', xref: 'paper', x0: 0, x1: 1, y0: 1, y1: 1, line: { color: '#d62728', dash: 'dash', width: 1 } }],
      legend: { orientation: 'h', y: -0.2 },
    },
  };
}

/** AvgMass(l) against layer (paper Fig. 14). */
export function avgMassProfileFigure(rows: LayerProfileRow[], opts: { title: string; reference?: ReferenceCurve }): Figure {
  const data: Array<Record<string, unknown>> = [
    { x: rows.map((r) => r.layer + 1), y: rows.map((r) => r.avgMass ?? NaN), type: 'scatter', mode: 'lines+markers', name: 'AvgMass(l)', line: { color: '#2ca02c' } },
  ];
  if (opts.reference) data.push(referenceTrace(opts.reference));
  return {
    data,
    layout: { title: { text: opts.title }, xaxis: { title: { text: 'layer' } }, yaxis: { title: { text: 'AvgMass (m* at η)' }, rangemode: 'tozero' } },
  };
}

/** Rank(h,l) as a layer x head heatmap; heads with Rank <= collapsedAt are marked with an x (paper Fig. 11). */
export function rankHeatmapFigure(
  heads: Array<{ layer: number; head: number; rank: number }>,
  opts: { title: string; collapsedAt?: number },
): Figure {
  const L = Math.max(...heads.map((h) => h.layer)) + 1;
  const H = Math.max(...heads.map((h) => h.head)) + 1;
  const z: number[][] = Array.from({ length: L }, () => new Array<number>(H).fill(NaN));
  for (const h of heads) z[h.layer][h.head] = h.rank;
  const cut = opts.collapsedAt ?? 1.5;
  const collapsed = heads.filter((h) => h.rank <= cut);
  return {
    data: [
      { z, x: Array.from({ length: H }, (_, i) => i + 1), y: Array.from({ length: L }, (_, i) => i + 1), type: 'heatmap',
        colorscale: 'Viridis', colorbar: { title: { text: 'Rank(h,l)' } }, hovertemplate: 'layer %{y}, head %{x}: %{z:.2f}<extra></extra>' },
      { x: collapsed.map((h) => h.head + 1), y: collapsed.map((h) => h.layer + 1), type: 'scatter', mode: 'markers',
        marker: { symbol: 'x', color: '#d62728', size: 9 }, name: `collapsed (Rank ≤ ${cut})` },
    ],
    layout: {
      title: { text: `${opts.title} — ${collapsed.length}/${heads.length} heads collapsed` },
      xaxis: { title: { text: 'head' } }, yaxis: { title: { text: 'layer' } }, legend: { orientation: 'h', y: -0.2 },
    },
  };
}

/** MaxRank(l) for several thresholds τ (paper Fig. 10). */
export function tauSensitivityFigure(series: Array<{ tau: number; rows: LayerProfileRow[] }>, opts: { title: string }): Figure {
  return {
    data: series.map((s) => ({ x: s.rows.map((r) => r.layer + 1), y: s.rows.map((r) => r.maxRank), type: 'scatter', mode: 'lines+markers', name: `τ = ${s.tau}` })),
    layout: { title: { text: opts.title }, xaxis: { title: { text: 'layer' } }, yaxis: { title: { text: 'MaxRank' }, rangemode: 'tozero' } },
  };
}

/** One attention matrix (row-major T x T) as a heatmap: query position down, key position across. */
export function attentionMapFigure(matrix: ArrayLike<number>, T: number, opts: { title: string; zmax?: number }): Figure {
  const z = Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => matrix[i * T + j]));
  return {
    data: [{ z, type: 'heatmap', colorscale: 'Blues', zmin: 0, zmax: opts.zmax, colorbar: { title: { text: 'p' } } }],
    layout: { title: { text: opts.title }, xaxis: { title: { text: 'key position' } }, yaxis: { title: { text: 'query position' }, autorange: 'reversed' }, width: 520, height: 480 },
  };
}

/** Small multiples of attention maps in a grid (e.g. the heads of one layer). */
export function attentionGridFigure(maps: Array<{ title: string; matrix: ArrayLike<number> }>, T: number, opts: { title: string; cols?: number }): Figure {
  const cols = opts.cols ?? Math.min(4, maps.length);
  const rows = Math.ceil(maps.length / cols);
  const data = maps.map((m, k) => ({
    z: Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => m.matrix[i * T + j])),
    type: 'heatmap', colorscale: 'Blues', zmin: 0, showscale: k === 0, xaxis: `x${k + 1}`, yaxis: `y${k + 1}`,
  }));
  const layout: Record<string, unknown> = {
    title: { text: opts.title }, grid: { rows, columns: cols, pattern: 'independent' }, height: 220 * rows + 80,
    annotations: maps.map((m, k) => ({ text: m.title, showarrow: false, xref: `x${k + 1} domain`, yref: `y${k + 1} domain`, x: 0.5, y: 1.12, font: { size: 11 } })),
  };
  for (let k = 0; k < maps.length; k++) {
    layout[`xaxis${k + 1}`] = { showticklabels: false };
    layout[`yaxis${k + 1}`] = { showticklabels: false, autorange: 'reversed' };
  }
  return { data, layout };
}
