// Notebook 07's library: settings by scale, the run names notebooks 02-05 write, loading a finished run's final
// checkpoint, the data plan (user files vs format fixtures, with the runner's missing-file message), the fixture
// results' label and the refusal to put them beside the paper, the paper-only tables, and the comparison table,
// charts and verdict on a micro model. No tensor leaks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setupBackend, assertNoLeak } from '../helpers';
import { makeConfig } from '../../lib/model/config';
import { initParams, disposeParams, Params } from '../../lib/model/params';
import { train } from '../../lib/train/trainer';
import { LAB_SETUPS } from '../../lib/experiments/lab';
import { PAPER_AVERAGES, PAPER_ROWS } from '../../lib/eval/paper';
import { TASK_NAMES } from '../../lib/eval/tasks';
import {
  DOWNSTREAM_TASKS, FIXTURE_LABEL, ModelEval, dataPlanMarkdown, downstreamRuns, downstreamSettings,
  evaluateDownstreamModel, fixtureCheckRows, fixtureFile, loadFinishedRun, planTaskData,
} from '../../lib/experiments/downstream';
import { downstreamFigures, downstreamTableRows, downstreamVerdict, paperFigures, paperTableRows } from '../../lib/experiments/downstream-report';
import { tinyConfig, tokenData } from '../train/util';

let tmp: string;
before(async () => {
  await setupBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'downstream-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('settings: the limit depends on the scale; INHERITUNE_EVAL_LIMIT overrides it, bad values are refused', () => {
  assert.ok((downstreamSettings('tiny', {}).limit as number) <= 10);
  assert.equal(downstreamSettings('lab', {}).limit, 500);
  assert.equal(downstreamSettings('paper', {}).limit, undefined);
  assert.equal(downstreamSettings('lab', { INHERITUNE_EVAL_LIMIT: 'all' }).limit, undefined);
  assert.equal(downstreamSettings('tiny', { INHERITUNE_EVAL_LIMIT: '0.25' }).limit, 0.25);
  assert.equal(downstreamSettings('tiny', { INHERITUNE_EVAL_LIMIT: '40' }).limit, 40);
  for (const bad of ['-1', '2.5', 'many']) assert.throws(() => downstreamSettings('tiny', { INHERITUNE_EVAL_LIMIT: bad }), /INHERITUNE_EVAL_LIMIT/);
});

test('runs: reference, inheritune-<L/2>L-r1 and random-<L/2>L, as notebooks 02-05 name them', () => {
  assert.deepEqual(downstreamRuns(LAB_SETUPS.tiny).map((r) => [r.run, r.layers, r.steps]), [['reference', 8, 60], ['inheritune-4L-r1-s5000', 4, LAB_SETUPS.tiny.targetSteps], ['random-4L-s5000', 4, LAB_SETUPS.tiny.targetSteps]]);
  assert.deepEqual(downstreamRuns(LAB_SETUPS.paper).map((r) => r.run), ['reference', 'inheritune-12L-r1-s5000', 'random-12L-s5000']);
});

test('loadFinishedRun: the final checkpoint of a finished run; undefined for no run or an unfinished one', async () => {
  const cfg = tinyConfig();
  const dir = path.join(tmp, 'run');
  const p = initParams(cfg, { seed: 3 });
  await train({
    params: p, config: cfg, preset: 't', data: { train: tokenData(3000, cfg.vocabSize), val: tokenData(1000, cfg.vocabSize, 9), batchSize: 2, blockSize: 8 },
    maxSteps: 2, schedule: { lr: 1e-3, minLr: 1e-4, warmupIters: 1 }, eval: { interval: 2, fixedBatches: 1, randomIters: 0 },
    checkpointInterval: 2, outDir: dir, progress: false,
  });
  const want = p['transformer.h.1.mlp.c_fc.weight'].dataSync().slice();
  disposeParams(p);
  assert.equal(loadFinishedRun(path.join(tmp, 'none'), 2), undefined);
  assert.equal(loadFinishedRun(dir, 3), undefined, 'step 2 < 3: not finished');
  const before = tf.memory().numTensors;
  const run = loadFinishedRun(dir, 2);
  assert.ok(run);
  assert.equal(tf.memory().numTensors - before, Object.keys(run.params).length, 'only the returned variables');
  assert.equal(run.step, 2);
  assert.equal(typeof run.valLoss, 'number');
  assert.equal(run.config.nLayer, 2);
  assert.deepEqual(run.params['transformer.h.1.mlp.c_fc.weight'].dataSync(), want);
  assert.equal(run.params['transformer.wte.weight'].trainable, false);
  disposeParams(run.params);
});

test('data plan: missing tasks fall back to their fixture with the runner\'s message; a user file makes a task real', async () => {
  const empty = path.join(tmp, 'eval-empty');
  fs.mkdirSync(empty);
  const none = await planTaskData(empty);
  assert.deepEqual(none.fixtures, [...TASK_NAMES]);
  assert.deepEqual(none.real, []);
  for (const s of none.sources) {
    assert.deepEqual(s.files, [fixtureFile(s.task)]);
    assert.ok(fs.existsSync(s.files[0]));
    assert.match(s.missing as string, new RegExp(`${s.task}: no data found under .*Looked for:[\\s\\S]*${s.task}\\.jsonl[\\s\\S]*Hugging Face schema`));
  }
  const md = dataPlanMarkdown(none);
  assert.match(md, /⚠ No benchmark data for any task/);
  assert.ok(md.includes(FIXTURE_LABEL));
  assert.ok(md.includes(path.join(empty, 'arc_easy.jsonl')) && md.includes('allenai/ai2_arc'));

  const some = path.join(tmp, 'eval-some');
  fs.mkdirSync(some);
  fs.copyFileSync(fixtureFile('piqa'), path.join(some, 'piqa.jsonl'));
  const plan = await planTaskData(some, ['arc_easy', 'piqa']);
  assert.deepEqual(plan.real, ['piqa']);
  assert.deepEqual(plan.fixtures, ['arc_easy']);
  assert.match(dataPlanMarkdown(plan), /files found[\s\S]*piqa \(piqa\.jsonl\)[\s\S]*No benchmark data for arc_easy/);
});

