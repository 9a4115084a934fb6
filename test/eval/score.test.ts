// Log-likelihood scoring against PyTorch (test/reference/make_eval_fixtures.py -> test/fixtures/eval/loglik.json):
// token requests with left truncation and greedy continuations, and rolling windows, on two GPT-2 fixture models;
// batched (padding must not change anything) and unbatched; plus _encode_pair rules with the real GPT-2 tokenizer,
// the request checks, and no tensor leaks. Tolerance: 1e-4 absolute on every log-likelihood.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setupBackend, assertNoLeak } from '../helpers';
import { loadCase, fixtureParams } from '../model/fixtures';
import { disposeParams } from '../../lib/model/params';
import { ModelScorer, scoreBatch } from '../../lib/eval/score';
import { encodePair, rollingRequests, rollingTokenWindows, makeDisjointWindow, requestInput, TokenRequest } from '../../lib/eval/requests';
import { encodeOrdinary, EOT_TOKEN } from '../../lib/data/tokenizer';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'eval', 'loglik.json');
const TOL = 1e-4;

interface FxRequest extends TokenRequest {
  kind: string;
  max_length: number;
  ll: number;
  is_greedy: boolean;
  input_len: number;
  truncated: boolean;
}
interface FxRolling {
  max_length: number;
  prefix_token: number;
  tokens: number[];
  windows: Array<[number[], number[]]>;
  window_ll: number[];
  ll: number;
}
interface Fixture {
  cases: Record<string, { vocab_size: number; requests: FxRequest[]; rolling: FxRolling[] }>;
}
const fx = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as Fixture;

let worstErr = 0;

before(async () => {
  await setupBackend();
});

function byMaxLength<T extends { max_length: number }>(items: T[]): Map<number, T[]> {
  const m = new Map<number, T[]>();
  for (const it of items) m.set(it.max_length, [...(m.get(it.max_length) ?? []), it]);
  return m;
}

for (const name of Object.keys(fx.cases)) {
  const c = fx.cases[name];

  test(`${name}: request log-likelihoods and is_greedy match PyTorch within ${TOL} (batch sizes 1, 3, 16)`, async () => {
    assert.ok(c.requests.some((r) => r.truncated) && c.requests.some((r) => r.is_greedy), 'fixture covers truncation and greedy');
    const fc = loadCase(name);
    const params = fixtureParams(fc);
    try {
      for (const [maxLength, reqs] of byMaxLength(c.requests)) {
        for (const batchSize of [1, 3, 16]) {
          const scorer = new ModelScorer(params, fc.cfg, { maxLength, batchSize, tokenizer: { encode: () => [], eot: c.vocab_size - 1 } });
          const res = await assertNoLeak(() => scorer.loglikelihoodTokens(reqs), 0, 'loglikelihoodTokens');
          reqs.forEach((r, i) => {
            assert.equal(requestInput(r, maxLength).length, r.input_len, `${r.kind} input length`);
            const err = Math.abs(res[i].ll - r.ll);
            worstErr = Math.max(worstErr, err);
            assert.ok(err <= TOL, `${name} ${r.kind} (max_length ${maxLength}, batch ${batchSize}): ll ${res[i].ll} vs ${r.ll}`);
            assert.equal(res[i].isGreedy, r.is_greedy, `${name} ${r.kind}: is_greedy`);
          });
          assert.equal(scorer.stats.forwardPasses, Math.ceil(reqs.length / batchSize));
        }
      }
    } finally {
      disposeParams(params);
    }
  });

  test(`${name}: rolling windows equal the reference's and rolling log-likelihoods match PyTorch`, async () => {
    const fc = loadCase(name);
    const params = fixtureParams(fc);
    try {
      for (const doc of c.rolling) {
        const reqs = rollingRequests(doc.tokens, doc.prefix_token, doc.max_length);
        assert.deepEqual(reqs.map((r) => [r.context, r.continuation]), doc.windows, `windows of a ${doc.tokens.length}-token doc`);
        const scorer = new ModelScorer(params, fc.cfg, { maxLength: doc.max_length, batchSize: 2, tokenizer: { encode: () => [], eot: doc.prefix_token } });
        const [total] = await assertNoLeak(() => scorer.loglikelihoodRollingTokens([doc.tokens]), 0, 'rolling');
        const err = Math.abs(total - doc.ll);
        worstErr = Math.max(worstErr, err);
        assert.ok(err <= TOL, `${name} rolling ${doc.tokens.length} tokens: ${total} vs ${doc.ll}`);
      }
      const s = new ModelScorer(params, fc.cfg, { maxLength: 16, tokenizer: { encode: () => [], eot: 0 } });
      assert.deepEqual(await s.loglikelihoodRollingTokens([[]]), [0], 'an empty document has log-likelihood 0 (no windows)');
    } finally {
      disposeParams(params);
    }
  });
}

test('max |ll - PyTorch| over all requests and rolling docs', () => {
  console.log(`  eval loglik: max |ll - PyTorch| = ${worstErr.toExponential(2)} (tolerance ${TOL})`);
  assert.ok(worstErr <= TOL);
});

