// Few-shot contexts exactly as the harness's samplers build them, on format fixtures (rows written here, not
// benchmark data). The expected strings are written out by hand from the harness's code and CPython's draws:
//   v0.4 (@4e7e0d4 lm_eval/api/samplers.py ContextSampler.sample, lm_eval/api/task.py ConfigurableTask.fewshot_context
//   and build_qa_turn): random.Random(1234) per task; sample(fewshot_docs, k + 1) minus the doc when the few-shot
//   split (unset) equals test_split (unset for piqa / winogrande), else sample(k) (lambada_openai: test_split "test",
//   pool = its test docs, the doc itself may be drawn); example = text + " " + target + "\n\n".
//   v0.3 (v0.3.0 lm_eval/evaluator.py evaluate, lm_eval/base.py Task.fewshot_context): rnd = random.Random(42)
//   shuffles the eval docs, then draws rnd.sample(training_docs, k) per doc in that order, or (LAMBADA, no training
//   split) rnd.sample(validation_docs, k + 1) minus the doc, first k; examples joined by "\n\n", then "\n\n".
// CPython 3.11 draws used (python3 -c "import random; ..."):
//   Random(1234).sample(range(12), 6) twice        -> [7, 1, 0, 10, 9, 5], [11, 1, 10, 5, 3, 0]
//   Random(42): shuffle([0, 1]) -> [1, 0]; sample(range(12), 5) twice -> [0, 4, 3, 9, 2], [11, 1, 8, 10, 6]
//   Random(1234).sample(range(8), 5) twice         -> [7, 0, 6, 5, 4], [1, 0, 2, 7, 6]
//   Random(42): shuffle(range(8))[:2] -> [3, 4]; sample(range(8), 6) twice -> [1, 5, 6, 4, 0, 2], [6, 0, 7, 5, 1, 4]
//   Random(1234).sample(range(12), 3) x3            -> [7, 1, 0], [1, 9, 0], [10, 1, 11]
//   Random(42): shuffle([0, 1, 2]) -> [1, 0, 2]; sample(range(12), 2) x3 -> [0, 4], [3, 11], [2, 1]
//   Random(1234).sample(range(8), 2) -> [7, 0];  Random(42): shuffle([0]); sample(range(8), 3) -> [1, 0, 5]
// The draws themselves are checked against CPython in pyrandom.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { evaluate } from '../../lib/eval/runner';
import { HarnessVersion } from '../../lib/eval/tasks';
import { LoglikResult, Scorer } from '../../lib/eval/requests';

const FX = { _fixture: 'FORMAT FIXTURE – not benchmark data' };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-fewshot-'));
const jl = (rows: object[]) => rows.map((r) => JSON.stringify({ ...FX, ...r })).join('\n') + '\n';
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
fs.writeFileSync(path.join(dir, 'piqa.jsonl'), jl(range(2).map((j) => ({ goal: `fixture eval goal ${j}`, sol1: 'yes way', sol2: 'no way', label: 0 }))));
fs.writeFileSync(path.join(dir, 'piqa.train.jsonl'), jl(range(12).map((i) => ({ goal: `fixture train goal ${i}`, sol1: `sol a${i}`, sol2: `sol b${i}`, label: i % 2 }))));
fs.writeFileSync(path.join(dir, 'lambada_openai.jsonl'), jl(range(8).map((i) => ({ text: `fixture passage ${i} ends with word${i}` }))));
fs.writeFileSync(path.join(dir, 'winogrande.jsonl'), jl(range(3).map((j) => ({ sentence: `Eval ${j} C told D that _ stayed.`, option1: `C${j}`, option2: `D${j}`, answer: '1' }))));
fs.writeFileSync(path.join(dir, 'winogrande.train.jsonl'), jl(range(12).map((i) => ({ sentence: `Train ${i} A told B that _ left.`, option1: `A${i}`, option2: `B${i}`, answer: i % 2 ? '2' : '1' }))));

