// Synthetic datasets and BOS-aligned windows: the files are ordinary nanoGPT shards whose every document is BOS +
// (docTokens - 1) ids; backcopy obeys its rule (after a trigger comes a copy of the token before it); the i.i.d.
// ids follow Zipf(1); generation is seeded; and every sampler over an aligned source starts windows at BOS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BOS_TOKEN, SYNTHETIC_DATASETS, prepareSynthetic, syntheticGenerator } from '../../lib/data/synthetic';
import { describeDataset, openDataset } from '../../lib/data/dataset';
import { RandomWindowSampler, SequentialLoader, validationBatches } from '../../lib/data/sampler';
import { MemoryTokenSource } from '../../lib/data/source';
import { alignmentFor, withAlignment, windowStarts } from '../../lib/data/windows';
import { EOT_TOKEN } from '../../lib/data/tokenizer';
import { prepareCommand } from '../../lib/data/cli';

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const small = { trainTokens: 20_000, valTokens: 4_000, docTokens: 65 };

test('prepareSynthetic: nanoGPT files, meta.json with vocabulary, BOS windows and the generator; every document opens with BOS', async () => {
  const res = await prepareSynthetic('synth-backcopy', { dataDir: tmp, quiet: true, overrides: small });
  const m = res.meta;
  assert.equal(m.vocabSize, 128);
  assert.deepEqual(m.windows, { start: 'bos', token: BOS_TOKEN });
  assert.equal(m.tokenizer.name, 'synthetic');
  assert.equal((m.synthetic as { kind: string }).kind, 'backcopy');
  assert.equal(m.tokens.train, Math.floor(20_000 / 65) * 65);
  const bytes = fs.readFileSync(res.trainPath);
  const t = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
  for (let i = 0; i < t.length; i++) {
    assert.equal(t[i] === BOS_TOKEN, i % 65 === 0, `token ${i}: BOS exactly at document starts`);
    assert.ok(t[i] < 128);
  }
  // A rerun with the same recipe is skipped; describeDataset reads the meta back.
  assert.equal((await prepareSynthetic('synth-backcopy', { dataDir: tmp, quiet: true, overrides: small })).skipped, true);
  assert.equal(describeDataset(res.dir).meta?.windows?.token, BOS_TOKEN);
});

test('backcopy rule: after a trigger comes the token before it; triggers never follow triggers; copies are ordinary', () => {
  const r = { ...SYNTHETIC_DATASETS['synth-backcopy'], ...small };
  const gen = syntheticGenerator(r, 0);
  let triggers = 0;
  let positions = 0;
  for (let d = 0; d < 300; d++) {
    const doc = gen();
    assert.equal(doc[0], BOS_TOKEN);
    for (let i = 1; i < doc.length; i++) {
      assert.ok(doc[i] >= 1 && doc[i] < r.vocabSize, `id ${doc[i]}`);
      const isTrig = doc[i] <= r.triggers;
      if (isTrig) {
        triggers++;
        assert.ok(doc[i - 1] > r.triggers, 'a trigger follows an ordinary token');
        if (i + 1 < doc.length) assert.equal(doc[i + 1], doc[i - 1], `position ${i + 1} copies position ${i - 1}`);
      }
      positions++;
    }
  }
  // Triggers are drawn with probability triggerMass = 0.2 from bigram rows: about 0.2 / 1.2 of positions.
  const frac = triggers / positions;
  assert.ok(Math.abs(frac - 0.2 / 1.2) < 0.01, `trigger fraction ${frac}`);
});

test('iid: Zipf(1) frequencies and seeded streams', () => {
  const r = { ...SYNTHETIC_DATASETS['synth-iid'], ...small };
  const gen = syntheticGenerator(r, 0);
  const counts = new Float64Array(r.vocabSize);
  for (let d = 0; d < 8000; d++) for (const t of gen().subarray(1)) counts[t]++;
  // p(k) = 1 / (k * H_511) for id k: ids 1, 2, 4 in ratio 4 : 2 : 1 (512k draws: about 4 standard deviations).
  assert.ok(Math.abs(counts[1] / counts[2] - 2) < 0.05, `${counts[1] / counts[2]}`);
  assert.ok(Math.abs(counts[2] / counts[4] - 2) < 0.07, `${counts[2] / counts[4]}`);
  assert.equal(counts[0], 0);
  assert.deepEqual(syntheticGenerator(r, 0)(), syntheticGenerator(r, 0)(), 'same seed and stream, same document');
  assert.notDeepEqual(syntheticGenerator(r, 0)(), syntheticGenerator(r, 1)(), 'val stream differs from train');
  assert.notDeepEqual(syntheticGenerator(r, 0)(), syntheticGenerator({ ...r, seed: 2 }, 0)());
  assert.throws(() => syntheticGenerator({ ...r, vocabSize: 70000 }, 0), /vocabSize/);
});

