// Text sources for preparation: parquet with a `text` column (FineWeb / FineWeb-Edu schema), JSONL / JSON with a
// `text` field, and plain .txt (one document per file). Each yields documents {name, text} one at a time; parquet is
// read one row group at a time through a file-backed AsyncBuffer, so a 2 GB parquet file is never held in memory.
import { oneLine } from '../util/errors';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { AsyncBuffer, FileMetaData } from 'hyparquet';

export interface TextDocument {
  /** Stable name used for the train/val hash split (parquet `id` column, JSON `id`, or file:row). */
  name: string;
  text: string;
}

export interface TextReadOptions {
  /** Field / column holding the text (default 'text'). */
  textField?: string;
  /** FineWeb-Edu: keep rows with int_score >= this (int_score is INT64, read as BigInt). */
  minIntScore?: number;
}

export const TEXT_EXTENSIONS = ['.parquet', '.jsonl', '.json', '.txt'];

export function isTextFile(file: string): boolean {
  return TEXT_EXTENSIONS.includes(path.extname(file).toLowerCase());
}

/** Lists the text files under a path (a file, or a directory scanned non-recursively), sorted by name. */
export function listTextFiles(p: string): string[] {
  if (!fs.existsSync(p)) throw new Error(`${p}: no such file or directory`);
  if (fs.statSync(p).isFile()) {
    if (!isTextFile(p)) throw new Error(`${p}: unknown text file type; expected ${TEXT_EXTENSIONS.join(', ')}`);
    return [p];
  }
  const files = fs.readdirSync(p).filter((n) => isTextFile(n) && !n.includes('.tmp-')).sort().map((n) => path.join(p, n));
  if (files.length === 0) throw new Error(`${p}: no text files (${TEXT_EXTENSIONS.join(', ')})`);
  return files;
}

/** Documents of several text files, in order. */
export async function* readTextDocuments(files: string[], opts: TextReadOptions = {}): AsyncGenerator<TextDocument> {
  for (const f of files) {
    const ext = path.extname(f).toLowerCase();
    if (ext === '.parquet') yield* readParquetDocuments(f, opts);
    else if (ext === '.jsonl' || ext === '.json') yield* readJsonDocuments(f, opts);
    else if (ext === '.txt') {
      if (opts.minIntScore !== undefined) throw new Error(`${f}: --min-int-score needs an int_score column; .txt files have none`);
      yield { name: path.basename(f), text: fs.readFileSync(f, 'utf8') };
    } else throw new Error(`${f}: unknown text file type '${ext}'; expected ${TEXT_EXTENSIONS.join(', ')}`);
  }
}

function fileAsyncBuffer(file: string, fd: number, size: number): AsyncBuffer {
  return {
    byteLength: size,
    slice(start: number, end?: number): ArrayBuffer {
      const e = end === undefined ? size : Math.min(end, size);
      const out = new Uint8Array(Math.max(0, e - start));
      let done = 0;
      while (done < out.length) {
        const n = fs.readSync(fd, out, done, out.length - done, start + done);
        if (n <= 0) throw new Error(`${file}: unexpected end of file at byte ${start + done}`);
        done += n;
      }
      return out.buffer;
    },
  };
}

/** Top-level column names of a parquet file. */
function columnNames(meta: FileMetaData): string[] {
  const root = meta.schema[0];
  const names: string[] = [];
  // Walk the flattened schema: the root's direct children are the columns (skip nested grandchildren).
  let i = 1;
  const skip = (): void => {
    const n = meta.schema[i].num_children ?? 0;
    i++;
    for (let k = 0; k < n; k++) skip();
  };
  for (let c = 0; c < (root.num_children ?? 0) && i < meta.schema.length; c++) {
    names.push(meta.schema[i].name);
    skip();
  }
  return names;
}

