// The table lm-evaluation-harness prints after a run (lm_eval/utils.py make_table at @4e7e0d4): one row per metric,
// columns Tasks | Version | Filter | n-shot | Metric | ↑/↓ | Value | ± | Stderr, metrics of a task sorted by their
// "metric,filter" key, stderr rows skipped, values as "%.4f" and a missing stderr as "   N/A"; the task name and
// version only on a task's first row. Rendered as a Markdown table the way pytablewriter lays it out (numbers
// right-aligned, text left-aligned, headers centred). Headed by the harness version that produced the numbers.
import type { EvalResults } from './runner';

const HIGHER_IS_BETTER_SYMBOLS: Record<string, string> = { true: '↑', false: '↓' };

/** The make_table rows of a results object. */
export function tableRows(results: EvalResults): string[][] {
  const rows: string[][] = [];
  for (const task of Object.keys(results.results)) {
    const dic = { ...results.results[task] };
    let name = String(dic.alias ?? task);
    delete dic.alias;
    let version = String(results.versions[task] ?? '    N/A');
    const n = String(results['n-shot']?.[task] ?? ' ');
    const hib = results.higher_is_better?.[task] ?? {};
    for (const key of Object.keys(dic).sort()) {
      const [m, f] = [key.slice(0, key.indexOf(',')), key.slice(key.indexOf(',') + 1)];
      if (m.endsWith('_stderr')) continue;
      const v = dic[key];
      const value = typeof v === 'number' ? v.toFixed(4) : String(v);
      const seKey = `${m}_stderr,${f}`;
      const arrow = m in hib ? HIGHER_IS_BETTER_SYMBOLS[String(hib[m])] : '';
      if (seKey in dic) {
        const se = dic[seKey];
        rows.push([name, version, f, n, m, arrow, value, '±', se === 'N/A' ? '   N/A' : typeof se === 'number' ? se.toFixed(4) : String(se)]);
      } else rows.push([name, version, f, n, m, arrow, value, '', '']);
      name = '';
      version = '';
    }
  }
  return rows;
}

const HEADERS = ['Tasks', 'Version', 'Filter', 'n-shot', 'Metric', '', 'Value', '', 'Stderr'];
const RIGHT = new Set([1, 3, 6, 8]); // numeric columns

/** make_table's Markdown, preceded by a line naming the harness version, shots and bootstrap iterations. */
export function makeTable(results: EvalResults): string {
  const rows = tableRows(results);
  const width = HEADERS.map((h, c) => Math.max(3, h.length, ...rows.map((r) => r[c].length)));
  const pad = (s: string, c: number) => (RIGHT.has(c) ? s.padStart(width[c]) : s.padEnd(width[c]));
  const centre = (s: string, c: number) => {
    const left = Math.floor((width[c] - s.length) / 2);
    return ' '.repeat(left) + s + ' '.repeat(width[c] - s.length - left);
  };
  const line = (cells: string[]) => `|${cells.join('|')}|`;
  const cfg = results.config;
  const head = `lm-evaluation-harness ${String(cfg.harness_version ?? '?')} rules, num_fewshot: ${String(cfg.num_fewshot ?? 0)}, ` +
    `limit: ${String(cfg.limit ?? 'None')}, bootstrap_iters: ${String(cfg.bootstrap_iters)}`;
  return [
    head,
    line(HEADERS.map(centre)),
    line(width.map((w, c) => (RIGHT.has(c) ? '-'.repeat(w - 1) + ':' : '-'.repeat(w)))),
    ...rows.map((r) => line(r.map(pad))),
  ].join('\n');
}