class Recorder implements Scorer {
  seen: Array<[string, string]> = [];
  async loglikelihood(reqs: Array<[string, string]>): Promise<LoglikResult[]> {
    this.seen.push(...reqs);
    return reqs.map(() => ({ ll: -1, isGreedy: false }));
  }
  async loglikelihoodRolling(texts: string[]): Promise<number[]> {
    return texts.map(() => -1);
  }
}

async function contexts(task: string, h: HarnessVersion, k: number, limit?: number): Promise<Array<[string, string]>> {
  const scorer = new Recorder();
  const r = await evaluate({ scorer, tasks: [task], dataDir: dir, harness: h, numFewshot: k, limit, log: () => {} });
  assert.equal(r['n-shot'][task], k);
  assert.equal(r.configs[task].num_fewshot, k);
  assert.equal(r.config.harness_version, h);
  return scorer.seen;
}

test('piqa 5-shot, v0.4: Random(1234), 6 drawn from the training split minus the doc, first 5', async () => {
  const seen = await contexts('piqa', '0.4', 5);
  const ctx0 =
    'Question: fixture train goal 7\nAnswer: sol b7\n\n' +
    'Question: fixture train goal 1\nAnswer: sol b1\n\n' +
    'Question: fixture train goal 0\nAnswer: sol a0\n\n' +
    'Question: fixture train goal 10\nAnswer: sol a10\n\n' +
    'Question: fixture train goal 9\nAnswer: sol b9\n\n' +
    'Question: fixture eval goal 0\nAnswer:';
  const ctx1 =
    'Question: fixture train goal 11\nAnswer: sol b11\n\n' +
    'Question: fixture train goal 1\nAnswer: sol b1\n\n' +
    'Question: fixture train goal 10\nAnswer: sol a10\n\n' +
    'Question: fixture train goal 5\nAnswer: sol b5\n\n' +
    'Question: fixture train goal 3\nAnswer: sol b3\n\n' +
    'Question: fixture eval goal 1\nAnswer:';
  assert.deepEqual(seen, [[ctx0, ' yes way'], [ctx0, ' no way'], [ctx1, ' yes way'], [ctx1, ' no way']]);
});

test('piqa 5-shot, v0.3: docs shuffled by Random(42) (doc 1 first), then sample(train, 5) from the same generator', async () => {
  const seen = await contexts('piqa', '0.3', 5);
  const ctx1 =
    'Question: fixture train goal 0\nAnswer: sol a0\n\n' +
    'Question: fixture train goal 4\nAnswer: sol a4\n\n' +
    'Question: fixture train goal 3\nAnswer: sol b3\n\n' +
    'Question: fixture train goal 9\nAnswer: sol b9\n\n' +
    'Question: fixture train goal 2\nAnswer: sol a2\n\n' +
    'Question: fixture eval goal 1\nAnswer:';
  const ctx0 =
    'Question: fixture train goal 11\nAnswer: sol b11\n\n' +
    'Question: fixture train goal 1\nAnswer: sol b1\n\n' +
    'Question: fixture train goal 8\nAnswer: sol a8\n\n' +
    'Question: fixture train goal 10\nAnswer: sol a10\n\n' +
    'Question: fixture train goal 6\nAnswer: sol a6\n\n' +
    'Question: fixture eval goal 0\nAnswer:';
  assert.deepEqual(seen, [[ctx1, ' yes way'], [ctx1, ' no way'], [ctx0, ' yes way'], [ctx0, ' no way']]);
});

test('lambada_openai 5-shot: v0.4 draws 5 of the test docs (itself included) with two spaces before each word', async () => {
  const seen = await contexts('lambada_openai', '0.4', 5, 2);
  assert.deepEqual(seen, [
    [
      'fixture passage 7 ends with  word7\n\nfixture passage 0 ends with  word0\n\nfixture passage 6 ends with  word6\n\n' +
        'fixture passage 5 ends with  word5\n\nfixture passage 4 ends with  word4\n\nfixture passage 0 ends with',
      ' word0',
    ],
    [
      'fixture passage 1 ends with  word1\n\nfixture passage 0 ends with  word0\n\nfixture passage 2 ends with  word2\n\n' +
        'fixture passage 7 ends with  word7\n\nfixture passage 6 ends with  word6\n\nfixture passage 1 ends with',
      ' word1',
    ],
  ]);
});

