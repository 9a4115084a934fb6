// Notebook 07's comparison side: our downstream results beside the paper's Table 1 / Table 7 (tables, grouped bar
// figures and a computed verdict), and the paper's numbers alone. Only benchmark-file results are accepted here:
// format-fixture results are refused (assertBenchmark). Running the evaluations is ./downstream.ts.
import { Figure } from '../viz/plotly';
import { EvalResults } from '../eval/runner';
import { PAPER_AVERAGES, PAPER_METRICS, PAPER_ROWS, PaperMetric, PaperRow } from '../eval/paper';
import { metricName } from '../eval/report';
import { ModelEval, ModelRole, TABLE1_TASKS, assertBenchmark } from './downstream';

// ---- ours beside the paper -------------------------------------------------------------------------------------

function score(r: EvalResults, m: PaperMetric): { value: number; stderr?: number } | undefined {
  const x = r.results[m.task];
  const name = metricName(r, m.task, m.metric); // harness 0.3 calls LAMBADA's perplexity "ppl"
  const v = x?.[`${name},none`];
  if (typeof v !== 'number') return undefined;
  const se = x[`${name}_stderr,none`];
  const k = m.percent ? 100 : 1;
  return { value: v * k, stderr: typeof se === 'number' ? se * k : undefined };
}

function fmt(s: { value: number; stderr?: number } | undefined): string {
  if (!s) return '–';
  const v = Math.abs(s.value) >= 1e4 ? s.value.toExponential(2) : s.value.toFixed(2);
  return s.stderr !== undefined ? `${v} ± ${s.stderr.toFixed(2)}` : v;
}

/** The paper metrics both we and at least one of `paperRows` report, in the paper's column order. */
function sharedMetrics(evals: ModelEval[]): PaperMetric[] {
  return PAPER_METRICS.filter((m) => evals.some((e) => e.real && score(e.real, m)));
}

function avgAcc(get: (m: PaperMetric) => { value: number; stderr?: number } | undefined, accs: PaperMetric[]): { value: number; stderr?: number } | undefined {
  const xs = accs.map(get);
  if (!accs.length || xs.some((x) => x === undefined)) return undefined;
  const vals = xs as Array<{ value: number; stderr?: number }>;
  const value = vals.reduce((a, x) => a + x.value, 0) / vals.length;
  // The mean of independent task means: sqrt(sum se^2) / n.
  const stderr = vals.every((x) => x.stderr !== undefined) ? Math.sqrt(vals.reduce((a, x) => a + (x.stderr as number) ** 2, 0)) / vals.length : undefined;
  return { value, stderr };
}

/** One row per model (ours with ± stderr, then the paper's rows); accuracies in percent, Avg over the same tasks. */
export function downstreamTableRows(evals: ModelEval[], paperRows: readonly PaperRow[]): Array<Record<string, string>> {
  for (const e of evals) if (e.real) assertBenchmark(e.real);
  const metrics = sharedMetrics(evals);
  const accs = metrics.filter((m) => m.percent);
  const t1 = accs.filter((m) => TABLE1_TASKS.includes(m.task) && (m.task !== 'hellaswag' || m.metric === 'acc_norm'));
  const rows: Array<Record<string, string>> = [];
  const add = (model: string, source: string, get: (m: PaperMetric) => { value: number; stderr?: number } | undefined, ours = true) => {
    const row: Record<string, string> = { model, source };
    for (const m of metrics) row[m.label] = fmt(get(m));
    // The paper prints no stderr for averages: none is derived for its rows.
    const a = avgAcc(get, accs);
    if (accs.length > 1) row['Avg (acc)'] = fmt(a && !ours ? { value: a.value } : a);
    if (t1.length === TABLE1_TASKS.length && accs.length > t1.length) {
      const b = avgAcc(get, t1);
      row['Avg (Table 1 tasks)'] = fmt(b && !ours ? { value: b.value } : b);
    }
    rows.push(row);
  };
  for (const e of evals) {
    const r = e.real;
    if (!r) continue;
    const n = [...new Set(metrics.map((m) => r['n-samples'][m.task]?.effective).filter((x) => x !== undefined))].join('/');
    add(e.model.label, `ours, n = ${n}`, (m) => score(r, m));
  }
  for (const p of paperRows) {
    if (metrics.every((m) => p.scores[`${m.task}/${m.metric}`] === undefined)) continue;
    add(p.label, `paper ${p.table}`, (m) => p.scores[`${m.task}/${m.metric}`], false);
  }
  return rows;
}

