// Our evaluation results beside the paper's (Tables 1 and 7): a table and grouped bar charts (accuracies in
// percent with ± stderr; perplexities in their own chart). Works in notebooks (HTML) and on the command line (text).
import * as path from 'node:path';
import { Figure } from '../viz/plotly';
import { saveFigure, SavedFigure } from '../viz/save';
import { showTable, tableFromRows } from '../viz/table';
import { showFigure, showMarkdown } from '../notebook/display';
import { PAPER_METRICS, PAPER_ROWS, PAPER_SOURCE, PaperMetric, PaperRow } from './paper';
import { EvalResults } from './runner';

export interface ReportOptions {
  /** Paper rows to compare with (default: all of Tables 1 and 7). */
  paperRows?: PaperRow[];
  /** Name of our column (default: results.config.model). */
  ours?: string;
}

/** Picks paper rows by id prefix, e.g. 'table7' or 'table1-medium'. */
export function paperRowsMatching(prefix: string): PaperRow[] {
  const rows = PAPER_ROWS.filter((r) => r.id.startsWith(prefix));
  if (!rows.length) throw new Error(`no paper rows match '${prefix}'; ids: ${PAPER_ROWS.map((r) => r.id).join(', ')}`);
  return rows;
}

function oursName(results: EvalResults, opts: ReportOptions): string {
  return opts.ours ?? String(results.config.model ?? 'ours');
}

/** The harness version that produced `results` (results written before the option existed were v0.4-style). */
export function harnessOf(results: EvalResults): string {
  return String(results.config?.harness_version ?? '0.4');
}

/** The name a metric has in `results`: harness 0.3 calls LAMBADA's perplexity "ppl". */
export function metricName(results: EvalResults, task: string, metric: string): string {
  const r = results.results[task];
  return metric === 'perplexity' && r && !(`perplexity,none` in r) && `ppl,none` in r ? 'ppl' : metric;
}

function ourScore(results: EvalResults, task: string, metricIn: string): { value: number; stderr?: number } | undefined {
  const r = results.results[task];
  const metric = metricName(results, task, metricIn);
  const v = r?.[`${metric},none`];
  if (typeof v !== 'number') return undefined;
  const se = r[`${metric}_stderr,none`];
  return { value: v, stderr: typeof se === 'number' ? se : undefined };
}

/**
 * The paper's table layout: one row per model (ours, our ± stderr, then each paper row), one column per paper metric
 * we evaluated (accuracies in percent), and "Avg (acc)": the mean of those accuracy columns, for a paper row only when
 * it has all of them (so the average is over the same tasks as ours). Missing numbers are '–'.
 */
export function comparisonRows(results: EvalResults, opts: ReportOptions = {}): Array<Record<string, string | number>> {
  const paper = opts.paperRows ?? PAPER_ROWS;
  const metrics = PAPER_METRICS.filter((pm) => ourScore(results, pm.task, pm.metric));
  if (!metrics.length) return [];
  const accs = metrics.filter((m) => m.percent);
  const name = oursName(results, opts);
  const row = (model: string, source: string, get: (m: PaperMetric) => number | undefined): Record<string, string | number> => {
    const r: Record<string, string | number> = { model, source };
    for (const m of metrics) r[m.label] = get(m) ?? '–';
    const vals = accs.map(get);
    if (accs.length > 1) r['Avg (acc)'] = vals.every((v) => v !== undefined) ? (vals as number[]).reduce((a, b) => a + b, 0) / vals.length : '–';
    return r;
  };
  const scale = (m: PaperMetric) => (m.percent ? 100 : 1);
  const rows = [
    row(name, `ours, n = ${[...new Set(metrics.map((m) => results['n-samples'][m.task]?.effective))].join('/')}`, (m) => (ourScore(results, m.task, m.metric) as { value: number }).value * scale(m)),
    row(`${name} ±`, 'stderr', (m) => {
      const se = ourScore(results, m.task, m.metric)?.stderr;
      return se === undefined ? undefined : se * scale(m);
    }),
  ];
  if ('Avg (acc)' in rows[1]) rows[1]['Avg (acc)'] = '–';
  for (const pr of paper) {
    if (metrics.every((m) => pr.scores[`${m.task}/${m.metric}`] === undefined)) continue;
    rows.push(row(pr.label, `paper ${pr.table}`, (m) => pr.scores[`${m.task}/${m.metric}`]?.value));
  }
  return rows;
}