test('lambada_openai 5-shot: v0.3 scores shuffled docs 3 and 4, draws 6 minus the doc itself, one space', async () => {
  const seen = await contexts('lambada_openai', '0.3', 5, 2);
  assert.deepEqual(seen, [
    [
      'fixture passage 1 ends with word1\n\nfixture passage 5 ends with word5\n\nfixture passage 6 ends with word6\n\n' +
        'fixture passage 4 ends with word4\n\nfixture passage 0 ends with word0\n\nfixture passage 3 ends with',
      ' word3',
    ],
    [
      'fixture passage 6 ends with word6\n\nfixture passage 0 ends with word0\n\nfixture passage 7 ends with word7\n\n' +
        'fixture passage 5 ends with word5\n\nfixture passage 1 ends with word1\n\nfixture passage 4 ends with',
      ' word4',
    ],
  ]);
});

test('winogrande 2-shot: examples are the gold partial sentence + " " + the rest; each option after them', async () => {
  const ex = (i: number) => `Train ${i} A told B that ${i % 2 ? 'B' : 'A'}${i} left.\n\n`;
  const want = (order: number[], draws: number[][]) =>
    order.flatMap((j, n) => [`C${j}`, `D${j}`].map((o) => [`${ex(draws[n][0])}${ex(draws[n][1])}Eval ${j} C told D that ${o}`, ' stayed.']));
  assert.deepEqual(await contexts('winogrande', '0.4', 2), want([0, 1, 2], [[7, 1], [1, 9], [10, 1]]));
  assert.deepEqual(await contexts('winogrande', '0.3', 2), want([1, 0, 2], [[0, 4], [3, 11], [2, 1]]));
});

test('lambada_standard 2-shot: examples from its validation split (v0.4: 2 drawn, test_split set; v0.3: 3 minus the doc)', async () => {
  const d2 = path.join(dir, 'std');
  fs.mkdirSync(d2, { recursive: true });
  fs.writeFileSync(path.join(d2, 'lambada_standard.jsonl'), jl([{ text: 'fixture test passage ends with target', domain: null }]));
  fs.writeFileSync(path.join(d2, 'lambada_standard.validation.jsonl'), jl(range(8).map((i) => ({ text: `fixture val passage ${i} ends with v${i}`, domain: null }))));
  const run = async (h: HarnessVersion) => {
    const scorer = new Recorder();
    await evaluate({ scorer, tasks: ['lambada_standard'], dataDir: d2, harness: h, numFewshot: 2, log: () => {} });
    return scorer.seen;
  };
  assert.deepEqual(await run('0.4'), [['fixture val passage 7 ends with  v7\n\nfixture val passage 0 ends with  v0\n\nfixture test passage ends with', ' target']]);
  assert.deepEqual(await run('0.3'), [['fixture val passage 1 ends with v1\n\nfixture val passage 0 ends with v0\n\nfixture test passage ends with', ' target']]);
});

test('few-shot refusals: wikitext is zero-shot only; a missing training split names its files', async () => {
  fs.writeFileSync(path.join(dir, 'wikitext.jsonl'), jl([{ page: ' = A = \n text \n' }]));
  await assert.rejects(evaluate({ scorer: new Recorder(), tasks: ['wikitext'], dataDir: dir, numFewshot: 1, log: () => {} }), /zero-shot only/);
  fs.writeFileSync(path.join(dir, 'sciq.jsonl'), jl([{ question: 'q', distractor1: 'a', distractor2: 'b', distractor3: 'c', correct_answer: 'd', support: '' }]));
  await assert.rejects(evaluate({ scorer: new Recorder(), tasks: ['sciq'], dataDir: dir, numFewshot: 1, log: () => {} }), /sciq: no train split data found[^]*sciq\.train\.jsonl/);
  await assert.rejects(evaluate({ scorer: new Recorder(), tasks: ['piqa'], dataDir: dir, harness: '0.3', bootstrapIters: 0, log: () => {} }), /only in harness 0.4/);
});
