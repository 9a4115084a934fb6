// uint32 token files (vocabularies over 65536, e.g. Llama 3's 128256) beside uint16: every format at both widths
// round-trips, NumPy-written files (test/reference/make_token_fixtures.py) read back as NumPy reads them, bad headers
// and truncated files are refused, and the samplers and BOS-aligned windows return the ids that were written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  inspectTokenFile, writeTokenFile, TokenFileWriter, TokenFormat, LLMC_LLAMA_MAGIC, LLMC_MAGIC, parseNpyHeader,
} from '../../lib/data/formats';
import { ConcatTokenSource, FileTokenSource, MemoryTokenSource, openTokenFile, openTokenFiles, validateTokenIds } from '../../lib/data/source';
import { RandomWindowSampler, SequentialLoader, validationBatches, Batch } from '../../lib/data/sampler';
import { withAlignment } from '../../lib/data/windows';
import { TokenArray, TokenDType, allocTokens } from '../../lib/data/token-array';
import { TokenBuffer } from '../../lib/data/tokenizer';
import { Rng } from '../../lib/util/rng';
import { tmpDir, ramp } from './tmp';

const dir = tmpDir('token-width');
const p = (n: string): string => path.join(dir, n);
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'tokens');
const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'ids.json'), 'utf8')) as { ids: number[]; u2: number[] };

/** Ids that need 32 bits: 70000 + i, so every value is distinct and above 65535. */
function ramp32(n: number, start = 70000): Uint32Array {
  return Uint32Array.from({ length: n }, (_, i) => start + i);
}

function readAll(file: string, rawDType: TokenDType = 'uint16'): TokenArray {
  const src = openTokenFile(file, 'none', rawDType);
  try {
    return src.read(0, src.length);
  } finally {
    src.close();
  }
}

const FILE_NAMES: Record<TokenFormat, string> = { nanogpt: 'train.bin', llmc: 'tok_val_000000.bin', npy: 'tok_val_000000.npy' };

for (const dtype of ['uint16', 'uint32'] as const) {
  for (const format of ['nanogpt', 'llmc', 'npy'] as const) {
    test(`${format} round trip at ${dtype}: header, size and ids`, () => {
      const t = dtype === 'uint32' ? ramp32(1234) : ramp(1234, 9);
      const f = p(`${dtype}-${FILE_NAMES[format]}`);
      writeTokenFile(f, t, format);
      const lay = inspectTokenFile(f, dtype);
      assert.equal(lay.format, format);
      assert.equal(lay.dtype, dtype);
      assert.equal(lay.numTokens, t.length);
      const width = dtype === 'uint32' ? 4 : 2;
      assert.equal(fs.statSync(f).size, lay.dataOffset + width * t.length);
      const buf = fs.readFileSync(f);
      if (format === 'llmc') {
        assert.equal(buf.readInt32LE(0), dtype === 'uint32' ? 20240801 : 20240520);
        assert.equal(buf.readInt32LE(4), dtype === 'uint32' ? 7 : 1);
        assert.equal(buf.readInt32LE(8), t.length);
      }
      if (format === 'npy') assert.match(buf.subarray(10, lay.dataOffset).toString('latin1'), new RegExp(`'descr': '${dtype === 'uint32' ? '<u4' : '<u2'}'`));
      const back = readAll(f, dtype);
      assert.ok(dtype === 'uint32' ? back instanceof Uint32Array : back instanceof Uint16Array);
      assert.deepEqual(Array.from(back), Array.from(t));
      // A window at an offset, into a caller buffer of the source's width.
      const src = openTokenFile(f, 'none', dtype);
      const into = allocTokens(dtype, 16);
      assert.deepEqual(Array.from(src.read(600, 16, into)), Array.from(t.subarray(600, 616)));
      src.close();
    });
  }
}

