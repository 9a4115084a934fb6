// uint32 datasets end to end: llm.c llama-3 shards copied by `prepare` (vocabulary and separator given, ids checked),
// meta.json recording the width of the headerless train.bin / val.bin (old datasets without it stay uint16), exports
// at both widths, a folder of llama-3 shards used as it is, and `rank --model` of a Llama folder reading ids > 65535
// (the model refuses ids beyond its own vocabulary).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setupBackend } from '../helpers';
import { prepareCommand } from '../../lib/data/cli';
import { prepareFromDocuments } from '../../lib/data/prepare';
import { prepareFromTokenFiles } from '../../lib/data/prepare-tokens';
import { describeDataset, openDataset } from '../../lib/data/dataset';
import { exportDataset } from '../../lib/data/export';
import { inspectTokenFile, writeTokenFile } from '../../lib/data/formats';
import { findSplitFiles, openTokenFiles } from '../../lib/data/source';
import { TextDocument } from '../../lib/data/text';
import { rankWindows } from '../../lib/experiments/rank-profile';
import { rankCommand } from '../../lib/metrics/cli';
import { RANDOM_SHAPES, writeRandomHFFolder } from '../../lib/model/families/random-folder';
import { tmpDir, leftovers } from './tmp';

const root = tmpDir('token-width-dataset');

/** A Llama-3-like stream: documents that start with <|begin_of_text|> = 128000, body ids spread over [0, 128256). */
function llamaStream(docs: number, seed: number): Uint32Array {
  const out: number[] = [];
  let s = seed;
  for (let d = 0; d < docs; d++) {
    out.push(128000);
    for (let i = 0; i < 20 + (d % 7); i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out.push(s % 128000);
    }
  }
  return Uint32Array.from(out);
}

/** llm.c's layout for Llama 3 (dev/data/fineweb.py --model llama-3): shard 0 val, then train shards. */
function llamaShards(name: string): { dir: string; val: Uint32Array; train: Uint32Array[] } {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  const val = llamaStream(12, 1);
  const train = [llamaStream(30, 2), llamaStream(25, 3)];
  writeTokenFile(path.join(dir, 'fineweb_val_000000.bin'), val, 'llmc');
  writeTokenFile(path.join(dir, 'fineweb_train_000001.bin'), train[0], 'llmc');
  writeTokenFile(path.join(dir, 'fineweb_train_000002.bin'), train[1], 'llmc');
  return { dir, val, train };
}

const concat = (parts: Uint32Array[]): number[] => parts.flatMap((p) => Array.from(p));
const count = (a: ArrayLike<number>, id: number): number => Array.prototype.filter.call(a, (t: number) => t === id).length;

before(async () => {
  await setupBackend();
});

