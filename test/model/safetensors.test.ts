// safetensors reader/writer: bit-identical round trips, the byte layout the Python fixture writer produces,
// decoding checked against NumPy (test/reference/safetensors_fixture.py), and rejection of every kind of corrupt file.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { DTYPE_SIZE, MAX_HEADER_BYTES, TensorEntry, TensorMap, readSafetensors, readSafetensorsHeader } from '../../lib/model/safetensors';
import { writeSafetensors } from '../../lib/model/safetensors-write';

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'inheritune-st-'));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));
let fileNo = 0;
const tmpFile = (name = 'x') => path.join(TMP, `${fileNo++}-${name}.safetensors`);
const FIXTURES = path.join(__dirname, '..', 'fixtures');

function bytesOf(t: TensorEntry): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function f32FromBits(bits: number[]): Float32Array {
  return new Float32Array(new Uint32Array(bits).buffer);
}

function f64FromBits(pairs: [number, number][]): Float64Array {
  const u = new Uint32Array(pairs.length * 2);
  pairs.forEach(([hi, lo], i) => ((u[2 * i] = lo), (u[2 * i + 1] = hi)));
  return new Float64Array(u.buffer);
}

/** A safetensors file from a header object (written as given, so it may be invalid) and raw buffer bytes. */
function rawFile(header: unknown, buffer: Uint8Array = new Uint8Array(0), headerText?: string): string {
  const text = Buffer.from(headerText ?? JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  const file = tmpFile('raw');
  fs.writeFileSync(file, Buffer.concat([len, text, buffer]));
  return file;
}

function sample(): TensorMap {
  return {
    // Special floats: -0, signalling and quiet NaNs with payloads, +-Inf, the smallest subnormal, max float.
    'b.weird': { dtype: 'F32', shape: [2, 4], data: f32FromBits([0x80000000, 0x7fa00001, 0xffc12345, 0x7f800000, 0xff800000, 1, 0x7f7fffff, 0x3f800000]) },
    'a.f64': { dtype: 'F64', shape: [3], data: f64FromBits([[0x7ff00000, 1], [0x80000000, 0], [0x3fb99999, 0x9999999a]]) },
    'c.i32': { dtype: 'I32', shape: [2, 2], data: new Int32Array([-2147483648, -1, 0, 2147483647]) },
    'd.u16': { dtype: 'U16', shape: [3], data: new Uint16Array([0, 1, 65535]) },
    'e.u8': { dtype: 'U8', shape: [1], data: new Uint8Array([255]) },
    'f.empty': { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
    'g.scalar': { dtype: 'F32', shape: [], data: new Float32Array([Math.PI]) },
  };
}

test('write -> read round trip is bit-identical, with metadata, sorted contiguous tensors and an aligned buffer', () => {
  const file = tmpFile();
  const tensors = sample();
  writeSafetensors(file, tensors, { z: 'last', format: 'pt', note: 'ünïcode ✓' });
  const back = readSafetensors(file);
  assert.deepEqual(Object.keys(back.tensors), Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) {
    assert.equal(back.tensors[name].dtype, t.dtype, name);
    assert.deepEqual(back.tensors[name].shape, t.shape, name);
    assert.ok(bytesOf(back.tensors[name]).equals(bytesOf(t)), `${name} bytes differ`);
  }
  assert.deepEqual(back.metadata, { format: 'pt', note: 'ünïcode ✓', z: 'last' });
  // The NaN payloads survived (not canonicalised by a float round trip).
  assert.equal(new Uint32Array(back.tensors['b.weird'].data.buffer)[1], 0x7fa00001);
  assert.ok(Object.is(back.tensors['b.weird'].data[0], -0));

  const raw = fs.readFileSync(file);
  const n = Number(raw.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0, 'buffer must start 8-byte aligned');
  const text = raw.subarray(8, 8 + n).toString('utf8');
  assert.match(text, /^\{"__metadata__":\{"format":"pt","note":"ünïcode ✓","z":"last"\},"a\.f64":\{"dtype":"F64","shape":\[3\],"data_offsets":\[0,24\]\}/);
  assert.match(text, /\} *$/);
  const header = readSafetensorsHeader(file);
  let pos = 0;
  for (const name of Object.keys(tensors).sort()) {
    assert.equal(header.tensors[name].begin, pos, `${name} starts where the previous ends`);
    pos = header.tensors[name].end;
  }
  assert.equal(8 + n + pos, raw.length);
});

test('our writer reproduces the Python fixture writer byte for byte (test/reference/safetensors_io.py)', (t) => {
  const files = [path.join(FIXTURES, 'rank', 'matrices.safetensors')];
  const gpt2 = path.join(FIXTURES, 'gpt2');
  if (fs.existsSync(gpt2)) for (const c of fs.readdirSync(gpt2)) files.push(path.join(gpt2, c, 'params.safetensors'), path.join(gpt2, c, 'expected.safetensors'));
  const present = files.filter((f) => fs.existsSync(f));
  if (!present.length) return t.skip('no fixtures');
  for (const f of present) {
    const { tensors, metadata } = readSafetensors(f);
    const out = tmpFile('copy');
    writeSafetensors(out, tensors, metadata);
    assert.ok(fs.readFileSync(out).equals(fs.readFileSync(f)), `${f} differs after read + write`);
  }
});

test('reads a NumPy-written file with F16, BF16, F64, I64, U8 at an unaligned buffer start', () => {
  const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'safetensors', 'numpy-mixed.json'), 'utf8'));
  const file = path.join(FIXTURES, 'safetensors', 'numpy-mixed.safetensors');
  const { tensors, metadata, storedDtypes } = readSafetensors(file);
  assert.equal(readSafetensorsHeader(file).dataStart % 8, 4, 'the fixture is meant to be unaligned');
  assert.deepEqual(metadata, { made_by: 'numpy (unaligned)' });
  assert.deepEqual(storedDtypes, { 'a.f16': 'F16', 'b.bf16': 'BF16', 'c.f64': 'F64', 'd.i64': 'I64', 'e.u8': 'U8' });
  for (const name of ['a.f16', 'b.bf16']) {
    assert.equal(tensors[name].dtype, 'F32');
    assert.deepEqual(tensors[name].shape, expected[name].shape);
    const bits = Array.from(new Uint32Array(tensors[name].data.buffer), (b) => b.toString(16).padStart(8, '0'));
    assert.deepEqual(bits, expected[name].f32_bits, name);
  }
  assert.equal(tensors['c.f64'].dtype, 'F64');
  assert.deepEqual(Array.from(tensors['c.f64'].data), expected['c.f64'].values);
  assert.equal(tensors['d.i64'].dtype, 'I32');
  assert.deepEqual(Array.from(tensors['d.i64'].data), expected['d.i64'].values);
  assert.deepEqual(Array.from(tensors['e.u8'].data), expected['e.u8'].values);
});

