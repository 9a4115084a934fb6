// Loss curves of one or more runs as a plotly figure (show with lib/notebook/display showFigure, or save with
// lib/viz/plotly writeFigureHtml): training loss per step (optionally EMA-smoothed) and validation loss per evaluation.
import { Figure } from '../viz/plotly';
import { History } from './history';

export interface LossCurveOptions {
  title?: string;
  /** EMA smoothing of the training loss, 0 (none) to < 1 (default 0.9 when a run has more than 50 steps, else 0). */
  smoothing?: number;
  /** Plot the training loss (default true) and the validation loss (default true). */
  train?: boolean;
  val?: boolean;
  /** Log-scale x axis (default false). */
  logX?: boolean;
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

/** EMA with bias correction (as TensorBoard smooths), so the first points are not pulled towards 0. */
export function emaSmooth(values: number[], alpha: number): number[] {
  if (!(alpha > 0)) return values.slice();
  let m = 0;
  return values.map((v, i) => {
    m = alpha * m + (1 - alpha) * v;
    return m / (1 - alpha ** (i + 1));
  });
}

/** One figure comparing runs: `{ 'Inheritune 2L': h1, 'random init 2L': h2 }` or a single History. */
export function lossCurveFigure(runs: History | Record<string, History>, o: LossCurveOptions = {}): Figure {
  const named: Record<string, History> = 'steps' in runs && Array.isArray((runs as History).steps) ? { run: runs as History } : (runs as Record<string, History>);
  const data: Figure['data'] = [];
  Object.entries(named).forEach(([name, h], i) => {
    const color = COLORS[i % COLORS.length];
    if (o.train ?? true) {
      const alpha = o.smoothing ?? (h.steps.length > 50 ? 0.9 : 0);
      data.push({
        type: 'scatter', mode: 'lines', name: `${name} train`, line: { color, width: 1.5 },
        x: h.steps.map((s) => s.step + 1), y: emaSmooth(h.steps.map((s) => s.loss), alpha),
      });
    }
    const ev = h.evals.filter((e) => e.valLoss !== undefined);
    if ((o.val ?? true) && ev.length) {
      data.push({
        type: 'scatter', mode: 'lines+markers', name: `${name} val`, line: { color, dash: 'dot' }, marker: { size: 6 },
        x: ev.map((e) => e.step), y: ev.map((e) => e.valLoss),
      });
    }
  });
  return {
    data,
    layout: {
      title: { text: o.title ?? 'Loss' },
      xaxis: { title: { text: 'step' }, type: o.logX ? 'log' : 'linear' },
      yaxis: { title: { text: 'cross-entropy (nats/token)' } },
      legend: { orientation: 'h', y: -0.2 },
    },
  };
}
