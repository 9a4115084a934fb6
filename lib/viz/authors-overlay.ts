// The authors' published validation curves (reference/authors-logs) drawn beside ours.
// At the `paper` scale our runs have the paper's steps and tokens per step (GPT-2 Medium: 393,216), so both share
// the x-axis "optimizer step": a reproduction check. At `tiny`/`lab` our runs are a few hundred steps of a small
// model on small data, so the x-axis becomes the FRACTION OF THE BASE TRAINING BUDGET: our step / our budget (the
// lab's targetSteps, or a run's own steps for the reference), the authors' step / 100K (50K for Fig. 17). A run
// trained twice as long (random init 2x, 200K) ends at 2. The authors' curves are then context for the shape
// (where the gap between methods opens and closes), not for the values.
import type { Figure } from './plotly';
import { AUTHORS_RUNS, AuthorsRunId, authorsLogsDir, readAuthorsLog } from '../report/authors-logs';
import type { Scale } from '../scale';

export interface AuthorsOverlayOptions {
  scale: Scale;
  /** Our base budget in steps (the lab's targetSteps), or one per trace name (e.g. the reference's own steps). */
  ourTotalSteps: number | ((traceName: string) => number);
  /** The authors' base budget in steps (default 100K, the paper's runs). */
  authorsUnit?: number;
  /** Cut the authors' runs at this step (Fig. 17 compares at 50K steps; the unit then defaults to it). */
  upToStep?: number;
  /** Folder of the logs (default reference/authors-logs). */
  dir?: string;
  title?: string;
}

const GREYS = ['#444444', '#8c564b', '#7f7f7f', '#bcbd22', '#17becf', '#e377c2', '#9467bd'];

/** How the x-axis is made comparable at this scale, in words (also the axis title). */
export function overlayAxisText(scale: Scale, ourUnit: number | string, authorsUnit: number): string {
  if (scale === 'paper') return 'optimizer step (ours and the authors\': same steps and tokens per step)';
  return `fraction of the training budget (ours: step / ${ourUnit}; authors: step / ${authorsUnit / 1000}K)`;
}

const authorsUnitOf = (o: AuthorsOverlayOptions) => o.authorsUnit ?? o.upToStep ?? 100_000;

/** Plotly traces of the authors' validation loss for `runs`, x as overlayAxisText says. */
export function authorsTraces(runs: readonly AuthorsRunId[], o: AuthorsOverlayOptions): Figure['data'] {
  const dir = o.dir ?? authorsLogsDir();
  return runs.map((id, i) => {
    const run = AUTHORS_RUNS[id];
    const log = readAuthorsLog(run.file, dir);
    const end = o.upToStep ? Math.min(o.upToStep, run.totalSteps) : run.totalSteps;
    const unit = authorsUnitOf(o);
    const pts = log.points.filter((p) => p.step <= end);
    return {
      type: 'scatter', mode: 'lines', name: `authors: ${run.label} (${run.dataset} val)`,
      line: { color: GREYS[i % GREYS.length], dash: 'dash', width: 1.5 },
      x: pts.map((p) => (o.scale === 'paper' ? p.step : p.step / unit)),
      y: pts.map((p) => p.valLoss),
      meta: { source: `reference/authors-logs/${run.file}` },
    };
  });
}

/**
 * Our figure (x = optimizer step, as lossCurveFigure draws it) with the authors' curves added. Below `paper` scale
 * our traces' x is divided by `ourTotalSteps`. Returns a new figure; `fig` is not modified.
 */
export function overlayAuthorsCurves(fig: Figure, runs: readonly AuthorsRunId[], o: AuthorsOverlayOptions): Figure {
  const unitOf = (name: string): number => {
    const u = typeof o.ourTotalSteps === 'function' ? o.ourTotalSteps(name) : o.ourTotalSteps;
    if (!(u > 0)) throw new Error(`ourTotalSteps must be > 0, got ${u}${typeof o.ourTotalSteps === 'function' ? ` for trace '${name}'` : ''}`);
    return u;
  };
  const ours = fig.data.map((t) => {
    if (o.scale === 'paper' || !Array.isArray(t.x)) return { ...t };
    const unit = unitOf(String(t.name ?? ''));
    return { ...t, x: (t.x as number[]).map((x) => x / unit) };
  });
  const ourUnit = typeof o.ourTotalSteps === 'number' ? o.ourTotalSteps : 'its budget';
  const layout = fig.layout ?? {};
  const title = o.title ?? String((layout.title as { text?: string } | undefined)?.text ?? 'Loss');
  const note = o.scale === 'paper' ? 'reproduction check' : `context only: our ${o.scale}-scale runs are far smaller`;
  return {
    data: [...ours, ...authorsTraces(runs, o)],
    layout: {
      ...layout,
      title: { text: `${title}<br><sub>dashed: the authors' published logs (${note})</sub>` },
      xaxis: { ...(layout.xaxis as Record<string, unknown> | undefined), title: { text: overlayAxisText(o.scale, ourUnit, authorsUnitOf(o)) }, type: 'linear' },
      // Up to a dozen named traces: a legend beside the plot keeps the axis readable.
      legend: { orientation: 'v', x: 1.02, y: 1, font: { size: 10 } }, height: 520,
      margin: { l: 60, r: 20, t: 70, b: 50 },
    },
    config: fig.config,
  };
}

/** The authors' curves alone (the report shows them for claims whose notebook has not recorded an overlay). */
export function authorsCurvesFigure(runs: readonly AuthorsRunId[], title: string, o: { upToStep?: number; dir?: string } = {}): Figure {
  return {
    data: authorsTraces(runs, { scale: 'paper', ourTotalSteps: 1, upToStep: o.upToStep, dir: o.dir }),
    layout: {
      title: { text: `${title}<br><sub>the authors' published validation curves (reference/authors-logs)</sub>` },
      xaxis: { title: { text: 'optimizer step' } }, yaxis: { title: { text: 'validation loss (nats/token)' } },
      legend: { orientation: 'v', x: 1.02, y: 1, font: { size: 10 } }, height: 520, margin: { l: 60, r: 20, t: 70, b: 50 },
    },
  };
}