test('NumPy-written files: <u4 and <u2 .npy, a llama-3 shard and a raw uint32 .bin hold the ids NumPy reads', () => {
  const u4 = parseNpyHeader(fs.readFileSync(path.join(FIXTURES, 'u4.npy')));
  assert.equal(u4.dtype, 'uint32');
  assert.deepEqual(Array.from(readAll(path.join(FIXTURES, 'u4.npy'))), expected.ids);
  assert.deepEqual(Array.from(readAll(path.join(FIXTURES, 'u2.npy'))), expected.u2);
  const shard = path.join(FIXTURES, 'llama3_val_000000.bin');
  assert.deepEqual(inspectTokenFile(shard), { path: shard, format: 'llmc', dtype: 'uint32', dataOffset: 1024, numTokens: expected.ids.length });
  assert.deepEqual(Array.from(readAll(shard)), expected.ids);
  assert.deepEqual(Array.from(readAll(path.join(FIXTURES, 'raw_u4.bin'), 'uint32')), expected.ids);
  // Our writers produce the same bytes as NumPy for the same ids (the .npy header text included).
  const ids = Uint32Array.from(expected.ids);
  for (const [name, format] of [['u4.npy', 'npy'], ['llama3_val_000000.bin', 'llmc'], ['raw_u4.bin', 'nanogpt']] as const) {
    writeTokenFile(p(`ours-${name}`), ids, format);
    assert.deepEqual(fs.readFileSync(p(`ours-${name}`)), fs.readFileSync(path.join(FIXTURES, name)), name);
  }
});

test('llm.c headers: a wrong version for either magic, or a wrong magic, is refused naming what was expected', () => {
  const head = (magic: number, version: number, n: number, width: number): Buffer => {
    const b = Buffer.alloc(1024 + n * width);
    b.writeInt32LE(magic, 0);
    b.writeInt32LE(version, 4);
    b.writeInt32LE(n, 8);
    return b;
  };
  fs.writeFileSync(p('l1_val_000000.bin'), head(LLMC_LLAMA_MAGIC, 1, 4, 4));
  assert.throws(() => inspectTokenFile(p('l1_val_000000.bin')), /llm\.c llama-3 shard \(magic 20240801\) with version 1; expected version 7 \(uint32 tokens\)/);
  fs.writeFileSync(p('g7_val_000000.bin'), head(LLMC_MAGIC, 7, 4, 2));
  assert.throws(() => inspectTokenFile(p('g7_val_000000.bin')), /gpt-2 shard \(magic 20240520\) with version 7; expected version 1/);
  fs.writeFileSync(p('m_val_000000.bin'), head(20240802, 7, 4, 4));
  assert.throws(() => inspectTokenFile(p('m_val_000000.bin')), /wrong magic 20240802; .*20240520 \(gpt-2, uint16\) or 20240801 \(llama-3, uint32\)/);
});

test('truncated uint32 files are refused: llm.c and .npy sizes, a raw .bin not a multiple of 4 bytes', () => {
  const t = ramp32(10);
  writeTokenFile(p('cut_val_000000.bin'), t, 'llmc');
  const full = fs.readFileSync(p('cut_val_000000.bin'));
  fs.writeFileSync(p('cut_val_000000.bin'), full.subarray(0, full.length - 2));
  assert.throws(() => inspectTokenFile(p('cut_val_000000.bin')), /llama-3 header says 10 uint32 tokens, so the size should be 1024 \+ 4 x 10 = 1064 bytes, but it is 1062/);
  fs.writeFileSync(p('cut_val_000000.bin'), full.subarray(0, 1000));
  assert.throws(() => inspectTokenFile(p('cut_val_000000.bin')), /llama-3 magic 20240801 but only 1000 bytes/);
  writeTokenFile(p('cut.npy'), t, 'npy');
  const npy = fs.readFileSync(p('cut.npy'));
  fs.writeFileSync(p('cut.npy'), npy.subarray(0, npy.length - 4));
  assert.throws(() => inspectTokenFile(p('cut.npy')), /size 164 bytes does not match the \.npy header \(offset 128 \+ 4 x 10 uint32 = 168\)/);
  fs.writeFileSync(p('raw.bin'), Buffer.alloc(4 * 10 + 2));
  assert.throws(() => inspectTokenFile(p('raw.bin'), 'uint32'), /byte length 42 is not a multiple of 4; a nanoGPT \.bin of uint32 tokens/);
  assert.equal(inspectTokenFile(p('raw.bin')).numTokens, 21, 'the same bytes are 21 uint16 ids by default');
});

