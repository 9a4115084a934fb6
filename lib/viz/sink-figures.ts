// Figures of the sink diagnostics and of their emergence over training (plotly specs; see ./plotly).
import { Figure } from './plotly';
import type { SinkLayerRow } from '../metrics/sink-measure';
import type { EmergenceLayerRow } from '../metrics/emergence';

const FRACTIONS = new Set<string>(['sinkRate', 'meanSinkMass', 'meanEntropyFraction']);

type EmergenceMetric = 'maxRank' | 'sinkRate' | 'meanSinkMass' | 'meanEntropyFraction' | 'residRatio';

const METRIC_LABEL: Record<EmergenceMetric, string> = {
  maxRank: 'MaxRank(l)',
  sinkRate: 'sink rate (heads with mass on position 0 > 0.3)',
  meanSinkMass: 'mean attention on position 0',
  meanEntropyFraction: 'attention entropy / uniform',
  residRatio: '||x_0|| / median ||x_t||',
};

/** Per layer: sink rate, mean sink mass and entropy fraction (left axis, 0-1), and MaxRank when given (right axis). */
export function sinkProfileFigure(rows: SinkLayerRow[], opts: { title: string; maxRank?: number[] }): Figure {
  const x = rows.map((r) => r.layer + 1);
  const data: Array<Record<string, unknown>> = [
    { x, y: rows.map((r) => r.sinkRate), type: 'bar', name: 'sink rate', marker: { color: '#d62728' }, opacity: 0.6 },
    { x, y: rows.map((r) => r.meanSinkMass), type: 'scatter', mode: 'lines+markers', name: 'mean attention on position 0' },
    { x, y: rows.map((r) => r.meanEntropyFraction), type: 'scatter', mode: 'lines+markers', name: 'entropy / uniform' },
  ];
  if (opts.maxRank) data.push({ x, y: opts.maxRank, type: 'scatter', mode: 'lines+markers', name: 'MaxRank (right)', yaxis: 'y2', line: { dash: 'dot', color: '#333' } });
  return {
    data,
    layout: {
      title: { text: opts.title },
      xaxis: { title: { text: 'layer' }, dtick: 1 },
      yaxis: { title: { text: 'fraction' }, range: [0, 1.05] },
      yaxis2: { title: { text: 'MaxRank' }, overlaying: 'y', side: 'right', rangemode: 'tozero' },
      legend: { orientation: 'h', y: -0.2 },
    },
  };
}

/** Per layer: loss increase when the attention output or the whole block is skipped, and block influence. */
export function layerSkipFigure(rows: SinkLayerRow[], opts: { title: string }): Figure {
  const x = rows.map((r) => r.layer + 1);
  return {
    data: [
      { x, y: rows.map((r) => r.attnSkipDeltaLoss), type: 'bar', name: 'Δ loss, attention skipped' },
      { x, y: rows.map((r) => r.blockSkipDeltaLoss), type: 'bar', name: 'Δ loss, block skipped' },
      { x, y: rows.map((r) => r.blockInfluence), type: 'scatter', mode: 'lines+markers', name: 'block influence (right)', yaxis: 'y2' },
    ],
    layout: {
      title: { text: opts.title },
      barmode: 'group',
      xaxis: { title: { text: 'layer' }, dtick: 1 },
      yaxis: { title: { text: 'validation-loss increase (nats)' } },
      yaxis2: { title: { text: '1 - cos(in, out)' }, overlaying: 'y', side: 'right', rangemode: 'tozero' },
      legend: { orientation: 'h', y: -0.2 },
    },
  };
}

/** A layer x step heatmap of one metric over training. */
export function emergenceHeatmapFigure(rows: EmergenceLayerRow[], metric: EmergenceMetric, opts: { title: string }): Figure {
  const steps = [...new Set(rows.map((r) => r.step))].sort((a, b) => a - b);
  const L = Math.max(...rows.map((r) => r.layer)) + 1;
  const z: number[][] = Array.from({ length: L }, () => new Array<number>(steps.length).fill(NaN));
  for (const r of rows) z[r.layer][steps.indexOf(r.step)] = r[metric];
  const rankLike = metric === 'maxRank';
  return {
    data: [{
      z, x: steps.map(String), y: Array.from({ length: L }, (_, i) => i + 1), type: 'heatmap',
      colorscale: rankLike ? 'Viridis' : 'Reds', colorbar: { title: { text: METRIC_LABEL[metric] } },
      // Fractions on a fixed 0-1 scale, so runs and steps compare by colour; ranks from 1 (collapsed) upwards.
      ...(FRACTIONS.has(metric) ? { zmin: 0, zmax: 1 } : rankLike ? { zmin: 1 } : {}),
      hovertemplate: `layer %{y}, step %{x}: %{z:.2f}<extra></extra>`,
    }],
    layout: { title: { text: opts.title }, xaxis: { title: { text: 'step' }, type: 'category' }, yaxis: { title: { text: 'layer' }, dtick: 1 } },
  };
}

/** One curve per layer of a metric over training steps. */
export function emergenceCurvesFigure(rows: EmergenceLayerRow[], metric: EmergenceMetric, opts: { title: string }): Figure {
  const L = Math.max(...rows.map((r) => r.layer)) + 1;
  const data = Array.from({ length: L }, (_, l) => {
    const mine = rows.filter((r) => r.layer === l).sort((a, b) => a.step - b.step);
    return { x: mine.map((r) => r.step), y: mine.map((r) => r[metric]), type: 'scatter', mode: 'lines+markers', name: `layer ${l + 1}` };
  });
  return {
    data,
    layout: { title: { text: opts.title }, xaxis: { title: { text: 'step' } }, yaxis: { title: { text: METRIC_LABEL[metric] }, rangemode: 'tozero' } },
  };
}
