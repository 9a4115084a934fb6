// Task data from the user's local files (nothing is downloaded; reference/data.md §2, §5): Hugging Face schema JSONL
// (what `load_dataset(...)[split].to_json(path)` writes), Hub parquet shards (read with hyparquet), or the raw
// originals of data.md §3c. Every row is validated by its task: a malformed one is reported with its file and line
// (or row) number and skipped, or refused in strict mode; never scored.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { quote, oneLine } from '../util/errors';
import { Row, RowError, TaskName, TaskSpec } from './tasks';
import { splitWikitextArticles } from './text';

export interface DocRecord {
  doc: Row;
  /** file:line (JSONL) or "file row n" (parquet, JSON arrays): where the doc came from. */
  where: string;
  /** The row's position in the split, counting malformed rows too: the harness's doc_id. */
  index: number;
}

export interface Malformed {
  where: string;
  message: string;
  index: number;
}

export interface LoadedTask {
  task: TaskName;
  split: string;
  files: string[];
  docs: DocRecord[];
  malformed: Malformed[];
  /** Rows in the split, valid or not (docs.length + malformed.length). */
  rows: number;
}

export interface LoadOptions {
  /** The folder searched for the task's files (see expectedLocations). */
  dataDir?: string;
  /** Use this file instead of searching (JSONL, JSON, parquet, or the raw original). */
  file?: string;
  /** Refuse the whole task if any row is malformed (default: skip and report). */
  strict?: boolean;
  /** Another split than the scored one (the few-shot examples' training split). */
  split?: string;
}

interface Layout {
  /** Folders under the data dir that may hold the task (the task name first). */
  dirs: string[];
  /** Raw original file names (data.md §3c). */
  raw: string[];
  /** Raw original file names of the training split (few-shot examples). */
  rawTrain?: string[];
  /** Sub-folders never searched (other languages / configs). */
  exclude?: string[];
  /** How to get the data with `datasets`, for the missing-file message. */
  export: string;
}

const LAYOUTS: Record<TaskName, Layout> = {
  arc_easy: { dirs: ['arc_easy', 'ARC-Easy', 'ai2_arc/ARC-Easy'], raw: ['ARC-Easy-Test.jsonl'], rawTrain: ['ARC-Easy-Train.jsonl'], export: "load_dataset('allenai/ai2_arc', 'ARC-Easy')['test']" },
  arc_challenge: {
    dirs: ['arc_challenge', 'ARC-Challenge', 'ai2_arc/ARC-Challenge'], raw: ['ARC-Challenge-Test.jsonl'], rawTrain: ['ARC-Challenge-Train.jsonl'],
    export: "load_dataset('allenai/ai2_arc', 'ARC-Challenge')['test']",
  },
  // The original release's plain-text lines are not mapped (how the Hub rows were cut from them is not pinned here).
  lambada_standard: { dirs: ['lambada_standard', 'cimec_lambada'], raw: [], export: "load_dataset('cimec/lambada')['test']" },
  piqa: { dirs: ['piqa'], raw: ['valid.jsonl (+ valid-labels.lst)'], rawTrain: ['train.jsonl (+ train-labels.lst)'], export: "load_dataset('baber/piqa')['validation']" },
  sciq: { dirs: ['sciq', 'SciQ dataset-2 3'], raw: ['test.json'], rawTrain: ['train.json'], export: "load_dataset('allenai/sciq')['test']" },
  hellaswag: { dirs: ['hellaswag'], raw: ['hellaswag_val.jsonl'], rawTrain: ['hellaswag_train.jsonl'], export: "load_dataset('Rowan/hellaswag')['validation']" },
  lambada_openai: {
    dirs: ['lambada_openai', 'lambada_openai/default', 'lambada'],
    raw: ['lambada_test.jsonl', 'lambada_test_en.jsonl'],
    exclude: ['de', 'es', 'fr', 'it'],
    export: "load_dataset('EleutherAI/lambada_openai', 'default')['test']",
  },
  winogrande: { dirs: ['winogrande', 'winogrande_xl'], raw: ['dev.jsonl'], rawTrain: ['train_xl.jsonl'], export: "load_dataset('allenai/winogrande', 'winogrande_xl')['validation']" },
  boolq: { dirs: ['boolq', 'BoolQ', 'super_glue/boolq'], raw: ['dev.jsonl', 'val.jsonl'], rawTrain: ['train.jsonl'], export: "load_dataset('aps/super_glue', 'boolq')['validation']" },
  wikitext: {
    dirs: ['wikitext', 'wikitext-2-raw-v1', 'wikitext-2-raw'],
    raw: ['wiki.test.raw'],
    exclude: ['wikitext-103-v1', 'wikitext-2-v1'],
    export: "load_dataset('EleutherAI/wikitext_document_level', 'wikitext-2-raw-v1')['test']",
  },
};