test('writers: uint32 ids do not fit uint16 files, ids >= 2^31 are refused, uint16 arrays widen', () => {
  assert.throws(() => writeTokenFile(p('narrow.bin'), Uint32Array.from([1, 65536]), 'nanogpt', 'uint16'), /token id 65536 at 1 does not fit a uint16 token file/);
  assert.ok(!fs.existsSync(p('narrow.bin')), 'no file left behind');
  assert.throws(() => writeTokenFile(p('huge.bin'), Uint32Array.from([2 ** 31]), 'nanogpt'), /token id 2147483648 is >= 2\^31/);
  const w = new TokenFileWriter(p('widen.npy'), 'npy', 100, 'uint32');
  w.write(Uint16Array.from([1, 2, 65535]));
  w.write(Uint32Array.from([70000]));
  w.finish();
  assert.deepEqual(Array.from(readAll(p('widen.npy'))), [1, 2, 65535, 70000]);
  const b = new TokenBuffer(4, 'uint16');
  assert.throws(() => b.push(65536), /token id 65536 is not a uint16 id/);
  const b32 = new TokenBuffer(4, 'uint32');
  b32.pushAll([128000, 5, 128255, 7, 9]);
  assert.deepEqual(Array.from(b32.view()), [128000, 5, 128255, 7, 9]);
});

test('sources: one width per stream, reads into a buffer of the wrong width and ids >= 2^31 are refused', () => {
  writeTokenFile(p('a_val_000000.bin'), ramp(50), 'llmc');
  writeTokenFile(p('b_train_000001.bin'), ramp32(50), 'llmc');
  assert.throws(() => openTokenFiles([p('a_val_000000.bin'), p('b_train_000001.bin')]), /holds uint32 tokens but .*a_val_000000\.bin holds uint16; the files of one split must have one token width/);
  const src = new MemoryTokenSource(ramp32(20));
  assert.equal(src.dtype, 'uint32');
  assert.throws(() => src.read(0, 4, new Uint16Array(4)), /'into' is a Uint16Array but the source holds uint32 tokens/);
  // Concatenated uint32 shards read across the boundary.
  writeTokenFile(p('c_train_000002.bin'), ramp32(30, 200000), 'llmc');
  const cat = openTokenFiles([p('b_train_000001.bin'), p('c_train_000002.bin')]);
  assert.ok(cat instanceof ConcatTokenSource);
  assert.deepEqual(Array.from(cat.read(45, 10)), [...Array.from(ramp32(5, 70045)), ...Array.from(ramp32(5, 200000))]);
  cat.close();
  // Without meta.json a uint32 file's ids are checked only against the int32 limit of batches (the model checks its
  // own vocabulary); 0xFFFFFFFF cannot become a batch id.
  const bad = Buffer.alloc(1024 + 12);
  bad.writeInt32LE(LLMC_LLAMA_MAGIC, 0);
  bad.writeInt32LE(7, 4);
  bad.writeInt32LE(3, 8);
  bad.writeUInt32LE(128000, 1024);
  bad.writeUInt32LE(0xffffffff, 1028);
  fs.writeFileSync(p('bad_val_000000.bin'), bad);
  assert.throws(() => openTokenFile(p('bad_val_000000.bin')), /token id 4294967295 at token 1 is >= the vocabulary size 2147483648 \(batches hold ids as int32\)/);
  const b32 = new FileTokenSource(inspectTokenFile(p('b_train_000001.bin')));
  assert.doesNotThrow(() => validateTokenIds(b32, 'full'));
  assert.throws(() => validateTokenIds(b32, 'full', 70010), /token id 70010 at token 10 is >= the vocabulary size 70010$/);
  b32.close();
});

