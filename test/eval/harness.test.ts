// Harness versions on format fixtures (rows this test writes, labelled as not benchmark data): for each of the eight
// tasks, a row in the raw original's format and the same row in the Hub's format give the same requests, equal to
// (context, continuation) pairs derived by hand from the harness's code in each version:
//   v0.4 = EleutherAI/lm-evaluation-harness@4e7e0d4: lm_eval/tasks/<task>/*.yaml (doc_to_text, doc_to_choice,
//          doc_to_target, target_delimiter " "), hellaswag/utils.py process_docs, winogrande/preprocess_winogrande.py,
//          wikitext/preprocess_wikitext.py, lm_eval/api/task.py ConfigurableTask.construct_requests,
//          lm_eval/api/model.py TemplateLM._encode_pair;
//   v0.3 = tag v0.3.0: lm_eval/tasks/arc.py ARCEasy._process_doc, piqa.py PiQA, sciq.py SciQ.doc_to_text (.strip()),
//          hellaswag.py HellaSwag._process_doc, lambada.py LambadaBase (rsplit, "ppl"), winogrande.py Winogrande
//          (partial_context, append_context), superglue.py BoolQ (VERSION 1: " yes"/" no", ll_yes > ll_no),
//          wikitext.py WikiText, lm_eval/base.py BaseLM.loglikelihood (context and continuation encoded apart).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HarnessVersion, Instance, TaskName, getTask } from '../../lib/eval/tasks';
import { loadTaskData } from '../../lib/eval/data';
import { encodeRequest } from '../../lib/eval/requests';
import { processResults } from '../../lib/eval/metrics';
import { withFewshot } from '../../lib/eval/fewshot';
import { runMetrics } from '../../lib/eval/runner';
import { GPT2_EVAL_TOKENIZER } from '../../lib/eval/score';
import { encodeOrdinary } from '../../lib/data/tokenizer';

const FX = { _fixture: 'FORMAT FIXTURE – not benchmark data' };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-harness-'));
const put = (name: string, text: string): string => {
  const f = path.join(dir, name);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, text);
  return f;
};
const jl = (rows: object[]) => rows.map((r) => JSON.stringify({ ...FX, ...r })).join('\n') + '\n';

async function insts(task: TaskName, file: string, h: HarnessVersion): Promise<Instance[]> {
  const d = await loadTaskData(getTask(task), { file });
  assert.deepEqual(d.malformed, [], `${task} ${file}`);
  return d.docs.map((x) => getTask(task).instance(x.doc, h));
}

/** Asserts raw and Hub files give `expected` in version h (requests, gold; or the rolling text and counts). */
async function same(task: TaskName, raw: string, hub: string, h: HarnessVersion, expected: Array<Partial<Instance>>): Promise<void> {
  const a = await insts(task, raw, h);
  const b = await insts(task, hub, h);
  assert.deepEqual(a, b, `${task} ${h}: raw and Hub rows give different requests`);
  assert.equal(a.length, expected.length);
  a.forEach((inst, i) => {
    for (const [k, v] of Object.entries(expected[i])) assert.deepEqual((inst as Record<string, unknown>)[k], v, `${task} ${h} doc ${i} ${k}`);
  });
}

test('arc_easy: raw ARC-Easy-Test.jsonl and Hub rows; gold by label index (0.4) and by A-E after 1-5 -> A-E (0.3)', async () => {
  const rows = [
    { id: 'fx1', q: 'fixture stem one', labels: ['1', '2', '3'], texts: ['option a', 'option b', 'option c'], key: '3' },
    { id: 'fx2', q: 'fixture stem two', labels: ['A', 'B', 'C', 'D'], texts: ['w', 'x', 'y', 'z'], key: 'D' },
  ];
  const raw = put('arc/ARC-Easy-Test.jsonl', jl(rows.map((r) => ({ id: r.id, question: { stem: r.q, choices: r.texts.map((text, i) => ({ text, label: r.labels[i] })) }, answerKey: r.key }))));
  const hub = put('arc/test.jsonl', jl(rows.map((r) => ({ id: r.id, question: r.q, choices: { text: r.texts, label: r.labels }, answerKey: r.key }))));
  const c1 = 'Question: fixture stem one\nAnswer:';
  const c2 = 'Question: fixture stem two\nAnswer:';
  const expected = [
    { requests: [[c1, ' option a'], [c1, ' option b'], [c1, ' option c']], gold: 2 },
    { requests: [[c2, ' w'], [c2, ' x'], [c2, ' y'], [c2, ' z']], gold: 3 },
  ] as Array<Partial<Instance>>;
  for (const h of ['0.3', '0.4'] as const) await same('arc_easy', raw, hub, h, expected);
  // arc_challenge (tag ai2_arc) includes arc_easy.yaml: the same requests from ARC-Challenge files.
  const rawC = put('arcc/ARC-Challenge-Test.jsonl', fs.readFileSync(raw, 'utf8'));
  for (const h of ['0.3', '0.4'] as const) await same('arc_challenge', rawC, hub, h, expected);
  assert.equal(getTask('arc_challenge').dataset.name, 'ARC-Challenge');
  // v0.3 indexes A-E: a key it cannot map to a choice is refused, not scored as a wrong answer.
  assert.throws(() => getTask('arc_easy').instance({ question: 'q', choices: { text: ['a', 'b'], label: ['X', 'Y'] }, answerKey: 'Y' }, '0.3'), /v0.3 maps answerKey 'Y' to choice -1/);
});

