// Live training progress: in a notebook one HTML block rewritten in place (step, loss, lr, tokens/s, ETA, last eval and
// a small inline-SVG loss sparkline: no plotting library per update); on the command line a single updating stderr
// line (one line per update when stderr is not a terminal). Updates are throttled so fast steps do not flood the kernel.
import { LiveDisplay, escapeHtml, inNotebook, newLiveDisplay } from '../notebook/display';
import { EvalLog, StepLog } from './history';

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m % 60).padStart(2, '0')}m`;
}

function fmtRate(x: number): string {
  if (!Number.isFinite(x)) return '?';
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0);
}

/** Points of a polyline for the values, downsampled to at most `maxPoints` bucket means. */
export function sparklinePoints(values: number[], width: number, height: number, maxPoints = 120): string {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length < 2) return '';
  const buckets = Math.min(maxPoints, v.length);
  const pts: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * v.length) / buckets);
    const hi = Math.max(lo + 1, Math.floor(((b + 1) * v.length) / buckets));
    let s = 0;
    for (let i = lo; i < hi; i++) s += v[i];
    pts.push(s / (hi - lo));
  }
  const min = Math.min(...pts);
  const max = Math.max(...pts);
  const span = max - min || 1;
  return pts
    .map((y, i) => `${((i / (pts.length - 1)) * width).toFixed(1)},${(2 + (1 - (y - min) / span) * (height - 4)).toFixed(1)}`)
    .join(' ');
}

export interface ProgressSnapshot {
  step: number;
  maxSteps: number;
  last?: StepLog;
  losses: number[];
  /** Mean ms per step over recent steps. */
  msPerStep: number;
  tokensPerSec: number;
  lastEval?: EvalLog;
  best?: { step: number; loss: number } | null;
  note?: string;
}

export function progressText(s: ProgressSnapshot): string {
  const parts = [`step ${s.step}/${s.maxSteps}`];
  if (s.last) parts.push(`loss ${s.last.loss.toFixed(4)}`, `lr ${s.last.lr.toExponential(2)}`, `norm ${s.last.gradNorm.toFixed(2)}`);
  if (Number.isFinite(s.msPerStep)) {
    parts.push(`${fmtRate(s.tokensPerSec)} tok/s`, `${s.msPerStep.toFixed(0)} ms/step`, `ETA ${formatDuration((s.maxSteps - s.step) * s.msPerStep)}`);
  }
  if (s.lastEval?.valLoss !== undefined) parts.push(`val ${s.lastEval.valLoss.toFixed(4)}@${s.lastEval.step}`);
  if (s.note) parts.push(s.note);
  return parts.join(' | ');
}

export function progressHtml(s: ProgressSnapshot): string {
  const pct = s.maxSteps > 0 ? Math.min(100, (100 * s.step) / s.maxSteps) : 100;
  const W = 260;
  const H = 48;
  const pts = sparklinePoints(s.losses, W, H);
  const svg = pts
    ? `<svg width="${W}" height="${H}" style="border:1px solid #ddd;background:#fafafa;margin-top:4px"><polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="${pts}"/></svg>`
    : '';
  const ev = s.lastEval?.valLoss !== undefined
    ? `<br>val ${s.lastEval.valLoss.toFixed(4)} at step ${s.lastEval.step}` +
      (s.lastEval.trainLoss !== undefined ? `, train ${s.lastEval.trainLoss.toFixed(4)}` : '') +
      (s.best ? ` (best ${s.best.loss.toFixed(4)} at ${s.best.step})` : '')
    : '';
  const text = escapeHtml(progressText({ ...s, lastEval: undefined }));
  return (
    `<div style="font-family:monospace;font-size:12px;line-height:1.5">` +
    `<div style="width:${W}px;height:6px;background:#eee"><div style="width:${pct.toFixed(1)}%;height:6px;background:#2ca02c"></div></div>` +
    `${text}${ev}${s.note ? `<br><b>${escapeHtml(s.note)}</b>` : ''}<br>${svg}</div>`
  );
}

/** Throttled live display of a training run. */
export class TrainProgress {
  private readonly display: LiveDisplay | undefined;
  private readonly minIntervalMs: number;
  private lastDraw = -Infinity;
  private readonly tty: boolean;
  private readonly notebook: boolean;

  constructor(opt: boolean | LiveDisplay | undefined) {
    this.notebook = inNotebook();
    this.tty = !!process.stderr.isTTY;
    if (opt === false) this.display = undefined;
    else if (opt === undefined || opt === true) this.display = newLiveDisplay();
    else this.display = opt;
    this.minIntervalMs = this.notebook ? 250 : this.tty ? 100 : 2000;
  }

  /** Redraws, at most once per throttle interval unless forced (forcing is ignored for non-terminal stderr logs). */
  /** `snap` may be a function: it is only called when the display is actually redrawn (snapshots cost O(steps)). */
  update(snap: ProgressSnapshot | (() => ProgressSnapshot), force = false): void {
    if (!this.display) return;
    const now = Date.now();
    const appendOnly = !this.notebook && !this.tty;
    if ((!force || appendOnly) && now - this.lastDraw < this.minIntervalMs) return;
    this.lastDraw = now;
    const s = typeof snap === 'function' ? snap() : snap;
    this.display.html(progressHtml(s), progressText(s));
  }

  /** A line that stays (evaluation results, warnings): printed on the command line; in a notebook folded into the display. */
  line(text: string): void {
    if (!this.display || this.notebook) return;
    process.stderr.write(this.tty ? `\r\x1b[K${text}\n` : `${text}\n`);
  }

  /** Ends the updating line on a terminal. */
  finish(s: ProgressSnapshot | (() => ProgressSnapshot)): void {
    this.lastDraw = -Infinity;
    this.update(s, true);
    if (this.display && !this.notebook && this.tty) process.stderr.write('\n');
  }
}
