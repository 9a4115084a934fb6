// The tasks on format fixtures (test/fixtures/eval/*.fixture.jsonl: text the project wrote, in each task's Hub
// schema, labelled as not benchmark data): the exact (context, continuation) strings of reference/data.md §4, gold
// indices, acc vs acc_norm with a fake scorer whose log-likelihoods we choose, WinoGrande partial scoring, LAMBADA
// and WikiText metrics by hand, malformed rows reported with their line numbers, raw originals, parquet, --limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { getTask, TaskName, Instance } from '../../lib/eval/tasks';
import { loadTaskData, LoadedTask } from '../../lib/eval/data';
import { runTask, applyLimit, RunOptions } from '../../lib/eval/runner';
import { aggregate, meanStderr, npArgmax, processResults } from '../../lib/eval/metrics';
import { bootstrapStderr, resampledPerplexity } from '../../lib/eval/stats';
import { sampleLine } from '../../lib/eval/samplelog';
import { LoglikResult, Scorer } from '../../lib/eval/requests';

const FX = path.join(__dirname, '..', 'fixtures', 'eval');
const FIXTURE_TAG = 'FORMAT FIXTURE – not benchmark data';
/** These tests pin the v0.4 (HEAD) behaviour; test/eval/harness.test.ts compares the versions. */
const V04: RunOptions = { harness: '0.4' };

async function load(task: TaskName, file = `${task}.fixture.jsonl`, strict = false): Promise<LoadedTask> {
  return loadTaskData(getTask(task), { file: path.join(FX, file), strict });
}

async function instances(task: TaskName): Promise<Instance[]> {
  const d = await load(task);
  assert.equal(d.malformed.length, 0, JSON.stringify(d.malformed));
  return d.docs.map((x) => getTask(task).instance(x.doc, '0.4'));
}

/** A scorer whose answers we choose: ll(context, continuation) and greedy(context, continuation); records requests. */
class FakeScorer implements Scorer {
  seen: Array<[string, string]> = [];
  texts: string[] = [];
  constructor(
    private ll: (c: string, x: string) => number,
    private greedy: (c: string, x: string) => boolean = () => false,
    private rolling: (t: string) => number = () => -1,
  ) {}
  async loglikelihood(reqs: Array<[string, string]>): Promise<LoglikResult[]> {
    this.seen.push(...reqs);
    return reqs.map(([c, x]) => ({ ll: this.ll(c, x), isGreedy: this.greedy(c, x) }));
  }
  async loglikelihoodRolling(texts: string[]): Promise<number[]> {
    this.texts.push(...texts);
    return texts.map(this.rolling);
  }
}

test('every fixture line is labelled as a format fixture', () => {
  for (const f of fs.readdirSync(FX).filter((n) => n.endsWith('.fixture.jsonl'))) {
    fs.readFileSync(path.join(FX, f), 'utf8').split('\n').forEach((line, i) => {
      if (line.trim()) assert.ok(line.includes(`"_fixture": "${FIXTURE_TAG}"`), `${f}:${i + 1} lacks the _fixture label`);
    });
  }
});

