// The report's content, before any rendering: for every claim of the paper and every regime, the rows a notebook
// recorded, or "not run" where no record exists. Built from the claim records alone (./claims.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Scale } from '../scale';
import type { Figure } from '../viz/plotly';
import { CLAIMS, ClaimRecord, ClaimRow, DEFAULT_REGIME, VerdictStatus, notebookSourceHash } from './claims';

export type Claim = (typeof CLAIMS)[number];

/** What one regime has for one claim: the record of the claim's notebook (absent: not run) and its rows. */
export interface RegimeEntry {
  regime: string;
  record?: ClaimRecord;
  rows: ClaimRow[];
  /** The combined verdict over the rows; undefined when not run. */
  status?: VerdictStatus;
  /** The executed notebook, relative to the report's folder, when it exists. */
  executedLink?: string;
  /** Set when the committed notebook changed since the record was written. */
  staleNote?: string;
  figures: Array<{ domId: string; figure: Figure }>;
}

export interface ClaimSection {
  claim: Claim;
  /** Row k of every regime compares the same quantity (row position, as the notebook records them). */
  rowCount: number;
  entries: RegimeEntry[];
}

export interface ReportModel {
  scale: Scale;
  regimes: string[];
  sections: ClaimSection[];
}

/** Combined verdict of a claim's rows: all reproduce → reproduces; none reproduces but some fail → does not. */
export function combineStatus(rows: readonly ClaimRow[]): VerdictStatus | undefined {
  if (!rows.length) return undefined;
  const s = rows.map((r) => r.verdict.status).filter((x) => x !== 'not comparable');
  if (!s.length) return 'not comparable';
  if (s.every((x) => x === 'reproduces')) return 'reproduces';
  if (s.every((x) => x === 'does not reproduce')) return 'does not reproduce';
  return 'partly';
}

/** Regimes found in the records (those bound to data), DEFAULT_REGIME first; [DEFAULT_REGIME] when there is none. */
export function regimesOf(records: readonly ClaimRecord[]): string[] {
  const found = [...new Set(records.map((r) => r.regime).filter((r): r is string => r !== null))].sort();
  if (!found.length) return [DEFAULT_REGIME];
  return found.includes(DEFAULT_REGIME) ? [DEFAULT_REGIME, ...found.filter((r) => r !== DEFAULT_REGIME)] : found;
}

const domSafe = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');

/**
 * The report's model. `regimes` (default: those of the records) are the columns; a record with regime null (no data
 * used) fills every column. `reportDir` is where the report is written (links are relative to it).
 */
export function assembleReport(records: readonly ClaimRecord[], o: { scale: Scale; root: string; reportDir: string; regimes?: string[] }): ReportModel {
  const regimes = o.regimes && o.regimes.length ? o.regimes : regimesOf(records);
  const hashes = new Map<string, string | undefined>();
  const hashOf = (nb: string) => {
    if (!hashes.has(nb)) hashes.set(nb, notebookSourceHash(nb, o.root));
    return hashes.get(nb);
  };
  const sections = CLAIMS.map((claim): ClaimSection => {
    const entries = regimes.map((regime): RegimeEntry => {
      const record = records.find((r) => r.notebook === claim.notebook && r.regime === regime) ??
        records.find((r) => r.notebook === claim.notebook && r.regime === null);
      const rows = record ? record.claims.filter((c) => c.claim === claim.id) : [];
      if (!record || !rows.length) return { regime, rows: [], figures: [] };
      const figIds = [...new Set(rows.map((r) => r.figure).filter((f): f is string => !!f))];
      const figures = figIds.map((id) => ({ domId: `fig-${domSafe(claim.id)}-${domSafe(record.regime ?? 'no-data')}-${domSafe(id)}`, figure: record.figures[id] }));
      const executed = record.executedHtml ? path.join(o.root, record.executedHtml) : undefined;
      const current = hashOf(record.notebook);
      return {
        regime, record, rows, status: combineStatus(rows), figures,
        executedLink: executed && fs.existsSync(executed) ? path.relative(o.reportDir, executed).split(path.sep).join('/') : undefined,
        staleNote: record.notebookSha256 && current && record.notebookSha256 !== current
          ? `notebooks/${record.notebook}.ipynb changed after this record (${record.recordedAt}): rerun it` : undefined,
      };
    });
    return { claim, rowCount: Math.max(0, ...entries.map((e) => e.rows.length)), entries };
  });
  return { scale: o.scale, regimes, sections };
}

/** "v ± s kind (n seeds)" (kind: std, margin or stderr, when the record names it) or the row's text; never blank. */
export function oursText(row: ClaimRow): string {
  const o = row.ours;
  if (o.value === undefined) return o.text ?? '–';
  const v = fmtNum(o.value);
  const spread = o.spread !== undefined ? ` ± ${fmtNum(o.spread)}${o.spreadKind ? ` ${o.spreadKind}` : ''}` : '';
  const seeds = o.seeds !== undefined && o.seeds > 1 ? ` (${o.seeds} seeds)` : '';
  return `${v}${spread}${seeds}${o.text ? ` — ${o.text}` : ''}`;
}

export function fmtNum(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(3);
}

/** Distinct quantity texts of row k across regimes, joined. */
export function quantityText(section: ClaimSection, k: number): string {
  return [...new Set(section.entries.map((e) => e.rows[k]?.quantity).filter((q): q is string => !!q))].join(' / ') || '–';
}

/** The paper's text of row k (from the first regime that has it). */
export function paperText(section: ClaimSection, k: number): string {
  return section.entries.find((e) => e.rows[k])?.rows[k].paper.text ?? '–';
}
