// Round trips and rejections for the token file formats: nanoGPT .bin, llm.c shards, .npy (v1/v2/v3), and
// multi-shard sources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  inspectTokenFile, writeNanoGptBin, writeLlmcShard, writeNpy, parseNpyHeader, TokenFileWriter, LLMC_MAGIC,
} from '../../lib/data/formats';
import { openTokenFile, openTokenFiles, findSplitFiles, ConcatTokenSource, MemoryTokenSource, validateTokenIds } from '../../lib/data/source';
import { tmpDir, ramp } from './tmp';
import { TokenArray } from '../../lib/data/token-array';

const dir = tmpDir('formats');
const p = (n: string): string => path.join(dir, n);

function readAll(file: string): TokenArray {
  const src = openTokenFile(file);
  const out = src.read(0, src.length);
  src.close();
  return out;
}

test('nanoGPT .bin round trip: raw uint16, no header', () => {
  const t = ramp(1001, 7);
  writeNanoGptBin(p('val.bin'), t);
  assert.equal(fs.statSync(p('val.bin')).size, 2 * t.length);
  assert.deepEqual(inspectTokenFile(p('val.bin')), { path: p('val.bin'), format: 'nanogpt', dtype: 'uint16', dataOffset: 0, numTokens: 1001 });
  assert.deepEqual(readAll(p('val.bin')), t);
  // Windows at arbitrary offsets, into a caller buffer.
  const src = openTokenFile(p('val.bin'));
  const into = new Uint16Array(20);
  assert.deepEqual(Array.from(src.read(500, 10, into).subarray(0, 10)), Array.from(t.subarray(500, 510)));
  assert.throws(() => src.read(995, 10), /outside the token source/);
  src.close();
});

test('llm.c shard round trip: 1024-byte int32 header {20240520, 1, n}', () => {
  const t = ramp(3000, 11);
  const f = p('fineweb_val_000000.bin');
  writeLlmcShard(f, t);
  const buf = fs.readFileSync(f);
  assert.equal(buf.length, 1024 + 2 * t.length);
  assert.equal(buf.readInt32LE(0), LLMC_MAGIC);
  assert.equal(buf.readInt32LE(4), 1);
  assert.equal(buf.readInt32LE(8), t.length);
  assert.ok(buf.subarray(12, 1024).every((b) => b === 0));
  assert.equal(inspectTokenFile(f).format, 'llmc');
  assert.deepEqual(readAll(f), t);
});

test('.npy round trip: v1.0 header, <u2, 1-D, 64-byte aligned data', () => {
  const t = ramp(777, 3);
  const f = p('edufineweb_val_000000.npy');
  writeNpy(f, t);
  const buf = fs.readFileSync(f);
  assert.equal(buf.subarray(0, 8).toString('latin1'), '\x93NUMPY\x01\x00');
  const hlen = buf.readUInt16LE(8);
  assert.equal((10 + hlen) % 64, 0);
  const header = buf.subarray(10, 10 + hlen).toString('latin1');
  assert.match(header, /^\{'descr': '<u2', 'fortran_order': False, 'shape': \(777,\), \} *\n$/);
  assert.deepEqual(inspectTokenFile(f), { path: f, format: 'npy', dtype: 'uint16', dataOffset: 10 + hlen, numTokens: 777 });
  assert.deepEqual(readAll(f), t);
  // Streaming writer (header reserved for a large count, filled at the end) reads back the same.
  const w = new TokenFileWriter(p('stream.npy'), 'npy');
  w.write(t.subarray(0, 300));
  w.write(t.subarray(300));
  w.finish();
  assert.deepEqual(readAll(p('stream.npy')), t);
});

