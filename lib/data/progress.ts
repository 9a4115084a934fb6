// A single-line progress bar on stderr, redrawn in place with '\r' (terminals and Jupyter both honour it),
// throttled so that redrawing never costs more than the work it reports.

export interface ProgressOptions {
  /** Total units when known (draws a bar and an ETA); otherwise counts only. */
  total?: number;
  /** Unit name shown after the count, e.g. 'docs' or 'MB'. */
  unit?: string;
  quiet?: boolean;
  /** Minimum milliseconds between redraws. */
  intervalMs?: number;
  stream?: NodeJS.WritableStream;
}

export class Progress {
  private done = 0;
  private extra = '';
  private last = 0;
  private readonly t0 = Date.now();
  private drawn = false;
  private lastLen = 0;
  private readonly stream: NodeJS.WritableStream;

  constructor(private readonly label: string, private readonly opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
  }

  /** Sets the absolute progress (and an optional suffix such as a token count). */
  update(done: number, extra?: string): void {
    this.done = done;
    if (extra !== undefined) this.extra = extra;
    const now = Date.now();
    if (now - this.last >= (this.opts.intervalMs ?? 200)) {
      this.last = now;
      this.draw();
    }
  }

  /** Draws the final state and ends the line. */
  finish(extra?: string): void {
    if (extra !== undefined) this.extra = extra;
    if (this.opts.quiet) return;
    this.draw();
    this.stream.write('\n');
  }

  /** Ends the line without a final redraw (on errors), so later output starts on a fresh line. */
  abort(): void {
    if (!this.opts.quiet && this.drawn) this.stream.write('\n');
  }

  private draw(): void {
    if (this.opts.quiet) return;
    const secs = (Date.now() - this.t0) / 1000;
    const unit = this.opts.unit ? ` ${this.opts.unit}` : '';
    let line: string;
    const total = this.opts.total;
    if (total && total > 0) {
      const frac = Math.min(1, this.done / total);
      const width = 24;
      const filled = Math.round(frac * width);
      const eta = frac > 0 && frac < 1 ? ` eta ${fmtSecs((secs / frac) * (1 - frac))}` : '';
      line = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${fmtNum(this.done)}/${fmtNum(total)}${unit}`;
      line += ` ${fmtSecs(secs)}${eta}`;
    } else {
      line = `${this.label} ${fmtNum(this.done)}${unit} ${fmtSecs(secs)}`;
    }
    if (this.extra) line += ` | ${this.extra}`;
    // Pad over a longer previous line with spaces (not an ANSI erase code, which some notebook frontends print).
    const pad = Math.max(0, this.lastLen - line.length);
    this.lastLen = line.length;
    this.stream.write(`\r${line}${' '.repeat(pad)}`);
    this.drawn = true;
  }
}

export function fmtNum(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function fmtSecs(s: number): string {
  return s < 60 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}m${Math.round(s % 60).toString().padStart(2, '0')}s`;
}