test('piqa: raw valid.jsonl + valid-labels.lst and Hub rows, same in both versions', async () => {
  const raw = put('piqa/valid.jsonl', jl([{ goal: 'fixture goal', sol1: 'first way', sol2: 'second way' }]));
  put('piqa/valid-labels.lst', '1\n');
  const hub = put('piqa/validation.jsonl', jl([{ goal: 'fixture goal', sol1: 'first way', sol2: 'second way', label: 1 }]));
  const c = 'Question: fixture goal\nAnswer:';
  for (const h of ['0.3', '0.4'] as const) await same('piqa', raw, hub, h, [{ requests: [[c, ' first way'], [c, ' second way']], gold: 1 }]);
});

test("sciq: v0.4 lstrips the support, v0.3 strips the whole prompt: an empty or blank support differs", async () => {
  const row = (support: string) => ({ question: 'fixture question', distractor1: 'd1', distractor2: 'd2', distractor3: 'd3', correct_answer: 'ok', support });
  const rows = [row(''), row('  Fixture support.'), row(' \n ')];
  const raw = put('sciq/test.json', JSON.stringify(rows.map((r) => ({ ...FX, ...r }))));
  const hub = put('sciq/test.jsonl', jl(rows));
  const q = 'Question: fixture question\nAnswer:';
  const req = (c: string) => ['d1', 'd2', 'd3', 'ok'].map((x) => [c, ` ${x}`]);
  await same('sciq', raw, hub, '0.4', [{ requests: req(`\n${q}`), gold: 3 }, { requests: req(`Fixture support.\n${q}`) }, { requests: req(`\n${q}`) }] as Array<Partial<Instance>>);
  await same('sciq', raw, hub, '0.3', [{ requests: req(q), gold: 3 }, { requests: req(`Fixture support.\n${q}`) }, { requests: req(q) }] as Array<Partial<Instance>>);
});

test('hellaswag: raw hellaswag_val.jsonl (int label) and Hub rows (string label): the preprocessed query and endings', async () => {
  const base = { activity_label: 'Fixture label', ctx_a: 'Fixture context a.', ctx_b: 'then THE fixture', endings: ['ends [title] here.', 'ends  [x] twice', 'three', 'four'] };
  const raw = put('hellaswag/hellaswag_val.jsonl', jl([{ ind: 1, ...base, ctx: 'unused', split: 'val', split_type: 'indomain', source_id: 's', label: 2 }]));
  const hub = put('hellaswag/validation.jsonl', jl([{ ind: 1, ...base, ctx: 'unused', split: 'val', split_type: 'indomain', source_id: 's', label: '2' }]));
  // preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize()): "then THE fixture" -> "Then the fixture".
  const c = 'Fixture label: Fixture context a. Then the fixture';
  // "ends  [x] twice": the bracket removed leaves three spaces; one left-to-right replace("  ", " ") leaves two.
  const expected = [[c, ' ends. here.'], [c, ' ends  twice'], [c, ' three'], [c, ' four']];
  // The raw row's int label and the Hub's string label differ in the doc itself, so compare requests, not docs.
  for (const h of ['0.3', '0.4'] as const) {
    const a = await insts('hellaswag', raw, h);
    const b = await insts('hellaswag', hub, h);
    assert.deepEqual(a, b);
    assert.deepEqual((a[0] as { requests: unknown }).requests, expected);
    assert.equal((a[0] as { gold: number }).gold, 2);
  }
});

