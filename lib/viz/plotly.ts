// Plotly figures as plain data, rendered to HTML that works offline: in notebooks (the bundle is embedded once per
// kernel), in `jupyter nbconvert --to html` exports, and as standalone files under results/.
// plotly.js-dist-min is a browser UMD bundle (sets window.Plotly); Node never executes it, we only ship its text.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A plotly figure: traces and layout, exactly as Plotly.newPlot takes them. */
export interface Figure {
  data: Array<Record<string, unknown>>;
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

let bundleText: string | undefined;

/** The plotly.js bundle source, made safe to inline inside a <script> element. */
export function plotlyBundle(): string {
  if (bundleText === undefined) {
    const file = require.resolve('plotly.js-dist-min/plotly.min.js');
    bundleText = fs.readFileSync(file, 'utf8').replace(/<\/script/gi, '<\\/script');
  }
  return bundleText;
}

/** Version of the bundled plotly.js. */
export function plotlyVersion(): string {
  return (require('plotly.js-dist-min/package.json') as { version: string }).version;
}

let divCounter = 0;

/** A fresh element id for a figure; unique within a process and across kernel restarts. */
export function newFigureId(): string {
  divCounter += 1;
  return `fig-${Date.now().toString(36)}-${process.pid.toString(36)}-${divCounter}`;
}

// JSON inside <script>: escape what could end the element or break out of the string.
function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

/** Default layout: readable in notebooks and in exported HTML. */
function withDefaults(fig: Figure): Required<Figure> {
  const layout = { margin: { l: 60, r: 20, t: 50, b: 50 }, height: 420, ...fig.layout };
  return { data: fig.data, layout, config: { responsive: true, displaylogo: false, ...fig.config } };
}

/**
 * HTML for one figure: a div and a script that draws it once window.Plotly exists. The script waits for the
 * bundle, so cell outputs can be rendered in any order by a notebook front end.
 */
export function figureDivHtml(fig: Figure, id = newFigureId()): string {
  const f = withDefaults(fig);
  const height = typeof f.layout.height === 'number' ? f.layout.height : 420;
  return (
    `<div id="${id}" class="inheritune-figure" style="width:100%;height:${height}px;"></div>\n` +
    `<script>(function(){var f=${scriptSafeJson(f)};` +
    `function draw(){if(window.Plotly){window.Plotly.newPlot("${id}",f.data,f.layout,f.config);}else{setTimeout(draw,50);}}` +
    `draw();})();</script>`
  );
}

/** A <script> element that defines window.Plotly (about 4.7 MB of text). */
export function bundleScriptHtml(): string {
  return `<script>${plotlyBundle()}</script>`;
}

/**
 * A standalone HTML page for a figure. With `bundle: 'inline'` the page needs nothing else; with a relative path,
 * the page loads plotly from that file (written once per results folder by writeFigureHtml).
 */
export function figurePageHtml(fig: Figure, opts: { title?: string; bundle: 'inline' | { src: string } }): string {
  const head = opts.bundle === 'inline' ? bundleScriptHtml() : `<script src="${opts.bundle.src}"></script>`;
  const title = (opts.title ?? String((fig.layout?.title as { text?: string } | undefined)?.text ?? 'figure')).replace(/</g, '&lt;');
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${title}</title>${head}</head>\n<body>${figureDivHtml(fig)}</body></html>\n`;
}

/**
 * Writes `<file>.html` for a figure; plotly.min.js is copied once into the same folder and referenced relatively,
 * so a results folder with many figures stays small and still opens offline.
 */
export function writeFigureHtml(fig: Figure, file: string, title?: string): string {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const bundleFile = path.join(dir, 'plotly.min.js');
  if (!fs.existsSync(bundleFile)) fs.copyFileSync(require.resolve('plotly.js-dist-min/plotly.min.js'), bundleFile);
  const out = file.endsWith('.html') ? file : `${file}.html`;
  const tmp = `${out}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, figurePageHtml(fig, { title, bundle: { src: 'plotly.min.js' } }));
  fs.renameSync(tmp, out);
  return out;
}
