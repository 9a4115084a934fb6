// End to end on a tiny random GPT-2-vocabulary model (50257 tokens, 1 layer, width 8) and the format fixtures:
// evaluate() writes the harness's results layout and per-sample logs; a second run on the same weights is answered
// entirely by the request cache (no forward pass) with identical results; the `eval` CLI command runs from an HF
// checkpoint folder; the paper comparison table and charts are built. No tensor leaks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setupBackend, assertNoLeak } from '../helpers';
import { makeConfig } from '../../lib/model/config';
import { initParams, disposeParams, Params } from '../../lib/model/params';
import { paramsToTensors, writeHFFolder } from '../../lib/model/hf';
import { ModelScorer } from '../../lib/eval/score';
import { RequestCache, modelFingerprint } from '../../lib/eval/cache';
import { evaluate, EvalResults, sampleFile } from '../../lib/eval/runner';
import { TASK_NAMES } from '../../lib/eval/tasks';
import { evalCommand, parseTaskList } from '../../lib/eval/cli';
import { comparisonFigures, comparisonRows, paperRowsMatching } from '../../lib/eval/report';
import { PAPER_ROWS, PAPER_AVERAGES } from '../../lib/eval/paper';
import { main } from '../../lib/cli/main';

const FX = path.join(__dirname, '..', 'fixtures', 'eval');
const cfg = makeConfig('gpt2', { nLayer: 1, nHead: 2, nEmbd: 8, blockSize: 64 });
let tmp: string;
let dataDir: string;
let params: Params;

before(async () => {
  await setupBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-e2e-'));
  dataDir = path.join(tmp, 'data');
  fs.mkdirSync(dataDir);
  for (const t of TASK_NAMES) fs.copyFileSync(path.join(FX, `${t}.fixture.jsonl`), path.join(dataDir, `${t}.jsonl`));
  params = initParams(cfg, { seed: 11, trainable: false });
});

after(() => {
  disposeParams(params);
  fs.rmSync(tmp, { recursive: true, force: true });
});

const quiet = () => {};

test('evaluate(): harness results layout and samples; a second run is served by the cache with identical results', async () => {
  const cacheDir = path.join(tmp, 'cache');
  const id = (await assertNoLeak(() => modelFingerprint(params, cfg), 0, 'modelFingerprint')).slice(0, 32);
  const run = async (outDir: string) => {
    const scorer = new ModelScorer(params, cfg, { batchSize: 3, maxLength: 16, cache: new RequestCache(id, cacheDir) });
    const res = await assertNoLeak(() => evaluate({ scorer, tasks: [...TASK_NAMES], dataDir, outDir, log: quiet }), 0, 'evaluate');
    return { res, scorer };
  };
  const first = await run(path.join(tmp, 'out1'));
  assert.ok(first.scorer.stats.forwardPasses > 0);
  assert.equal(first.scorer.stats.cacheHits, 0);
  const second = await run(path.join(tmp, 'out2'));
  assert.equal(second.scorer.stats.forwardPasses, 0, 'second run does no forward pass');
  assert.equal(second.scorer.stats.cacheHits, first.scorer.stats.requests);
  assert.deepEqual(second.res.results, first.res.results);

  const r = JSON.parse(fs.readFileSync(path.join(tmp, 'out1', 'results.json'), 'utf8')) as EvalResults;
  for (const k of ['results', 'group_subtasks', 'configs', 'versions', 'n-shot', 'higher_is_better', 'n-samples', 'config', 'git_hash', 'date']) {
    assert.ok(k in r, `results.json has '${k}'`);
  }
  assert.deepEqual(Object.keys(r.results.arc_easy), ['alias', 'acc,none', 'acc_stderr,none', 'acc_norm,none', 'acc_norm_stderr,none']);
  assert.deepEqual(Object.keys(r.results.wikitext).slice(1), [
    'word_perplexity,none', 'word_perplexity_stderr,none', 'byte_perplexity,none', 'byte_perplexity_stderr,none', 'bits_per_byte,none', 'bits_per_byte_stderr,none',
  ]);
  // The default harness is v0.3 (the paper's): its task versions and LAMBADA's metric name "ppl".
  assert.equal(r.config.harness_version, '0.3');
  assert.equal(r.config.bootstrap_iters, 100000);
  assert.equal(r.versions.boolq, 1);
  assert.equal(r.configs.boolq.num_fewshot, 0);
  assert.equal(r['n-shot'].piqa, 0);
  assert.deepEqual(r.higher_is_better.lambada_openai, { ppl: false, acc: true });
  assert.equal(typeof r.results.lambada_openai['ppl_stderr,none'], 'number', 'the perplexity stderr is bootstrapped');
  assert.deepEqual(r['n-samples'].hellaswag, { original: 2, effective: 2 });
  assert.equal(typeof r.date, 'number');
  const ppl = r.results.wikitext['word_perplexity,none'] as number;
  assert.ok(ppl > 1 && Number.isFinite(ppl), `word perplexity ${ppl}`);
  // Per-sample logs, named and shaped as the harness's: one line per doc, exactly the harness's keys.
  const file = sampleFile(path.join(tmp, 'out1'), 'arc_easy') as string;
  assert.match(path.basename(file), /^samples_arc_easy_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{6}\.jsonl$/);
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.deepEqual(Object.keys(lines[0]), ['doc_id', 'doc', 'target', 'arguments', 'resps', 'filtered_resps', 'filter', 'metrics', 'doc_hash', 'prompt_hash', 'target_hash', 'acc', 'acc_norm']);
  const doc0 = lines.find((l) => l.doc_id === 0);
  assert.deepEqual(doc0.arguments.gen_args_0, { arg_0: 'Question: fixture question text\nAnswer:', arg_1: ' option a' });
  assert.equal(typeof doc0.target, 'string');
});

