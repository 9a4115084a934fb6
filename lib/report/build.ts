// results/report.html and results/report.md: every claim of the paper with the paper's number, ours at each regime,
// the notebook's verdict, the key figures and a link to the executed notebook. Assembled from the claim records only
// (no notebook runs here), so `npm run cli -- report` rebuilds it in a second. The HTML is self-contained and offline,
// with ONE copy of plotly.js for all its figures.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../notebook/kernel';
import { escapeHtml } from '../notebook/display';
import type { Scale } from '../scale';
import { Figure, bundleScriptHtml, figureDivHtml, plotlyVersion } from '../viz/plotly';
import { authorsCurvesFigure } from '../viz/authors-overlay';
import { AUTHORS_RUNS_FOR } from './authors-logs';
import { readClaimRecords } from './claims';
import { ClaimSection, RegimeEntry, ReportModel, assembleReport, oursText, paperText, quantityText } from './assemble';

export interface BuildReportOptions {
  scale: Scale;
  root?: string;
  /** Folder of report.html / report.md (default results/). */
  outDir?: string;
  /** Columns of the report (default: the regimes found in the records). */
  regimes?: string[];
}

export interface BuiltReport {
  html: string;
  md: string;
  model: ReportModel;
  figures: number;
}

const NOT_RUN = 'not run';
/** What the "±" of each kind means (ClaimRow.ours.spreadKind). */
export const SPREAD_LEGEND = '"± s std": sample std over seeds. "± s margin": a difference of two means over seeds, which counts only ' +
  'beyond max(0.01 nats, std(A) + std(B)); s is that margin. "± s stderr": standard error over eval items.';
const STATUS_CLASS: Record<string, string> = { reproduces: 'ok', partly: 'partly', 'does not reproduce': 'no', 'not comparable': 'na' };

function statusHtml(e: RegimeEntry): string {
  return e.status ? `<span class="v ${STATUS_CLASS[e.status]}">${escapeHtml(e.status)}</span>` : `<span class="v notrun">${NOT_RUN}</span>`;
}

// The authors' curves for a claim, unless a recorded figure already carries them (an overlay from the notebook).
function authorsFigure(s: ClaimSection): { domId: string; figure: Figure } | undefined {
  const runs = AUTHORS_RUNS_FOR[s.claim.id];
  if (!runs) return undefined;
  const overlaid = s.entries.some((e) => e.figures.some((f) => f.figure.data.some((t) => String(t.name ?? '').startsWith('authors:'))));
  if (overlaid) return undefined;
  const upToStep = s.claim.id === 'distillation' ? 50_000 : undefined;
  return { domId: `fig-${s.claim.id}-authors`, figure: authorsCurvesFigure(runs, `${s.claim.title}: the paper's runs`, { upToStep }) };
}