function bars(results: EvalResults, opts: ReportOptions, percent: boolean): Figure | undefined {
  const paper = opts.paperRows ?? PAPER_ROWS;
  const metrics = PAPER_METRICS.filter((pm) => pm.percent === percent && ourScore(results, pm.task, pm.metric));
  if (!metrics.length) return undefined;
  const x = metrics.map((m) => m.label);
  const k = percent ? 100 : 1;
  const ours = metrics.map((m) => ourScore(results, m.task, m.metric) as { value: number; stderr?: number });
  const data: Array<Record<string, unknown>> = [
    {
      type: 'bar', name: oursName(results, opts), x, y: ours.map((s) => s.value * k),
      error_y: { type: 'data', array: ours.map((s) => (s.stderr ?? 0) * k), visible: percent },
    },
  ];
  for (const pr of paper) {
    const sc = metrics.map((m) => pr.scores[`${m.task}/${m.metric}`]);
    if (sc.every((s) => s === undefined)) continue;
    data.push({
      type: 'bar', name: `${pr.table}: ${pr.label}`, x, y: sc.map((s) => s?.value ?? null),
      error_y: { type: 'data', array: sc.map((s) => s?.stderr ?? 0), visible: sc.some((s) => s?.stderr !== undefined) },
    });
  }
  return {
    data,
    layout: {
      title: { text: `${percent ? 'Accuracy (%)' : 'Perplexity (lower is better)'}, ours (harness ${harnessOf(results)}) vs the paper` },
      barmode: 'group',
      yaxis: { title: { text: percent ? 'accuracy (%)' : 'perplexity' }, type: percent ? 'linear' : 'log' },
      legend: { orientation: 'h', y: -0.2 },
      width: 1000,
      height: 520,
      annotations: [{ text: `Paper: ${PAPER_SOURCE}`, showarrow: false, xref: 'paper', yref: 'paper', x: 0, y: 1.06, font: { size: 10 } }],
    },
  };
}

/** Bar charts of ours vs the paper: accuracies (percent, ± stderr) and, if evaluated, perplexities. */
export function comparisonFigures(results: EvalResults, opts: ReportOptions = {}): Figure[] {
  return [bars(results, opts, true), bars(results, opts, false)].filter((f): f is Figure => f !== undefined);
}

/** Shows the table and the charts (HTML in a notebook, text on the command line). */
export function showEvalReport(results: EvalResults, opts: ReportOptions = {}): void {
  const rows = comparisonRows(results, opts);
  if (!rows.length) {
    showMarkdown('No task the paper reports was evaluated.');
    return;
  }
  const shots = Number(results.config?.num_fewshot ?? 0);
  showTable(tableFromRows(rows), {
    title: `${shots ? `${shots}-shot` : 'Zero-shot'} results (lm-evaluation-harness ${harnessOf(results)} rules) vs the paper (${PAPER_SOURCE}; harness 0.3 era)`,
    digits: 2,
  });
  for (const f of comparisonFigures(results, opts)) showFigure(f);
}

/** Saves the charts as HTML (and PNG where Chromium exists) under outDir: comparison-acc / comparison-ppl. */
export function saveEvalReport(outDir: string, results: EvalResults, opts: ReportOptions & { png?: boolean } = {}): SavedFigure[] {
  return comparisonFigures(results, opts).map((f) => {
    const name = (f.layout?.yaxis as { type?: string }).type === 'log' ? 'comparison-ppl' : 'comparison-acc';
    return saveFigure(f, path.join(outDir, name), { png: opts.png });
  });
}