test('requests are the exact (context, continuation) strings of data.md §4, with the right gold', async () => {
  const mcOf = (i: Instance) => {
    assert.equal(i.type, 'multiple_choice');
    return i as Extract<Instance, { type: 'multiple_choice' }>;
  };
  const arc = (await instances('arc_easy')).map(mcOf);
  const arcCtx = 'Question: fixture question text\nAnswer:';
  assert.deepEqual(arc[0].requests, ['option a', 'option b', 'option c', 'option d'].map((o) => [arcCtx, ` ${o}`]));
  assert.equal(arc[0].gold, 2);
  assert.equal(arc[1].gold, 1); // answerKey "2" among labels "1".."3"

  const piqa = (await instances('piqa')).map(mcOf);
  const pCtx = 'Question: fixture goal text\nAnswer:';
  assert.deepEqual(piqa[0].requests, [[pCtx, ' fixture solution one'], [pCtx, ' fixture solution two']]);
  assert.equal(piqa[0].gold, 1);

  const sciq = (await instances('sciq')).map(mcOf);
  assert.deepEqual(sciq[0].requests, [' d1', ' d2', ' d3', ' right'].map((c) => ['fixture support paragraph.\nQuestion: fixture question\nAnswer:', c]));
  assert.equal(sciq[0].gold, 3);
  assert.equal(sciq[1].requests[0][0], '\nQuestion: fixture question two\nAnswer:'); // empty support (v0.4 prompt)
  assert.equal(sciq[2].requests[0][0], 'fixture support after whitespace. \nQuestion: fixture question three\nAnswer:'); // lstrip only

  const hs = (await instances('hellaswag')).map(mcOf);
  assert.deepEqual(hs[0].requests, ['e0. x.', 'e1.', 'e2.', 'e3.'].map((c) => ['Fixture label: Fixture context a. Then', ` ${c}`]));
  assert.deepEqual(hs[0].choices, ['e0. x.', 'e1.', 'e2.', 'e3.']);
  assert.equal(hs[0].gold, 2);
  // capitalize() lower-cases the rest of ctx_b; [header] dropped; double spaces squeezed once.
  assert.equal(hs[1].requests[0][0], 'Fixture label: Fixture context b. The usa then');
  assert.deepEqual(hs[1].choices, ['placeholder ending one.', 'e1.', 'e2. t.', 'e3.']);
  assert.equal(hs[1].gold, 0);

  const lam = await instances('lambada_openai');
  assert.deepEqual(lam[0], {
    type: 'loglikelihood',
    request: ['a passage cut from the embedded corpus whose final word is the', ' target'],
    target: ' target',
  });
  // split(' ') keeps the empty word of a double space: the context ends with a space (moved later by _encode_pair).
  assert.deepEqual((lam[1] as Extract<Instance, { type: 'loglikelihood' }>).request, ['fixture words then ', ' target']);

  const wino = (await instances('winogrande')).map(mcOf);
  assert.deepEqual(wino[0].requests, [
    ['Fixture Ann told Bo that Ann', ' would write the fixture.'],
    ['Fixture Ann told Bo that Bo', ' would write the fixture.'],
  ]);
  assert.equal(wino[0].gold, 0);
  assert.deepEqual(wino[1].requests, [['Fixture one', ' ends with spaces.'], ['Fixture two', ' ends with spaces.']]);
  assert.equal(wino[1].gold, 1);

  const bq = (await instances('boolq')).map(mcOf);
  const bCtx = 'Fixture passage text.\nQuestion: is this a fixture?\nAnswer:';
  assert.deepEqual(bq[0].requests, [[bCtx, ' no'], [bCtx, ' yes']]);
  assert.equal(bq[0].gold, 1);

  const wt = await instances('wikitext');
  assert.deepEqual(wt[0], { type: 'loglikelihood_rolling', text: ' = Fixture Title =\nFixture text 1,000 words-long.\n', words: 15, bytes: 62 });
});

test('acc and acc_norm choose differently when choice lengths differ (acc_norm divides by characters, not the delimiter)', async () => {
  // ARC line 2: choices "x" (1 char), "placeholder choice of many characters" (37), "yy" (2); gold 1.
  const lls: Record<string, number> = { ' x': -2, ' placeholder choice of many characters': -20, ' yy': -3 };
  // PIQA line 2: "short" (5) vs "a much longer placeholder solution" (34); gold 0.
  Object.assign(lls, { ' short': -6, ' a much longer placeholder solution': -10 });
  const scorer = new FakeScorer((_c, x) => lls[x] ?? -100);
  const arc = await load('arc_easy');
  const r = await runTask(getTask('arc_easy'), arc.docs.slice(1), scorer, V04);
  assert.equal(r.items[0].acc, 0); // argmax ll = "x"
  assert.equal(r.items[0].acc_norm, 1); // -20/37 > -3/2 > -2/1: the long gold choice
  const piqa = await load('piqa');
  const p = await runTask(getTask('piqa'), piqa.docs.slice(1), scorer, V04);
  assert.equal(p.items[0].acc, 1); // -6 > -10
  assert.equal(p.items[0].acc_norm, 0); // -6/5 < -10/34
  assert.match(sampleLine(r.samples[0]), /"acc": 0\.0, "acc_norm": 1\.0}$/); // Python floats, as the harness logs them
  // The harness's sample log holds str() of each (ll, is_greedy): Python float repr and True/False.
  assert.deepEqual(r.samples[0].filtered_resps, [['-2.0', 'False'], ['-20.0', 'False'], ['-3.0', 'False']]);
  // Length is counted in code points (Python len), not UTF-16 units: "😀" is 1 character (2 UTF-16 units).
  const inst: Instance = { type: 'multiple_choice', requests: [['c', ' 😀'], ['c', ' ab']], choices: ['😀', 'ab'], gold: 1, target: 1 };
  const acc = { metric: 'acc', aggregation: 'mean', higherIsBetter: true } as const;
  const accNorm = { ...acc, metric: 'acc_norm' };
  assert.deepEqual(processResults(inst, [{ ll: -1, isGreedy: false }, { ll: -1.9, isGreedy: false }], [acc, accNorm]), { acc: 0, acc_norm: 1 });
  // numpy argmax: the first maximum wins ties.
  assert.equal(npArgmax([-1, -0.5, -0.5]), 1);
});