function f16File(patterns: Uint16Array, dtype: 'F16' | 'BF16'): string {
  const bytes = new Uint8Array(patterns.length * 2);
  const dv = new DataView(bytes.buffer);
  patterns.forEach((p, i) => dv.setUint16(2 * i, p, true));
  return rawFile({ t: { dtype, shape: [patterns.length], data_offsets: [0, bytes.length] } }, bytes);
}

test('F16 decoding: hand-computed values, and all 65536 patterns against NumPy', () => {
  const cases: [number, number][] = [
    [0x3c00, 1], [0xc000, -2], [0x7bff, 65504], [0x0400, 2 ** -14], [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24],
    [0x3555, 0.333251953125], [0x7c00, Infinity], [0xfc00, -Infinity], [0x0000, 0],
  ];
  const t = readSafetensors(f16File(new Uint16Array(cases.map((c) => c[0])), 'F16')).tensors.t;
  assert.deepEqual(Array.from(t.data), cases.map((c) => c[1]));
  const negZero = readSafetensors(f16File(new Uint16Array([0x8000, 0x7e00]), 'F16')).tensors.t.data;
  assert.ok(Object.is(negZero[0], -0));
  assert.ok(Number.isNaN(negZero[1]));

  const all = readSafetensors(f16File(new Uint16Array(65536).map((_, i) => i), 'F16')).tensors.t.data as Float32Array;
  const bits = new Uint32Array(all.buffer).slice();
  let nans = 0;
  all.forEach((v, i) => Number.isNaN(v) && (nans++, (bits[i] = 0x7fc00000)));
  const ref = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'safetensors', 'numpy-mixed.json'), 'utf8'));
  assert.equal(nans, ref.f16_nan_count);
  assert.equal(createHash('sha256').update(new Uint8Array(bits.buffer)).digest('hex'), ref.f16_all_patterns_sha256);
});

test('BF16 decoding: hand-computed values', () => {
  const cases: [number, number][] = [[0x3f80, 1], [0xc049, -3.140625], [0x4120, 10], [0x7f80, Infinity], [0x0001, 2 ** -133], [0x3e80, 0.25]];
  const t = readSafetensors(f16File(new Uint16Array(cases.map((c) => c[0])), 'BF16')).tensors.t;
  assert.equal(t.dtype, 'F32');
  assert.deepEqual(Array.from(t.data), cases.map((c) => c[1]));
});

