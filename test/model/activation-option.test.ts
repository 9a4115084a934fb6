// The --activation option (lib/model/activation-option) of train, rank and eval: unknown values refused, a nanoGPT file
// that does not record its GELU takes the option (and then matches PyTorch's exact-GELU fixture), a file that records
// one must agree (an error naming both otherwise), and a resumed run keeps its own. The eval cache tells the two apart.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../helpers';
import { makeConfig } from '../../lib/model/config';
import { forward } from '../../lib/model/gpt';
import { disposeParams, initParams } from '../../lib/model/params';
import { paramsToTensors, tensorsToParams, writeHFFolder, writeNanoGPTSafetensors } from '../../lib/model/hf';
import { TensorMap } from '../../lib/model/safetensors';
import { writeSafetensors } from '../../lib/model/safetensors-write';
import { toNanoGPTLayout } from '../../lib/model/nanogpt-names';
import { loadModelWithActivation, parseActivation, recordedActivation } from '../../lib/model/activation-option';
import { modelFingerprint } from '../../lib/eval/cache';
import { optionsFromArgs, trainCommand } from '../../lib/train/cli';
import { rankCommand } from '../../lib/metrics/cli';
import { evalCommand } from '../../lib/eval/cli';
import { expected, fixturesPresent, loadCase } from './fixtures';
import { tmpDir } from '../train/util';

before(async () => {
  await setupBackend();
});

/** A nanoGPT file as nanoGPT's own export writes it: model_args without any activation field. */
function writeBareNanoGPT(file: string, tensors: TensorMap, args: Record<string, unknown>): void {
  writeSafetensors(file, toNanoGPTLayout(tensors), { format: 'pt', model_args: JSON.stringify(args) });
}

test('unknown --activation values are refused with the choices, by every command and by parseActivation', async () => {
  assert.equal(parseActivation(undefined), undefined);
  assert.equal(parseActivation('gelu'), 'gelu');
  assert.throws(() => parseActivation('relu'), /--activation "relu" is not an MLP activation; choose gelu_new .* or gelu/);
  const want = /option --activation must be one of gelu_new, gelu, got 'swish'/;
  await assert.rejects(trainCommand(['--activation', 'swish']), want);
  await assert.rejects(rankCommand(['--model', 'x', '--activation', 'swish'], () => {}), want);
  await assert.rejects(evalCommand(['--model', 'x', '--tasks', 'piqa', '--activation', 'swish'], () => {}), want);
});

test('a nanoGPT file without a recorded GELU takes --activation; one that records it must agree (error names both)', (t) => {
  if (!fixturesPresent()) return t.skip('fixtures not generated');
  const fc = loadCase('nanogpt_exact_gelu');
  const dir = tmpDir('activation-option');
  const tensors: TensorMap = {};
  for (const [name, r] of fc.params) tensors[name] = { dtype: 'F32', shape: r.shape, data: r.data };
  const bare = path.join(dir, 'nanogpt.safetensors');
  writeBareNanoGPT(bare, tensors, { n_layer: 2, n_head: 4, n_embd: 32, block_size: 32, bias: false, vocab_size: 128, dropout: 0 });
  assert.equal(recordedActivation(bare), undefined);
  const ck = loadModelWithActivation(bare, '--model', 'gelu');
  assert.equal(ck.config.activation, 'gelu');
  assert.ok(!ck.notes.some((n) => /MLP activation/.test(n)), 'no "assumed tanh" note when the option names the GELU');
  // and it computes PyTorch's exact-GELU logits (the tanh GELU misses them by > 10x: activation.test.ts)
  const params = tensorsToParams(ck.tensors, false);
  const idx = tf.tensor2d(fc.tokens, [fc.B, fc.T], 'int32');
  const { logits } = forward(params, ck.config, idx, { fast: true });
  const ref = expected(fc, 'logits').data;
  const got = logits.dataSync();
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]));
  tf.dispose([idx, logits]);
  disposeParams(params);
  assert.ok(worst < 2e-5, `logits off by ${worst}`);
  // Without the option: tanh assumed, with a note.
  assert.equal(loadModelWithActivation(bare, '--model', undefined).config.activation, undefined);
  // Our writer records the GELU: the option must agree.
  const ours = path.join(dir, 'ours.safetensors');
  writeNanoGPTSafetensors(ours, fc.cfg, tensors);
  assert.equal(loadModelWithActivation(ours, '--model', 'gelu').config.activation, 'gelu');
  assert.throws(() => loadModelWithActivation(ours, '--model', 'gelu_new'),
    /--activation gelu_new disagrees with --model .*ours\.safetensors: .*metadata model_args\.activation says gelu\. Drop --activation/);
});