test('paper tables: Table 1 (6 rows) and Table 7 (2 rows) with their printed averages; bar charts per table', () => {
  const t1 = paperTableRows('Table 1');
  const t7 = paperTableRows('Table 7');
  assert.equal(t1.length, 6);
  assert.equal(t7.length, 2);
  assert.equal(t1[2]['Avg (acc)'], '48.08');
  assert.equal(t7[1]['ARC-E'], '51.22 ± 1.03');
  assert.equal(t7[1]['Avg ppl'], PAPER_AVERAGES['table7-xl-ours-24L'].ppl?.toFixed(2));
  assert.equal('BoolQ' in t1[0], false, 'Table 1 has no BoolQ');
  assert.equal(paperFigures('Table 1').length, 1);
  const f7 = paperFigures('Table 7');
  assert.equal(f7.length, 2, 'accuracy and perplexity');
  assert.equal(f7[0].data.length, 2);
  assert.deepEqual(f7[0].data[1].y, [51.22, 66.87, 79.2, 34.2, 43.3, 53.28, 60.4]);
});

test('evaluation on a micro model: fixture results are labelled and refused beside the paper; real ones compared', async () => {
  const cfg = makeConfig('gpt2', { nLayer: 1, nHead: 2, nEmbd: 8, blockSize: 64 });
  const params: Params = initParams(cfg, { seed: 11, trainable: false });
  try {
    // The 'real' path is exercised with fixture rows copied under task names: a code-path test, not a result.
    const dataDir = path.join(tmp, 'eval-copy');
    fs.mkdirSync(dataDir);
    for (const t of ['arc_easy', 'sciq', 'lambada_openai']) fs.copyFileSync(fixtureFile(t as 'sciq'), path.join(dataDir, `${t}.jsonl`));
    const plan = await planTaskData(dataDir, DOWNSTREAM_TASKS);
    const settings = { limit: 2, batchSize: 4 };
    const evals: ModelEval[] = [];
    for (const [role, label] of [['reference', 'ref 2L'], ['inheritune', 'inh 1L'], ['random', 'rnd 1L']] as const) {
      const m = { params, config: cfg, role, run: role, label, layers: 1, steps: 1 };
      evals.push(await assertNoLeak(() => evaluateDownstreamModel(m, { plan, settings, outDir: path.join(tmp, 'out') }), 0, 'evaluate'));
    }
    const e = evals[0];
    assert.deepEqual(Object.keys(e.real?.results ?? {}), ['arc_easy', 'sciq', 'lambada_openai']);
    assert.deepEqual(Object.keys(e.fixtures?.results ?? {}), ['piqa', 'hellaswag', 'winogrande', 'boolq', 'wikitext']);
    assert.equal(e.fixtures?.config.data_kind, 'format-fixtures');
    assert.equal(e.fixtures?.config.data_note, FIXTURE_LABEL);
    assert.equal(e.real?.['n-samples'].sciq.effective, 2, 'limit applied');
    const saved = JSON.parse(fs.readFileSync(path.join(tmp, 'out', 'format-fixtures', 'reference', 'results.json'), 'utf8'));
    assert.equal(saved.config.data_kind, 'format-fixtures');
    assert.ok(fs.existsSync(path.join(tmp, 'out', 'reference', 'results.json')));

    const check = fixtureCheckRows(evals);
    assert.equal(check.length, 15);
    assert.ok(check.every((r) => r['all finite'] === 'yes'));
    assert.ok(!JSON.stringify(check).match(/0\.\d{3}/), 'no metric values in the check rows');

    const asFixture = { ...e, real: e.fixtures };
    assert.throws(() => downstreamTableRows([asFixture], PAPER_ROWS), /not from benchmark files.*FORMAT FIXTURES/);
    assert.throws(() => downstreamFigures([asFixture], PAPER_ROWS), /never shown beside the paper/);

    const rows = downstreamTableRows(evals, PAPER_ROWS.filter((r) => r.table === 'Table 7'));
    assert.equal(rows.length, 5);
    assert.deepEqual(Object.keys(rows[0]), ['model', 'source', 'ARC-E', 'SciQ', 'LAMBADA (acc)', 'LAMBADA ppl', 'Avg (acc)']);
    assert.equal(rows[0].source, 'ours, n = 2');
    assert.match(rows[0]['ARC-E'], /^\d+\.\d\d ± \d+\.\d\d$/);
    assert.equal(rows[4]['SciQ'], '79.20 ± 1.28');
    assert.equal(rows[4]['Avg (acc)'], '57.91', 'paper average over the same three tasks');
    const figs = downstreamFigures(evals, PAPER_ROWS.filter((r) => r.table === 'Table 7'));
    assert.equal(figs.length, 2);
    assert.equal(figs[0].data.length, 5);
    assert.ok(downstreamVerdict(evals).some((s) => /^Inheritune vs ref 2L: \+0\.00 points/.test(s)));
  } finally {
    disposeParams(params);
  }
});