test('the eval CLI command: HF checkpoint folder in, results.json, samples and charts out; cached re-run; limit', async () => {
  const modelDir = path.join(tmp, 'tiny-gpt2');
  writeHFFolder(modelDir, cfg, await paramsToTensors(params));
  const out = path.join(tmp, 'cli-out');
  const cacheDir = path.join(tmp, 'cli-cache');
  const logs: string[] = [];
  const args = ['--model', modelDir, '--tasks', 'table1,boolq', '--data-dir', dataDir, '--out', out, '--cache-dir', cacheDir, '--batch-size', '4', '--limit', '1'];
  assert.equal(await evalCommand(args, (s) => logs.push(s)), 0);
  const r = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as EvalResults;
  assert.deepEqual(Object.keys(r.results), ['arc_easy', 'piqa', 'sciq', 'hellaswag', 'lambada_openai', 'boolq']);
  assert.deepEqual(r['n-samples'].arc_easy, { original: 2, effective: 1 });
  assert.equal(r.config.limit, 1);
  assert.equal(r.config.model, 'tiny-gpt2');
  assert.equal(r.config.batch_size, 4);
  assert.ok(sampleFile(out, 'boolq'));
  assert.ok(logs.some((l) => l.startsWith('lm-evaluation-harness 0.3 rules')), 'the make_table printout names the harness');
  assert.ok(logs.some((l) => /^\|arc_easy *\| *0\|none *\| *0\|acc *\|↑ *\|/m.test(l)));
  assert.ok(fs.existsSync(path.join(out, 'comparison-acc.html')));
  assert.ok(logs.some((l) => /forward passes [1-9]/.test(l)));
  // The cache file is named by the weights' content: the same as for the in-memory params the folder was written from.
  assert.ok(fs.existsSync(path.join(cacheDir, `${(await modelFingerprint(params, cfg)).slice(0, 32)}.jsonl`)));
  logs.length = 0;
  assert.equal(await main(['eval', ...args]), 0); // through the top-level CLI, second time: all from the cache
  const again = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as EvalResults;
  assert.deepEqual(again.results, r.results);
  await assert.rejects(evalCommand(['--model', modelDir, '--tasks', 'piqa', '--data-dir', tmp], quiet), /piqa: no data found under/);
  await assert.rejects(evalCommand(['--model', modelDir, '--tasks', 'mmlu', '--data-dir', dataDir], quiet), /unknown task 'mmlu'/);
  assert.deepEqual(parseTaskList('table1,boolq,piqa'), ['arc_easy', 'piqa', 'sciq', 'hellaswag', 'lambada_openai', 'boolq']);
  assert.deepEqual(parseTaskList('ai2_arc,lambada'), ['arc_easy', 'arc_challenge', 'lambada_openai', 'lambada_standard']); // the harness's tags

  // eval --num_fewshot 5 --harness 0.4 on a format-fixture task: the logged context of doc 0 is the harness sampler's
  // (Random(1234).sample(train, 6) -> [7, 1, 0, 10, 9, 5], minus the doc, first 5; see test/eval/fewshot.test.ts).
  const fx = { _fixture: 'FORMAT FIXTURE – not benchmark data' };
  const train = Array.from({ length: 12 }, (_, i) => JSON.stringify({ ...fx, goal: `fixture train goal ${i}`, sol1: `sol a${i}`, sol2: `sol b${i}`, label: i % 2 }));
  fs.writeFileSync(path.join(dataDir, 'piqa.train.jsonl'), train.join('\n') + '\n');
  const fsOut = path.join(tmp, 'cli-fewshot');
  logs.length = 0;
  assert.equal(await evalCommand(['--model', modelDir, '--tasks', 'piqa', '--data-dir', dataDir, '--out', fsOut, '--no-cache', '--num_fewshot', '5', '--harness', '0.4'], (s) => logs.push(s)), 0);
  const fsRes = JSON.parse(fs.readFileSync(path.join(fsOut, 'results.json'), 'utf8')) as EvalResults;
  assert.equal(fsRes['n-shot'].piqa, 5);
  assert.equal(fsRes.config.harness_version, '0.4');
  const s0 = fs.readFileSync(sampleFile(fsOut, 'piqa') as string, 'utf8').split('\n').map((l) => (l ? JSON.parse(l) : null)).find((l) => l?.doc_id === 0);
  const goal0 = (JSON.parse(fs.readFileSync(path.join(dataDir, 'piqa.jsonl'), 'utf8').split('\n')[0]) as { goal: string }).goal;
  assert.equal(
    s0.arguments.gen_args_0.arg_0,
    'Question: fixture train goal 7\nAnswer: sol b7\n\nQuestion: fixture train goal 1\nAnswer: sol b1\n\n' +
      'Question: fixture train goal 0\nAnswer: sol a0\n\nQuestion: fixture train goal 10\nAnswer: sol a10\n\n' +
      `Question: fixture train goal 9\nAnswer: sol b9\n\nQuestion: ${goal0}\nAnswer:`,
  );
  assert.ok(logs.some((l) => /^\|piqa *\| *1\|none *\| *5\|acc /m.test(l)), 'make_table shows version 1 and n-shot 5');
});