/** The paths searched for a task, in order, for messages and docs. */
export function expectedLocations(task: TaskSpec, dataDir: string, split = task.dataset.split): string[] {
  const L = LAYOUTS[task.name];
  const s = split;
  const base = s === task.dataset.split ? task.name : `${task.name}.${s}`;
  const raw = s === task.dataset.split ? L.raw : s === 'train' ? L.rawTrain ?? [] : [];
  return [
    path.join(dataDir, `${base}.jsonl`),
    path.join(dataDir, `${base}.parquet`),
    ...L.dirs.map((d) => path.join(dataDir, d, `${s}.jsonl | ${s}-*.parquet | ${s}.json`)),
    ...raw.map((r) => path.join(dataDir, L.dirs[0], r) + ' (raw original)'),
  ];
}

function missingMessage(task: TaskSpec, dataDir: string, split: string): string {
  const L = LAYOUTS[task.name];
  const d = task.dataset;
  return (
    `${task.name}: no ${split === d.split ? '' : `${split} split `}data found under ${dataDir}. Looked for:\n  ${expectedLocations(task, dataDir, split).join('\n  ')}\n` +
    `Expected the Hugging Face schema of ${d.path}${d.name ? ` (config ${d.name})` : ''}, split ${split}${split === d.split ? ` (${d.size} rows)` : ''}, one JSON object per line:\n` +
    `  ${task.schema}\n` +
    `For example (Python, with the datasets package): ${L.export.replace(`['${d.split}']`, `['${split}']`)}.to_json('${path.join(dataDir, split === d.split ? `${task.name}.jsonl` : `${task.name}.${split}.jsonl`)}')`
  );
}

function listFiles(dir: string, depth: number, exclude: string[]): string[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (depth > 0 && !exclude.includes(e.name)) out.push(...listFiles(p, depth - 1, exclude));
    } else out.push(p);
  }
  return out;
}

/** The files that hold a task's split under `dataDir` (all shards of the first format found), or undefined. */
export function findTaskFiles(task: TaskSpec, dataDir: string, split = task.dataset.split): string[] | undefined {
  const L = LAYOUTS[task.name];
  const base = split === task.dataset.split ? task.name : `${task.name}.${split}`;
  for (const ext of ['.jsonl', '.json', '.parquet']) {
    const f = path.join(dataDir, base + ext);
    if (fs.existsSync(f)) return [f];
  }
  const splitName = new RegExp(`^${split}([-_.][^/]*)?\\.(jsonl|json|parquet)$`);
  for (const d of L.dirs) {
    const files = listFiles(path.join(dataDir, d), 2, L.exclude ?? []).filter((f) => splitName.test(path.basename(f)));
    for (const ext of ['.jsonl', '.json', '.parquet']) {
      const group = files.filter((f) => f.endsWith(ext));
      if (group.length) return group;
    }
  }
  const raws = split === task.dataset.split ? L.raw : split === 'train' ? L.rawTrain ?? [] : [];
  for (const d of ['', ...L.dirs]) {
    for (const r of raws) {
      const f = path.join(dataDir, d, r.split(' ')[0]);
      if (fs.existsSync(f)) return [f];
    }
  }
  return undefined;
}

/** Parquet int64 columns arrive as BigInt; JSON (and the tasks) want numbers. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
    const o: Row = {};
    for (const [k, x] of Object.entries(v as Row)) o[k] = plain(x);
    return o;
  }
  return v;
}

type RawRow = { where: string; row?: unknown; error?: string };

/** Task rows are flat (a few lists of strings); a 50k-deep value would overflow the stack of every recursive reader. */
const MAX_ROW_DEPTH = 32;

/** True when `v` nests objects/arrays deeper than `limit` (iterative: safe on any depth). */
function tooDeep(v: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop() as [unknown, number];
    if (x === null || typeof x !== 'object') continue;
    if (d >= limit) return true;
    for (const y of Object.values(x as Record<string, unknown>)) stack.push([y, d + 1]);
  }
  return false;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A file's text, refusing invalid UTF-8 (a silent U+FFFD would change prompts and answers without a word). */
function readUtf8(file: string): string {
  return decodeUtf8(fs.readFileSync(file), file);
}

function decodeUtf8(bytes: Uint8Array, where: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new RowError(`${where}: not valid UTF-8`);
  }
}

/** Lines of a file as raw bytes (split on \n, a trailing \r dropped), streamed in 1 MB reads. */
async function* byteLines(file: string): AsyncGenerator<Buffer> {
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    let buf = rest.length ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
      const end = nl > start && buf[nl - 1] === 13 ? nl - 1 : nl;
      yield buf.subarray(start, end);
      start = nl + 1;
    }
    rest = Buffer.from(buf.subarray(start));
    buf = rest;
  }
  if (rest.length) yield rest[rest.length - 1] === 13 ? rest.subarray(0, rest.length - 1) : rest;
}

function firstNonSpace(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(256);
    const n = fs.readSync(fd, buf, 0, 256, 0);
    return buf.subarray(0, n).toString('latin1').trimStart().charAt(0);
  } finally {
    fs.closeSync(fd);
  }
}

