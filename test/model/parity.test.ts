// Parity with PyTorch (test/reference/make_gpt2_fixtures.py): logits, loss, attention patterns, residual stream and
// every gradient, on both the plain and the fast (2-D matMul, custom-gradient) paths.
// Tolerances (llm.c-style max |a-b| / (|b| + atol)): logits 1e-4, loss 1e-5, patterns 1e-4, resid 1e-4, grads 1e-3,
// with atol = 1e-2 * max|expected| for each tensor (so near-zero entries are judged on the tensor's own scale).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend, assertClose, assertNoLeak } from '../helpers';
import { CASES, loadCase, fixtureParams, expected, fixturesPresent, FixtureCase, RawTensor } from './fixtures';
import { forward, lossFn } from '../../lib/model/gpt';
import { runWithCache } from '../../lib/model/hooks';
import { disposeParams, checkParams, Params } from '../../lib/model/params';
import { generate } from '../../lib/model/generate';

const VERBOSE = !!process.env.PARITY_VERBOSE;

before(async () => {
  await setupBackend();
});

function atolFor(t: RawTensor): number {
  let m = 0;
  for (let i = 0; i < t.data.length; i++) m = Math.max(m, Math.abs(t.data[i]));
  return 1e-2 * m + 1e-12;
}

function check(label: string, actual: ArrayLike<number>, exp: RawTensor, rtol: number): number {
  const worst = assertClose(actual, exp.data, rtol, label, atolFor(exp));
  if (VERBOSE) console.log(`  ${label}: max rel err ${worst.toExponential(2)}`);
  return worst;
}

function inputs(fc: FixtureCase): { idx: tf.Tensor2D; targets: tf.Tensor2D } {
  return { idx: tf.tensor2d(fc.tokens, [fc.B, fc.T], 'int32'), targets: tf.tensor2d(fc.targets, [fc.B, fc.T], 'int32') };
}

for (const name of CASES) {
  for (const fast of [false, true]) {
    const path = fast ? 'fast' : 'plain';
    test(`${name} (${path}): logits, loss, patterns, resid_post and all gradients match PyTorch`, async (t) => {
      if (!fixturesPresent()) return t.skip('test/fixtures/gpt2 not generated yet');
      const fc = loadCase(name);
      const params = fixtureParams(fc);
      const { idx, targets } = inputs(fc);
      const worst = { logits: 0, loss: 0, pattern: 0, resid: 0, grad: 0 };
      try {
        checkParams(params, fc.cfg);
        // Forward with cache: logits, loss, patterns, residual stream.
        const { logits, loss, cache } = runWithCache(params, fc.cfg, idx, {
          targets,
          fast,
          namesFilter: (n) => n.endsWith('attn.hook_pattern') || n.endsWith('hook_resid_post'),
        });
        try {
          worst.logits = check(`${name}/${path} logits`, logits!.dataSync(), expected(fc, 'logits'), 1e-4);
          const lossV = loss!.dataSync()[0];
          worst.loss = Math.abs(lossV - fc.loss) / Math.abs(fc.loss);
          assert.ok(worst.loss <= 1e-5, `${name}/${path} loss ${lossV} vs ${fc.loss}`);
          for (let l = 0; l < fc.cfg.nLayer; l++) {
            const p = cache.get('pattern', l);
            worst.pattern = Math.max(worst.pattern, check(`${name}/${path} pattern.${l}`, p.dataSync(), expected(fc, `pattern.${l}`), 1e-4));
            const r = cache.get('resid_post', l);
            worst.resid = Math.max(worst.resid, check(`${name}/${path} resid_post.${l}`, r.dataSync(), expected(fc, `resid_post.${l}`), 1e-4));
          }
        } finally {
          cache.dispose();
          tf.dispose([logits, loss]);
        }
        // Gradients of the mean loss w.r.t. every parameter (wte: embedding + tied head).
        const names = Object.keys(params);
        const vars = names.map((n) => params[n]);
        const { value, grads } = tf.variableGrads(() => lossFn(params, fc.cfg, idx, targets, { fast }), vars);
        try {
          for (const n of names) {
            const g = grads[params[n].name];
            assert.ok(g, `no gradient for ${n}`);
            worst.grad = Math.max(worst.grad, check(`${name}/${path} grad.${n}`, g.dataSync(), expected(fc, `grad.${n}`), 1e-3));
          }
        } finally {
          value.dispose();
          tf.dispose(Object.values(grads));
        }
        const fmt = (x: number) => x.toExponential(1);
        t.diagnostic(
          `${name}/${path} max rel err: logits ${fmt(worst.logits)}, loss ${fmt(worst.loss)}, pattern ${fmt(worst.pattern)}, ` +
            `resid ${fmt(worst.resid)}, grads ${fmt(worst.grad)}`,
        );
        if (VERBOSE) console.log(`PARITY ${name} ${path} ${JSON.stringify(worst)}`);
      } finally {
        tf.dispose([idx, targets]);
        disposeParams(params);
      }
    });
  }
}

test('masked attention probabilities are exactly zero and rows sum to 1', async (t) => {
  if (!fixturesPresent()) return t.skip('fixtures missing');
  const fc = loadCase('paper_nobias_scaled');
  const params = fixtureParams(fc);
  const { idx, targets } = inputs(fc);
  try {
    const { logits, cache } = runWithCache(params, fc.cfg, idx, { namesFilter: (n) => n.endsWith('hook_pattern') });
    const p = cache.get('pattern', fc.cfg.nLayer - 1).arraySync() as number[][][][];
    for (const head of p.flat()) {
      head.forEach((row, i) => {
        for (let j = i + 1; j < row.length; j++) assert.equal(row[j], 0);
        const s = row.reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(s - 1) < 1e-5, `row sum ${s}`);
      });
    }
    cache.dispose();
    logits?.dispose();
  } finally {
    tf.dispose([idx, targets]);
    disposeParams(params);
  }
});

test('greedy generation reproduces the fixture tokens on both paths', async (t) => {
  if (!fixturesPresent()) return t.skip('fixtures missing');
  for (const name of CASES) {
    const fc = loadCase(name);
    const params: Params = fixtureParams(fc);
    try {
      for (const fast of [false, true]) {
        const got = await assertNoLeak(
          () => generate(params, fc.cfg, fc.generate.prompt, { maxNewTokens: fc.generate.max_new_tokens, greedy: true, fast }),
          0,
          'generate',
        );
        assert.deepEqual(got, fc.generate.greedy_tokens, `${name} (${fast ? 'fast' : 'plain'})`);
      }
    } finally {
      disposeParams(params);
    }
  }
});

test('forward on fixture params does not leak on either path', async (t) => {
  if (!fixturesPresent()) return t.skip('fixtures missing');
  const fc = loadCase('gpt2_bias_plain');
  const params = fixtureParams(fc);
  const { idx, targets } = inputs(fc);
  try {
    for (const fast of [false, true]) {
      const out = await assertNoLeak(() => forward(params, fc.cfg, idx, { targets, fast }), 2, 'forward');
      tf.dispose([out.logits, out.loss]);
    }
  } finally {
    tf.dispose([idx, targets]);
    disposeParams(params);
  }
});