test('I64 values outside int32 are rejected, naming the tensor', () => {
  const bytes = new Uint8Array(16);
  new DataView(bytes.buffer).setBigInt64(8, 2n ** 31n, true);
  const file = rawFile({ ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, bytes);
  assert.throws(() => readSafetensors(file), /tensor 'ids': I64 value 2147483648 at index 1 does not fit in int32/);
});

test('reads only selected tensors (by list or predicate); an unknown name is an error', () => {
  const file = tmpFile();
  writeSafetensors(file, sample());
  assert.deepEqual(Object.keys(readSafetensors(file, { names: ['c.i32', 'a.f64'] }).tensors), ['a.f64', 'c.i32']);
  assert.deepEqual(Object.keys(readSafetensors(file, { names: (n) => n.startsWith('d') }).tensors), ['d.u16']);
  assert.throws(() => readSafetensors(file, { names: ['nope'] }), /no tensor named 'nope'/);
});

test('a file truncated anywhere is rejected before any tensor is returned', () => {
  const file = tmpFile('whole');
  writeSafetensors(file, sample(), { a: 'b' });
  const whole = fs.readFileSync(file);
  const n = Number(whole.readBigUInt64LE(0));
  for (const cut of [0, 5, 8, 8 + Math.floor(n / 2), 8 + n, 8 + n + 10, whole.length - 1]) {
    const f = tmpFile(`cut${cut}`);
    fs.writeFileSync(f, whole.subarray(0, cut));
    assert.throws(() => readSafetensors(f), (e: Error) => {
      assert.ok(e.message.startsWith(f), `message names the file: ${e.message}`);
      assert.match(e.message, /too short|exceeds|not valid JSON|outside the byte buffer|cover/);
      return true;
    }, `cut at ${cut}`);
  }
});

test('corrupt headers are rejected with a message naming the file and the tensor', () => {
  const buf8 = new Uint8Array(8);
  const ok = (dtype: string, shape: number[], begin: number, end: number) => ({ dtype, shape, data_offsets: [begin, end] });
  const cases: [string, string, RegExp][] = [
    ['bad JSON', rawFile(null, buf8, '{"a": {"dtype": "F32",'), /header is not valid JSON/],
    ['not an object', rawFile([1, 2]), /header must be a JSON object, got an array/],
    ['unknown dtype', rawFile({ w: ok('F8_E4M3', [8], 0, 8) }, buf8), /tensor 'w': unknown or unsupported dtype "F8_E4M3"/],
    ['missing dtype', rawFile({ w: { shape: [2], data_offsets: [0, 8] } }, buf8), /tensor 'w': unknown or unsupported dtype undefined/],
    ['wrong size', rawFile({ w: ok('F32', [3], 0, 8) }, buf8), /tensor 'w': data_offsets span 8 bytes but shape \[3\] of F32 needs 12/],
    ['bad shape', rawFile({ w: ok('F32', [-2], 0, 8) }, buf8), /tensor 'w': shape must be an array of non-negative integers/],
    ['bad offsets', rawFile({ w: { dtype: 'U8', shape: [8], data_offsets: [0] } }, buf8), /tensor 'w': data_offsets must be \[begin, end\]/],
    ['reversed offsets', rawFile({ w: ok('U8', [0], 8, 0) }, buf8), /tensor 'w': data_offsets \[8, 0\] lie outside/],
    ['past the end', rawFile({ w: ok('F32', [4], 0, 16) }, buf8), /tensor 'w': data_offsets \[0, 16\] lie outside the byte buffer of 8 bytes/],
    ['overlap', rawFile({ a: ok('F32', [2], 0, 8), b: ok('F32', [1], 4, 8) }, buf8), /tensor 'b' bytes \[4, 8\) overlap tensor 'a'/],
    ['gap', rawFile({ a: ok('U8', [2], 0, 2), b: ok('U8', [4], 4, 8) }, buf8), /bytes \[2, 4\) of the buffer belong to no tensor \(gap between 'a' and 'b'\)/],
    ['gap at start', rawFile({ a: ok('U8', [4], 4, 8) }, buf8), /bytes \[0, 4\) .*gap between '\(buffer start\)' and 'a'/],
    ['trailing bytes', rawFile({ a: ok('U8', [4], 0, 4) }, buf8), /tensors cover 4 bytes but the buffer after the header has 8/],
    ['duplicate', rawFile(null, buf8, '{"w": {"dtype":"U8","shape":[8],"data_offsets":[0,8]}, "w": {"dtype":"U8","shape":[8],"data_offsets":[0,8]}}'), /tensor 'w' appears twice/],
    ['bad metadata', rawFile({ __metadata__: { step: 3 } }), /__metadata__ value 'step' must be a string/],
    ['__proto__', rawFile(null, buf8, '{"__proto__": {"dtype":"U8","shape":[8],"data_offsets":[0,8]}}'), /tensor '__proto__': invalid tensor name/],
  ];
  for (const [what, file, re] of cases) {
    assert.throws(() => readSafetensors(file), (e: Error) => {
      assert.ok(e.message.startsWith(`${file}: `), `${what}: message should start with the file: ${e.message}`);
      assert.match(e.message, re, what);
      return true;
    }, what);
  }
  // Keys that only look duplicated (nested, or inside strings) are fine.
  const nested = rawFile(null, buf8, '{"__metadata__": {"w": "x,\\"w\\": {"}, "w": {"dtype":"U8","shape":[8],"data_offsets":[0,8]}}');
  assert.deepEqual(readSafetensors(nested).metadata, { w: 'x,"w": {' });
});

test('header length beyond the limit or the file, invalid UTF-8 and tiny files are rejected', () => {
  const file = tmpFile('len');
  const huge = Buffer.alloc(16);
  huge.writeBigUInt64LE(2n ** 62n);
  fs.writeFileSync(file, huge);
  assert.throws(() => readSafetensors(file), new RegExp(`header length ${2n ** 62n} exceeds the limit of ${MAX_HEADER_BYTES}`));
  huge.writeBigUInt64LE(9n);
  fs.writeFileSync(file, huge);
  assert.throws(() => readSafetensors(file), /header length 9 exceeds the 8 bytes after the length field/);
  const bad = Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0xc3, 0x28])]);
  fs.writeFileSync(file, bad);
  assert.throws(() => readSafetensors(file), /header is not valid UTF-8/);
  fs.writeFileSync(file, Buffer.alloc(3));
  assert.throws(() => readSafetensors(file), /file has 3 bytes, too short/);
});

