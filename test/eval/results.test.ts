// results.json and the sample logs on a fixed set of log-likelihoods (a fake scorer; format-fixture rows): no field
// contradicts another, and every stderr is the harness's formula (lm_eval/api/metrics.py mean_stderr and
// bootstrap_stderr; their CPython equality is pyrandom.test.ts), computed over the items in the harness's doc order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { evaluate, sampleFile } from '../../lib/eval/runner';
import { LoglikResult, Scorer } from '../../lib/eval/requests';
import { bootstrapStderr, meanStderr, resampledPerplexity } from '../../lib/eval/stats';
import { makeTable } from '../../lib/eval/table';

const FXDIR = path.join(__dirname, '..', 'fixtures', 'eval');
const FX = { _fixture: 'FORMAT FIXTURE – not benchmark data' };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-results-'));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
fs.writeFileSync(path.join(dir, 'lambada_openai.jsonl'), range(8).map((i) => JSON.stringify({ ...FX, text: `fixture passage ${i} ends with word${i}` })).join('\n') + '\n');
/** ll of doc i's target: -(1 + i/2); greedy for even i. */
const lamLl = (i: number) => -(1 + i / 2);

class FixedScorer implements Scorer {
  async loglikelihood(reqs: Array<[string, string]>): Promise<LoglikResult[]> {
    return reqs.map(([c, x]) => {
      const m = /word(\d+)$/.exec(x);
      if (m) return { ll: lamLl(Number(m[1])), isGreedy: Number(m[1]) % 2 === 0 };
      return { ll: -x.length, isGreedy: false }; // multiple choice: the shorter choice wins
    });
  }
  async loglikelihoodRolling(texts: string[]): Promise<number[]> {
    return texts.map((t) => -t.length);
  }
}

test('malformed rows keep their doc_id place; n-samples counts all rows; stderrs are mean_stderr', async () => {
  const out = path.join(dir, 'arc');
  const r = await evaluate({ scorer: new FixedScorer(), tasks: ['arc_easy'], files: { arc_easy: path.join(FXDIR, 'arc_easy.malformed.fixture.jsonl') }, harness: '0.4', outDir: out, log: () => {} });
  // 6 rows (the blank line is none): valid at positions 0 and 5, malformed at 1-4.
  assert.deepEqual(r['n-samples'].arc_easy, { original: 6, effective: 2 });
  assert.equal(r.malformed_rows.arc_easy.count, 4);
  const lines = fs.readFileSync(sampleFile(out, 'arc_easy') as string, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.doc_id), [0, 5]);
  const accs = lines.map((l) => l.acc as number);
  assert.equal(r.results.arc_easy['acc,none'], accs.reduce((a, b) => a + b, 0) / 2);
  assert.equal(r.results.arc_easy['acc_stderr,none'], meanStderr(accs));
  assert.equal(r.config.bootstrap_iters, 100000);
  assert.equal(r.config.num_fewshot, 0);
  assert.equal(r.configs.arc_easy.num_fewshot, r['n-shot'].arc_easy);
  assert.equal(r.configs.arc_easy.metadata && (r.configs.arc_easy.metadata as { version: number }).version, r.versions.arc_easy);
});

test('LAMBADA: the perplexity stderr is the harness bootstrap over the items in its doc order (v0.3: shuffled)', async () => {
  const r4 = await evaluate({ scorer: new FixedScorer(), tasks: ['lambada_openai'], dataDir: dir, harness: '0.4', log: () => {} });
  const lls4 = range(8).map(lamLl);
  assert.equal(r4.results.lambada_openai['perplexity,none'], Math.exp(-lls4.reduce((a, b) => a + b, 0) / 8));
  assert.equal(r4.results.lambada_openai['perplexity_stderr,none'], bootstrapStderr(lls4, 100000, resampledPerplexity));
  assert.equal(r4.results.lambada_openai['acc_stderr,none'], meanStderr(range(8).map((i) => (i % 2 === 0 ? 1 : 0))));
  // v0.3: Random(42).shuffle(range(8)) = [3, 4, 6, 7, 2, 5, 0, 1] (CPython), and the metric is "ppl".
  const r3 = await evaluate({ scorer: new FixedScorer(), tasks: ['lambada_openai'], dataDir: dir, harness: '0.3', bootstrapIters: 2000, log: () => {} });
  const lls3 = [3, 4, 6, 7, 2, 5, 0, 1].map(lamLl);
  assert.equal(r3.results.lambada_openai['ppl_stderr,none'], bootstrapStderr(lls3, 2000, resampledPerplexity));
  assert.notEqual(bootstrapStderr(lls3, 2000, resampledPerplexity), bootstrapStderr(lls4, 2000, resampledPerplexity));
  assert.equal(r3.config.bootstrap_iters, 2000);
  assert.equal(r3.config.fewshot_seed, 42);
  // v0.4 with bootstrap_iters 0: no stderr at all, and the config says 0.
  const r0 = await evaluate({ scorer: new FixedScorer(), tasks: ['lambada_openai'], dataDir: dir, harness: '0.4', bootstrapIters: 0, log: () => {} });
  assert.equal(r0.config.bootstrap_iters, 0);
  assert.equal(r0.results.lambada_openai['perplexity_stderr,none'], 'N/A');
  assert.equal(r0.results.lambada_openai['acc_stderr,none'], 'N/A');
  // The printed table: sorted metric keys, "%.4f" values, "   N/A" for a missing stderr.
  const table = makeTable(r0).split('\n');
  assert.equal(table[0], 'lm-evaluation-harness 0.4 rules, num_fewshot: 0, limit: None, bootstrap_iters: 0');
  assert.deepEqual(table.slice(1), [
    '|    Tasks     |Version|Filter|n-shot|  Metric  |   | Value |   |Stderr|',
    '|--------------|------:|------|-----:|----------|---|------:|---|-----:|',
    `|lambada_openai|      1|none  |     0|acc       |↑  | 0.5000|±  |   N/A|`,
    `|              |       |none  |     0|perplexity|↓  |${(r0.results.lambada_openai['perplexity,none'] as number).toFixed(4).padStart(7)}|±  |   N/A|`,
  ]);
});
