// Config validation, parameter specs (HF names and Conv1D layouts), nanoGPT init statistics, reproducibility,
// the params/config check, and leak checks of every tensor-creating function in lib/model/params.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend, assertNoLeak } from '../helpers';
import { makeConfig, countParams, validateConfig, GPTConfig } from '../../lib/model/config';
import { paramSpecs, initParams, disposeParams, checkParams, numParams, initValues, INIT_STD } from '../../lib/model/params';

before(async () => {
  await setupBackend();
});

const small = makeConfig('tiny-4L', { nLayer: 2, vocabSize: 96 });

test('config validation lists every problem in one error', () => {
  assert.throws(() => makeConfig('tiny-4L', { nEmbd: 100, nHead: 3 }), /nEmbd \(100\) must be divisible by nHead \(3\)/);
  assert.throws(() => makeConfig('tiny-4L', { nLayer: 0, dropout: 1 }), (e: Error) => {
    assert.match(e.message, /nLayer must be a positive integer, got 0/);
    assert.match(e.message, /dropout must be in \[0, 1\), got 1/);
    return true;
  });
  assert.throws(() => makeConfig('no-such-model'), /unknown model preset 'no-such-model'/);
  assert.throws(() => validateConfig({ ...small, n_layer: 2 } as unknown as GPTConfig), /unknown config field 'n_layer'/);
});

test('paramSpecs: HF names, Conv1D layouts, order, and no bias keys when bias=false', () => {
  const withBias = makeConfig('gpt2', { nLayer: 1 });
  const specs = paramSpecs(withBias);
  const C = 768;
  const byName = Object.fromEntries(specs.map((s) => [s.name, s.shape]));
  assert.deepEqual(byName['transformer.wte.weight'], [50257, C]);
  assert.deepEqual(byName['transformer.wpe.weight'], [1024, C]);
  assert.deepEqual(byName['transformer.h.0.attn.c_attn.weight'], [C, 3 * C]);
  assert.deepEqual(byName['transformer.h.0.attn.c_attn.bias'], [3 * C]);
  assert.deepEqual(byName['transformer.h.0.attn.c_proj.weight'], [C, C]);
  assert.deepEqual(byName['transformer.h.0.mlp.c_fc.weight'], [C, 4 * C]);
  assert.deepEqual(byName['transformer.h.0.mlp.c_proj.weight'], [4 * C, C]);
  assert.deepEqual(byName['transformer.ln_f.bias'], [C]);
  assert.equal(specs[0].name, 'transformer.wte.weight');
  assert.equal(specs[specs.length - 1].name, 'transformer.ln_f.bias');
  assert.ok(!specs.some((s) => s.name.startsWith('lm_head')), 'lm_head is tied, not a key');
  assert.equal(specs.length, 2 + 12 + 2);
  // GPT-2 small: 124,439,808 parameters with the tied head counted once.
  const gpt2 = makeConfig('gpt2');
  const total = paramSpecs(gpt2).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  assert.equal(total, 124439808);
  assert.equal(total, countParams(gpt2));

  const noBias = paramSpecs(makeConfig('paper-small-4L'));
  assert.ok(!noBias.some((s) => s.name.endsWith('.bias')), 'bias=false has no .bias keys, LayerNorm included');
  assert.equal(noBias.length, 2 + 4 * 6 + 1);
  assert.equal(noBias.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0), countParams(makeConfig('paper-small-4L')));
});

function stats(x: Float32Array): { mean: number; std: number } {
  let s = 0;
  for (const v of x) s += v;
  const mean = s / x.length;
  let q = 0;
  for (const v of x) q += (v - mean) * (v - mean);
  return { mean, std: Math.sqrt(q / x.length) };
}

