// Tables in notebooks: arquero tables rendered as HTML, with a plain-text fallback on the command line.
import * as aq from 'arquero';
import { showHtml, escapeHtml } from '../notebook/display';

type ColumnTable = ReturnType<typeof aq.table>;

/** A table from row objects (e.g. paper numbers beside ours). */
export function tableFromRows<Row extends object>(rows: Row[]): ColumnTable {
  return aq.from(rows as Array<Record<string, unknown>>);
}

/** Renders a table: HTML in a notebook, aligned text elsewhere. Shows at most `limit` rows (default 50). */
export function showTable(dt: ColumnTable, opts: { title?: string; limit?: number; digits?: number } = {}): void {
  const limit = opts.limit ?? 50;
  const digits = opts.digits ?? 4;
  const format: Record<string, (v: unknown) => string> = {};
  for (const name of dt.columnNames()) {
    format[name] = (v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(digits) : String(v));
  }
  const title = opts.title ? `<p><b>${escapeHtml(opts.title)}</b></p>` : '';
  const more = dt.numRows() > limit ? `<p><i>${dt.numRows() - limit} more rows not shown</i></p>` : '';
  showHtml(title + dt.toHTML({ limit, format }) + more, tableText(dt, { limit, format, title: opts.title }));
}

function tableText(dt: ColumnTable, o: { limit: number; format: Record<string, (v: unknown) => string>; title?: string }): string {
  const cols = dt.columnNames();
  const rows = dt.objects({ limit: o.limit }) as Array<Record<string, unknown>>;
  const cells = [cols, ...rows.map((r) => cols.map((c) => o.format[c](r[c])))];
  const widths = cols.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const lines = cells.map((r) => r.map((v, i) => v.padStart(widths[i])).join('  '));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return (o.title ? `${o.title}\n` : '') + lines.join('\n');
}