test('WinoGrande partial scoring: the option in the context, the shared rest scored; acc = argmax', async () => {
  const wino = await load('winogrande');
  const scorer = new FakeScorer((c) => (c.endsWith('Bo') || c.endsWith('two') ? -1 : -2));
  const r = await runTask(getTask('winogrande'), wino.docs, scorer, V04);
  assert.deepEqual(r.items.map((x) => x.acc), [0, 1]); // gold 0 (Ann) scored lower; gold 1 (two) scored higher
  assert.ok(scorer.seen.every(([, x]) => x === ' would write the fixture.' || x === ' ends with spaces.'));
  assert.deepEqual(Object.keys(r.result), ['alias', 'acc,none', 'acc_stderr,none']);
});

test('LAMBADA: acc = is_greedy, perplexity = exp(-mean ll) over examples; WikiText weighted by the original words and bytes', async () => {
  const lam = await load('lambada_openai');
  const s = new FakeScorer((c) => (c.startsWith('a passage') ? -2 : -4), (c) => c.startsWith('a passage'));
  const r = await runTask(getTask('lambada_openai'), lam.docs, s, V04);
  assert.equal(r.result['acc,none'], 0.5);
  assert.ok(Math.abs((r.result['perplexity,none'] as number) - Math.exp(3)) < 1e-12);
  // The harness bootstraps the perplexity's stderr (seeded resamples; stats.ts is checked against CPython).
  assert.equal(r.result['perplexity_stderr,none'], bootstrapStderr([-2, -4], 100000, resampledPerplexity));
  assert.ok(Math.abs((r.result['acc_stderr,none'] as number) - Math.sqrt(0.5) / Math.sqrt(2)) < 1e-12);

  const wt = await load('wikitext');
  const w = await runTask(getTask('wikitext'), wt.docs, new FakeScorer(() => 0, () => false, () => -30), V04);
  assert.ok(Math.abs((w.result['word_perplexity,none'] as number) - Math.exp(30 / 15)) < 1e-12);
  assert.ok(Math.abs((w.result['byte_perplexity,none'] as number) - Math.exp(30 / 62)) < 1e-12);
  assert.ok(Math.abs((w.result['bits_per_byte,none'] as number) - 30 / 62 / Math.LN2) < 1e-12);
  assert.deepEqual(w.samples[0].filtered_resps, ['-30.0']);
});

test('stderr is the harness mean_stderr (sample std / sqrt n); bootstrap_iters 0 turns stderrs off', () => {
  const xs = [1, 0, 0, 1, 1];
  const mu = 0.6;
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mu) ** 2, 0) / 4);
  assert.ok(Math.abs(meanStderr(xs) - sd / Math.sqrt(5)) < 1e-15);
  const acc = { metric: 'acc', aggregation: 'mean', higherIsBetter: true } as const;
  assert.deepEqual(aggregate(acc, [1], 100000), { value: 1, stderr: 'N/A' });
  assert.deepEqual(aggregate(acc, xs, 0), { value: 0.6, stderr: 'N/A' }); // v0.4: bootstrap_iters <= 0 -> no stderr fn
  assert.equal(aggregate(acc, xs, 100000).stderr, meanStderr(xs));
  const ppl = { metric: 'perplexity', aggregation: 'perplexity', higherIsBetter: false } as const;
  assert.deepEqual(aggregate(ppl, [-1, -2, -3], 0), { value: Math.exp(2), stderr: 'N/A' });
  assert.equal(aggregate(ppl, [-1, -2, -3], 1000).stderr, bootstrapStderr([-1, -2, -3], 1000, resampledPerplexity));
  const wp = { metric: 'word_perplexity', aggregation: 'weighted_perplexity', higherIsBetter: false } as const;
  assert.equal(aggregate(wp, [[-3, 2], [-1, 2]], 100000).stderr, 'N/A'); // no stderr function for weighted perplexity
});