test('HF folders record their GELU (activation_function, else transformers\' default gelu_new): the option must agree', async () => {
  const dir = tmpDir('activation-hf');
  const cfg = makeConfig('tiny-4L', { nLayer: 1, vocabSize: 32, activation: 'gelu' });
  const params = initParams(cfg, { seed: 2, trainable: false });
  writeHFFolder(dir, cfg, await paramsToTensors(params));
  disposeParams(params);
  assert.equal(loadModelWithActivation(dir, '--model', 'gelu').config.activation, 'gelu');
  assert.throws(() => loadModelWithActivation(dir, '--model', 'gelu_new'), /--activation gelu_new disagrees with --model .*config\.json activation_function says gelu/);
  const file = path.join(dir, 'config.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  delete json.activation_function;
  fs.writeFileSync(file, JSON.stringify(json));
  assert.throws(() => loadModelWithActivation(dir, '--model', 'gelu'), /config\.json \(no activation_function: transformers' GPT-2 default\) says gelu_new/);
  fs.writeFileSync(file, JSON.stringify({ ...json, activation_function: 'gelu_pytorch_tanh' }));
  assert.equal(loadModelWithActivation(dir, '--model', 'gelu_new').config.activation, undefined);
});

test('the eval cache fingerprint differs between the two GELUs of the same weights', async () => {
  const cfg = makeConfig('tiny-4L', { nLayer: 1, vocabSize: 32 });
  const params = initParams(cfg, { seed: 2, trainable: false });
  const tanh = await modelFingerprint(params, cfg);
  const exact = await modelFingerprint(params, makeConfig(cfg, { activation: 'gelu' }));
  disposeParams(params);
  assert.notEqual(tanh, exact);
});

test('train: --activation sets a fresh model\'s GELU, checks --init-from files and a resumed run', async () => {
  assert.equal(optionsFromArgs({ activation: 'gelu' }).base.config.activation, 'gelu');
  assert.equal(optionsFromArgs({}).base.config.activation, undefined);
  const root = tmpDir('activation-train');
  const args = ['--batch-size', '1', '--block-size', '8', '--eval-batches', '1', '--quiet', '--steps', '1'];
  // A fresh run with the exact GELU records it; resuming with the other one is refused, naming both.
  const out = path.join(root, 'run');
  assert.equal(await trainCommand([...args, '--activation', 'gelu', '--out', out]), 0);
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).model.activation, 'gelu');
  await assert.rejects(trainCommand(['--out', out, '--resume', '--steps', '2', '--quiet', '--activation', 'gelu_new']),
    /--activation gelu_new disagrees with the run being resumed: its saved config has activation gelu/);
  // --init-from a nanoGPT file of the same shape that does not record its GELU: the option names it.
  const cfg = optionsFromArgs({ 'block-size': 8 }).base.config;
  const params = initParams(cfg, { seed: 3, trainable: false });
  const tensors = await paramsToTensors(params);
  disposeParams(params);
  const bare = path.join(root, 'init.safetensors');
  writeBareNanoGPT(bare, tensors, {
    n_layer: cfg.nLayer, n_head: cfg.nHead, n_embd: cfg.nEmbd, block_size: cfg.blockSize, bias: cfg.bias, vocab_size: cfg.vocabSize,
    dropout: cfg.dropout, scale_attn_by_inverse_layer_idx: cfg.scaleAttnByInverseLayerIdx,
  });
  const out2 = path.join(root, 'init-run');
  assert.equal(await trainCommand([...args, '--init-from', bare, '--activation', 'gelu', '--out', out2]), 0);
  assert.equal(JSON.parse(fs.readFileSync(path.join(out2, 'config.json'), 'utf8')).model.activation, 'gelu');
  // A file that records the exact GELU: the other option is refused naming both, and no option is a config mismatch.
  const recorded = path.join(root, 'recorded.safetensors');
  writeNanoGPTSafetensors(recorded, makeConfig(cfg, { activation: 'gelu' }), tensors);
  await assert.rejects(trainCommand([...args, '--init-from', recorded, '--activation', 'gelu_new', '--out', path.join(root, 'x')]),
    /--activation gelu_new disagrees with --init-from .*recorded\.safetensors: .*model_args\.activation says gelu/);
  await assert.rejects(trainCommand([...args, '--init-from', recorded, '--out', path.join(root, 'y')]), /its config differs in activation \(gelu vs gelu_new\)/);
});