test('prepare llama-3 shards: uint32 train.bin / val.bin with the same ids, vocabulary and separator recorded', async () => {
  const src = llamaShards('fineweb-llama3');
  const dataDir = path.join(root, 'data');
  const run = async (args: string[]): Promise<{ code: number; err: string }> => {
    let err = '';
    const code = await prepareCommand([src.dir, '--data-dir', dataDir, '--quiet', ...args], { out: () => {}, err: (s) => (err += s) });
    return { code, err };
  };
  const noVocab = await run(['--name', 'l3']);
  assert.equal(noVocab.code, 1);
  assert.match(noVocab.err, /the token files hold uint32 ids, and their vocabulary is not recorded in them; give it \(--vocab-size, e\.g\. 128256 for Llama 3\)/);
  const small = await run(['--name', 'l3', '--vocab-size', '100000']);
  assert.equal(small.code, 1);
  assert.match(small.err, /fineweb_val_000000\.bin: token id \d+ at token \d+ is >= the vocabulary size 100000/);
  assert.deepEqual(leftovers(dataDir), []);
  const noVocabSep = await run(['--name', 'l3', '--separator', '128000']);
  assert.equal(noVocabSep.code, 1);
  assert.match(noVocabSep.err, /--separator needs --vocab-size/);
  let out = '';
  const ok = { code: await prepareCommand([src.dir, '--data-dir', dataDir, '--quiet', '--name', 'l3', '--vocab-size', '128256', '--separator', '128000'], { out: (x) => (out += x), err: (x) => (out += x) }) };
  assert.equal(ok.code, 0, out);
  assert.match(out, /tokens: train 1,\d+, val \d+ \(total [\d,]+\), uint32 ids, vocabulary 128,256\n/);
  const dir = path.join(dataDir, 'l3');
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
  assert.equal(meta.format, 'nanogpt-uint32');
  assert.equal(meta.vocabSize, 128256);
  assert.deepEqual(meta.tokenizer, { name: 'unknown', vocabSize: 128256, separator: 128000 });
  assert.equal(meta.eot, 'prepend', 'detected from the leading separator');
  assert.deepEqual(meta.documents, { val: 12, train: 55 });
  const read = (f: string): number[] => {
    const b = fs.readFileSync(path.join(dir, f));
    assert.equal(b.length % 4, 0);
    return Array.from(new Uint32Array(b.buffer, b.byteOffset, b.length / 4));
  };
  assert.deepEqual(read('val.bin'), Array.from(src.val));
  assert.deepEqual(read('train.bin'), concat(src.train));
  const info = describeDataset(dir);
  assert.equal(info.tokenDType, 'uint32');
  assert.deepEqual(info.tokens, { val: src.val.length, train: src.train[0].length + src.train[1].length });
  // 'bos' windows start at the separator given; the rank protocol's windows are windows of val.
  const val = openDataset(info, 'val', 'auto', 'bos');
  const wins = rankWindows(val, 6, 16, 9);
  val.close();
  for (const w of wins) {
    assert.equal(w[0], 128000);
    const at = Array.from(src.val).findIndex((_, i) => src.val.subarray(i, i + 16).every((t, k) => t === w[k]));
    assert.ok(at >= 0, 'a window of val');
  }
  // A rerun is a no-op; without a separator the documents are not counted and 'bos' windows are refused.
  assert.equal((await run(['--name', 'l3', '--vocab-size', '128256', '--separator', '128000'])).code, 0);
  const split = findSplitFiles(src.dir);
  const r = await prepareFromTokenFiles({ name: 'l3-nosep', dataDir, source: src.dir, files: [], trainFiles: split.train, valFiles: split.val, vocabSize: 128256, quiet: true });
  assert.deepEqual(r.meta.documents, { val: 0, train: 0 });
  assert.match((r.meta.split as { description: string }).description, /document separator unknown/);
  assert.throws(() => openDataset(describeDataset(r.dir), 'val', 'auto', 'bos'), /window mode 'bos' needs the document separator of these uint32 ids/);
  const any = openDataset(describeDataset(r.dir), 'val', 'auto', 'any');
  assert.deepEqual(Array.from(any.read(0, any.length)), Array.from(src.val));
  any.close();
});

test('raw uint32 train.bin / val.bin without meta.json are refused as uint16, then copied with --token-dtype uint32', async () => {
  const dir = path.join(root, 'raw32');
  fs.mkdirSync(dir);
  const val = llamaStream(200, 4);
  const train = llamaStream(300, 5);
  fs.writeFileSync(path.join(dir, 'val.bin'), Buffer.from(val.buffer));
  fs.writeFileSync(path.join(dir, 'train.bin'), Buffer.from(train.buffer));
  const info = describeDataset(dir);
  assert.equal(info.tokenDType, 'uint16', 'a raw .bin has no header: uint16 unless meta.json says otherwise');
  assert.throws(() => openDataset(info, 'val'), /look like uint32 read as uint16 .*prepare .*raw32 --token-dtype uint32 --vocab-size V --name NAME/);
  const dataDir = path.join(root, 'raw32-data');
  let err = '';
  const code = await prepareCommand([dir, '--token-dtype', 'uint32', '--vocab-size', '128256', '--separator', '128000', '--data-dir', dataDir, '--name', 'r32', '--quiet'], { out: () => {}, err: (s) => (err += s) });
  assert.equal(code, 0, err);
  const v = openDataset(describeDataset(path.join(dataDir, 'r32')), 'val');
  assert.equal(v.dtype, 'uint32');
  assert.deepEqual(Array.from(v.read(0, v.length)), Array.from(val));
  v.close();
});