test('malformed rows are reported with their line numbers and skipped, or refused in strict mode', async () => {
  const arc = await load('arc_easy', 'arc_easy.malformed.fixture.jsonl');
  assert.deepEqual(arc.docs.map((d) => d.where), ['arc_easy.malformed.fixture.jsonl:1', 'arc_easy.malformed.fixture.jsonl:7']);
  assert.deepEqual(arc.malformed.map((m) => m.where.split(':')[1]), ['2', '3', '4', '6']);
  assert.match(arc.malformed[0].message, /missing field 'question'/);
  assert.match(arc.malformed[1].message, /answerKey 'E' is not one of the choice labels \[A, B\]/);
  assert.match(arc.malformed[2].message, /not valid JSON/);
  assert.match(arc.malformed[3].message, /choices.text has 3 items but choices.label has 2/);
  await assert.rejects(load('arc_easy', 'arc_easy.malformed.fixture.jsonl', true), /arc_easy: 4 malformed row\(s\)[^]*:2: missing field 'question'/);

  const piqa = await load('piqa', 'piqa.malformed.fixture.jsonl');
  assert.deepEqual(piqa.malformed.map((m) => m.where), [1, 2, 3].map((l) => `piqa.malformed.fixture.jsonl:${l}`));
  assert.match(piqa.malformed[0].message, /'label' is 2; expected an integer in \[0, 2\)/);
  assert.match(piqa.malformed[1].message, /missing field 'label'/);
  assert.match(piqa.malformed[2].message, /field 'sol1' must be a string, got 1/);
  assert.equal(piqa.docs.length, 1); // "1" as a string is int()-able, as the harness accepts

  const hs = await load('hellaswag', 'hellaswag.malformed.fixture.jsonl');
  assert.match(hs.malformed[0].message, /'label' is ""; expected an integer in \[0, 4\)/);
  assert.match(hs.malformed[1].message, /'label' is "4"/);
  const wi = await load('winogrande', 'winogrande.malformed.fixture.jsonl');
  assert.match(wi.malformed[0].message, /sentence has no '_' blank/);
  assert.match(wi.malformed[1].message, /'answer' is "3"; expected "1" or "2"/);
});

test('a missing task file: the error names the paths searched, the schema and how to export it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-missing-'));
  await assert.rejects(loadTaskData(getTask('piqa'), { dataDir: dir }), (e: Error) => {
    assert.match(e.message, /piqa: no data found under/);
    assert.ok(e.message.includes(path.join(dir, 'piqa.jsonl')));
    assert.match(e.message, /baber\/piqa, split validation \(1838 rows\)/);
    assert.match(e.message, /"goal": str, "sol1": str, "sol2": str, "label": 0 \| 1/);
    assert.match(e.message, /load_dataset\('baber\/piqa'\)\['validation'\]\.to_json/);
    return true;
  });
});