test('scoreBatch creates no lasting tensors and duplicates are scored once', async () => {
  const fc = loadCase('bias_scaled');
  const params = fixtureParams(fc);
  try {
    const reqs: TokenRequest[] = [{ context: [1, 2, 3], continuation: [4, 5] }, { context: [7], continuation: [9] }];
    await assertNoLeak(() => scoreBatch(params, fc.cfg, reqs, { headChunkRows: 2 }), 0, 'scoreBatch');
    const a = scoreBatch(params, fc.cfg, reqs, { headChunkRows: 1 });
    const b = scoreBatch(params, fc.cfg, reqs);
    assert.ok(Math.abs(a[0].ll - b[0].ll) < 1e-6 && Math.abs(a[1].ll - b[1].ll) < 1e-6, 'head chunking does not change results');
    const scorer = new ModelScorer(params, fc.cfg, { batchSize: 1 });
    const res = await scorer.loglikelihoodTokens([reqs[0], reqs[1], { context: [1, 2, 3], continuation: [4, 5] }]);
    assert.equal(scorer.stats.forwardPasses, 2);
    assert.equal(res[0].ll, res[2].ll);
  } finally {
    disposeParams(params);
  }
});

test('requests the harness would assert on are refused with a message saying why', async () => {
  const fc = loadCase('bias_scaled');
  const params = fixtureParams(fc);
  try {
    const s = new ModelScorer(params, fc.cfg, { maxLength: 8 });
    await assert.rejects(s.loglikelihoodTokens([{ context: [1], continuation: [] }]), /request 0: empty continuation/);
    await assert.rejects(s.loglikelihoodTokens([{ context: [], continuation: [1] }]), /request 0: empty context/);
    await assert.rejects(s.loglikelihoodTokens([{ context: [1], continuation: [1, 2, 3, 4, 5, 6, 7, 8, 9] }]), /9 tokens, more than max_length 8/);
    await assert.rejects(s.loglikelihoodTokens([{ context: [1, 64], continuation: [1] }]), /context\[1\] = 64 is not a token id in \[0, 64\)/);
    assert.throws(() => new ModelScorer(params, fc.cfg, { maxLength: 33 }), /maxLength must be an integer in \[1, 32\]/);
    // Text requests with the default GPT-2 tokenizer on a 64-token model: ids out of range, said so.
    await assert.rejects(new ModelScorer(params, fc.cfg).loglikelihood([['Question: x\nAnswer:', ' y']]), /is not a token id in \[0, 64\)/);
  } finally {
    disposeParams(params);
  }
});

test('_encode_pair: trailing whitespace moves to the continuation; cont = whole[len(ctx):]; empty context -> [EOT]', () => {
  const tok = { encode: encodeOrdinary, eot: EOT_TOKEN };
  const a = encodePair(tok, 'Question: fixture question text\nAnswer:', ' option a');
  assert.deepEqual(a.context, encodeOrdinary('Question: fixture question text\nAnswer:'));
  assert.deepEqual(a.continuation, encodeOrdinary(' option a'));
  // "Answer: " + "x": the space travels, so the continuation is " x" (one token), not "x".
  const b = encodePair(tok, 'Answer: ', 'x');
  assert.deepEqual(b.context, encodeOrdinary('Answer:'));
  assert.deepEqual(b.continuation, encodeOrdinary(' x'));
  // Several kinds of Python whitespace move together (\x1c is whitespace for Python, not for JS's trimEnd).
  const c = encodePair(tok, 'end\x1c \n', 'x');
  assert.deepEqual(c.context, encodeOrdinary('end'));
  const whole = encodeOrdinary('end\x1c \nx');
  assert.deepEqual(c.continuation, whole.slice(encodeOrdinary('end').length));
  // A BPE merge across the boundary: whole[len(ctx):] is taken as is, even when it is not enc(continuation).
  const d = encodePair(tok, 'fixture', 's');
  assert.deepEqual(d.continuation, encodeOrdinary('fixtures').slice(encodeOrdinary('fixture').length));
  assert.deepEqual(encodePair(tok, '', ' target'), { context: [EOT_TOKEN], continuation: encodeOrdinary(' target') });
  // Only an exactly empty context gets EOT: whitespace-only contexts move their whitespace and keep an empty ctx.
  assert.deepEqual(encodePair(tok, '  ', 'x').context, []);
});

test('rolling windows: first window [prefix]+t[0:n-1], later windows carry one token of context, partial windows more', () => {
  const t = Array.from({ length: 10 }, (_, i) => 100 + i);
  const w = rollingTokenWindows(t, 0, 4, 1);
  assert.deepEqual(w[0], [[0, 100, 101, 102], [100, 101, 102, 103]]);
  assert.deepEqual(w.map(makeDisjointWindow), [
    { context: [0], continuation: [100, 101, 102, 103] },
    { context: [103], continuation: [104, 105, 106, 107] },
    { context: [105, 106, 107], continuation: [108, 109] },
  ]);
  assert.deepEqual(rollingTokenWindows([], 0, 4), []);
  assert.throws(() => rollingTokenWindows(t, 0, 4, 5), /1 <= context_len \(5\) <= max_seq_len \(4\)/);
});
