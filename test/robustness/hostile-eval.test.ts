// Issue 17, cases 1 and 8 (eval and rank): a model with NaN weights never yields "acc 0.5000" with exit code 0 —
// the loaders refuse it, and with --allow-non-finite the scores (eval) and patterns (rank) are refused instead; task
// files with invalid UTF-8 or 50k-deep values give malformed rows naming file:line, never U+FFFD or a stack overflow.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setupBackend } from '../helpers';
import { writeHFFolder } from '../../lib/model/hf';
import { evalCommand } from '../../lib/eval/cli';
import { rankCommand } from '../../lib/metrics/cli';
import { loadTaskData } from '../../lib/eval/data';
import { getTask } from '../../lib/eval/tasks';
import { randomTensors, tinyModelConfig, tmpDir } from './helpers';

const FX = path.join(__dirname, '..', 'fixtures', 'eval');
const cfg = tinyModelConfig({ nLayer: 1, vocabSize: 50257, blockSize: 64 }); // GPT-2's vocabulary: the eval tokenizer's ids
const quiet = () => {};
let tmp: string;
let nanModel: string;

before(async () => {
  await setupBackend();
  tmp = tmpDir('hostile-eval');
  const t = randomTensors(cfg, 9);
  t['transformer.h.0.attn.c_attn.weight'].data[3] = NaN; // poisons every attention pattern and every logit
  nanModel = path.join(tmp, 'nan-model');
  writeHFFolder(nanModel, cfg, t);
  fs.mkdirSync(path.join(tmp, 'data'));
  fs.copyFileSync(path.join(FX, 'arc_easy.fixture.jsonl'), path.join(tmp, 'data', 'arc_easy.jsonl'));
  const ids = Uint16Array.from({ length: 3000 }, (_, i) => (i * 7919) % 50257);
  fs.mkdirSync(path.join(tmp, 'toks'));
  for (const f of ['train.bin', 'val.bin']) fs.writeFileSync(path.join(tmp, 'toks', f), Buffer.from(ids.buffer));
});

test('case 1: eval on a model with NaN weights is refused at load, and with --allow-non-finite at the scores; no results.json', async () => {
  const out = path.join(tmp, 'eval-out');
  const args = ['--model', nanModel, '--tasks', 'arc_easy', '--data-dir', path.join(tmp, 'data'), '--out', out, '--no-cache'];
  await assert.rejects(evalCommand(args, quiet), /tensor 'transformer\.h\.0\.attn\.c_attn\.weight' has 1 NaN and 0 infinite values/);
  await assert.rejects(evalCommand([...args, '--allow-non-finite'], quiet), /arc_easy: 7 of 7 log-likelihoods are not finite \(first: doc 0, arc_easy\.jsonl:\d+\); the model computes NaN or Inf/);
  assert.ok(!fs.existsSync(path.join(out, 'results.json')), 'no results are written');
});

test('case 1: rank on a model with NaN weights is refused at load, and with --allow-non-finite at the patterns', async () => {
  const args = ['--model', nanModel, '--data', path.join(tmp, 'toks'), '--n', '2', '--t', '8', '--out', path.join(tmp, 'rank-out')];
  await assert.rejects(rankCommand(args, quiet), /has 1 NaN and 0 infinite values/);
  await assert.rejects(rankCommand([...args, '--allow-non-finite'], quiet), /attention pattern (at sequence 0, layer 0, head 0: entry \(0, 0\) is NaN|of layer 0 holds a non-finite value \(NaN\))/);
  assert.ok(!fs.existsSync(path.join(tmp, 'rank-out', 'layers.csv')), 'no tables are written');
});

test('case 8: invalid UTF-8 and 50k-deep values in an eval file are malformed rows naming file:line; the good rows load', async () => {
  const good = fs.readFileSync(path.join(FX, 'arc_easy.fixture.jsonl'), 'utf8').trim().split('\n');
  const row = JSON.parse(good[0]);
  const deep = '['.repeat(50_000) + ']'.repeat(50_000);
  const lines = [
    Buffer.from(good[0]),
    Buffer.concat([Buffer.from(JSON.stringify({ ...row, question: 'caf' }).slice(0, -2)), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
    Buffer.from(JSON.stringify({ ...row, question: 'x' }).replace('"x"', deep)),
    Buffer.from(good[1]),
  ];
  const f = path.join(tmp, 'hostile.jsonl');
  fs.writeFileSync(f, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));
  const r = await loadTaskData(getTask('arc_easy'), { file: f });
  assert.equal(r.docs.length, 2);
  assert.deepEqual(r.malformed, [
    { where: 'hostile.jsonl:2', message: 'not valid UTF-8', index: 1 },
    { where: 'hostile.jsonl:3', message: 'values nested deeper than 32 levels; no task row is', index: 2 },
  ]);
  assert.ok(!r.docs.some((d) => JSON.stringify(d.doc).includes('\ufffd')));
  // Raw wikitext is one document stream: invalid UTF-8 refuses the file.
  fs.mkdirSync(path.join(tmp, 'wt'));
  fs.writeFileSync(path.join(tmp, 'wt', 'wiki.test.raw'), Buffer.concat([Buffer.from(' = Title = \n\n text '), Buffer.from([0xff]), Buffer.from('\n')]));
  await assert.rejects(loadTaskData(getTask('wikitext'), { file: path.join(tmp, 'wt', 'wiki.test.raw') }), /wiki\.test\.raw: not valid UTF-8/);
});
