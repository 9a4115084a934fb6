// On-disk token formats (data.md §3b, §5), little-endian token ids of 16 or 32 bits (lib/data/token-array):
//  - nanoGPT raw `.bin`: no header, tokens = bytes / width. The width is not in the file: uint16 (OpenWebText
//    train.bin / val.bin) unless the dataset's meta.json says 'nanogpt-uint32' (lib/data/prepare).
//  - llm.c / modded-nanogpt shard: 256 x int32 header (magic, version, ntok), then ntok tokens. llm.c's
//    dev/data/data_common.py (HEADERS_INFO, github.com/karpathy/llm.c) defines two: "gpt-2" = magic 20240520,
//    version 1, uint16 tokens; "llama-3" = magic 20240801, version 7, uint32 tokens.
//  - NumPy `.npy` v1/v2/v3 (build-nanogpt / Inheritune `edufineweb_*` shards): 1-D '<u2' or '<u4' array.
// This file only parses and builds headers and writes files; reading windows is lib/data/source.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { TokenArray, TokenDType, bytesPerToken, dtypeOf as dtypeOfTokens, toDType, UINT32_VOCAB_LIMIT } from './token-array';

/** llm.c's "gpt-2" shards: uint16 tokens. */
export const LLMC_MAGIC = 20240520;
export const LLMC_VERSION = 1;
export const LLMC_HEADER_BYTES = 1024;
/** llm.c's "llama-3" shards: uint32 tokens (dev/data/data_common.py HEADERS_INFO: magic 20240801, version 7). */
export const LLMC_LLAMA_MAGIC = 20240801;
export const LLMC_LLAMA_VERSION = 7;
/** llm.c's eval files share the header layout but are not token streams. */
export const LLMC_EVAL_MAGIC = 20240522;

/** The llm.c header (magic, version) of each token width. */
export const LLMC_HEADERS: Record<TokenDType, { magic: number; version: number; name: string }> = {
  uint16: { magic: LLMC_MAGIC, version: LLMC_VERSION, name: 'gpt-2' },
  uint32: { magic: LLMC_LLAMA_MAGIC, version: LLMC_LLAMA_VERSION, name: 'llama-3' },
};
const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

export type TokenFormat = 'nanogpt' | 'llmc' | 'npy';

/** Where the tokens of a file are: byte offset of token 0, the number of tokens and their width. */
export interface TokenFileLayout {
  path: string;
  format: TokenFormat;
  dtype: TokenDType;
  dataOffset: number;
  numTokens: number;
}

if (os.endianness() !== 'LE') {
  // The readers view file bytes as Uint16Array / Uint32Array directly; every format here is little-endian.
  throw new Error('lib/data expects a little-endian machine (token files are little-endian uint16 / uint32)');
}

function readHead(fd: number, n: number): Buffer {
  const buf = Buffer.alloc(n);
  const got = fs.readSync(fd, buf, 0, n, 0);
  return buf.subarray(0, got);
}

/** True if the name looks like an llm.c shard (`fineweb_val_000000.bin`), which must then carry the header. */
export function isShardName(file: string): boolean {
  return /_(train|val)_\d+\.bin$/i.test(path.basename(file));
}

/**
 * Detects the format of a token file from its magic bytes and name, validates the header and size, and returns the
 * layout. Throws an error naming the file, what was found and what was expected. `rawDType` is the width of a
 * headerless nanoGPT .bin (from the dataset's meta.json; uint16 when it records none); headers carry their own.
 */