test('raw originals, Hub parquet and the data-dir layouts are found and mapped to Hub fields', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-raw-'));
  const fx = { _fixture: FIXTURE_TAG };
  const put = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  };
  const jl = (rows: object[]) => rows.map((r) => JSON.stringify({ ...fx, ...r })).join('\n') + '\n';
  put('arc_easy/ARC-Easy-Test.jsonl', jl([{ id: 'r1', question: { stem: 'fixture stem', choices: [{ text: 'option a', label: 'A' }, { text: 'option b', label: 'B' }] }, answerKey: 'B' }]));
  put('piqa/valid.jsonl', jl([{ goal: 'fixture goal', sol1: 'one', sol2: 'two' }, { goal: 'fixture goal 2', sol1: 'one', sol2: 'two' }]));
  put('piqa/valid-labels.lst', '1\n0\n');
  put('boolq/dev.jsonl', jl([{ question: 'is it', title: 'Fixture', answer: true, passage: 'Fixture passage.' }]));
  put('sciq/test.json', JSON.stringify([{ ...fx, question: 'q', distractor1: 'a', distractor2: 'b', distractor3: 'c', correct_answer: 'd', support: '' }]));
  put('wikitext/wiki.test.raw', ' \n = Fixture A = \n \n Text @-@ one . \n = Fixture B = \n \n Two . \n');
  put('winogrande/winogrande_xl/validation-00000-of-00001.jsonl', jl([{ sentence: 'Fixture _ x.', option1: 'a', option2: 'b', answer: '2' }]));
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'goal', data: ['fixture goal pq', 'fixture goal pq 2'], type: 'STRING' },
      { name: 'sol1', data: ['one', 'uno'], type: 'STRING' },
      { name: 'sol2', data: ['two', 'dos'], type: 'STRING' },
      { name: 'label', data: [BigInt(1), BigInt(7)], type: 'INT64' },
    ],
  });
  put('lambada_openai/test.jsonl', jl([{ text: 'fixture text target' }]));

  const arc = await loadTaskData(getTask('arc_easy'), { dataDir: dir });
  assert.deepEqual(arc.docs[0].doc, { id: 'r1', question: 'fixture stem', choices: { text: ['option a', 'option b'], label: ['A', 'B'] }, answerKey: 'B' });
  const piqa = await loadTaskData(getTask('piqa'), { dataDir: dir });
  assert.deepEqual(piqa.docs.map((d) => d.doc.label), [1, 0]);
  const bq = await loadTaskData(getTask('boolq'), { dataDir: dir });
  assert.equal(bq.docs[0].doc.label, 1);
  // Raw dev.jsonl keeps the title apart; the Hub's super_glue passage is "<title> -- <passage>".
  assert.equal(bq.docs[0].doc.passage, 'Fixture -- Fixture passage.');
  const sq = await loadTaskData(getTask('sciq'), { dataDir: dir });
  assert.equal(sq.docs[0].where, 'test.json row 1');
  const wt = await loadTaskData(getTask('wikitext'), { dataDir: dir });
  assert.deepEqual(wt.docs.map((d) => d.where), ['wiki.test.raw:2', 'wiki.test.raw:5']);
  // The harness's document-level pages: lines joined by "\n", no newline added (only the last page ends with one).
  assert.equal(wt.docs[0].doc.page, ' = Fixture A = \n \n Text @-@ one . ');
  assert.equal(wt.docs[1].doc.page, ' = Fixture B = \n \n Two . \n');
  const wi = await loadTaskData(getTask('winogrande'), { dataDir: dir });
  assert.equal(wi.files.length, 1);
  assert.equal(wi.docs[0].doc.answer, '2');
  const lam = await loadTaskData(getTask('lambada_openai'), { dataDir: dir });
  assert.equal(lam.docs[0].doc.text, 'fixture text target');

  // Hub parquet (INT64 label arrives as BigInt); the out-of-range row is reported by row number.
  put('pq/piqa/validation-00000-of-00001.parquet', '');
  fs.writeFileSync(path.join(dir, 'pq/piqa/validation-00000-of-00001.parquet'), new Uint8Array(buf));
  const pq = await loadTaskData(getTask('piqa'), { dataDir: path.join(dir, 'pq') });
  assert.deepEqual(pq.docs.map((d) => [d.doc.goal, d.doc.label]), [['fixture goal pq', 1]]);
  assert.deepEqual(pq.malformed, [{ where: 'validation-00000-of-00001.parquet row 2', message: "'label' is 7; expected an integer in [0, 2)", index: 1 }]);
});

test('Hub parquet with nested columns (ARC-Easy choices: struct of two string lists) is read as the Hub rows', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-pq-'));
  const S = (name: string) => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' });
  const list = (name: string) => [
    { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    S('element'),
  ];
  const schema = [
    { name: 'root', num_children: 4 }, S('id'), S('question'),
    { name: 'choices', repetition_type: 'OPTIONAL', num_children: 2 }, ...list('text'), ...list('label'), S('answerKey'),
  ];
  const buf = parquetWriteBuffer({
    schema,
    columnData: [
      { name: 'id', data: ['fx-1', 'fx-2'] },
      { name: 'question', data: ['fixture question text', 'fixture question two'] },
      { name: 'choices', data: [{ text: ['option a', 'option b'], label: ['A', 'B'] }, { text: ['option a'], label: ['A'] }] },
      { name: 'answerKey', data: ['B', 'C'] },
    ],
  } as unknown as Parameters<typeof parquetWriteBuffer>[0]);
  fs.mkdirSync(path.join(dir, 'ARC-Easy'));
  fs.writeFileSync(path.join(dir, 'ARC-Easy', 'test-00000-of-00001.parquet'), new Uint8Array(buf));
  const arc = await loadTaskData(getTask('arc_easy'), { dataDir: dir });
  assert.deepEqual(arc.docs.map((d) => d.doc), [{ id: 'fx-1', question: 'fixture question text', choices: { text: ['option a', 'option b'], label: ['A', 'B'] }, answerKey: 'B' }]);
  assert.deepEqual(arc.malformed, [{ where: 'test-00000-of-00001.parquet row 2', message: "answerKey 'C' is not one of the choice labels [A]", index: 1 }]);
});

test('limit: the first N docs, or a fraction rounded up, as the harness', () => {
  assert.equal(applyLimit(10, undefined), 10);
  assert.equal(applyLimit(10, 3), 3);
  assert.equal(applyLimit(10, 0.25), 3);
  assert.equal(applyLimit(2, 5), 2);
  assert.throws(() => applyLimit(10, 0), /limit must be > 0/);
});
