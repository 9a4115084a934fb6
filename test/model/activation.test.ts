// The MLP activation as a config field: nanoGPT's exact erf GELU (nn.GELU()) beside GPT-2's tanh GELU. The PyTorch
// fixture nanogpt_exact_gelu (test/reference/make_gpt2_fixtures.py) is matched by parity.test.ts; here: that the
// tanh GELU does NOT match it (so that test can fail), the closed form of geluExact, and the HF config mapping.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setupBackend, assertNoLeak } from '../helpers';
import { makeConfig } from '../../lib/model/config';
import { forward } from '../../lib/model/gpt';
import { geluExact } from '../../lib/model/ops';
import { disposeParams, initParams } from '../../lib/model/params';
import { loadHFFolder, loadNanoGPTSafetensors, paramsToTensors, tensorsToParams, writeHFFolder, writeNanoGPTSafetensors } from '../../lib/model/hf';
import { TensorMap } from '../../lib/model/safetensors';
import { writeSafetensors } from '../../lib/model/safetensors-write';
import { toNanoGPTLayout } from '../../lib/model/nanogpt-names';
import { expected, fixtureParams, fixturesPresent, loadCase } from './fixtures';

before(async () => {
  await setupBackend();
});

test('geluExact equals 0.5 x (1 + erf(x / sqrt 2)) at known points; no leaks', async () => {
  // erf(1/sqrt 2) = 0.682689492137086 (the one-sigma mass), erf(sqrt 2) = 0.954499736103642.
  const x = tf.tensor1d([0, 1, -1, 2, -2, 6]);
  const y = await assertNoLeak(() => geluExact(x), 1, 'geluExact');
  const want = [0, 0.841344746068543, -0.158655253931457, 1.954499736103642, -0.045500263896358, 6 * 0.5 * (1 + 0.999999999)];
  const got = y.dataSync();
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 2e-6, `x=${x.dataSync()[i]}: ${got[i]} vs ${want[i]}`);
  tf.dispose([x, y]);
});

test('the exact-GELU fixture is not matched by the tanh GELU (the parity test can fail)', (t) => {
  if (!fixturesPresent()) return t.skip('fixtures not generated');
  const fc = loadCase('nanogpt_exact_gelu');
  assert.equal(fc.cfg.activation, 'gelu');
  const params = fixtureParams(fc);
  try {
    const idx = tf.tensor2d(fc.tokens, [fc.B, fc.T], 'int32');
    const run = (cfg: typeof fc.cfg) => {
      const { logits } = forward(params, cfg, idx, { fast: false });
      const d = logits.dataSync().slice();
      logits.dispose();
      return d;
    };
    const ref = expected(fc, 'logits').data as Float32Array;
    const maxDiff = (a: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - ref[i])), 0);
    const exact = maxDiff(Float32Array.from(run(fc.cfg)));
    const tanh = maxDiff(Float32Array.from(run(makeConfig({ ...fc.cfg, activation: 'gelu_new' }))));
    idx.dispose();
    assert.ok(exact < 2e-5, `exact GELU: max |diff| ${exact}`);
    assert.ok(tanh > 10 * exact && tanh > 1e-5, `tanh GELU should miss the exact-GELU reference: ${tanh} vs ${exact}`);
  } finally {
    disposeParams(params);
  }
});

test('HF config.json: activation_function gelu loads as the exact GELU and is written back; an unknown one is refused', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'act-'));
  try {
    const cfg = makeConfig('tiny-4L', { nLayer: 1, vocabSize: 32, activation: 'gelu' });
    const params = initParams(cfg, { seed: 2, trainable: false });
    writeHFFolder(dir, cfg, await paramsToTensors(params));
    disposeParams(params);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.equal(json.activation_function, 'gelu');
    assert.equal(loadHFFolder(dir).config.activation, 'gelu');
    // The tanh names load as the default (no activation field), as configs did before the field existed.
    for (const name of ['gelu_new', 'gelu_pytorch_tanh']) {
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...json, activation_function: name }));
      assert.equal(loadHFFolder(dir).config.activation, undefined, name);
    }
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...json, activation_function: 'relu' }));
    assert.throws(() => loadHFFolder(dir), /activation_function "relu" is not supported \(gelu_new, gelu_pytorch_tanh or gelu\)/);
    assert.throws(() => makeConfig('tiny-4L', { activation: 'swish' as never }), /activation must be one of gelu_new, gelu/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("nanoGPT files: model_args' activation is read and written; a file that does not name it gets a note, and options.config picks the GELU", (t) => {
  if (!fixturesPresent()) return t.skip('fixtures not generated');
  const fc = loadCase('nanogpt_exact_gelu');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nanogpt-act-'));
  try {
    const tensors: TensorMap = {};
    for (const [name, r] of fc.params) tensors[name] = { dtype: 'F32', shape: r.shape, data: r.data };
    const ref = expected(fc, 'logits').data as Float32Array;
    const logitsOf = (ck: ReturnType<typeof loadNanoGPTSafetensors>): number => {
      const params = tensorsToParams(ck.tensors, false);
      const idx = tf.tensor2d(fc.tokens, [fc.B, fc.T], 'int32');
      const { logits } = forward(params, ck.config, idx, { fast: false });
      const d = logits.dataSync();
      let worst = 0;
      for (let i = 0; i < d.length; i++) worst = Math.max(worst, Math.abs(d[i] - ref[i]));
      tf.dispose([idx, logits]);
      disposeParams(params);
      return worst;
    };
    // Our writer records the activation; the loader reads it back and matches PyTorch.
    const ours = path.join(dir, 'ours.safetensors');
    writeNanoGPTSafetensors(ours, fc.cfg, tensors);
    const a = loadNanoGPTSafetensors(ours);
    assert.equal(a.config.activation, 'gelu');
    assert.ok(!a.notes.some((n) => /MLP activation/.test(n)));
    assert.ok(logitsOf(a) < 2e-5);
    // nanoGPT's own model_args have no activation: a note says what is assumed and how to choose.
    const theirs = path.join(dir, 'theirs.safetensors');
    const bare = { n_layer: 2, n_head: 4, n_embd: 32, block_size: 32, bias: false, vocab_size: 128, dropout: 0 };
    writeSafetensors(theirs, toNanoGPTLayout(tensors), { format: 'pt', model_args: JSON.stringify(bare) });
    const b = loadNanoGPTSafetensors(theirs);
    assert.equal(b.config.activation, undefined);
    assert.ok(b.notes.some((n) => /does not record its MLP activation; assumed GPT-2's tanh GELU/.test(n)), b.notes.join('\n'));
    const c = loadNanoGPTSafetensors(theirs, { config: { activation: 'gelu' } });
    assert.equal(c.config.activation, 'gelu');
    assert.ok(logitsOf(c) < 2e-5);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