export function inspectTokenFile(file: string, rawDType: TokenDType = 'uint16'): TokenFileLayout {
  const st = fs.statSync(file);
  if (!st.isFile()) throw new Error(`${file}: not a regular file`);
  const size = st.size;
  if (size === 0) throw new Error(`${file}: empty file (0 bytes); expected token data`);
  const fd = fs.openSync(file, 'r');
  try {
    const head = readHead(fd, Math.min(size, LLMC_HEADER_BYTES));
    const ext = path.extname(file).toLowerCase();
    const isNpyMagic = head.length >= 6 && head.subarray(0, 6).equals(NPY_MAGIC);
    if (ext === '.npy' || isNpyMagic) {
      if (!isNpyMagic) {
        throw new Error(`${file}: wrong magic ${hex(head.subarray(0, 6))}; a .npy file must start with \\x93NUMPY`);
      }
      const fullHead = readHead(fd, Math.min(size, 1 << 20));
      const h = parseNpyHeader(fullHead, file);
      const width = bytesPerToken(h.dtype);
      const expect = h.dataOffset + width * h.numTokens;
      if (size !== expect) {
        throw new Error(`${file}: size ${size} bytes does not match the .npy header (offset ${h.dataOffset} + ${width} x ${h.numTokens} ${h.dtype} = ${expect}); truncated or not written to the end?`);
      }
      return { path: file, format: 'npy', dtype: h.dtype, dataOffset: h.dataOffset, numTokens: h.numTokens };
    }
    const magic = head.length >= 4 ? head.readInt32LE(0) : -1;
    const llmc = magic === LLMC_MAGIC ? 'uint16' : magic === LLMC_LLAMA_MAGIC ? 'uint32' : null;
    if (llmc) {
      const { version: want, name } = LLMC_HEADERS[llmc];
      if (size < LLMC_HEADER_BYTES) throw new Error(`${file}: llm.c ${name} magic ${magic} but only ${size} bytes; the header alone is ${LLMC_HEADER_BYTES}`);
      const version = head.readInt32LE(4);
      const n = head.readInt32LE(8);
      if (version !== want) throw new Error(`${file}: llm.c ${name} shard (magic ${magic}) with version ${version}; expected version ${want} (${llmc} tokens)`);
      const width = bytesPerToken(llmc);
      const expect = LLMC_HEADER_BYTES + width * n;
      if (n < 0 || size !== expect) {
        throw new Error(`${file}: llm.c ${name} header says ${n} ${llmc} tokens, so the size should be 1024 + ${width} x ${n} = ${expect} bytes, but it is ${size}`);
      }
      return { path: file, format: 'llmc', dtype: llmc, dataOffset: LLMC_HEADER_BYTES, numTokens: n };
    }
    if (magic === LLMC_EVAL_MAGIC) {
      throw new Error(`${file}: llm.c eval file (magic ${LLMC_EVAL_MAGIC}), not a token stream; expected magic ${LLMC_MAGIC} (gpt-2) or ${LLMC_LLAMA_MAGIC} (llama-3), or a raw .bin`);
    }
    if (isShardName(file)) {
      throw new Error(`${file}: wrong magic ${magic}; a file named like an llm.c shard must start with the int32 header magic ${LLMC_MAGIC} (gpt-2, uint16) or ${LLMC_LLAMA_MAGIC} (llama-3, uint32)`);
    }
    if (ext !== '.bin') throw new Error(`${file}: unknown token file type '${ext}'; expected .bin (nanoGPT or llm.c) or .npy`);
    const width = bytesPerToken(rawDType);
    if (size % width !== 0) {
      throw new Error(`${file}: byte length ${size} is not a multiple of ${width}; a nanoGPT .bin of ${rawDType} tokens (as the dataset's meta.json says${rawDType === 'uint16' ? ', or by default' : ''}) holds whole ${width}-byte ids`);
    }
    return { path: file, format: 'nanogpt', dtype: rawDType, dataOffset: 0, numTokens: size / width };
  } finally {
    fs.closeSync(fd);
  }
}

function hex(b: Buffer): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

/** NumPy dtype strings of each width: what np.dtype(np.uint16 / np.uint32).str gives on a little-endian machine. */
export const NPY_DESCR: Record<TokenDType, string> = { uint16: '<u2', uint32: '<u4' };

/** Parses a NumPy header (format versions 1, 2 and 3); requires a 1-D, C-order, little-endian uint16 or uint32 array. */
export function parseNpyHeader(buf: Buffer, file = '.npy'): { dataOffset: number; numTokens: number; version: number; dtype: TokenDType } {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(NPY_MAGIC)) throw new Error(`${file}: wrong magic; expected \\x93NUMPY`);
  const major = buf[6];
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new Error(`${file}: truncated .npy v${major} preamble`);
    headerLen = buf.readUInt32LE(8);
    start = 12;
  } else {
    throw new Error(`${file}: unsupported .npy format version ${major}.${buf[7]}; expected 1, 2 or 3`);
  }
  if (buf.length < start + headerLen) throw new Error(`${file}: .npy header (${headerLen} bytes) is truncated`);
  const text = buf.subarray(start, start + headerLen).toString(major === 3 ? 'utf8' : 'latin1');
  const dict = parseNpyDict(text, file);
  const descr = dict.get('descr');
  const fortran = dict.get('fortran_order');
  const shape = dict.get('shape');
  // '|u2' (no byte order) is kept as before; numpy itself writes '<u2' / '<u4' for these widths.
  const dtype: TokenDType | null = descr === '<u2' || descr === '|u2' ? 'uint16' : descr === '<u4' ? 'uint32' : null;
  if (!dtype) throw new Error(`${file}: .npy dtype '${clip(String(descr))}'; expected '<u2' (uint16 tokens) or '<u4' (uint32 tokens)`);
  if (fortran !== false) throw new Error(`${file}: .npy has fortran_order ${fortran === true ? 'True' : clip(String(fortran))}; expected False`);
  if (!Array.isArray(shape) || shape.length !== 1) throw new Error(`${file}: .npy shape (${Array.isArray(shape) ? shape.join(', ') : clip(String(shape))}); expected a 1-D array (N,)`);
  if (!Number.isSafeInteger(shape[0])) throw new Error(`${file}: .npy shape (${shape[0]},) is too large`);
  return { dataOffset: start + headerLen, numTokens: shape[0], version: major, dtype };
}

