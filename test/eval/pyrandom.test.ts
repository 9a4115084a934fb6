// CPython's random.Random and the harness's bootstrap stderr against CPython itself (fixtures written by
// test/reference/make_harness_fixtures.py with CPython 3.11's random module). Exact equality: the same integers, and
// floats computed by the same operations in the same order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PyRandom } from '../../lib/eval/pyrandom';
import { DEFAULT_BOOTSTRAP_ITERS, bootstrapStderr, meanStderr, perplexityOf, resampledPerplexity } from '../../lib/eval/stats';
import { pyFloatRepr, pyJsonDumps, pyStr } from '../../lib/eval/pyjson';

interface Fixture {
  seeds: Array<{ seed: number; uint32: number[]; random: number[] }>;
  shuffle: Array<{ seed: number; n: number; result: number[] }>;
  sample: Array<{ seed: number; n: number; k: number; first: number[]; second: number[] }>;
  choices: Array<{ seed: number; n: number; k: number; result: number[] }>;
  bootstrap: { lls: number[]; perplexity: number; stderr_iters_100000: number; stderr_iters_2500: number; mean_stderr_of_acc: number };
  py_str: { floats: number[]; float_str: string[]; bools: string[] };
  json: Array<{ doc_json: string; indent2: string; flat: string }>;
}
const fx = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'eval', 'pyrandom.json'), 'utf8')) as Fixture;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('seed(int), getrandbits(32) and random() equal CPython for small, 32-bit and multi-word seeds', () => {
  for (const s of fx.seeds) {
    const r = new PyRandom(s.seed);
    assert.deepEqual(s.uint32.map(() => r.uint32()), s.uint32, `seed ${s.seed}`);
    assert.deepEqual(s.random.map(() => r.random()), s.random, `seed ${s.seed}`);
  }
});

test('shuffle, sample (pool and set methods, consecutive calls) and choices equal CPython', () => {
  for (const s of fx.shuffle) {
    const x = range(s.n);
    new PyRandom(s.seed).shuffle(x);
    assert.deepEqual(x, s.result);
  }
  for (const s of fx.sample) {
    const r = new PyRandom(s.seed);
    assert.deepEqual(r.sample(range(s.n), s.k), s.first, `sample n ${s.n} k ${s.k}`);
    assert.deepEqual(r.sample(range(s.n), s.k), s.second);
  }
  for (const c of fx.choices) assert.deepEqual(Array.from(new PyRandom(c.seed).choiceIndices(c.n, c.k)), c.result);
  assert.throws(() => new PyRandom(1).sample([1, 2], 3), /larger than population/);
});

test('bootstrap stderr of perplexity equals the harness formula run in CPython (100000 and 2500 iterations)', () => {
  const b = fx.bootstrap;
  assert.equal(DEFAULT_BOOTSTRAP_ITERS, 100000);
  assert.equal(perplexityOf(b.lls), b.perplexity);
  // Float sums in the same order: equal to the last bit, allowed 1e-12 relative for libm exp differences.
  const close = (a: number, e: number) => assert.ok(Math.abs(a - e) <= 1e-12 * Math.abs(e), `${a} vs ${e}`);
  close(bootstrapStderr(b.lls, 2500, resampledPerplexity), b.stderr_iters_2500);
  close(bootstrapStderr(b.lls, 100000, resampledPerplexity), b.stderr_iters_100000);
  close(meanStderr(range(57).map((i) => (i % 3 === 0 ? 1 : 0))), b.mean_stderr_of_acc);
  assert.throws(() => bootstrapStderr(b.lls, 0, resampledPerplexity), /positive integer/);
});

test("sample-log text equals CPython's: str(float), str(bool), json.dumps(doc, indent=2) and json.dumps(sample)", () => {
  assert.deepEqual(fx.py_str.floats.map(pyFloatRepr), fx.py_str.float_str);
  assert.deepEqual([pyStr(true), pyStr(false)], fx.py_str.bools);
  for (const j of fx.json) {
    const doc = JSON.parse(j.doc_json) as Record<string, unknown>;
    assert.equal(pyJsonDumps(doc, 2), j.indent2);
    assert.equal(pyJsonDumps(doc), j.flat);
  }
  assert.equal(pyFloatRepr(NaN), 'nan');
  assert.equal(pyJsonDumps([-Infinity, NaN]), '[-Infinity, NaN]');
});