test('lambada_openai: same strings in both versions; tokens differ where the context ends in a space (0.4 moves it)', async () => {
  const raw = put('lambada/lambada_test.jsonl', jl([{ text: 'fixture words and a  target' }, { text: 'fixture "quoted" last' }]));
  const hub = put('lambada/test.jsonl', jl([{ text: 'fixture words and a  target' }, { text: 'fixture "quoted" last' }]));
  const expected = [
    { request: ['fixture words and a ', ' target'], target: ' target' }, // split(' ') keeps the empty word: context ends in " "
    { request: ['fixture "quoted"', ' last'], target: ' last' },
  ] as Array<Partial<Instance>>;
  for (const h of ['0.3', '0.4'] as const) await same('lambada_openai', raw, hub, h, expected);
  const tok = GPT2_EVAL_TOKENIZER;
  // v0.3 BaseLM.loglikelihood: enc(context), enc(continuation) apart.
  const v03 = encodeRequest(tok, 'fixture words and a ', ' target', '0.3');
  assert.deepEqual(v03, { context: encodeOrdinary('fixture words and a '), continuation: encodeOrdinary(' target') });
  // v0.4 _encode_pair: the trailing " " joins the continuation: whole = enc("fixture words and a  target").
  const v04 = encodeRequest(tok, 'fixture words and a ', ' target', '0.4');
  const ctx = encodeOrdinary('fixture words and a');
  assert.deepEqual(v04, { context: ctx, continuation: encodeOrdinary('fixture words and a  target').slice(ctx.length) });
  assert.notDeepEqual(v03, v04);
  assert.deepEqual(v03.context.slice(-1), [220]); // the lone " " token ends v0.3's context
  // v0.3's metric is named "ppl"; v0.3 cannot rsplit a text without a space.
  assert.deepEqual(runMetrics(getTask('lambada_openai'), '0.3').map((m) => m.metric), ['ppl', 'acc']);
  assert.deepEqual(runMetrics(getTask('lambada_openai'), '0.4').map((m) => m.metric), ['perplexity', 'acc']);
  assert.throws(() => getTask('lambada_openai').instance({ text: 'oneword' }, '0.3'), /v0.3 cannot split/);
  assert.deepEqual((getTask('lambada_openai').instance({ text: 'oneword' }, '0.4') as { request: unknown }).request, ['', ' oneword']);
});

test('winogrande: raw dev.jsonl and Hub rows; partial contexts, shared target; v0.3 append_context on "\\n\\n"', async () => {
  const row = { sentence: 'Fixture Ann told Bo that _ would write.', option1: 'Ann', option2: 'Bo', answer: '2' };
  const raw = put('winogrande/dev.jsonl', jl([{ qID: 'fx-1', ...row }]));
  const hub = put('winogrande/validation.jsonl', jl([row]));
  const exp = [{ requests: [['Fixture Ann told Bo that Ann', ' would write.'], ['Fixture Ann told Bo that Bo', ' would write.']], gold: 1, target: 'would write.' }] as Array<Partial<Instance>>;
  for (const h of ['0.3', '0.4'] as const) await same('winogrande', raw, hub, h, exp);
  // A blank line inside the sentence: v0.3's append_context splits the context on "\n\n", drops the last piece and
  // appends the option's partial context, so the first piece appears twice. v0.4 just uses the partial context.
  const spec = getTask('winogrande');
  const doc = { sentence: 'Part one.\n\nPart two _ ends.', option1: 'A', option2: 'B', answer: '1' };
  const z3 = withFewshot('0.3', spec, spec.instance(doc, '0.3'), '') as { requests: string[][] };
  assert.deepEqual(z3.requests.map((r) => r[0]), ['Part one.\n\nPart one.\n\nPart two A', 'Part one.\n\nPart one.\n\nPart two B']);
  const z4 = withFewshot('0.4', spec, spec.instance(doc, '0.4'), '') as { requests: string[][] };
  assert.deepEqual(z4.requests.map((r) => r[0]), ['Part one.\n\nPart two A', 'Part one.\n\nPart two B']);
});

