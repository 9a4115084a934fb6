// Export for PyTorch: an inherited model written as an HF GPT-2 folder (+ nanoGPT state dict, manifest, README)
// loads back bit for bit, computes the same logits, and keeps its manifest.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setupBackend, assertNoLeak } from '../helpers';
import { makeConfig } from '../../lib/model/config';
import { disposeParams, paramSpecs } from '../../lib/model/params';
import { forward } from '../../lib/model/gpt';
import { loadNanoGPTSafetensors } from '../../lib/model/hf';
import { inheritModel } from '../../lib/inheritune/inherit';
import { exportForPyTorch, loadExported, MANIFEST_FILE, NANOGPT_FILE, README_FILE } from '../../lib/inheritune/export';
import { fakeReference, assertBitEqual, assertBitEqualArray } from './fixtures';

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'inheritune-export-'));
before(() => setupBackend());
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

const REF = makeConfig('tiny-4L', { blockSize: 16, vocabSize: 40 }); // bias=false, scaled attention

test('exportForPyTorch round trip: weights, config, manifest, nanoGPT file, README', async () => {
  const ref = fakeReference(REF);
  const built = inheritModel(ref, REF, { layers: [1, 2], seed: 9, attnScale: 'fold-reference' });
  const dir = path.join(TMP, 'inherited');
  const files = await assertNoLeak(() => exportForPyTorch(dir, built.params, built.config, built.manifest, { info: { round: 1 } }));
  for (const f of ['config.json', 'model.safetensors', NANOGPT_FILE, MANIFEST_FILE, README_FILE]) {
    assert.ok(files.includes(path.join(dir, f)) && fs.existsSync(path.join(dir, f)), f);
  }
  const back = await assertNoLeak(() => loadExported(dir), paramSpecs(built.config).length);
  assert.deepEqual({ ...back.config }, { ...built.config });
  assert.deepEqual(back.manifest, built.manifest);
  assert.deepEqual(back.info, { round: 1 });
  for (const k of Object.keys(built.params)) assertBitEqual(back.params[k], built.params[k], k);
  const idx = tf.tensor2d([[3, 1, 4, 1, 5, 9]], [1, 6], 'int32');
  const [a, b] = [forward(built.params, built.config, idx).logits, forward(back.params, back.config, idx).logits];
  assertBitEqual(a, b, 'logits');
  const nano = loadNanoGPTSafetensors(path.join(dir, NANOGPT_FILE));
  assert.equal(nano.config.nLayer, 2);
  assertBitEqualArray(built.params['transformer.h.1.mlp.c_fc.weight'], nano.tensors['transformer.h.1.mlp.c_fc.weight'].data as Float32Array, 'nanoGPT c_fc');
  const readme = fs.readFileSync(path.join(dir, README_FILE), 'utf8');
  assert.match(readme, /GPT2LMHeadModel\.from_pretrained\("<this folder>", attn_implementation="eager"\)/);
  assert.match(readme, /requires_grad_\(False\)/, 'bias-free: freeze the zero biases');
  assert.match(readme, /n_layer=2, n_head=2, n_embd=32, block_size=16, bias=False, vocab_size=40/);
  const json = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8'));
  const row0 = json.summary.find((r: { block: number }) => r.block === 0);
  assert.equal(row0.source, 'ref h.1');
  assert.equal(row0.transforms, 'q scaled', 'folded q columns are marked');
  assert.equal(json.summary.find((r: { name: string }) => r.name === 'wpe').source, 'init');
  tf.dispose([idx, a, b]);
  for (const p of [built.params, back.params, ref]) disposeParams(p);
});

test('export options and errors', async () => {
  const cfg = makeConfig(REF, { bias: true, scaleAttnByInverseLayerIdx: false, nLayer: 1 });
  const ref = fakeReference(cfg);
  const dir = path.join(TMP, 'plain');
  const files = await exportForPyTorch(dir, ref, cfg, [], { nanogpt: false });
  assert.ok(!files.some((f) => f.endsWith(NANOGPT_FILE)));
  const readme = fs.readFileSync(path.join(dir, README_FILE), 'utf8');
  assert.match(readme, /from_pretrained\("<this folder>"\)/);
  assert.doesNotMatch(readme, /eager/);
  await assert.rejects(exportForPyTorch(path.join(TMP, 'bad'), ref, REF), /parameters do not match the config/);
  disposeParams(ref);
});
