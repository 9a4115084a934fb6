// Text sources: a parquet file with the FineWeb-Edu 11-column schema written here with hyparquet-writer, JSONL and
// .txt, tokenized into datasets; bad inputs fail clearly and leave no partial dataset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { getEncoding } from 'js-tiktoken';
import { readTextDocuments, readParquetDocuments, listTextFiles } from '../../lib/data/text';
import { prepareFromDocuments, isValDocument } from '../../lib/data/prepare';
import { openTokenFile } from '../../lib/data/source';
import { EOT_TOKEN } from '../../lib/data/tokenizer';
import { tmpDir, leftovers } from './tmp';

const enc = getEncoding('gpt2');
const dir = tmpDir('text');
const dataDir = path.join(dir, 'data');

const TEXTS = [
  'The mitochondria is the powerhouse of the cell. Cells need energy.',
  'Photosynthesis converts light into chemical energy <|endoftext|> in plants.',
  'Water boils at 100 °C at sea level; at altitude it boils lower.',
  'Newton’s laws: F = ma, and every action has an equal reaction.',
  'Prime numbers: 2, 3, 5, 7, 11, 13 — infinitely many (Euclid).',
  'A short one.',
  'Emoji 🚀 and 中文 in an educational page.',
];
const SCORES = [3, 2, 4, 5, 1, 3, 4];

/** FineWeb-Edu's 11 columns (text, id, dump, url, date, file_path, language, language_score, token_count, score, int_score). */
function writeFineWebEdu(file: string, rowGroupSize: number, withText = true): void {
  const n = TEXTS.length;
  const columnData = [
    ...(withText ? [{ name: 'text', data: TEXTS, type: 'STRING' as const }] : []),
    { name: 'id', data: TEXTS.map((_, i) => `<urn:uuid:fixture-${i}>`), type: 'STRING' as const },
    { name: 'dump', data: Array(n).fill('CC-MAIN-2013-20'), type: 'STRING' as const },
    { name: 'url', data: TEXTS.map((_, i) => `http://fixture.example/${i}`), type: 'STRING' as const },
    { name: 'date', data: Array(n).fill('2013-05-18T05:48:54Z'), type: 'STRING' as const },
    { name: 'file_path', data: Array(n).fill('s3://commoncrawl/fixture.warc.gz'), type: 'STRING' as const },
    { name: 'language', data: Array(n).fill('en'), type: 'STRING' as const },
    { name: 'language_score', data: TEXTS.map(() => 0.97), type: 'DOUBLE' as const },
    { name: 'token_count', data: TEXTS.map((t) => BigInt(enc.encode(t, [], []).length)), type: 'INT64' as const },
    { name: 'score', data: SCORES.map((s) => s + 0.1), type: 'DOUBLE' as const },
    { name: 'int_score', data: SCORES.map((s) => BigInt(s)), type: 'INT64' as const },
  ];
  fs.writeFileSync(file, Buffer.from(parquetWriteBuffer({ columnData, rowGroupSize })));
}

function tokensOf(file: string): number[] {
  const s = openTokenFile(file);
  const t = Array.from(s.read(0, s.length));
  s.close();
  return t;
}

test('parquet (FineWeb-Edu columns, 3 row groups) streams rows in order; int_score (BigInt) filter', async () => {
  const f = path.join(dir, '000_00000.parquet');
  writeFineWebEdu(f, 3);
  const docs = [];
  for await (const d of readParquetDocuments(f)) docs.push(d);
  assert.deepEqual(docs.map((d) => d.text), TEXTS);
  assert.equal(docs[0].name, '<urn:uuid:fixture-0>');
  const kept = [];
  for await (const d of readParquetDocuments(f, { minIntScore: 3 })) kept.push(d.text);
  assert.deepEqual(kept, TEXTS.filter((_, i) => SCORES[i] >= 3));
});