function sectionHtml(s: ClaimSection, regimes: string[]): string {
  const head = `<tr><th>quantity</th><th>paper</th>${regimes.map((r) => `<th>ours · ${escapeHtml(r)}</th><th>verdict · ${escapeHtml(r)}</th>`).join('')}</tr>`;
  const body: string[] = [];
  for (let k = 0; k < Math.max(1, s.rowCount); k++) {
    const cells = s.entries.map((e) => {
      const row = e.rows[k];
      if (!row) return `<td class="notrun">${NOT_RUN}</td><td class="notrun">${NOT_RUN}</td>`;
      return `<td>${escapeHtml(oursText(row))}</td><td><span class="v ${STATUS_CLASS[row.verdict.status]}">${escapeHtml(row.verdict.status)}</span></td>`;
    });
    body.push(`<tr><td>${escapeHtml(s.rowCount ? quantityText(s, k) : 'the notebook\'s claim rows')}</td><td>${escapeHtml(s.rowCount ? paperText(s, k) : '–')}</td>${cells.join('')}</tr>`);
  }
  const perRegime = s.entries.map((e) => {
    const bits = [`<h4>${escapeHtml(e.regime)}: ${statusHtml(e)}</h4>`];
    if (!e.record) {
      bits.push(`<p class="notrun">${NOT_RUN}: no claim record from ${escapeHtml(s.claim.notebook)} at this scale and regime.</p>`);
      return bits.join('\n');
    }
    const link = e.executedLink ? `<a href="${escapeHtml(e.executedLink)}">executed notebook</a>` : 'executed notebook: not found (run headless to get one)';
    bits.push(`<p class="meta">${link} · recorded ${escapeHtml(e.record.recordedAt)}${e.record.regime === null ? ' · uses no data: the same in every regime' : ''}</p>`);
    if (e.staleNote) bits.push(`<p class="stale">⚠ ${escapeHtml(e.staleNote)}</p>`);
    const texts = [...new Set(e.rows.map((r) => r.verdict.text))];
    bits.push(`<ul class="verdict">${texts.map((t) => `<li>${escapeHtml(t)}</li>`).join('')}</ul>`);
    for (const f of e.figures) bits.push(figureDivHtml(f.figure, f.domId));
    return bits.join('\n');
  });
  // A record with regime null fills every column: show its texts and figures once.
  const shown = new Set<unknown>();
  const details = s.entries.map((e, i) => {
    if (e.record && e.record.regime === null) {
      if (shown.has(e.record)) return '';
      shown.add(e.record);
    }
    return perRegime[i];
  }).filter(Boolean);
  const authors = authorsFigure(s);
  return `<section class="claim" id="claim-${s.claim.id}">
<h2>${escapeHtml(s.claim.title)}</h2>
<p class="meta">paper: ${escapeHtml(s.claim.paper)} · notebook <code>${escapeHtml(s.claim.notebook)}</code></p>
<table><thead>${head}</thead><tbody>${body.join('\n')}</tbody></table>
${details.join('\n')}
${authors ? `<h4>The authors' published curves</h4>\n${figureDivHtml(authors.figure, authors.domId)}` : ''}
</section>`;
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:1200px;margin:1em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}
th{background:#f3f3f3}.v{padding:0 .3em;border-radius:3px;white-space:nowrap}.ok{background:#d4f4d4}.partly{background:#fff1c2}
.no{background:#f8d0d0}.na{background:#e4e4f4}.notrun{color:#888;font-style:italic}.meta{color:#555;font-size:.9em}
.stale{color:#a40}section.claim{border-top:2px solid #ddd;margin-top:1.5em}`;

/** The report as HTML (one plotly bundle in the head) and Markdown (figures referenced by anchor in the HTML). */
export function renderReport(model: ReportModel, builtAt: string): { html: string; md: string; figures: number } {
  const summary = `<table><thead><tr><th>claim</th><th>notebook</th>${model.regimes.map((r) => `<th>${escapeHtml(r)}</th>`).join('')}</tr></thead><tbody>` +
    model.sections.map((s) => `<tr><td><a href="#claim-${s.claim.id}">${escapeHtml(s.claim.title)}</a></td><td><code>${escapeHtml(s.claim.notebook)}</code></td>${s.entries.map((e) => `<td>${statusHtml(e)}</td>`).join('')}</tr>`).join('\n') +
    '</tbody></table>';
  const sections = model.sections.map((s) => sectionHtml(s, model.regimes));
  const figures = sections.reduce((n, h) => n + (h.match(/class="inheritune-figure"/g)?.length ?? 0), 0);
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>inheritune-lab report (${model.scale})</title><style>${STYLE}</style>
${bundleScriptHtml()}</head>
<body>
<h1>When Attention Collapses: the paper's claims, reproduced at scale <code>${model.scale}</code></h1>
<p class="meta">Built ${escapeHtml(builtAt)} from the notebooks' claim records (results/&lt;notebook&gt;/${model.scale}/claims-*.json);
regimes: ${model.regimes.map(escapeHtml).join(', ')}; plotly.js ${plotlyVersion()}. "${NOT_RUN}" means no notebook recorded that cell: nothing is filled in.
Paper numbers come from the paper as catalogued in reference/paper.md (section in each claim).</p>
<p class="meta">${escapeHtml(SPREAD_LEGEND)}</p>
${summary}
${sections.join('\n')}
<p class="meta">The authors' curves: LLM-Inheritune training logs (MIT, reference/authors-logs/).</p>
</body></html>
`;
  return { html, md: renderMarkdown(model, builtAt), figures };
}

const mdCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function renderMarkdown(model: ReportModel, builtAt: string): string {
  const out = [`# When Attention Collapses: the paper's claims at scale \`${model.scale}\``, '',
    `Built ${builtAt} from the notebooks' claim records. Regimes: ${model.regimes.join(', ')}. "${NOT_RUN}" means no notebook recorded that cell. Figures are in [report.html](report.html).`, '', SPREAD_LEGEND, '',
    `| claim | notebook | ${model.regimes.join(' | ')} |`, `|---|---|${model.regimes.map(() => '---|').join('')}`,
    ...model.sections.map((s) => `| ${mdCell(s.claim.title)} | ${s.claim.notebook} | ${s.entries.map((e) => e.status ?? NOT_RUN).join(' | ')} |`), ''];
  for (const s of model.sections) {
    out.push(`## ${s.claim.title}`, '', `Paper: ${s.claim.paper}. Notebook \`${s.claim.notebook}\`.`, '');
    out.push(`| quantity | paper | ${model.regimes.map((r) => `ours · ${r} | verdict · ${r}`).join(' | ')} |`, `|---|---|${model.regimes.map(() => '---|---|').join('')}`);
    for (let k = 0; k < Math.max(1, s.rowCount); k++) {
      const cells = s.entries.map((e) => (e.rows[k] ? `${mdCell(oursText(e.rows[k]))} | ${e.rows[k].verdict.status}` : `${NOT_RUN} | ${NOT_RUN}`));
      out.push(`| ${mdCell(s.rowCount ? quantityText(s, k) : "the notebook's claim rows")} | ${mdCell(s.rowCount ? paperText(s, k) : '–')} | ${cells.join(' | ')} |`);
    }
    out.push('');
    for (const e of s.entries) {
      if (!e.record) {
        out.push(`- **${e.regime}**: ${NOT_RUN}.`);
        continue;
      }
      const link = e.executedLink ? `[executed notebook](${e.executedLink})` : 'executed notebook not found';
      const figs = e.figures.map((f) => `[figure](report.html#${f.domId})`).join(', ');
      out.push(`- **${e.regime}** (${e.status}): ${[...new Set(e.rows.map((r) => r.verdict.text))].join(' ')} ${link}${figs ? `; ${figs}` : ''}.${e.staleNote ? ` ⚠ ${e.staleNote}.` : ''}`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** Reads the records of `scale`, writes report.html and report.md, returns what it wrote. */
export function buildReport(o: BuildReportOptions): BuiltReport {
  const root = o.root ?? repoRoot();
  const outDir = path.resolve(o.outDir ?? path.join(root, 'results'));
  const records = readClaimRecords(o.scale, root);
  const model = assembleReport(records, { scale: o.scale, root, reportDir: outDir, regimes: o.regimes });
  const r = renderReport(model, new Date().toISOString());
  fs.mkdirSync(outDir, { recursive: true });
  const html = path.join(outDir, 'report.html');
  const md = path.join(outDir, 'report.md');
  for (const [file, text] of [[html, r.html], [md, r.md]] as const) {
    fs.writeFileSync(`${file}.tmp-${process.pid}`, text);
    fs.renameSync(`${file}.tmp-${process.pid}`, file);
  }
  return { html, md, model, figures: r.figures };
}
