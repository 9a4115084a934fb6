// Reading and writing the safetensors format, the format of Hugging Face checkpoints:
//   [8 bytes: header length N, u64 little-endian][N bytes: UTF-8 JSON header][byte buffer]
// The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets relative to the buffer
// start) and may hold "__metadata__": {string: string}.
//
// Files may be multi-GB and may come from anywhere, so the reader
//   - validates the whole header (bounds, sizes, overlaps, gaps, exact coverage of the file) before reading any data,
//     so a truncated or corrupt file is rejected before anything is returned (never a half-loaded model);
//   - reads tensor by tensor at file offsets (fs.readSync) into fresh, aligned buffers, optionally only some tensors.
// Writing is ./safetensors-write.ts.
import * as fs from 'node:fs';
import { quote, quoteName, oneLine } from '../util/errors';
import { halfToFloatBitsTable } from './half';

/** Dtypes the reader accepts. F16/BF16 are decoded to F32 (or kept as bit patterns: ReadOptions.half), I64 to I32
 * (checked to fit). */
export type DType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'U16' | 'U8';
/** Dtypes held in memory (and accepted by the writer). F16 and BF16 are 16-bit patterns in a Uint16Array
 * (lib/model/half widens them). */
export type MemDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I32' | 'U16' | 'U8';
export type TensorData = Float64Array | Float32Array | Int32Array | Uint16Array | Uint8Array;

export interface TensorEntry {
  dtype: MemDType;
  shape: number[];
  /** Row-major values; length = prod(shape). The writer reads it only while writing this tensor. */
  data: TensorData;
}
export type TensorMap = Record<string, TensorEntry>;
export type Metadata = Record<string, string>;

export const DTYPE_SIZE: Record<DType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U16: 2, U8: 1 };
/** The typed array of each in-memory dtype (shared with ./safetensors-write). */
export const ARRAY_TYPE: Record<MemDType, { new (n: number): TensorData; name: string }> = {
  F64: Float64Array, F32: Float32Array, F16: Uint16Array, BF16: Uint16Array, I32: Int32Array, U16: Uint16Array, U8: Uint8Array,
};

/** Headers larger than this are refused: real ones are a few hundred kB even for thousands of tensors. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;
// readSync/writeSync take at most 2^31-1 bytes per call.
const IO_CHUNK = 256 * 1024 * 1024;
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface HeaderEntry {
  dtype: DType;
  shape: number[];
  /** Offsets relative to the start of the byte buffer. */
  begin: number;
  end: number;
}
export interface SafetensorsHeader {
  tensors: Record<string, HeaderEntry>;
  metadata: Metadata;
  /** Absolute file offset of the byte buffer: 8 + header length. */
  dataStart: number;
}

export interface ReadResult {
  tensors: TensorMap;
  metadata: Metadata;
  /** The dtype each returned tensor had in the file (before F16/BF16/I64 conversion). */
  storedDtypes: Record<string, DType>;
}

export interface ReadOptions {
  /** Only these tensors (each must exist), or those for which the predicate is true. Default: all. */
  names?: readonly string[] | ((name: string) => boolean);
  /** F16/BF16 tensors: 'float32' widens them (default); 'keep' returns their bit patterns (half the memory). */
  half?: 'float32' | 'keep';
}

export function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

// ---------------------------------------------------------------------------------------------------------------
// Header parsing and validation

/** Names of the top-level keys of a JSON object text, in order, duplicates kept (JSON.parse silently keeps the last). */
function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const ch = json[i];
    if (ch === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(json.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (ch === '{' || ch === '[') {
      depth++;
      expectKey = depth === 1 && ch === '{';
    } else if (ch === '}' || ch === ']') {
      depth--;
    } else if (ch === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return keys;
}

function isDType(s: unknown): s is DType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_SIZE, s);
}

/**
 * Validates a header against the size of the byte buffer that follows it; throws an Error naming the file and the
 * tensor for the first problem found.
 */
