// Rich output that works in a tslab notebook and degrades to plain text on the command line.
// Library code calls these instead of tslab directly, so the same experiment functions run in notebooks, the CLI
// and tests. (Keeping tslab behind this file also leaves room for another kernel later.)
import type * as TslabModule from 'tslab';
import { Figure, bundleScriptHtml, figureDivHtml } from '../viz/plotly';

interface TslabJupyter {
  lastWriteDisplayData: unknown;
}

// tslab's kernel loads its own dist/jupyter.js and sets lastWriteDisplayData once connected. Looking in
// require.cache avoids loading tslab (and its TypeScript compiler) in plain Node processes.
function kernelJupyter(): TslabJupyter | undefined {
  for (const key of Object.keys(require.cache)) {
    if (/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(key)) return require.cache[key]?.exports as TslabJupyter;
  }
  return undefined;
}

/** True inside a running tslab kernel (rich display available). */
export function inNotebook(): boolean {
  return kernelJupyter()?.lastWriteDisplayData != null;
}

function tslab(): typeof TslabModule {
  return require('tslab') as typeof TslabModule;
}

/** Shows HTML in a notebook; prints `fallback` (or nothing) elsewhere. */
export function showHtml(html: string, fallback?: string): void {
  if (inNotebook()) tslab().display.html(html);
  else if (fallback !== undefined) console.log(fallback);
}

/** Shows markdown in a notebook, the raw text elsewhere. */
export function showMarkdown(md: string): void {
  if (inNotebook()) tslab().display.markdown(md);
  else console.log(md);
}

/** Shows a PNG in a notebook; elsewhere prints where it can be found, if given. */
export function showPng(png: Uint8Array, fallback?: string): void {
  if (inNotebook()) tslab().display.png(png);
  else if (fallback !== undefined) console.log(fallback);
}

// The bundle is embedded in the first figure output of a kernel session; later figures wait for window.Plotly.
const BUNDLE_FLAG = '__inherituneLabPlotlyEmbedded';

/** Draws a plotly figure inline. Outside a notebook, prints its title. */
export function showFigure(fig: Figure): void {
  if (!inNotebook()) {
    const title = (fig.layout?.title as { text?: string } | string | undefined) ?? 'figure';
    console.log(`[figure] ${typeof title === 'string' ? title : title.text ?? 'figure'}`);
    return;
  }
  const g = globalThis as Record<string, unknown>;
  const prefix = g[BUNDLE_FLAG] ? '' : bundleScriptHtml();
  g[BUNDLE_FLAG] = true;
  tslab().display.html(prefix + figureDivHtml(fig));
}

/** An output area that can be rewritten in place (progress, live curves). */
export interface LiveDisplay {
  html(html: string, textFallback: string): void;
}

/** In a notebook: one display entry rewritten on each call. Elsewhere: a single updating stderr line. */
export function newLiveDisplay(): LiveDisplay {
  if (inNotebook()) {
    const d = tslab().newDisplay();
    return { html: (html) => d.html(html) };
  }
  const tty = process.stderr.isTTY;
  return {
    html: (_html, text) => {
      if (tty) process.stderr.write(`\r\x1b[K${text}`);
      else process.stderr.write(`${text}\n`);
    },
  };
}

/** Escapes text for HTML. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