/** Checks each row is a window of `data` (x = data[o:o+T], y shifted by one) and returns the row starts. */
function rows(b: Batch, data: TokenArray, base: number): number[] {
  const [B, T] = b.shape;
  const out: number[] = [];
  for (let r = 0; r < B; r++) {
    const o = b.x[r * T] - base; // ramp data: value - base is the position
    for (let t = 0; t < T; t++) {
      assert.equal(b.x[r * T + t], data[o + t]);
      assert.equal(b.y[r * T + t], data[o + t + 1]);
    }
    out.push(o);
  }
  return out;
}

test('samplers over a uint32 llama-3 shard return the written ids > 65535, at the offsets the uint16 run draws', () => {
  const n = 4000;
  const data = ramp32(n, 100000);
  writeTokenFile(p('s_val_000000.bin'), data, 'llmc');
  const src = openTokenFile(p('s_val_000000.bin'));
  assert.equal(src.dtype, 'uint32');
  const same16 = new MemoryTokenSource(ramp(n)); // the same stream 100000 lower, as uint16
  const a = new RandomWindowSampler(src, { batchSize: 4, blockSize: 16, seed: 7 });
  const b = new RandomWindowSampler(same16, { batchSize: 4, blockSize: 16, seed: 7 });
  const rng = new Rng(7);
  for (let k = 0; k < 10; k++) {
    const x = a.next();
    const starts = rows(x, data, 100000);
    assert.deepEqual(starts, [0, 1, 2, 3].map(() => rng.int(n - 16)));
    assert.deepEqual(Array.from(x.x, (v) => v - 100000), Array.from(b.next().x));
  }
  const seq = new SequentialLoader(src, { batchSize: 2, blockSize: 8 });
  for (let k = 0; k < 5; k++) assert.deepEqual(rows(seq.next(), data, 100000), [16 * k, 16 * k + 8]);
  const vb = validationBatches(src, { batchSize: 3, blockSize: 10, numBatches: 2 });
  assert.deepEqual(vb.flatMap((x) => rows(x, data, 100000)), [0, 1, 2, 3, 4, 5].map((w) => Math.floor((w * (n - 11)) / 5)));
  src.close();
});

test('BOS-aligned windows on uint32 ids: every window starts at 128000 (Llama 3 <|begin_of_text|>)', () => {
  // Documents of 5..14 tokens, each starting with 128000; the body ids are above 65535 too.
  const stream: number[] = [];
  const docStarts: number[] = [];
  for (let d = 0; d < 60; d++) {
    docStarts.push(stream.length);
    stream.push(128000);
    for (let i = 0; i < 4 + (d % 10); i++) stream.push(70000 + d * 100 + i);
  }
  const data = Uint32Array.from(stream);
  writeTokenFile(p('bos.npy'), data, 'npy');
  const src = withAlignment(openTokenFile(p('bos.npy')), { start: 'bos', token: 128000 });
  assert.deepEqual(Array.from(src.boundaryOffsets()), docStarts);
  const s = new RandomWindowSampler(src, { batchSize: 5, blockSize: 12, seed: 3 });
  for (let k = 0; k < 20; k++) {
    const b = s.next();
    for (let r = 0; r < 5; r++) {
      const row = Array.from(b.x.subarray(r * 12, r * 12 + 12));
      assert.equal(row[0], 128000);
      const o = docStarts.find((d) => data[d + 1] === row[1])!;
      assert.deepEqual(row, Array.from(data.subarray(o, o + 12)));
    }
  }
  const vb = validationBatches(src, { batchSize: 4, blockSize: 12, numBatches: 1, mode: 'head' });
  for (let r = 0; r < 4; r++) assert.deepEqual(Array.from(vb[0].x.subarray(r * 12, r * 12 + 12)), Array.from(data.subarray(docStarts[r], docStarts[r] + 12)));
  // A uint16 source cannot align on an id it cannot hold.
  assert.throws(() => withAlignment(new MemoryTokenSource(ramp(100)), { start: 'bos', token: 128000 }), /must be a uint16 id \(0\.\.65535\) of this source, got 128000/);
  src.close();
});
