// Llama-family and GPT-NeoX forward against the float64 PyTorch reference of test/reference/make_family_fixtures.py
// (fixtures in test/fixtures/families/<case>/): logits max |a-b| / (|b| + atol) <= 1e-4 with atol = 1e-2 max|expected|
// (as test/model/half.test.ts), attention patterns <= 1e-5 absolute, residuals 1e-4 relative (same atol rule);
// every case in resident and streamed weight modes; F16/BF16 checkpoints against the reference on their rounded
// weights; sharded folders; Mistral's and Qwen2's sliding windows (more in families-sliding.test.ts); no leaked tensors.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setupBackend, assertClose, assertNoLeak } from '../helpers';
import { readSafetensors } from '../../lib/model/safetensors';
import { FamilyModel, WeightMode, loadFamilyFolder } from '../../lib/model/families/family-model';
import { runHookedWithCache } from '../../lib/model/hooked-model';
import { actName } from '../../lib/model/hooks';

const DIR = path.join(__dirname, '..', 'fixtures', 'families');
const CASES = [
  'llama_gqa_llama3', 'llama_gqa_llama3_bf16', 'llama_gqa_llama3_f16', 'qwen2_tied_linear', 'neox_parallel', 'neox_parallel_bf16', 'neox_parallel_f16', 'neox_sequential',
  // sliding windows (3) shorter than the sequence (8): Mistral in every layer, Qwen2 from max_window_layers (1) on
  'mistral_sliding_window', 'qwen2_sliding_layers',
];

function expected(name: string): Record<string, { shape: number[]; data: Float64Array }> {
  const r = readSafetensors(path.join(DIR, name, 'expected.safetensors'));
  return r.tensors as unknown as Record<string, { shape: number[]; data: Float64Array }>;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('Llama and GPT-NeoX forward vs PyTorch fixtures', () => {
  before(async () => {
    await setupBackend();
  });

  for (const name of CASES) {
    for (const mode of ['resident', 'streamed'] as WeightMode[]) {
      test(`${name} (${mode}): logits, loss, patterns and residuals`, async () => {
        const want = expected(name);
        const model = loadFamilyFolder(path.join(DIR, name), { mode });
        assert.equal(model.mode, mode);
        const [B, T] = want.tokens.shape;
        const L = model.cfg.nLayer;
        const names = Array.from({ length: L }, (_, l) => [actName('pattern', l), actName('resid_pre', l), actName('resid_post', l)]).flat();
        try {
          await assertNoLeak(async () => {
            const idx = tf.tensor2d(Int32Array.from(want.tokens.data), [B, T], 'int32');
            const targets = tf.tidy(() => tf.concat([tf.slice(idx, [0, 1], [B, T - 1]), tf.fill([B, 1], -1, 'int32')], 1));
            const res = runHookedWithCache(model, idx, names, { targets });
            try {
              const logits = want.logits.data;
              assertClose(res.logits!.dataSync(), logits, 1e-4, `${name} logits`, 1e-2 * maxAbs(logits));
              assertClose(res.loss!.dataSync(), want.loss.data, 1e-5, `${name} loss`);
              for (let l = 0; l < L; l++) {
                const p = res.cache.get(actName('pattern', l));
                assert.deepEqual(p.shape, want[`pattern_${l}`].shape);
                const d = maxAbsDiff(p.dataSync(), want[`pattern_${l}`].data);
                assert.ok(d <= 1e-5, `${name} pattern ${l}: max |diff| ${d} > 1e-5`);
                for (const kind of ['resid_pre', 'resid_post']) {
                  const w = want[`${kind}_${l}`].data;
                  assertClose(res.cache.get(actName(kind, l)).dataSync(), w, 1e-4, `${name} ${kind} ${l}`, 1e-2 * maxAbs(w));
                }
              }
            } finally {
              idx.dispose();
              targets.dispose();
              res.logits?.dispose();
              res.loss?.dispose();
              res.cache.dispose();
            }
          });
        } finally {
          model.dispose();
        }
      });
    }
  }

  test('stopAtLayer returns the residual stream before that block, without the head', async () => {
    const want = expected('llama_gqa_llama3');
    const model = loadFamilyFolder(path.join(DIR, 'llama_gqa_llama3'));
    try {
      const [B, T] = want.tokens.shape;
      const idx = tf.tensor2d(Int32Array.from(want.tokens.data), [B, T], 'int32');
      const out = await assertNoLeak(() => model.run(idx, { stopAtLayer: 1 }), 1);
      assert.equal(out.logits, undefined);
      assertClose(out.resid!.dataSync(), want.resid_pre_1.data, 1e-4, 'resid before block 1', 1e-2 * maxAbs(want.resid_pre_1.data));
      out.resid!.dispose();
      idx.dispose();
    } finally {
      model.dispose();
    }
  });

  test('the llama3 RoPE scaling matters: the fixture is missed without it', async () => {
    const want = expected('llama_gqa_llama3');
    const model = loadFamilyFolder(path.join(DIR, 'llama_gqa_llama3'));
    const unscaled = new FamilyModel({ ...model.cfg, ropeScaling: { type: 'none' } }, model.store, 'streamed');
    try {
      const [B, T] = want.tokens.shape;
      const idx = tf.tensor2d(Int32Array.from(want.tokens.data), [B, T], 'int32');
      const out = unscaled.run(idx);
      const d = maxAbsDiff(out.logits!.dataSync(), want.logits.data);
      out.logits!.dispose();
      idx.dispose();
      assert.ok(d > 1e-3 * maxAbs(want.logits.data), `unscaled RoPE is within ${d} of the llama3-scaled reference`);
    } finally {
      model.dispose();
      unscaled.dispose();
    }
  });

  test('describes the model: GQA, dtype and weight mode', () => {
    const m = loadFamilyFolder(path.join(DIR, 'llama_gqa_llama3_bf16'), { mode: 'streamed' });
    assert.match(m.description, /llama \(2 layers x 4 heads, GQA 4\/2 heads, width 32; BF16 weights, streamed/);
    assert.equal(m.store.files.length, 2, 'the bf16 case is sharded');
    m.dispose();
  });
});
