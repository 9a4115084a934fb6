// `prepare` CLI: help on bad arguments (exit code 2), text and embedded sources, export.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { prepareCommand } from '../../lib/data/cli';
import { findSplitFiles } from '../../lib/data/source';
import { tmpDir } from './tmp';

const root = tmpDir('cli');

/** Runs the command with its output captured. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await prepareCommand(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

test('bad arguments print the help and return 2', async () => {
  for (const args of [[], ['owt-mini', '--bogus'], ['owt-mini', '--eot', 'middle'], ['owt-mini', '--val-fraction'], ['a', 'b'], ['/no/such/path']]) {
    const r = await run(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, /usage: prepare <source>/);
  }
  const h = await run(['--help']);
  assert.equal(h.code, 0);
  assert.match(h.out, /--eot append\|prepend/);
});

test('prepare a JSONL file with prepended EOT, then rerun is a no-op', async () => {
  const f = path.join(root, 'pages.jsonl');
  fs.writeFileSync(f, Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: `Page ${i} teaches something.` })).join('\n'));
  const dataDir = path.join(root, 'data');
  const args = [f, '--name', 'pages', '--data-dir', dataDir, '--eot', 'prepend', '--val-fraction', '0.2', '--quiet'];
  const r = await run(args);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /pages: prepared in .*\n  tokens: train [\d,]+, val [\d,]+/);
  const meta = JSON.parse(fs.readFileSync(path.join(dataDir, 'pages', 'meta.json'), 'utf8'));
  assert.equal(meta.eot, 'prepend');
  assert.equal(meta.split.valFraction, 0.2);
  const again = await run(args);
  assert.match(again.out, /already prepared/);
  // A failing source reports the reason and returns 1.
  fs.writeFileSync(path.join(root, 'empty.jsonl'), '');
  const bad = await run([path.join(root, 'empty.jsonl'), '--data-dir', dataDir, '--quiet']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /empty file/);
});

test('prepare an embedded slice and export it as llm.c shards', async () => {
  const dataDir = path.join(root, 'data2');
  const r = await run(['owt-mini', '--limit', '3', '--val-fraction', '0.5', '--name', 'owt3', '--data-dir', dataDir, '--quiet', '--export', 'llmc', '--shard-tokens', '20000']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /exported \d+ llmc file\(s\)/);
  const split = findSplitFiles(path.join(dataDir, 'owt3-llmc'));
  assert.ok(split.val.length >= 1 && split.train.length >= 1);
  const fixed = await run(['owt-mini', '--eot', 'prepend', '--data-dir', dataDir, '--quiet']);
  assert.equal(fixed.code, 1);
  assert.match(fixed.err, /fixed recipe/);
});
