// Saving figures under results/: an HTML file (interactive, offline) and, where Chromium exists, a PNG beside it.
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
  const png = screenshotHtml(html, html.replace(/\.html$/, '.png'), { width, height: height + 20 });
  return { html, png: path.resolve(png) };
}
