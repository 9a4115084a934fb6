// Memory-light token access: a TokenSource reads windows of tokens by offset with fs.readSync at byte offsets, so a
// 17 GB OpenWebText train.bin is never loaded; several shard files concatenate into one source. A source has one
// width (uint16 or uint32, lib/data/token-array): reads fill a typed array of that width straight from the file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inspectTokenFile, TokenFileLayout } from './formats';
import { GPT2_VOCAB_SIZE } from './tokenizer';
import { TokenArray, TokenDType, UINT32_VOCAB_LIMIT, allocTokens, bytesPerToken, dtypeOf } from './token-array';

/** One contiguous file inside a source: its global token range [start, start + length). */
export interface ShardSpan {
  path: string;
  start: number;
  length: number;
}

export interface TokenSource {
  /** Number of tokens. */
  readonly length: number;
  /** The files (or one in-memory span) this source concatenates, in order; the sequential loader walks them. */
  readonly shards: ReadonlyArray<ShardSpan>;
  /** Width of the ids: reads return (and `into` must be) a Uint16Array for 'uint16', a Uint32Array for 'uint32'. */
  readonly dtype: TokenDType;
  /** Tokens [offset, offset + count); fills and returns `into` (length >= count, of the source's width) when given. */
  read(offset: number, count: number, into?: TokenArray): TokenArray;
  close(): void;
}

function checkRange(src: TokenSource, offset: number, count: number): void {
  if (!Number.isInteger(offset) || !Number.isInteger(count) || offset < 0 || count < 0 || offset + count > src.length) {
    throw new Error(`read(${offset}, ${count}) is outside the token source [0, ${src.length})`);
  }
}

function target(count: number, dtype: TokenDType, into?: TokenArray): TokenArray {
  if (!into) return allocTokens(dtype, count);
  if (dtypeOf(into) !== dtype) throw new Error(`read: 'into' is a ${into.constructor.name} but the source holds ${dtype} tokens; allocate it with allocTokens(src.dtype, n)`);
  if (into.length < count) throw new Error(`read: 'into' holds ${into.length} tokens, fewer than the ${count} requested`);
  return into.length === count ? into : into.subarray(0, count);
}

/** Tokens held in memory (tests, small corpora), at the array's width. */
export class MemoryTokenSource implements TokenSource {
  readonly shards: ShardSpan[];
  readonly dtype: TokenDType;
  constructor(private readonly data: TokenArray, name = '<memory>') {
    this.shards = [{ path: name, start: 0, length: data.length }];
    this.dtype = dtypeOf(data);
  }
  get length(): number {
    return this.data.length;
  }
  read(offset: number, count: number, into?: TokenArray): TokenArray {
    checkRange(this, offset, count);
    const out = target(count, this.dtype, into);
    out.set(this.data.subarray(offset, offset + count));
    return out;
  }
  close(): void {}
}