test('parquet -> dataset with prepended EOT and a head split matches js-tiktoken exactly', async () => {
  const f = path.join(dir, '000_00000.parquet');
  const stream = TEXTS.flatMap((t) => [EOT_TOKEN, ...enc.encode(t, [], [])]);
  const valTokens = 20;
  const res = await prepareFromDocuments({
    name: 'pq', dataDir, source: f, files: [f], documents: readTextDocuments([f]), eot: 'prepend', split: 'head', valTokens, quiet: true,
  });
  assert.deepEqual(tokensOf(res.valPath), stream.slice(0, valTokens));
  assert.deepEqual(tokensOf(res.trainPath), stream.slice(valTokens));
  assert.equal(res.meta.eot, 'prepend');
  assert.deepEqual(res.meta.tokens, { train: stream.length - valTokens, val: valTokens });
});

test('a parquet file without a text column is rejected and leaves no dataset', async () => {
  const f = path.join(dir, 'notext.parquet');
  writeFineWebEdu(f, 100, false);
  await assert.rejects(
    prepareFromDocuments({ name: 'notext', dataDir, source: f, files: [f], documents: readTextDocuments([f]), quiet: true }),
    /no 'text' column \(columns: id, dump, url, date, file_path, language, language_score, token_count, score, int_score\)/,
  );
  assert.equal(fs.existsSync(path.join(dataDir, 'notext')), false);
  assert.deepEqual(leftovers(dataDir), []);
});

test('JSONL -> dataset: doc-hash split by id, appended EOT, every document in exactly one split', async () => {
  const f = path.join(dir, 'docs.jsonl');
  const docs = Array.from({ length: 60 }, (_, i) => ({ id: `doc-${i}`, text: `${TEXTS[i % TEXTS.length]} (#${i})`, extra: i }));
  fs.writeFileSync(f, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  const valFraction = 0.2;
  const res = await prepareFromDocuments({
    name: 'jsonl', dataDir, source: f, files: [f], documents: readTextDocuments([f]), valFraction, seed: 7, quiet: true,
  });
  const expect = (val: boolean): number[] =>
    docs.filter((d) => isValDocument(d.id, valFraction, 7) === val).flatMap((d) => [...enc.encode(d.text, [], []), EOT_TOKEN]);
  assert.deepEqual(tokensOf(res.trainPath), expect(false));
  assert.deepEqual(tokensOf(res.valPath), expect(true));
  assert.equal(res.meta.documents.train + res.meta.documents.val, 60);
  assert.ok(res.meta.documents.val > 0 && res.meta.documents.train > 0);
  assert.equal(res.meta.split.kind, 'doc-hash');
});

test('.txt files are one document each; JSON arrays are read too', async () => {
  const td = path.join(dir, 'txt');
  fs.mkdirSync(td);
  fs.writeFileSync(path.join(td, 'b.txt'), 'second file');
  fs.writeFileSync(path.join(td, 'a.txt'), 'first file\n');
  fs.writeFileSync(path.join(td, 'c.json'), JSON.stringify([{ text: 'from json' }]));
  const files = listTextFiles(td);
  assert.deepEqual(files.map((x) => path.basename(x)), ['a.txt', 'b.txt', 'c.json']);
  const got = [];
  for await (const d of readTextDocuments(files)) got.push([d.name, d.text]);
  assert.deepEqual(got, [['a.txt', 'first file\n'], ['b.txt', 'second file'], ['c.json:0', 'from json']]);
});

test('bad text input: empty file, missing field, invalid JSON; no partial dataset', async () => {
  const cases: Array<[string, string, RegExp]> = [
    ['empty.jsonl', '', /empty file \(0 bytes\)/],
    ['nofield.jsonl', '{"body":"x"}\n', /no string 'text' field \(keys: body\)/],
    ['broken.jsonl', '{"text":"ok"}\n{"text": nope}\n', /broken\.jsonl:2: invalid JSON/],
    ['empty.parquet', '', /empty file/],
    ['garbage.parquet', 'not a parquet file at all', /not a readable parquet file/],
  ];
  for (const [name, content, re] of cases) {
    const f = path.join(dir, name);
    fs.writeFileSync(f, content);
    await assert.rejects(prepareFromDocuments({ name: 'bad', dataDir, source: f, files: [f], documents: readTextDocuments([f]), quiet: true }), re, name);
    assert.equal(fs.existsSync(path.join(dataDir, 'bad')), false, name);
    assert.deepEqual(leftovers(dataDir), [], name);
  }
});