// One colour per role (full depth / Inheritune / random at half depth): ours dark and solid, the paper's light.
const OUR_COLORS: Record<ModelRole, string> = { reference: '#1f77b4', inheritune: '#d62728', random: '#7f7f7f' };
const PAPER_COLORS: Record<ModelRole, string> = { reference: '#aec7e8', inheritune: '#ff9896', random: '#c7c7c7' };

/** The role of a paper row: Ours, or rand init at its family's full depth (reference) or reduced depth (random). */
function paperRole(r: PaperRow): ModelRole {
  if (r.recipe === 'Ours') return 'inheritune';
  const family = r.label.split(',')[0];
  const full = Math.max(...PAPER_ROWS.filter((x) => x.label.split(',')[0] === family).map((x) => x.layers));
  return r.layers === full ? 'reference' : 'random';
}

function barFigure(title: string, metrics: PaperMetric[], percent: boolean, traces: Array<{ name: string; color: string; pattern?: string; get: (m: PaperMetric) => { value: number; stderr?: number } | undefined }>): Figure {
  const x = metrics.map((m) => m.label);
  return {
    data: traces.map((t) => {
      const s = metrics.map(t.get);
      return {
        type: 'bar', name: t.name, x, y: s.map((v) => v?.value ?? null),
        marker: { color: t.color, ...(t.pattern ? { pattern: { shape: t.pattern, bgcolor: t.color, fgcolor: '#ffffff', size: 6, solidity: 0.25 } } : {}) },
        error_y: { type: 'data', array: s.map((v) => v?.stderr ?? 0), visible: s.some((v) => v?.stderr !== undefined) },
      };
    }),
    layout: {
      title: { text: title }, barmode: 'group', width: 1000, height: 520, legend: { orientation: 'h', y: -0.2 },
      yaxis: { title: { text: percent ? 'accuracy (%)' : 'perplexity (lower is better)' }, type: percent ? 'linear' : 'log' },
    },
  };
}

/** Grouped bars of ours (± stderr) beside the paper's rows: accuracies, then perplexities if evaluated. */
export function downstreamFigures(evals: ModelEval[], paperRows: readonly PaperRow[]): Figure[] {
  for (const e of evals) if (e.real) assertBenchmark(e.real);
  const figs: Figure[] = [];
  for (const percent of [true, false]) {
    const metrics = sharedMetrics(evals).filter((m) => m.percent === percent);
    if (!metrics.length) continue;
    const traces = [
      ...evals.filter((e) => e.real).map((e) => ({ name: `ours: ${e.model.label}`, color: OUR_COLORS[e.model.role], get: (m: PaperMetric) => score(e.real as EvalResults, m) })),
      ...paperRows.filter((p) => metrics.some((m) => p.scores[`${m.task}/${m.metric}`])).map((p) => ({
        name: `paper ${p.table}: ${p.label}`, color: PAPER_COLORS[paperRole(p)], pattern: p.table === 'Table 7' ? '/' : 'x', get: (m: PaperMetric) => p.scores[`${m.task}/${m.metric}`],
      })),
    ];
    figs.push(barFigure(percent ? 'Zero-shot accuracy (%): ours (solid) vs the paper (hatched)' : 'Perplexity: ours (solid) vs the paper (hatched)', metrics, percent, traces));
  }
  return figs;
}