test('meta.json: datasets without a format field stay uint16; an unknown format is an error; widths do not mix', async () => {
  const dataDir = path.join(root, 'meta');
  const docs: TextDocument[] = Array.from({ length: 30 }, (_, i) => ({ name: `d${i}`, text: `Document ${i} is short.` }));
  const r = await prepareFromDocuments({ name: 'old', dataDir, source: 'unit-test', files: [], documents: docs, valFraction: 0.3, quiet: true });
  assert.equal(r.meta.format, 'nanogpt-uint16');
  const metaPath = path.join(r.dir, 'meta.json');
  const meta = JSON.parse(fs.readFileSync(metaPath, 'utf8'));
  delete meta.format; // as written before the field named two widths (it was always 'nanogpt-uint16')
  fs.writeFileSync(metaPath, JSON.stringify(meta));
  const info = describeDataset(r.dir);
  assert.equal(info.tokenDType, 'uint16');
  assert.deepEqual(info.tokens, r.meta.tokens);
  fs.writeFileSync(metaPath, JSON.stringify({ ...meta, format: 'nanogpt-int8' }));
  assert.throws(() => describeDataset(r.dir), /meta\.json format 'nanogpt-int8' is unknown; expected 'nanogpt-uint16' or 'nanogpt-uint32'/);
  const mixed = path.join(root, 'mixed');
  fs.mkdirSync(mixed);
  writeTokenFile(path.join(mixed, 'x_val_000000.bin'), Uint16Array.from([1, 2, 3]), 'llmc');
  writeTokenFile(path.join(mixed, 'x_train_000001.npy'), Uint32Array.from([70000, 2, 3]), 'npy');
  assert.throws(() => describeDataset(mixed), /mix uint16 and uint32 ids \(x_train_000001\.npy uint32, x_val_000000\.bin uint16\); a dataset has one width/);
});

test('export a uint32 dataset as llama-3 shards, <u4 .npy and raw .bin with its meta.json; narrowing is checked', async () => {
  const src = llamaShards('export-src');
  const dataDir = path.join(root, 'export');
  const files = findSplitFiles(src.dir);
  const r = await prepareFromTokenFiles({ name: 'l3', dataDir, source: src.dir, files: [], trainFiles: files.train, valFiles: files.val, vocabSize: 128256, separator: 128000, quiet: true });
  for (const format of ['llmc', 'npy', 'bin'] as const) {
    const out = path.join(root, `exported-${format}`);
    const written = exportDataset({ from: r.dir, outDir: out, format, shardTokens: 100, quiet: true });
    const split = findSplitFiles(out);
    if (format === 'bin') {
      assert.ok(written.some((f) => path.basename(f) === 'meta.json'));
      const info = describeDataset(out);
      assert.equal(info.tokenDType, 'uint32', 'the copied meta.json says how wide the raw ids are');
      const v = openDataset(info, 'val');
      assert.deepEqual(Array.from(v.read(0, v.length)), Array.from(src.val));
      v.close();
      continue;
    }
    for (const f of [...split.val, ...split.train]) {
      const lay = inspectTokenFile(f);
      assert.equal(lay.dtype, 'uint32');
      assert.ok(lay.numTokens <= 100);
      if (format === 'llmc') assert.deepEqual([fs.readFileSync(f).readInt32LE(0), fs.readFileSync(f).readInt32LE(4)], [20240801, 7]);
    }
    const v = openTokenFiles(split.val);
    const t = openTokenFiles(split.train);
    assert.deepEqual(Array.from(v.read(0, v.length)), Array.from(src.val), format);
    assert.deepEqual(Array.from(t.read(0, t.length)), concat(src.train), format);
    v.close();
    t.close();
  }
  assert.throws(() => exportDataset({ from: r.dir, outDir: path.join(root, 'narrow'), format: 'npy', dtype: 'uint16', quiet: true }), /token id 128000 at 0 does not fit a uint16 token file/);
  assert.deepEqual(leftovers(path.join(root, 'narrow')), []);
});

test('rank --model of a Llama folder on llama-3 shards reads ids > 65535; a model with a smaller vocabulary refuses them', async () => {
  const src = llamaShards('rank-shards');
  assert.ok(count(src.val, 128000) > 0 && Array.from(src.val).some((t) => t > 65535 && t !== 128000));
  const shape = { ...RANDOM_SHAPES['tiny-llama'], hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 32 };
  const llama3 = path.join(root, 'llama3-vocab');
  writeRandomHFFolder(llama3, { ...shape, vocab_size: 128256 }, { dtype: 'F32' });
  const lines: string[] = [];
  const code = await rankCommand(['--model', llama3, '--data', src.dir, '--n', '4', '--t', '16', '--causal-windows', '0', '--out', path.join(root, 'rank-out')], (s) => lines.push(s));
  assert.equal(code, 0);
  assert.ok(lines.some((l) => /4 windows of 16 tokens from rank-shards val/.test(l)), lines.join('\n'));
  const gpt2Vocab = path.join(root, 'small-vocab');
  writeRandomHFFolder(gpt2Vocab, { ...shape, vocab_size: 50304 }, { dtype: 'F32' });
  await assert.rejects(
    rankCommand(['--model', gpt2Vocab, '--data', src.dir, '--n', '4', '--t', '16', '--causal-windows', '0', '--out', path.join(root, 'rank-out2')], () => {}),
    /\] = \d+ is out of range \[0, 50304\)/,
  );
});