test('aligned sources: random, validation and rank windows start at BOS; sequential loading is refused', async () => {
  const res = await prepareSynthetic('synth-iid', { dataDir: tmp, quiet: true, overrides: small });
  const info = describeDataset(res.dir);
  const val = openDataset(info, 'val');
  const T = 40;
  const s = new RandomWindowSampler(val, { batchSize: 16, blockSize: T, seed: 3 });
  for (let k = 0; k < 5; k++) {
    const b = s.next();
    for (let r = 0; r < 16; r++) assert.equal(b.x[r * T], BOS_TOKEN, 'window starts at BOS');
  }
  for (const mode of ['spaced', 'head'] as const) {
    for (const b of validationBatches(val, { batchSize: 4, blockSize: T, numBatches: 3, mode })) {
      for (let r = 0; r < 4; r++) assert.equal(b.x[r * T], BOS_TOKEN, `${mode} validation window starts at BOS`);
    }
  }
  assert.throws(() => new SequentialLoader(val, { batchSize: 2, blockSize: T }), /cannot start at token 0/);
  // Window mode 'any' turns the alignment off: some windows then start elsewhere.
  const anyVal = openDataset(info, 'val', 'auto', 'any');
  const b = new RandomWindowSampler(anyVal, { batchSize: 32, blockSize: T, seed: 3 }).next();
  assert.ok(Array.from({ length: 32 }, (_, r) => b.x[r * T]).some((t) => t !== BOS_TOKEN));
  // A window longer than any BOS-to-end stretch cannot be drawn: a clear error.
  assert.throws(() => windowStarts(val, 5000, 'test'), /no such token leaves room/);
  val.close();
  anyVal.close();
});

test("text data in window mode 'bos': windows start at the EOT document boundary", () => {
  const toks = new Uint16Array(3000);
  for (let i = 0; i < toks.length; i++) toks[i] = i % 97 === 96 ? EOT_TOKEN : 1 + (i % 50);
  const src = withAlignment(new MemoryTokenSource(toks), alignmentFor('bos')!);
  const starts = windowStarts(src, 20, 'test')!;
  assert.ok(starts.length > 0 && starts.every((p) => toks[p] === EOT_TOKEN && p + 21 <= toks.length));
  const b = new RandomWindowSampler(src, { batchSize: 8, blockSize: 20, seed: 1 }).next();
  for (let r = 0; r < 8; r++) assert.equal(b.x[r * 20], EOT_TOKEN);
  assert.equal(alignmentFor('any'), undefined);
  assert.throws(() => alignmentFor('first' as never), /'any' or 'bos'/);
});

test('prepare CLI: synthetic generator parameters are recorded; refused for text corpora', async () => {
  const out: string[] = [];
  const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s) };
  const code = await prepareCommand(['synth-backcopy', '--name', 'bc-sparse', '--trigger-mass', '0.05', '--train-tokens', '20000', '--doc-tokens', '65', '--data-dir', tmp, '--quiet'], io);
  assert.equal(code, 0, out.join(''));
  const meta = describeDataset(path.join(tmp, 'bc-sparse')).meta!;
  assert.equal((meta.synthetic as { triggerMass: number }).triggerMass, 0.05);
  assert.equal(meta.tokens.train, Math.floor(20000 / 65) * 65);
  assert.equal(await prepareCommand(['owt-mini', '--trigger-mass', '0.05', '--data-dir', tmp], io), 2);
  assert.match(out.join(''), /--trigger-mass applies only to the synthetic datasets/);
  assert.equal(await prepareCommand(['synth-iid', '--eot', 'append', '--data-dir', tmp], io), 1);
  assert.equal(await prepareCommand(['synth-iid', '--vocab-size', '1', '--data-dir', tmp, '--name', 'bad'], io), 1);
  assert.match(out.join(''), /vocabSize must be an integer in \[2, 65535\]/);
});

test('recall rule: after trigger t comes the document value v_t, the same at every occurrence; trigger rate and copy rate as asked', () => {
  const r = { ...SYNTHETIC_DATASETS['synth-recall'], ...small, docTokens: 257 };
  const gen = syntheticGenerator(r, 0);
  let triggers = 0;
  let afterOrdinary = 0;
  let copies = 0;
  let eligible = 0;
  let recalls = 0;
  for (let d = 0; d < 400; d++) {
    const doc = gen();
    assert.equal(doc[0], BOS_TOKEN);
    const value = new Map<number, number>();
    for (let i = 1; i < doc.length; i++) {
      assert.ok(doc[i] >= 1 && doc[i] < r.vocabSize);
      const prev = doc[i - 1];
      if (prev >= 1 && prev <= r.triggers) {
        // The token after a trigger is that trigger's value in this document, ordinary, and never changes.
        assert.ok(doc[i] > r.triggers);
        if (value.has(prev)) {
          assert.equal(doc[i], value.get(prev), `doc ${d} position ${i}: recall of trigger ${prev}`);
          recalls++;
        } else value.set(prev, doc[i]);
        continue;
      }
      if (i < 2 || prev === BOS_TOKEN) continue;
      afterOrdinary++;
      if (doc[i] <= r.triggers) {
        triggers++;
        continue;
      }
      if (doc[i - 2] > r.triggers) {
        eligible++;
        if (doc[i] === doc[i - 2]) copies++;
      }
    }
  }
  // Binomial rates over ~100K draws: 5 standard deviations are below 0.01. A bigram draw can equal the token two back
  // by chance (at most a few % under Zipf(1) rows), so the copy rate may sit a little above copyProb.
  const trigRate = triggers / afterOrdinary;
  assert.ok(Math.abs(trigRate - r.triggerMass) < 0.01, `trigger rate ${trigRate}`);
  const copyRate = copies / eligible;
  const p = (1 - r.triggerMass) * (r.copyProb ?? 0);
  assert.ok(copyRate > p / (1 - r.triggerMass) - 0.01 && copyRate < p / (1 - r.triggerMass) + 0.06, `copy rate ${copyRate}`);
  assert.ok(recalls > 1000, `recalls ${recalls}`);
});

test('recall recipe checks: copyProb must be in [0, 1]', () => {
  const r = { ...SYNTHETIC_DATASETS['synth-recall'], copyProb: 1.5 };
  assert.throws(() => syntheticGenerator(r, 0), /copyProb must be in \[0, 1\], got 1.5/);
});
