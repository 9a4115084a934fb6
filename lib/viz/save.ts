// Saving figures under results/: an HTML file (interactive, offline) and, where Chromium exists, a PNG beside it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Figure, writeFigureHtml } from './plotly';
import { findChromium, screenshotHtml } from './browser';

export interface SavedFigure {
  html: string;
  /** Absent when Chromium is not installed (the reason is in `note`). */
  png?: string;
  note?: string;
}

/**
 * Writes `<base>.html` and `<base>.png` (e.g. base = 'results/01-toy/rank-trajectory'). The PNG has the figure's
 * layout size (default 900 x 500).
 */
export function saveFigure(fig: Figure, base: string, opts: { png?: boolean } = {}): SavedFigure {
  const html = writeFigureHtml(fig, base.replace(/\.(html|png)$/, ''));
  if (opts.png === false) return { html };
  if (!findChromium()) return { html, note: 'no PNG: Chromium not installed (npm run setup installs it)' };
  const width = Number(fig.layout?.width ?? 900);
  const height = Number(fig.layout?.height ?? 500);
  // A static picture has no use for plotly's toolbar, which would otherwise cover the title.
  const still = writeFigureHtml({ ...fig, config: { ...fig.config, displayModeBar: false, staticPlot: true } }, `${html.replace(/\.html$/, '')}.still`);
  try {
    const png = screenshotHtml(still, html.replace(/\.html$/, '.png'), { width, height: height + 20 });
    return { html, png: path.resolve(png) };
  } finally {
    fs.rmSync(still, { force: true });
  }
}

/** Shows a figure inline (notebook) and saves it as HTML + PNG; prints one line saying where. */
export function showAndSave(fig: Figure, base: string): void {
  // Imported lazily: display.ts pulls in the notebook machinery, which plain scripts saving figures do not need.
  const { showFigure } = require('../notebook/display') as typeof import('../notebook/display');
  showFigure(fig);
  const saved = saveFigure(fig, base);
  console.log(`saved ${path.relative(process.cwd(), saved.html)}${saved.png ? ' + .png' : ` (${saved.note})`}`);
}