test('atomic write: a failure midway leaves the previous file intact and no temporary files', () => {
  const dir = fs.mkdtempSync(path.join(TMP, 'atomic-'));
  const file = path.join(dir, 'model.safetensors');
  writeSafetensors(file, sample());
  assert.deepEqual(fs.readdirSync(dir), ['model.safetensors']);
  const before = fs.readFileSync(file);
  const failing: TensorMap = {
    a: { dtype: 'F32', shape: [1024], data: new Float32Array(1024) },
    b: { dtype: 'F32', shape: [2], get data(): Float32Array { throw new Error('disk on fire'); } },
  };
  assert.throws(() => writeSafetensors(file, failing), /disk on fire/);
  const wrongLength: TensorMap = { a: { dtype: 'F32', shape: [3], data: new Float32Array(2) } };
  assert.throws(() => writeSafetensors(file, wrongLength), /tensor 'a': data has 2 elements but shape \[3\] needs 3/);
  const wrongType: TensorMap = { a: { dtype: 'F32', shape: [2], data: new Float64Array(2) } };
  assert.throws(() => writeSafetensors(file, wrongType), /tensor 'a': dtype F32 needs a Float32Array, got Float64Array/);
  const badDtype = { a: { dtype: 'I64', shape: [1], data: new BigInt64Array(1) } } as unknown as TensorMap;
  assert.throws(() => writeSafetensors(file, badDtype), /tensor 'a': cannot write dtype I64/);
  assert.deepEqual(fs.readdirSync(dir), ['model.safetensors']);
  assert.ok(fs.readFileSync(file).equals(before), 'previous file unchanged');
  // A new file that fails leaves nothing behind either.
  assert.throws(() => writeSafetensors(path.join(dir, 'new.safetensors'), failing), /disk on fire/);
  assert.deepEqual(fs.readdirSync(dir), ['model.safetensors']);
});

test('F16 and BF16 bit patterns are written as they are and read back kept or widened', () => {
  const file = path.join(fs.mkdtempSync(path.join(TMP, 'half-')), 'h.safetensors');
  const h = new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7c00]); // F16: 1, -2, 2^-24, inf
  const b = new Uint16Array([0x3f80, 0xc040, 0x0000, 0xff80]); // BF16: 1, -3, 0, -inf
  writeSafetensors(file, { h: { dtype: 'F16', shape: [4], data: h }, b: { dtype: 'BF16', shape: [2, 2], data: b } });
  const kept = readSafetensors(file, { half: 'keep' }).tensors;
  assert.equal(kept.h.dtype, 'F16');
  assert.deepEqual(Array.from(kept.h.data), Array.from(h));
  assert.deepEqual(kept.b.shape, [2, 2]);
  assert.deepEqual(Array.from(kept.b.data), Array.from(b));
  const wide = readSafetensors(file).tensors;
  assert.deepEqual(Array.from(wide.h.data), [1, -2, 2 ** -24, Infinity]);
  assert.deepEqual(Array.from(wide.b.data), [1, -3, 0, -Infinity]);
});

test('dtype sizes are the safetensors ones', () => {
  assert.deepEqual(DTYPE_SIZE, { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U16: 2, U8: 1 });
});