async function* readRows(file: string): AsyncGenerator<RawRow> {
  const base = path.basename(file);
  if (file.endsWith('.parquet')) {
    // hyparquet is ESM-only; Node >= 20.19 loads it through require(esm). Lazy so plain JSONL users never load it.
    const hp = require('hyparquet') as typeof import('hyparquet');
    const { compressors } = require('hyparquet-compressors') as typeof import('hyparquet-compressors');
    const bytes = fs.readFileSync(file);
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    let rows: Row[];
    try {
      rows = (await hp.parquetReadObjects({ file: buf, compressors })) as Row[];
    } catch (e) {
      throw new Error(`${file}: not a readable parquet file (${oneLine((e as Error).message)})`);
    }
    for (let i = 0; i < rows.length; i++) yield { where: `${base} row ${i + 1}`, row: plain(rows[i]) };
    return;
  }
  if (file.endsWith('.json') && firstNonSpace(file) === '[') {
    let arr: unknown;
    try {
      arr = JSON.parse(readUtf8(file));
    } catch (e) {
      throw new Error(e instanceof RowError ? e.message : `${file}: not valid JSON (${quote((e as Error).message, 200)})`);
    }
    const a = arr as unknown[];
    for (let i = 0; i < a.length; i++) yield { where: `${base} row ${i + 1}`, row: a[i] };
    return;
  }
  // JSON lines (.jsonl, and .json as datasets' to_json writes it).
  let line = 0;
  for await (const bytes of byteLines(file)) {
    line++;
    let text: string;
    try {
      text = UTF8.decode(bytes);
    } catch {
      yield { where: `${base}:${line}`, error: 'not valid UTF-8' };
      continue;
    }
    if (!text.trim()) continue;
    try {
      yield { where: `${base}:${line}`, row: JSON.parse(text) };
    } catch (e) {
      yield { where: `${base}:${line}`, error: `not valid JSON (${quote((e as Error).message, 200)})` };
    }
  }
}

/** PIQA's raw valid.jsonl has no labels; they are one per line in valid-labels.lst beside it. */
function piqaLabels(file: string): string[] | undefined {
  const lst = file.replace(/\.jsonl$/, '-labels.lst');
  if (lst === file || !fs.existsSync(lst)) return undefined;
  const lines = readUtf8(lst).split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * Reads and validates a task's docs. Throws, naming the paths searched and the expected schema, when no file is
 * found; in strict mode, also when any row is malformed.
 */
export async function loadTaskData(task: TaskSpec, opts: LoadOptions): Promise<LoadedTask> {
  let files: string[] | undefined;
  const split = opts.split ?? task.dataset.split;
  if (opts.file) {
    if (!fs.existsSync(opts.file)) throw new Error(`${task.name}: file not found: ${opts.file}. Expected ${task.schema} per line`);
    files = [opts.file];
  } else if (opts.dataDir) {
    files = findTaskFiles(task, opts.dataDir, split);
    if (!files) throw new Error(missingMessage(task, opts.dataDir, split));
  } else throw new Error(`${task.name}: give a data dir (--data-dir) or a file for the task`);

  const out: LoadedTask = { task: task.name, split, files, docs: [], malformed: [], rows: 0 };
  const accept = (where: string, row: unknown): void => {
    const index = out.rows++;
    try {
      if (row === null || typeof row !== 'object' || Array.isArray(row)) throw new RowError(`expected a JSON object, got ${quote(row)}`);
      if (tooDeep(row, MAX_ROW_DEPTH)) throw new RowError(`values nested deeper than ${MAX_ROW_DEPTH} levels; no task row is`);
      out.docs.push({ doc: task.toDoc(row as Row), where, index });
    } catch (e) {
      if (!(e instanceof RowError)) throw e;
      out.malformed.push({ where, message: e.message, index });
    }
  };
  for (const file of files) {
    if (task.name === 'wikitext' && file.endsWith('.raw')) {
      for (const a of splitWikitextArticles(readUtf8(file))) accept(`${path.basename(file)}:${a.line}`, { page: a.page });
      continue;
    }
    const labels = task.name === 'piqa' ? piqaLabels(file) : undefined;
    let n = 0;
    for await (const r of readRows(file)) {
      if (r.error !== undefined) {
        out.malformed.push({ where: r.where, message: r.error, index: out.rows++ });
        n++; // the line still takes its label: labels pair with lines, not with valid rows
        continue;
      }
      let row = r.row;
      if (labels && row !== null && typeof row === 'object' && (row as Row).label === undefined) {
        const l = labels[n];
        row = { ...(row as Row), label: l === undefined ? undefined : /^\s*[01]\s*$/.test(l) ? Number(l) : l };
      }
      n++;
      accept(r.where, row);
    }
    if (labels && labels.length !== n) {
      throw new Error(`${file}: ${n} rows but ${labels.length} labels in ${path.basename(file).replace(/\.jsonl$/, '-labels.lst')}; they must pair line by line`);
    }
  }
  if (opts.strict && out.malformed.length) {
    const shown = out.malformed.slice(0, 10).map((m) => `  ${m.where}: ${m.message}`);
    throw new Error(`${task.name}: ${out.malformed.length} malformed row(s) (strict mode refuses the task):\n${shown.join('\n')}`);
  }
  return out;
}