test('paper numbers: Tables 1 and 7 as typed rows; comparison table and charts beside ours', () => {
  assert.equal(PAPER_ROWS.length, 8);
  // The printed averages are the means of the rows' accuracies (to the paper's rounding).
  for (const row of PAPER_ROWS) {
    const accs = Object.entries(row.scores).filter(([k]) => !k.includes('perplexity')).map(([, v]) => v!.value);
    const avg = accs.reduce((a, b) => a + b, 0) / accs.length;
    assert.ok(Math.abs(avg - PAPER_AVERAGES[row.id].acc) < 0.011, `${row.id}: mean ${avg} vs printed ${PAPER_AVERAGES[row.id].acc}`);
  }
  const fake: EvalResults = {
    results: {
      hellaswag: { alias: 'hellaswag', 'acc,none': 0.3, 'acc_stderr,none': 0.01, 'acc_norm,none': 0.31, 'acc_norm_stderr,none': 0.01 },
      wikitext: { alias: 'wikitext', 'word_perplexity,none': 30, 'word_perplexity_stderr,none': 'N/A' },
    },
    group_subtasks: {}, configs: {}, versions: {}, 'n-shot': {}, higher_is_better: {},
    'n-samples': { hellaswag: { original: 10, effective: 10 } },
    config: { model: 'ours' }, git_hash: null, date: 0, total_evaluation_time_seconds: '0', malformed_rows: {}, data_files: {},
  };
  const rows = comparisonRows(fake, { paperRows: paperRowsMatching('table7') });
  assert.deepEqual(rows.map((r) => r.model), ['ours', 'ours ±', 'GPT-2 XL (OWT), full 48L', 'GPT-2 XL (OWT), Ours 24L']);
  assert.ok(Math.abs((rows[0].HellaSwag as number) - 31) < 1e-9); // acc_norm, in percent
  assert.ok(Math.abs((rows[1].HellaSwag as number) - 1) < 1e-9);
  assert.equal(rows[0]['Wikitext ppl'], 30);
  assert.equal(rows[1]['Wikitext ppl'], '–');
  assert.equal(rows[3].HellaSwag, 34.2);
  assert.equal(rows[2]['Wikitext ppl'], 25.46);
  // With Table 1 rows too, the paper's Table-1 models have no WikiText number.
  assert.equal(comparisonRows(fake)[2]['Wikitext ppl'], '–');
  const figs = comparisonFigures(fake, { paperRows: paperRowsMatching('table7') });
  assert.equal(figs.length, 2);
  assert.equal(figs[0].data.length, 3); // ours + the two Table 7 rows
  assert.throws(() => paperRowsMatching('table9'), /no paper rows match 'table9'/);
});
