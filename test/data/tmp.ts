// Temporary directories for the data tests, removed when the test file's process exits.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

export function tmpDir(label = 'data'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `inheritune-${label}-`));
  made.push(d);
  return d;
}

/** Entries of a directory that look like leftovers of an interrupted preparation. */
export function leftovers(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.includes('.tmp-') || n.includes('.old-')) : [];
}

/** 0, 1, 2, ... as uint16 token ids (wrapping below the GPT-2 vocabulary). */
export function ramp(n: number, start = 0): Uint16Array {
  const a = new Uint16Array(n);
  for (let i = 0; i < n; i++) a[i] = (start + i) % 50000;
  return a;
}
