// SHA-256 records of checkpoint files. A `train` checkpoint's state.json lists the size and SHA-256 of every other
// file in its folder; every reader of such a folder (resume, eval, rank, --init-from) verifies them, so a flipped or
// truncated byte is refused before the weights are used.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { quote } from '../util/errors';

/** The file holding the records (written by lib/train/checkpoint). */
export const CHECKSUM_STATE_FILE = 'state.json';

export interface FileRecord {
  bytes: number;
  sha256: string;
}

/** Size and SHA-256 of a file, read in 8 MB pieces. */
export function sha256File(file: string): FileRecord {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
  const fd = fs.openSync(file, 'r');
  let bytes = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
      bytes += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return { bytes, sha256: h.digest('hex') };
}

/** Parses a JSON file, naming the file in the error (and what it should be). */
export function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new Error(`${file}: ${what} is not valid JSON (${quote((e as Error).message, 120)})`);
  }
}

/** Checks a `files` record of state.json: plain file names in the folder, byte counts and hex digests. */
export function checkFileRecords(files: unknown, label: string): Record<string, FileRecord> {
  if (typeof files !== 'object' || files === null || Array.isArray(files)) throw new Error(`${label}: 'files' must be an object of {bytes, sha256}, got ${quote(files)}`);
  for (const [name, r] of Object.entries(files as Record<string, unknown>)) {
    if (name !== path.basename(name) || name === '.' || name === '..' || name === '' || name === CHECKSUM_STATE_FILE) {
      throw new Error(`${label}: 'files' names ${quote(name)}, not a file of the checkpoint folder`);
    }
    const rec = r as Partial<FileRecord> | null;
    if (!rec || typeof rec !== 'object' || !Number.isSafeInteger(rec.bytes) || (rec.bytes as number) < 0 || typeof rec.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(rec.sha256)) {
      throw new Error(`${label}: the record of ${quote(name)} must be {bytes: integer >= 0, sha256: 64 hex digits}, got ${quote(r)}`);
    }
  }
  return files as Record<string, FileRecord>;
}

/** Verifies every recorded file (size, then SHA-256); throws naming the checkpoint and the file. */
export function verifyFileRecords(dir: string, files: Record<string, FileRecord>): void {
  for (const [f, want] of Object.entries(files)) {
    const p = path.join(dir, f);
    if (!fs.existsSync(p)) throw new Error(`checkpoint ${dir} is incomplete: ${f} is missing`);
    const got = sha256File(p);
    if (got.bytes !== want.bytes || got.sha256 !== want.sha256) {
      throw new Error(`checkpoint ${dir} is corrupt: ${f} has ${got.bytes} bytes / sha256 ${got.sha256.slice(0, 12)}…, ` +
        `${CHECKSUM_STATE_FILE} recorded ${want.bytes} bytes / ${want.sha256.slice(0, 12)}…`);
    }
  }
}

/**
 * When `dir` holds a state.json with file records (a `train` checkpoint), verifies them and returns true; returns
 * false for a folder without one (a Hugging Face download). A state.json that cannot be read is an error.
 */
export function verifyRecordedChecksums(dir: string): boolean {
  const file = path.join(dir, CHECKSUM_STATE_FILE);
  if (!fs.existsSync(file)) return false;
  const state = readJsonFile(file, 'the checkpoint state');
  if (typeof state !== 'object' || state === null || Array.isArray(state)) throw new Error(`${file}: expected a JSON object, got ${quote(state)}`);
  const files = (state as Record<string, unknown>).files;
  if (files === undefined) throw new Error(`${file}: records no file checksums ('files'); the checkpoint cannot be verified`);
  verifyFileRecords(dir, checkFileRecords(files, file));
  return true;
}