/** Rows of a parquet file, one row group at a time; only the text (and id / int_score when used) columns are read. */
export async function* readParquetDocuments(file: string, opts: TextReadOptions = {}): AsyncGenerator<TextDocument> {
  // hyparquet and its codecs are ESM-only; Node >= 20.19 loads them through require(esm). Loaded lazily so that
  // importing lib/data does not pull them in for users of .bin data.
  const hp = require('hyparquet') as typeof import('hyparquet');
  const { compressors } = require('hyparquet-compressors') as typeof import('hyparquet-compressors');
  const field = opts.textField ?? 'text';
  const size = fs.statSync(file).size;
  if (size === 0) throw new Error(`${file}: empty file (0 bytes); expected a parquet file with a '${field}' column`);
  const fd = fs.openSync(file, 'r');
  try {
    const buf = fileAsyncBuffer(file, fd, size);
    let meta: FileMetaData;
    try {
      meta = await hp.parquetMetadataAsync(buf);
    } catch (e) {
      throw new Error(`${file}: not a readable parquet file (${oneLine((e as Error).message)})`);
    }
    const cols = columnNames(meta);
    if (!cols.includes(field)) throw new Error(`${file}: parquet file has no '${field}' column (columns: ${cols.join(', ')})`);
    const hasId = cols.includes('id');
    if (opts.minIntScore !== undefined && !cols.includes('int_score')) {
      throw new Error(`${file}: --min-int-score given but the parquet file has no 'int_score' column (columns: ${cols.join(', ')})`);
    }
    const want = [field, ...(hasId ? ['id'] : []), ...(opts.minIntScore !== undefined ? ['int_score'] : [])];
    const base = path.basename(file);
    let rowStart = 0;
    for (const rg of meta.row_groups) {
      const rowEnd = rowStart + Number(rg.num_rows);
      const rows = await hp.parquetReadObjects({ file: buf, metadata: meta, columns: want, rowStart, rowEnd, compressors });
      for (let r = 0; r < rows.length; r++) {
        const row = rows[r];
        if (opts.minIntScore !== undefined && !(Number(row.int_score) >= opts.minIntScore)) continue;
        const text = row[field];
        if (typeof text !== 'string') continue; // null text: nothing to tokenize
        const name = hasId && row.id != null ? String(row.id) : `${base}:${rowStart + r}`;
        yield { name, text };
      }
      rowStart = rowEnd;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** JSONL (one object per line) or a JSON array of objects; each object's text field is one document. */
export async function* readJsonDocuments(file: string, opts: TextReadOptions = {}): AsyncGenerator<TextDocument> {
  const field = opts.textField ?? 'text';
  const base = path.basename(file);
  const size = fs.statSync(file).size;
  if (size === 0) throw new Error(`${file}: empty file (0 bytes); expected JSON lines with a '${field}' field`);
  const fromObject = (obj: unknown, where: string): TextDocument | null => {
    if (obj === null || typeof obj !== 'object') throw new Error(`${where}: expected a JSON object with a '${field}' field`);
    const o = obj as Record<string, unknown>;
    const text = o[field];
    if (typeof text !== 'string') throw new Error(`${where}: no string '${field}' field (keys: ${Object.keys(o).join(', ')})`);
    if (opts.minIntScore !== undefined) {
      if (o.int_score === undefined) throw new Error(`${where}: --min-int-score given but the object has no 'int_score'`);
      if (!(Number(o.int_score) >= opts.minIntScore)) return null;
    }
    return { name: o.id != null ? String(o.id) : where, text };
  };
  if (path.extname(file).toLowerCase() === '.json' && firstNonSpace(file) === '[') {
    const arr = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown[];
    for (let i = 0; i < arr.length; i++) {
      const d = fromObject(arr[i], `${base}:${i}`);
      if (d) yield d;
    }
    return;
  }
  const rl = readline.createInterface({ input: fs.createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const raw of rl) {
    line++;
    if (raw.trim().length === 0) continue;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (e) {
      throw new Error(`${file}:${line}: invalid JSON (${oneLine((e as Error).message)})`);
    }
    const d = fromObject(obj, `${base}:${line}`);
    if (d) yield d;
  }
}

function firstNonSpace(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').trimStart()[0] ?? '';
  } finally {
    fs.closeSync(fd);
  }
}
