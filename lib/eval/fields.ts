// Row field checks shared by the task specs: each says exactly what is wrong with a bad row (RowError).
import type { Row } from './tasks';
import { quote } from '../util/errors';

/** A row that cannot be scored: missing field, wrong type, answer out of range. */
export class RowError extends Error {}

export function field(row: Row, key: string): unknown {
  if (!(key in row) || row[key] === undefined || row[key] === null) throw new RowError(`missing field '${key}'`);
  return row[key];
}

export function str(row: Row, key: string): string {
  const v = field(row, key);
  if (typeof v !== 'string') throw new RowError(`field '${key}' must be a string, got ${quote(v)}`);
  return v;
}

export function strList(v: unknown, key: string): string[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string')) {
    throw new RowError(`field '${key}' must be a non-empty list of strings, got ${quote(v)}`);
  }
  return v as string[];
}

/** An answer index: an integer (or a string of digits, as int() accepts) in [0, n). */
export function index(v: unknown, n: number, key: string): number {
  const k = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(k) || k < 0 || k >= n) {
    throw new RowError(`'${key}' is ${quote(typeof v === 'bigint' ? Number(v) : v)}; expected an integer in [0, ${n})`);
  }
  return k;
}