/** A computed statement of what our numbers show next to the paper's claim (never written in advance). */
export function downstreamVerdict(evals: ModelEval[]): string[] {
  const byRole = (r: ModelRole) => evals.find((e) => e.model.role === r && e.real);
  const accs = sharedMetrics(evals).filter((m) => m.percent);
  const avg = (e: ModelEval | undefined) => (e?.real ? avgAcc((m) => score(e.real as EvalResults, m), accs) : undefined);
  const [ref, inh, rnd] = (['reference', 'inheritune', 'random'] as const).map((r) => ({ e: byRole(r), a: avg(byRole(r)) }));
  if (!inh.a || accs.length === 0) return ['Not enough benchmark tasks were evaluated for a comparison.'];
  const cmp = (x: typeof ref) => {
    if (!x.a || !x.e) return undefined;
    const d = (inh.a as { value: number }).value - x.a.value;
    const se = inh.a?.stderr !== undefined && x.a.stderr !== undefined ? Math.sqrt(inh.a.stderr ** 2 + x.a.stderr ** 2) : undefined;
    const clear = se !== undefined && Math.abs(d) > 2 * se;
    return `Inheritune vs ${x.e.model.label}: ${d >= 0 ? '+' : ''}${d.toFixed(2)} points of average accuracy over ${accs.map((m) => m.label).join(', ')}` +
      (se !== undefined ? ` (± ${se.toFixed(2)}: ${clear ? 'more than 2 stderr, a clear difference' : 'within 2 stderr, not distinguishable at this n'})` : '') + '.';
  };
  const p = PAPER_AVERAGES;
  return [
    `Averages: ${[ref, inh, rnd].filter((x) => x.a && x.e).map((x) => `${x.e?.model.label} ${fmt(x.a)}`).join('; ')}.`,
    cmp(ref), cmp(rnd),
    `Paper: Inheritune at half depth matches or beats the full model (Table 7, XL: ${p['table7-xl-ours-24L'].acc} vs ${p['table7-xl-rand-48L'].acc}; ` +
      `Table 1, Medium: ${p['table1-medium-ours-16L'].acc} vs ${p['table1-medium-rand-24L'].acc}) and beats random init at the same depth ` +
      `(Table 1, Medium 16L: ${p['table1-medium-ours-16L'].acc} vs ${p['table1-medium-rand-16L'].acc}).`,
  ].filter((x): x is string => x !== undefined);
}

/** Average accuracy (percent, ± stderr) per model role over the benchmark tasks every model shares (for the report). */
export function downstreamAverages(evals: ModelEval[]): { tasks: string[]; byRole: Partial<Record<ModelRole, { value: number; stderr?: number }>> } {
  const accs = sharedMetrics(evals).filter((m) => m.percent);
  const byRole: Partial<Record<ModelRole, { value: number; stderr?: number }>> = {};
  for (const e of evals) {
    const a = e.real ? avgAcc((m) => score(e.real as EvalResults, m), accs) : undefined;
    if (a && byRole[e.model.role] === undefined) byRole[e.model.role] = a;
  }
  return { tasks: accs.map((m) => m.label), byRole };
}

// ---- the paper's numbers alone -----------------------------------------------------------------------------------

/** The paper's table as printed: one row per model, the columns it reports, its printed averages. */
export function paperTableRows(table: 'Table 1' | 'Table 7'): Array<Record<string, string>> {
  return PAPER_ROWS.filter((r) => r.table === table).map((r) => {
    const row: Record<string, string> = { model: r.label, data: r.data };
    for (const m of PAPER_METRICS) {
      const s = r.scores[`${m.task}/${m.metric}`];
      if (s) row[m.label] = fmt(s);
    }
    const a = PAPER_AVERAGES[r.id];
    row['Avg (acc)'] = a.acc.toFixed(2);
    if (a.ppl !== undefined) row['Avg ppl'] = a.ppl.toFixed(2);
    return row;
  });
}

/** Grouped bars of one paper table: accuracies (± stderr where printed), then perplexities for Table 7. */
export function paperFigures(table: 'Table 1' | 'Table 7'): Figure[] {
  const rows = PAPER_ROWS.filter((r) => r.table === table);
  const figs: Figure[] = [];
  for (const percent of [true, false]) {
    const metrics = PAPER_METRICS.filter((m) => m.percent === percent && rows.some((r) => r.scores[`${m.task}/${m.metric}`]));
    if (!metrics.length) continue;
    // Table 1: Medium solid, Large† hatched.
    const traces = rows.map((r) => ({
      name: r.label, color: OUR_COLORS[paperRole(r)], pattern: r.label.startsWith('GPT-2 Large') ? '/' : undefined, get: (m: PaperMetric) => r.scores[`${m.task}/${m.metric}`],
    }));
    const what = table === 'Table 1' ? 'FineWeb-Edu models (HellaSwag: acc_norm)' : 'GPT-2 XL on OpenWebText, full 48L vs Inheritune 24L';
    figs.push(barFigure(`Paper ${table}: ${what}${percent ? '' : ', perplexity'}`, metrics, percent, traces));
  }
  return figs;
}