function npyBytes(version: number, dict: string, data: Uint16Array): Buffer {
  const pre = version === 1 ? 10 : 12;
  let h = dict;
  while ((pre + h.length + 1) % 64 !== 0) h += ' ';
  h += '\n';
  const head = Buffer.alloc(pre);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(head);
  if (version === 1) head.writeUInt16LE(h.length, 8);
  else head.writeUInt32LE(h.length, 8);
  return Buffer.concat([head, Buffer.from(h, version === 3 ? 'utf8' : 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

test('.npy v2 and v3 headers and |u2 parse', () => {
  const t = ramp(50);
  for (const v of [2, 3]) {
    const f = p(`v${v}.npy`);
    fs.writeFileSync(f, npyBytes(v, `{'descr': '|u2', 'fortran_order': False, 'shape': (50,), }`, t));
    const lay = inspectTokenFile(f);
    assert.equal(lay.numTokens, 50);
    assert.equal(lay.dataOffset % 64, 0);
    assert.deepEqual(readAll(f), t);
  }
  const h = parseNpyHeader(npyBytes(1, `{'descr': '<u2', 'fortran_order': False, 'shape': (50,), }`, t));
  assert.equal(h.version, 1);
});

test('.npy with a wrong dtype, Fortran order, 2-D shape or size is rejected', () => {
  const t = ramp(8);
  const cases: Array<[string, RegExp]> = [
    [`{'descr': '>u2', 'fortran_order': False, 'shape': (8,), }`, /dtype '>u2'; expected '<u2' \(uint16 tokens\) or '<u4'/],
    [`{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }`, /dtype '<i4'; expected '<u2'/],
    [`{'descr': '<u2', 'fortran_order': True, 'shape': (8,), }`, /fortran_order True/],
    [`{'descr': '<u2', 'fortran_order': False, 'shape': (2, 4), }`, /1-D/],
    [`{'descr': '<u2', 'fortran_order': False, 'shape': (9,), }`, /does not match the \.npy header/],
  ];
  for (const [dict, re] of cases) {
    fs.writeFileSync(p('bad.npy'), npyBytes(1, dict, t));
    assert.throws(() => inspectTokenFile(p('bad.npy')), re);
  }
});

test('bad input: odd byte length, wrong magic, wrong version, ids >= vocab, empty files', () => {
  fs.writeFileSync(p('odd.bin'), Buffer.alloc(7));
  assert.throws(() => inspectTokenFile(p('odd.bin')), /byte length 7 is not a multiple of 2/);
  fs.writeFileSync(p('nomagic.npy'), Buffer.alloc(64, 1));
  assert.throws(() => inspectTokenFile(p('nomagic.npy')), /wrong magic.*\\x93NUMPY/);
  fs.writeFileSync(p('edu_fineweb_train_000001.bin'), Buffer.alloc(2048, 3));
  assert.throws(() => inspectTokenFile(p('edu_fineweb_train_000001.bin')), /wrong magic .*20240520 \(gpt-2, uint16\) or 20240801 \(llama-3, uint32\)/);
  const v2 = Buffer.alloc(1024 + 4);
  v2.writeInt32LE(LLMC_MAGIC, 0);
  v2.writeInt32LE(2, 4);
  v2.writeInt32LE(2, 8);
  fs.writeFileSync(p('v2_val_000000.bin'), v2);
  assert.throws(() => inspectTokenFile(p('v2_val_000000.bin')), /gpt-2 shard \(magic 20240520\) with version 2; expected version 1 \(uint16 tokens\)/);
  const short = Buffer.from(v2);
  short.writeInt32LE(1, 4);
  short.writeInt32LE(5, 8);
  fs.writeFileSync(p('short_val_000000.bin'), short);
  assert.throws(() => inspectTokenFile(p('short_val_000000.bin')), /size should be 1024 \+ 2 x 5 = 1034 bytes, but it is 1028/);
  const big = ramp(100);
  big[42] = 50257;
  writeNanoGptBin(p('big.bin'), big);
  assert.throws(() => openTokenFile(p('big.bin')), /token id 50257 at token 42 is >= the vocabulary size 50257/);
  assert.doesNotThrow(() => openTokenFile(p('big.bin'), 'none'));
  fs.writeFileSync(p('empty.bin'), Buffer.alloc(0));
  assert.throws(() => inspectTokenFile(p('empty.bin')), /empty file/);
  fs.writeFileSync(p('empty.npy'), Buffer.alloc(0));
  assert.throws(() => inspectTokenFile(p('empty.npy')), /empty file/);
});

test('sampled validation checks 64 chunks of a large source', () => {
  const t = ramp(70 * 65536);
  t[0] = 60000;
  assert.throws(() => validateTokenIds(new MemoryTokenSource(t), 'sample'), /token id 60000 at token 0/);
  t[0] = 0;
  assert.doesNotThrow(() => validateTokenIds(new MemoryTokenSource(t), 'sample'));
});

test('multi-shard sources concatenate in sorted order and read across boundaries', () => {
  const sd = path.join(dir, 'shards');
  fs.mkdirSync(sd);
  const parts = [ramp(100, 0), ramp(37, 1000), ramp(250, 2000)];
  writeLlmcShard(path.join(sd, 'fineweb_val_000000.bin'), ramp(60, 9000));
  writeLlmcShard(path.join(sd, 'fineweb_train_000002.bin'), parts[1]);
  writeLlmcShard(path.join(sd, 'fineweb_train_000001.bin'), parts[0]);
  writeLlmcShard(path.join(sd, 'fineweb_train_000003.bin'), parts[2]);
  const split = findSplitFiles(sd);
  assert.deepEqual(split.val.map((f) => path.basename(f)), ['fineweb_val_000000.bin']);
  assert.deepEqual(split.train.map((f) => path.basename(f)), ['fineweb_train_000001.bin', 'fineweb_train_000002.bin', 'fineweb_train_000003.bin']);
  const src = openTokenFiles(split.train);
  assert.ok(src instanceof ConcatTokenSource);
  const all = Uint16Array.from([...parts[0], ...parts[1], ...parts[2]]);
  assert.equal(src.length, all.length);
  assert.deepEqual(src.shards.map((s) => [s.start, s.length]), [[0, 100], [100, 37], [137, 250]]);
  for (const [o, n] of [[0, 387], [95, 50], [99, 2], [100, 37], [136, 2], [300, 87]]) assert.deepEqual(src.read(o, n), all.subarray(o, o + n));
  src.close();
  // A bad id in the second shard is reported with that file and its local position.
  const bd = path.join(dir, 'badshards');
  fs.mkdirSync(bd);
  const bad = ramp(40);
  bad[7] = 50300;
  writeLlmcShard(path.join(bd, 'a_train_000001.bin'), ramp(30));
  writeLlmcShard(path.join(bd, 'a_train_000002.bin'), bad);
  assert.throws(() => openTokenFiles(findSplitFiles(bd).train), /a_train_000002\.bin: token id 50300 at token 7 is >= the vocabulary size/);
  // Shards named neither val nor train: sorted, shard 0 is val (FineWeb preps).
  const nd = path.join(dir, 'numbered');
  fs.mkdirSync(nd);
  writeNpy(path.join(nd, 'shard_000001.npy'), ramp(10));
  writeNpy(path.join(nd, 'shard_000000.npy'), ramp(10));
  const ns = findSplitFiles(nd);
  assert.deepEqual([ns.val.map((f) => path.basename(f)), ns.train.map((f) => path.basename(f))], [['shard_000000.npy'], ['shard_000001.npy']]);
});