function clip(s: string, max = 60): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

type NpyValue = string | boolean | number[];

/**
 * Parses the header dict as numpy's own reader (ast.literal_eval, then an exact key check) accepts it:
 * {'descr': <str>, 'fortran_order': True|False, 'shape': (<int>, ...)} with exactly these three keys, each once,
 * then optional padding spaces and a newline. Regular expressions over the text would accept a duplicated key or a
 * 'descr' hidden inside another value.
 */
export function parseNpyDict(text: string, file = '.npy'): Map<string, NpyValue> {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`${file}: cannot parse the .npy header at character ${i} (${what}); expected {'descr': '<u2' or '<u4', 'fortran_order': False, 'shape': (N,)}; header starts ${JSON.stringify(clip(text, 80))}`);
  };
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
  };
  const str = (): string => {
    const q = text[i];
    if (q !== "'" && q !== '"') fail('expected a quoted string');
    const end = text.indexOf(q, i + 1);
    if (end < 0) fail('unterminated string');
    const v = text.slice(i + 1, end);
    if (v.includes('\\')) fail('escapes are not supported');
    i = end + 1;
    return v;
  };
  const out = new Map<string, NpyValue>();
  ws();
  if (text[i++] !== '{') fail("expected '{'");
  for (;;) {
    ws();
    if (text[i] === '}') break;
    const key = str();
    if (key !== 'descr' && key !== 'fortran_order' && key !== 'shape') fail(`unexpected key ${JSON.stringify(clip(key))}`);
    if (out.has(key)) fail(`key '${key}' appears twice`);
    ws();
    if (text[i++] !== ':') fail("expected ':'");
    ws();
    let v: NpyValue;
    if (text.startsWith('True', i)) { v = true; i += 4; }
    else if (text.startsWith('False', i)) { v = false; i += 5; }
    else if (text[i] === '(') {
      i++;
      const dims: number[] = [];
      for (;;) {
        ws();
        if (text[i] === ')') { i++; break; }
        const m = /^\d{1,16}L?/.exec(text.slice(i, i + 20));
        if (!m) fail('expected a dimension (a non-negative integer)');
        dims.push(parseInt((m as RegExpExecArray)[0], 10));
        i += (m as RegExpExecArray)[0].length;
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== ')') fail("expected ',' or ')' in the shape");
        if (dims.length > 32) fail('more than 32 dimensions');
      }
      v = dims;
    } else v = str();
    if ((key === 'shape') !== Array.isArray(v) || (key === 'fortran_order') !== (typeof v === 'boolean')) fail(`wrong type of value for '${key}'`);
    out.set(key, v);
    ws();
    if (text[i] === ',') { i++; continue; }
    if (text[i] !== '}') fail("expected ',' or '}'");
  }
  i++;
  if (!/^[ \t]*\n?[ \t\0]*$/.test(text.slice(i))) fail('unexpected text after the dict');
  for (const k of ['descr', 'fortran_order', 'shape']) if (!out.has(k)) fail(`missing key '${k}'`);
  return out;
}

/** A NumPy v1.0 header for a 1-D '<u2' / '<u4' array of n elements, padded so the data starts at a multiple of 64 bytes. */
export function buildNpyHeader(n: number, totalBytes?: number, dtype: TokenDType = 'uint16'): Buffer {
  const dict = `{'descr': '${NPY_DESCR[dtype]}', 'fortran_order': False, 'shape': (${n},), }`;
  const total = totalBytes ?? Math.ceil((10 + dict.length + 1) / 64) * 64; // preamble + dict + '\n'
  if (10 + dict.length + 1 > total || total - 10 > 0xffff) throw new Error(`npy header for shape (${n},) does not fit in ${total} bytes`);
  const buf = Buffer.alloc(total, 0x20);
  NPY_MAGIC.copy(buf, 0);
  buf[6] = 1; // format version 1.0
  buf[7] = 0;
  buf.writeUInt16LE(total - 10, 8);
  buf.write(dict, 10, 'latin1');
  buf[total - 1] = 0x0a;
  return buf;
}

/** The 1024-byte llm.c header: int32[256] = {magic, version, n, 0, ...}; {20240520, 1} for uint16, {20240801, 7} for uint32. */
export function buildLlmcHeader(n: number, dtype: TokenDType = 'uint16'): Buffer {
  if (n > 0x7fffffff) throw new Error(`llm.c shards hold at most 2^31-1 tokens, got ${n}`);
  const buf = Buffer.alloc(LLMC_HEADER_BYTES);
  buf.writeInt32LE(LLMC_HEADERS[dtype].magic, 0);
  buf.writeInt32LE(LLMC_HEADERS[dtype].version, 4);
  buf.writeInt32LE(n, 8);
  return buf;
}