/** One token file (nanoGPT .bin, llm.c shard or .npy); the descriptor is opened on first read. */
export class FileTokenSource implements TokenSource {
  readonly length: number;
  readonly shards: ShardSpan[];
  readonly dtype: TokenDType;
  private fd = -1;
  constructor(readonly layout: TokenFileLayout) {
    this.length = layout.numTokens;
    this.shards = [{ path: layout.path, start: 0, length: layout.numTokens }];
    this.dtype = layout.dtype;
  }
  read(offset: number, count: number, into?: TokenArray): TokenArray {
    checkRange(this, offset, count);
    const out = target(count, this.dtype, into);
    if (count === 0) return out;
    if (this.fd < 0) this.fd = fs.openSync(this.layout.path, 'r');
    // The file's bytes land directly in the typed array (both little-endian, same width): no conversion pass.
    const width = bytesPerToken(this.dtype);
    const bytes = new Uint8Array(out.buffer, out.byteOffset, count * width);
    let done = 0;
    const base = this.layout.dataOffset + offset * width;
    while (done < bytes.length) {
      const n = fs.readSync(this.fd, bytes, done, bytes.length - done, base + done);
      if (n <= 0) throw new Error(`${this.layout.path}: unexpected end of file at byte ${base + done}`);
      done += n;
    }
    return out;
  }
  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/** Several sources read as one stream, in the given order (shard files sorted by name). */
export class ConcatTokenSource implements TokenSource {
  readonly length: number;
  readonly shards: ShardSpan[];
  readonly dtype: TokenDType;
  private readonly starts: number[];
  constructor(private readonly parts: TokenSource[]) {
    if (parts.length === 0) throw new Error('ConcatTokenSource: no token files to concatenate');
    this.dtype = parts[0].dtype;
    const other = parts.find((p) => p.dtype !== this.dtype);
    if (other) {
      throw new Error(`${other.shards[0]?.path ?? 'a part'} holds ${other.dtype} tokens but ${parts[0].shards[0]?.path ?? 'the first part'} holds ${this.dtype}; ` +
        `the files of one split must have one token width`);
    }
    this.starts = [];
    this.shards = [];
    let total = 0;
    for (const p of parts) {
      this.starts.push(total);
      for (const s of p.shards) this.shards.push({ path: s.path, start: total + s.start, length: s.length });
      total += p.length;
    }
    this.length = total;
  }
  read(offset: number, count: number, into?: TokenArray): TokenArray {
    checkRange(this, offset, count);
    const out = target(count, this.dtype, into);
    // Binary search for the part holding `offset`, then copy across part boundaries.
    let lo = 0;
    let hi = this.parts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    let done = 0;
    for (let i = lo; done < count; i++) {
      const local = offset + done - this.starts[i];
      const n = Math.min(count - done, this.parts[i].length - local);
      if (n > 0) this.parts[i].read(local, n, out.subarray(done, done + n));
      done += Math.max(0, n);
    }
    return out;
  }
  close(): void {
    for (const p of this.parts) p.close();
  }
}

export type ValidateMode = 'full' | 'sample' | 'none';

/**
 * The vocabulary a source is checked against when nothing names one: GPT-2's for uint16 files (the lab's default
 * data); for uint32 files (llm.c llama-3 shards, '<u4' .npy) only the int32 limit of batches, since the file does not
 * say which tokenizer made it: the model checks every id against its own vocabulary before its forward.
 */
export function defaultVocabSize(dtype: TokenDType): number {
  return dtype === 'uint32' ? UINT32_VOCAB_LIMIT : GPT2_VOCAB_SIZE;
}

/**
 * Checks that every token id is < vocabSize ('full'), or 64 evenly spaced 64k-token chunks ('sample', for files too
 * big to scan on every open). Throws naming the file, the first bad id and its position.
 */
export function validateTokenIds(src: TokenSource, mode: ValidateMode = 'full', vocabSize = defaultVocabSize(src.dtype), label?: string): void {
  if (mode === 'none' || src.length === 0) return;
  const chunk = 1 << 16;
  const buf = allocTokens(src.dtype, chunk);
  const hint = vocabSize === GPT2_VOCAB_SIZE && src.dtype === 'uint16' ? '; not GPT-2 uint16 tokens?' : vocabSize === UINT32_VOCAB_LIMIT ? ' (batches hold ids as int32)' : '';
  const check = (start: number, n: number): void => {
    const t = src.read(start, n, buf);
    for (let i = 0; i < n; i++) {
      if (t[i] >= vocabSize) {
        const at = start + i;
        const shard = src.shards.find((s) => at >= s.start && at < s.start + s.length);
        const where = label ?? shard?.path ?? 'token source';
        throw new Error(`${where}: token id ${t[i]} at token ${at - (shard?.start ?? 0)} is >= the vocabulary size ${vocabSize}${hint}`);
      }
    }
  };
  if (mode === 'full' || src.length <= 64 * chunk) {
    for (let s = 0; s < src.length; s += chunk) check(s, Math.min(chunk, src.length - s));
    return;
  }
  const pieces = 64;
  for (let k = 0; k < pieces; k++) {
    const s = Math.floor((k * (src.length - chunk)) / (pieces - 1));
    check(s, chunk);
  }
}

/**
 * True when a uint16 view of raw data looks like uint32 ids read at the wrong width: the high halves (odd positions)
 * are almost all 0 or 1 (ids below 131072, e.g. Llama 3's) while the low halves are not. Real uint16 token streams
 * are not like that (GPT-2 ids 0 and 1 are '!' and '"'). Looks at the first 64k ids.
 */
export function looksLikeUint32(src: TokenSource): boolean {
  if (src.dtype !== 'uint16' || src.length < 2048) return false;
  const n = Math.min(src.length, 1 << 16) & ~1;
  const t = src.read(0, n);
  let highSmall = 0;
  let lowSmall = 0;
  for (let i = 0; i < n; i += 2) {
    if (t[i] <= 1) lowSmall++;
    if (t[i + 1] <= 1) highSmall++;
  }
  return highSmall >= 0.99 * (n / 2) && lowSmall < 0.5 * (n / 2);
}

/** Files above this many tokens are validated by sampling unless asked otherwise (a full scan reads the whole file). */
export const FULL_VALIDATE_MAX_TOKENS = 256 * 1024 * 1024;

/**
 * Opens one token file, detecting its format, and validates its ids ('auto': a full scan up to 256M tokens, else
 * 64 sampled chunks) against `vocabSize` (default: defaultVocabSize of its width). `rawDType`: the width of a
 * headerless nanoGPT .bin (from the dataset's meta.json).
 */
export function openTokenFile(file: string, validate: ValidateMode | 'auto' = 'auto', rawDType: TokenDType = 'uint16', vocabSize?: number): FileTokenSource {
  const src = new FileTokenSource(inspectTokenFile(file, rawDType));
  try {
    validateTokenIds(src, resolveMode(validate, src.length), vocabSize ?? defaultVocabSize(src.dtype), file);
  } finally {
    src.close();
  }
  return src;
}

function resolveMode(validate: ValidateMode | 'auto', tokens: number): ValidateMode {
  return validate === 'auto' ? (tokens <= FULL_VALIDATE_MAX_TOKENS ? 'full' : 'sample') : validate;
}

/**
 * Opens several files as one stream, in the order given. Every header and size is checked (all files of one width);
 * ids are validated over the whole stream ('auto' samples when the total is large, so 99 FineWeb shards are not all
 * read on open) against `vocabSize` (default: defaultVocabSize of the width). `rawDType` as in openTokenFile.
 */
export function openTokenFiles(files: string[], validate: ValidateMode | 'auto' = 'auto', vocabSize?: number, rawDType: TokenDType = 'uint16'): TokenSource {
  if (files.length === 0) throw new Error('openTokenFiles: no files given');
  const parts = files.map((f) => new FileTokenSource(inspectTokenFile(f, rawDType)));
  const src: TokenSource = parts.length === 1 ? parts[0] : new ConcatTokenSource(parts);
  try {
    validateTokenIds(src, resolveMode(validate, src.length), vocabSize ?? defaultVocabSize(src.dtype));
  } finally {
    src.close(); // descriptors reopen lazily on the next read
  }
  return src;
}

/** Token files of a dataset directory split into train and val, each sorted by name. */
export interface SplitFiles {
  layout: 'nanogpt' | 'shards';
  train: string[];
  val: string[];
}

/**
 * Finds the token files of a directory: nanoGPT `train.bin` + `val.bin`, else shards (`*.bin` / `*.npy`) grouped by
 * `val` / `train` in the name (llm.c `fineweb_val_000000.bin`, Inheritune `edufineweb_train_000001.npy`); shards
 * named neither way are taken in sorted order with shard 0 as val, like the FineWeb preps.
 */
export function findSplitFiles(dir: string): SplitFiles {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`${dir}: not a directory`);
  const names = fs.readdirSync(dir).filter((n) => !n.includes('.tmp-')).sort();
  const j = (n: string): string => path.join(dir, n);
  if (names.includes('train.bin') || names.includes('val.bin')) {
    return { layout: 'nanogpt', train: names.includes('train.bin') ? [j('train.bin')] : [], val: names.includes('val.bin') ? [j('val.bin')] : [] };
  }
  const shards = names.filter((n) => /\.(bin|npy)$/i.test(n));
  if (shards.length === 0) throw new Error(`${dir}: no token files; expected train.bin/val.bin or *.bin / *.npy shards`);
  const val = shards.filter((n) => /(^|[_\-.])val([_\-.]|$)/i.test(n));
  const train = shards.filter((n) => /(^|[_\-.])train([_\-.]|$)/i.test(n));
  if (val.length > 0 || train.length > 0) return { layout: 'shards', train: train.map(j), val: val.map(j) };
  return { layout: 'shards', val: [j(shards[0])], train: shards.slice(1).map(j) };
}

/** Opens the train or val split of a dataset directory as one TokenSource. */
export function openSplit(dir: string, split: 'train' | 'val', validate: ValidateMode | 'auto' = 'auto'): TokenSource {
  const files = findSplitFiles(dir)[split];
  if (files.length === 0) throw new Error(`${dir}: no ${split} token files (looked for ${split}.bin or shards with '${split}' in the name)`);
  return openTokenFiles(files, validate);
}