test('init statistics: N(0, 0.02), c_proj N(0, 0.02/sqrt(2L)), biases 0, LayerNorm weights 1', () => {
  const cfg = makeConfig('lab-6L', { bias: true }); // C=128: every weight has >= 16k entries
  const projStd = INIT_STD / Math.sqrt(2 * cfg.nLayer);
  for (const spec of paramSpecs(cfg)) {
    const x = initValues(spec, 7);
    if (spec.init.kind === 'normal') {
      const { mean, std } = stats(x);
      const target = spec.name.endsWith('c_proj.weight') ? projStd : INIT_STD;
      assert.equal(spec.init.std, target, spec.name);
      assert.ok(Math.abs(std / target - 1) < 0.03, `${spec.name}: std ${std} vs ${target}`);
      assert.ok(Math.abs(mean) < (4 * target) / Math.sqrt(x.length), `${spec.name}: mean ${mean}`);
    } else if (spec.name.endsWith('.bias')) {
      assert.ok(x.every((v) => v === 0), `${spec.name} is zeros`);
    } else {
      assert.ok(x.every((v) => v === 1), `${spec.name} is ones`);
    }
  }
});

test('init is deterministic per seed, differs across seeds and across parameters', async () => {
  const a = initParams(small, { seed: 1 });
  const b = initParams(small, { seed: 1 });
  const c = initParams(small, { seed: 2 });
  try {
    for (const name of Object.keys(a)) {
      assert.deepEqual(a[name].dataSync(), b[name].dataSync(), `${name} same seed`);
    }
    const w = 'transformer.h.0.attn.c_attn.weight';
    assert.notDeepEqual(a[w].dataSync(), c[w].dataSync());
    const w1 = 'transformer.h.1.attn.c_attn.weight';
    assert.notDeepEqual(a[w].dataSync(), a[w1].dataSync());
    // A parameter's values depend only on (seed, name): a deeper model shares its first layers' init.
    const deep = initParams(makeConfig(small, { nLayer: 3 }), { seed: 1 });
    assert.deepEqual(deep[w1].dataSync(), a[w1].dataSync());
    disposeParams(deep);
  } finally {
    [a, b, c].forEach(disposeParams);
  }
});

test('initParams returns exactly the spec tensors and disposeParams frees them', async () => {
  const n = paramSpecs(small).length;
  const p = await assertNoLeak(() => initParams(small, { seed: 3 }), n, 'initParams');
  assert.equal(numParams(p), countParams(small));
  assert.ok(Object.values(p).every((v) => v.trainable));
  await assertNoLeak(() => disposeParams(p), -n, 'disposeParams');
  const frozen = initParams(small, { seed: 3, trainable: false });
  assert.ok(Object.values(frozen).every((v) => !v.trainable));
  disposeParams(frozen);
});

test('checkParams lists missing, unexpected and misshaped keys in one error', async () => {
  const p = initParams(small, { seed: 4 });
  try {
    await assertNoLeak(() => checkParams(p, small), 0, 'checkParams');
    const broken: Record<string, tf.Tensor> = { ...p };
    delete broken['transformer.h.1.mlp.c_fc.weight'];
    broken['lm_head.weight'] = p['transformer.wte.weight'];
    broken['transformer.h.0.attn.c_attn.weight'] = p['transformer.h.0.attn.c_proj.weight'];
    assert.throws(() => checkParams(broken, small), (e: Error) => {
      assert.match(e.message, /^parameters do not match the config/);
      assert.match(e.message, /missing 1: transformer\.h\.1\.mlp\.c_fc\.weight/);
      assert.match(e.message, /unexpected 1: lm_head\.weight/);
      assert.match(e.message, /transformer\.h\.0\.attn\.c_attn\.weight has shape \[32,32\], expected \[32,96\]/);
      return true;
    });
    // Bias keys against a bias=false config say why they are unexpected.
    const withBias = initParams(makeConfig(small, { bias: true }), { seed: 4 });
    assert.throws(() => checkParams(withBias, small), /unexpected \d+: .*\.bias.*\(config has bias=false\)/);
    disposeParams(withBias);
  } finally {
    disposeParams(p);
  }
});