/** The header bytes for a format with n tokens (empty for nanoGPT raw). Its length does not depend on n for llm.c. */
export function headerFor(format: TokenFormat, n: number, dtype: TokenDType = 'uint16'): Buffer {
  if (format === 'llmc') return buildLlmcHeader(n, dtype);
  if (format === 'npy') return buildNpyHeader(n, undefined, dtype);
  return Buffer.alloc(0);
}

/**
 * Streams tokens of width `dtype` to `<path>.tmp-<pid>-<k>`, then `finish()` writes the header (which needs the final
 * count), fsyncs and renames onto `path`, so `path` is either absent, the old file, or complete. `abort()` removes the
 * temp file. Arrays of the other width are converted (a uint32 id that does not fit uint16 is an error).
 */
export class TokenFileWriter {
  readonly tmpPath: string;
  private fd: number;
  private pos: number;
  private headerBytes: number;
  count = 0;
  private done = false;
  private static seq = 0;

  constructor(readonly path: string, readonly format: TokenFormat = 'nanogpt', maxTokens = 0x7fffffff, readonly dtype: TokenDType = 'uint16') {
    this.tmpPath = `${path}.tmp-${process.pid}-${TokenFileWriter.seq++}`;
    // npy headers grow with the digits of n; reserve the header for the largest count this writer may hold.
    this.headerBytes = headerFor(format, maxTokens, dtype).length;
    this.fd = fs.openSync(this.tmpPath, 'w');
    this.pos = this.headerBytes;
  }

  write(input: TokenArray): void {
    if (this.done) throw new Error(`TokenFileWriter(${this.path}): write after finish/abort`);
    if (input.length === 0) return;
    if (this.format === 'llmc' && this.count + input.length > 0x7fffffff) {
      throw new Error(`${this.path}: an llm.c shard holds at most 2^31-1 tokens (int32 header); write smaller shards`);
    }
    const tokens = toDType(input, this.dtype, this.path);
    if (this.dtype === 'uint32') {
      // Readers copy ids into Int32Array batches: refuse what would turn negative there.
      for (let i = 0; i < tokens.length; i++) {
        if (tokens[i] >= UINT32_VOCAB_LIMIT) throw new Error(`${this.path}: token id ${tokens[i]} is >= 2^31; batches hold ids as int32`);
      }
    }
    const bytes = new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength);
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(this.fd, bytes, off, bytes.length - off, this.pos + off);
    this.pos += bytes.length;
    this.count += tokens.length;
  }

  finish(): { path: string; tokens: number } {
    if (this.done) throw new Error(`TokenFileWriter(${this.path}): finish called twice`);
    // An npy dict is re-padded to fill exactly the bytes reserved up front (the data offset stays 64-aligned).
    const header = this.format === 'npy' ? buildNpyHeader(this.count, this.headerBytes, this.dtype) : headerFor(this.format, this.count, this.dtype);
    if (header.length > 0) fs.writeSync(this.fd, header, 0, header.length, 0);
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.done = true;
    fs.renameSync(this.tmpPath, this.path);
    return { path: this.path, tokens: this.count };
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already closed */
    }
    fs.rmSync(this.tmpPath, { force: true });
  }
}

/** Writes a whole token array in one of the formats (atomically, through TokenFileWriter), by default at its own width. */
export function writeTokenFile(file: string, tokens: TokenArray, format: TokenFormat = 'nanogpt', dtype: TokenDType = dtypeOfTokens(tokens)): void {
  const w = new TokenFileWriter(file, format, tokens.length, dtype);
  try {
    w.write(tokens);
    w.finish();
  } catch (e) {
    w.abort();
    throw e;
  }
}

/** nanoGPT raw `.bin` at the array's width (np.memmap(dtype=np.uint16 / np.uint32) reads it). */
export function writeNanoGptBin(file: string, tokens: TokenArray): void {
  writeTokenFile(file, tokens, 'nanogpt');
}
/** llm.c / modded-nanogpt shard: 1024-byte header then the tokens (gpt-2 header for uint16, llama-3 for uint32). */
export function writeLlmcShard(file: string, tokens: TokenArray): void {
  writeTokenFile(file, tokens, 'llmc');
}
/** NumPy `.npy` v1.0, dtype '<u2' or '<u4', shape (n,) (np.load reads it). */
export function writeNpy(file: string, tokens: TokenArray): void {
  writeTokenFile(file, tokens, 'npy');
}