test('boolq: raw dev.jsonl passage = "<title> -- <passage>"; 0.4 [" no", " yes"] argmax, 0.3 [" yes", " no"] ll_yes > ll_no', async () => {
  const raw = put('boolq/dev.jsonl', jl([{ question: 'is this a fixture', title: 'Fixture title', answer: true, passage: 'Fixture passage.' }]));
  const hub = put('boolq/validation.jsonl', jl([{ question: 'is this a fixture', passage: 'Fixture title -- Fixture passage.', idx: 0, label: 1 }]));
  const c = 'Fixture title -- Fixture passage.\nQuestion: is this a fixture?\nAnswer:';
  const a3 = await insts('boolq', raw, '0.3');
  const a4 = await insts('boolq', raw, '0.4');
  // The raw row has no idx, so the docs differ in idx only; the requests must be equal to the Hub row's.
  for (const [h, a] of [['0.3', a3], ['0.4', a4]] as const) assert.deepEqual(a.map((x) => (x as { requests: unknown }).requests), (await insts('boolq', hub, h)).map((x) => (x as { requests: unknown }).requests));
  assert.deepEqual((a4[0] as { requests: unknown }).requests, [[c, ' no'], [c, ' yes']]);
  assert.equal((a4[0] as { gold: number }).gold, 1);
  assert.deepEqual((a3[0] as { requests: unknown }).requests, [[c, ' yes'], [c, ' no']]);
  // A raw row without a title cannot be mapped to the Hub's passage: refused.
  const bad = await loadTaskData(getTask('boolq'), { file: put('boolq-bad/dev.jsonl', jl([{ question: 'q', answer: false, passage: 'p' }])) });
  assert.match(bad.malformed[0].message, /no 'title'/);
  // Predictions: equal except when a log-likelihood is NaN (numpy's argmax takes the NaN; v0.3's ">" is False).
  const acc = runMetrics(getTask('boolq'), '0.4');
  const r = (yes: number, no: number, h: HarnessVersion) => {
    const inst = h === '0.3' ? a3[0] : a4[0];
    const lls = h === '0.3' ? [yes, no] : [no, yes];
    return processResults(inst, lls.map((ll) => ({ ll, isGreedy: false })), acc).acc;
  };
  for (const h of ['0.3', '0.4'] as const) {
    assert.equal(r(-1, -2, h), 1);
    assert.equal(r(-2, -1, h), 0);
    assert.equal(r(-1, -1, h), 0); // a tie is "no" in both
  }
  assert.equal(r(NaN, -1, '0.4'), 1);
  assert.equal(r(NaN, -1, '0.3'), 0);
});

test('wikitext: raw wiki.test.raw pages equal the Hub rows; the rolling text is the detokenised page, counts on the original', async () => {
  const raw = put('wikitext/wiki.test.raw', ' \n = Fixture A = \n \n Text @-@ one . \n \n = Fixture B = \n \n Two , three . \n');
  const pages = [' = Fixture A = \n \n Text @-@ one . \n ', ' = Fixture B = \n \n Two , three . \n'];
  const hub = put('wikitext/test.jsonl', jl(pages.map((page) => ({ page }))));
  const exp = [
    // words = len(re.split(r"\s+", page)) (leading/trailing whitespace add empty strings), bytes = UTF-8 length
    { type: 'loglikelihood_rolling', text: ' = Fixture A =\n\nText-one.\n', words: 10, bytes: 36 },
    { type: 'loglikelihood_rolling', text: ' = Fixture B =\n\nTwo, three.\n', words: 10, bytes: 34 },
  ] as Array<Partial<Instance>>;
  for (const h of ['0.3', '0.4'] as const) await same('wikitext', raw, hub, h, exp);
  assert.deepEqual(runMetrics(getTask('wikitext'), '0.3'), runMetrics(getTask('wikitext'), '0.4'));
});

test('task versions and metric lists per harness', () => {
  const v = (h: HarnessVersion) => Object.fromEntries((['arc_easy', 'piqa', 'sciq', 'hellaswag', 'lambada_openai', 'winogrande', 'boolq', 'wikitext'] as const).map((t) => [t, getTask(t).versions[h]]));
  assert.deepEqual(v('0.3'), { arc_easy: 0, piqa: 0, sciq: 0, hellaswag: 0, lambada_openai: 0, winogrande: 0, boolq: 1, wikitext: 1 });
  assert.deepEqual(v('0.4'), { arc_easy: 1, piqa: 1, sciq: 1, hellaswag: 1, lambada_openai: 1, winogrande: 1, boolq: 2, wikitext: 2 });
  assert.throws(() => runMetrics(getTask('piqa'), '0.3', ['acc_bytes']), /does not exist in harness 0.3/);
  assert.deepEqual(runMetrics(getTask('piqa'), '0.4', ['acc_bytes']).map((m) => m.metric), ['acc', 'acc_norm', 'acc_bytes']);
  // acc_bytes divides by UTF-8 bytes: "é" is 1 character but 2 bytes.
  const inst = { type: 'multiple_choice', requests: [['c', ' é'], ['c', ' ab']], choices: ['é', 'ab'], gold: 1, target: 1 } as Instance;
  const m = processResults(inst, [{ ll: -1.9, isGreedy: false }, { ll: -3, isGreedy: false }], runMetrics(getTask('piqa'), '0.4', ['acc_bytes']));
  assert.deepEqual(m, { acc: 0, acc_norm: 1, acc_bytes: 0 }); // per char -1.9/1 < -3/2 ("ab"); per byte -1.9/2 > -3/2 ("é")
});