export function parseHeader(headerBytes: Uint8Array, bufferSize: number, label: string): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new Error(`${label}: safetensors header is not valid UTF-8`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${label}: safetensors header is not valid JSON (${oneLine((e as Error).message)})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new Error(`${label}: safetensors header must be a JSON object, got ${Array.isArray(raw) ? 'an array' : typeof raw}`);
  }
  const seen = new Set<string>();
  for (const k of topLevelKeys(text)) {
    if (seen.has(k)) throw new Error(`${label}: tensor ${quoteName(k)} appears twice in the safetensors header`);
    seen.add(k);
  }
  const metadata: Metadata = {};
  const tensors: Record<string, HeaderEntry> = {};
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const where = `${label}: tensor ${quoteName(name)}`;
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new Error(`${label}: __metadata__ must be an object of strings`);
      }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new Error(`${label}: __metadata__ value ${quoteName(k)} must be a string, got ${typeof v}`);
        metadata[k] = v;
      }
      continue;
    }
    if (name === '' || name === '__proto__') throw new Error(`${where}: invalid tensor name`);
    if (typeof value !== 'object' || value === null) throw new Error(`${where}: entry must be an object`);
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (!isDType(dtype)) {
      throw new Error(`${where}: unknown or unsupported dtype ${quote(dtype)}; supported: ${Object.keys(DTYPE_SIZE).join(', ')}`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new Error(`${where}: shape must be an array of non-negative integers, got ${quote(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw new Error(`${where}: data_offsets must be [begin, end] non-negative integers, got ${quote(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    if (begin > end || end > bufferSize) {
      throw new Error(`${where}: data_offsets [${begin}, ${end}] lie outside the byte buffer of ${bufferSize} bytes (file truncated?)`);
    }
    const nbytes = product(shape as number[]) * DTYPE_SIZE[dtype];
    if (end - begin !== nbytes) {
      throw new Error(`${where}: data_offsets span ${end - begin} bytes but shape ${quote(shape)} of ${dtype} needs ${nbytes}`);
    }
    tensors[name] = { dtype, shape: (shape as number[]).slice(), begin, end };
  }
  checkCoverage(tensors, bufferSize, label);
  return { tensors, metadata, dataStart: 0 };
}

/** The tensors must tile the byte buffer exactly: no overlap, no gap, nothing after the last one. */
function checkCoverage(tensors: Record<string, HeaderEntry>, bufferSize: number, label: string): void {
  const order = Object.entries(tensors).sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let pos = 0;
  let prev = '(buffer start)';
  for (const [name, e] of order) {
    if (e.begin < pos) {
      throw new Error(`${label}: tensor ${quoteName(name)} bytes [${e.begin}, ${e.end}) overlap tensor ${quoteName(prev)} (which ends at ${pos})`);
    }
    if (e.begin > pos) {
      throw new Error(`${label}: bytes [${pos}, ${e.begin}) of the buffer belong to no tensor (gap between ${quoteName(prev)} and ${quoteName(name)})`);
    }
    pos = e.end;
    prev = name;
  }
  if (pos !== bufferSize) {
    throw new Error(`${label}: tensors cover ${pos} bytes but the buffer after the header has ${bufferSize} (trailing bytes or corrupt offsets)`);
  }
}

/** Exactly len bytes at pos of an open file, in a fresh (hence aligned) buffer. */
function readAt(fd: number, file: string, pos: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let done = 0;
  while (done < len) {
    const n = fs.readSync(fd, out, done, Math.min(IO_CHUNK, len - done), pos + done);
    if (n === 0) throw new Error(`${file}: unexpected end of file at byte ${pos + done} (file changed while reading?)`);
    done += n;
  }
  return out;
}

function readHeaderFrom(fd: number, file: string): SafetensorsHeader {
  const size = fs.fstatSync(fd).size;
  if (size < 8) throw new Error(`${file}: file has ${size} bytes, too short for a safetensors header length (8)`);
  const n = new DataView(readAt(fd, file, 0, 8).buffer).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) throw new Error(`${file}: safetensors header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  if (n > BigInt(size - 8)) {
    throw new Error(`${file}: safetensors header length ${n} exceeds the ${size - 8} bytes after the length field (file truncated?)`);
  }
  const headerLen = Number(n);
  const header = parseHeader(readAt(fd, file, 8, headerLen), size - 8 - headerLen, file);
  header.dataStart = 8 + headerLen;
  return header;
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

/** Reverses the byte order of each `width`-byte element in place (only needed on big-endian hosts). */
export function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i < bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/** Decodes little-endian bytes (a fresh buffer this function may take over) of `count` elements of `dtype`. */
export function decodeTensor(raw: Uint8Array, dtype: DType, shape: number[], where: string, half: 'float32' | 'keep' = 'float32'): TensorEntry {
  const count = product(shape);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if ((dtype === 'F16' || dtype === 'BF16') && half === 'keep') {
    if (HOST_LITTLE_ENDIAN && raw.byteOffset % 2 === 0) return { dtype, shape, data: new Uint16Array(raw.buffer, raw.byteOffset, count) };
    const bits = new Uint16Array(count);
    for (let i = 0; i < count; i++) bits[i] = dv.getUint16(2 * i, true);
    return { dtype, shape, data: bits };
  }
  switch (dtype) {
    case 'F16': {
      const table = halfToFloatBitsTable();
      const bits = new Uint32Array(count);
      for (let i = 0; i < count; i++) bits[i] = table[dv.getUint16(2 * i, true)];
      return { dtype: 'F32', shape, data: new Float32Array(bits.buffer) };
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const bits = new Uint32Array(count);
      for (let i = 0; i < count; i++) bits[i] = dv.getUint16(2 * i, true) << 16;
      return { dtype: 'F32', shape, data: new Float32Array(bits.buffer) };
    }
    case 'I64': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const lo = dv.getInt32(8 * i, true);
        const hi = dv.getInt32(8 * i + 4, true);
        if (hi !== lo >> 31) {
          const v = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
          throw new Error(`${where}: I64 value ${v} at index ${i} does not fit in int32`);
        }
        out[i] = lo;
      }
      return { dtype: 'I32', shape, data: out };
    }
    default: {
      // Typed-array views need an aligned offset; file offsets in the buffer need not be aligned, so copy then.
      const bytes = raw.byteOffset % DTYPE_SIZE[dtype] === 0 ? raw : raw.slice();
      if (!HOST_LITTLE_ENDIAN) swapBytes(bytes, DTYPE_SIZE[dtype]);
      const View = ARRAY_TYPE[dtype] as unknown as new (b: ArrayBufferLike, o: number, n: number) => TensorData;
      return { dtype, shape, data: new View(bytes.buffer, bytes.byteOffset, count) };
    }
  }
}

function withFile<T>(file: string, fn: (fd: number) => T): T {
  const fd = fs.openSync(file, 'r');
  try {
    return fn(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads and validates only the header of a safetensors file (cheap, even for multi-GB files). */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  return withFile(file, (fd) => readHeaderFrom(fd, file));
}

/** Reads a safetensors file (all tensors or `options.names`), validating the whole header first. */
export function readSafetensors(file: string, options: ReadOptions = {}): ReadResult {
  return withFile(file, (fd) => {
    const header = readHeaderFrom(fd, file);
    const all = Object.keys(header.tensors);
    let selected: string[];
    if (options.names === undefined) selected = all;
    else if (typeof options.names === 'function') selected = all.filter(options.names);
    else {
      const missing = options.names.filter((n) => !Object.prototype.hasOwnProperty.call(header.tensors, n));
      if (missing.length) throw new Error(`${file}: no tensor named ${missing.map((n) => `'${n}'`).join(', ')}`);
      selected = Array.from(new Set(options.names));
    }
    // Read in file order (sequential I/O), return in sorted-name order.
    selected.sort((a, b) => header.tensors[a].begin - header.tensors[b].begin);
    const read: TensorMap = {};
    const storedDtypes: Record<string, DType> = {};
    for (const name of selected) {
      const e = header.tensors[name];
      const raw = readAt(fd, file, header.dataStart + e.begin, e.end - e.begin);
      read[name] = decodeTensor(raw, e.dtype, e.shape, `${file}: tensor ${quoteName(name)}`, options.half);
      storedDtypes[name] = e.dtype;
    }
    const tensors: TensorMap = {};
    for (const name of Object.keys(read).sort()) tensors[name] = read[name];
    return { tensors, metadata: header.metadata, storedDtypes };
  });
}
