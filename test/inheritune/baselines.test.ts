// Baselines: random init, training budget, stacking (values duplicated from the trained small model), hybrid
// stacking, half-width (documented shapes; sliced values checked by index), DistilBERT-style init; errors; leaks.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend, assertNoLeak } from '../helpers';
import { makeConfig, GPTConfig } from '../../lib/model/config';
import { Params, disposeParams, initParams, paramSpecs } from '../../lib/model/params';
import { forward } from '../../lib/model/gpt';
import {
  randomInit, embeddingOnly, longerTrainingBudget, stackBlocks, stackOrder, stackingRun, hybridStacking, halfWidth, halfWidthShape, distilbertLayers, distillInit,
} from '../../lib/inheritune/baselines';
import { RoundInfo } from '../../lib/inheritune/grow';
import { fakeReference, assertBitEqual, valuesDiffer } from './fixtures';

before(() => setupBackend());

const REF = makeConfig('tiny-8L', { blockSize: 16, vocabSize: 40 }); // 8 layers, C = 32, 2 heads
const nParams = (cfg: GPTConfig) => paramSpecs(cfg).length;

test('randomInit equals initParams for the same seed; longerTrainingBudget doubles the steps', async () => {
  const cfg = makeConfig(REF, { nLayer: 4 });
  const a = await assertNoLeak(() => randomInit(cfg, 3), nParams(cfg));
  const b = initParams(cfg, { seed: 3 });
  for (const k of Object.keys(b)) assertBitEqual(a.params[k], b[k], k);
  assert.ok(a.manifest.every((e) => e.source === 'init'));
  const budget = longerTrainingBudget(cfg, 1000);
  assert.equal(budget.steps, 2000);
  assert.equal(budget.config.nLayer, 4);
  assert.throws(() => longerTrainingBudget(cfg, 0), /steps must be a positive integer/);
  disposeParams(a.params);
  disposeParams(b);
});

test('stackBlocks duplicates blocks 0..k-1 then 0..k-1, with the source embeddings and ln_f', async () => {
  const small = fakeReference(makeConfig(REF, { nLayer: 2 }));
  const st = await assertNoLeak(() => stackBlocks(small, makeConfig(REF, { nLayer: 2 })), nParams(makeConfig(REF, { nLayer: 4 })));
  assert.equal(st.config.nLayer, 4);
  for (const [j, i] of [[0, 0], [1, 1], [2, 0], [3, 1]]) {
    for (const s of ['ln_1.weight', 'attn.c_attn.weight', 'attn.c_proj.weight', 'ln_2.weight', 'mlp.c_fc.weight', 'mlp.c_proj.weight']) {
      assertBitEqual(st.params[`transformer.h.${j}.${s}`], small[`transformer.h.${i}.${s}`], `h.${j}.${s} <- h.${i}`);
    }
  }
  for (const n of ['transformer.wte.weight', 'transformer.wpe.weight', 'transformer.ln_f.weight']) assertBitEqual(st.params[n], small[n], n);
  assert.equal(st.manifest.find((e) => e.param === 'transformer.h.3.mlp.c_fc.weight')?.source, 'prev:transformer.h.1.mlp.c_fc.weight');
  assert.deepEqual(stackOrder(3, 7), [0, 1, 2, 0, 1, 2, 0]);
  assert.throws(() => stackOrder(4, 2), /at least 4 blocks/);
  disposeParams(st.params);
  disposeParams(small);
});

test('stackingRun: trains L/4 from scratch, stacks the trained blocks to L/2, trains again', async () => {
  const shifted: Record<string, Float32Array> = {};
  const trainFn = async (params: Params, cfg: Readonly<GPTConfig>, round: RoundInfo) => {
    if (round.round === 1) {
      assert.equal(cfg.nLayer, 2);
      for (const [k, v] of Object.entries(params)) {
        const t = tf.add(v, 1);
        v.assign(t);
        t.dispose();
        shifted[k] = v.dataSync().slice() as Float32Array;
      }
      return { valLoss: 3.5, steps: 5 };
    }
    assert.equal(cfg.nLayer, 4);
    assert.deepEqual(params['transformer.h.2.attn.c_attn.weight'].dataSync(), shifted['transformer.h.0.attn.c_attn.weight']);
    assert.deepEqual(params['transformer.h.3.ln_2.weight'].dataSync(), shifted['transformer.h.1.ln_2.weight']);
    assert.deepEqual(params['transformer.wte.weight'].dataSync(), shifted['transformer.wte.weight']);
    return { valLoss: 3.1, steps: 5 };
  };
  const res = await assertNoLeak(() => stackingRun({ refConfig: REF, trainFn }), nParams(makeConfig(REF, { nLayer: 4 })));
  assert.deepEqual(res.rounds.map((r) => [r.layers, r.valLoss]), [[2, 3.5], [4, 3.1]]);
  assert.deepEqual(res.rounds[1].sourceLayers, [0, 1, 0, 1]);
  disposeParams(res.params);
  await assertNoLeak(() => assert.rejects(stackingRun({ refConfig: REF, trainFn: async () => { throw new Error('x'); } }), /x/));
  await assert.rejects(stackingRun({ refConfig: REF, trainFn, targetLayers: 9 }), /targetLayers \(9\) is more layers than the reference has \(8\)/);
});

test('hybridStacking: the first L/4 reference blocks duplicated to L/2', async () => {
  const ref = fakeReference(REF);
  const h = await assertNoLeak(() => hybridStacking(ref, REF, { seed: 1 }), nParams(makeConfig(REF, { nLayer: 4 })));
  assert.equal(h.config.nLayer, 4);
  for (const [j, i] of [[0, 0], [1, 1], [2, 0], [3, 1]]) {
    assertBitEqual(h.params[`transformer.h.${j}.mlp.c_fc.weight`], ref[`transformer.h.${i}.mlp.c_fc.weight`], `h.${j}`);
  }
  assert.equal(h.manifest.find((e) => e.param === 'transformer.wpe.weight')?.source, 'init', 'as Inheritune: wpe fresh');
  disposeParams(h.params);
  const m = hybridStacking(ref, REF, { seed: 1, smallLayers: 3, targetLayers: 5 });
  assert.deepEqual(m.manifest.filter((e) => e.param.endsWith('ln_1.weight')).map((e) => e.source), [0, 1, 2, 0, 1].map((i) => `ref:transformer.h.${i}.ln_1.weight`));
  disposeParams(m.params);
  assert.throws(() => hybridStacking(ref, REF, { seed: 1, smallLayers: 9 }), /smallLayers \(9\) asks for more layers than the reference has \(8\)/);
  disposeParams(ref);
});

test('halfWidth: documented shapes and leading slices (checked by index), biases included', async () => {
  const cfg = makeConfig(REF, { nLayer: 2, nHead: 4, bias: true }); // C = 32, 4 heads of 8
  const ref = fakeReference(cfg);
  const hw = await assertNoLeak(() => halfWidth(ref, cfg), nParams(makeConfig(cfg, { nEmbd: 16, nHead: 2 })));
  const c = 16;
  const C = 32;
  assert.equal(hw.config.nEmbd, c);
  assert.equal(hw.config.nHead, 2);
  assert.equal(hw.config.nLayer, 2);
  const shape = (n: string) => hw.params[n].shape;
  assert.deepEqual(shape('transformer.wte.weight'), [40, c]);
  assert.deepEqual(shape('transformer.wpe.weight'), [16, c]);
  assert.deepEqual(shape('transformer.h.1.attn.c_attn.weight'), [c, 3 * c]);
  assert.deepEqual(shape('transformer.h.1.attn.c_attn.bias'), [3 * c]);
  assert.deepEqual(shape('transformer.h.1.attn.c_proj.weight'), [c, c]);
  assert.deepEqual(shape('transformer.h.1.mlp.c_fc.weight'), [c, 4 * c]);
  assert.deepEqual(shape('transformer.h.1.mlp.c_proj.weight'), [4 * c, c]);
  assert.deepEqual(shape('transformer.ln_f.bias'), [c]);
  const T = (p: Params, n: string) => p[n].arraySync() as number[][];
  const V = (p: Params, n: string) => p[n].arraySync() as number[];
  const l = 'transformer.h.1.';
  const [a, r] = [T(hw.params, `${l}attn.c_attn.weight`), T(ref, `${l}attn.c_attn.weight`)];
  assert.equal(a[3][5], r[3][5]); // q, head 0
  assert.equal(a[15][c - 1], r[15][c - 1]); // q, last kept head (1), last column
  assert.equal(a[7][c + 3], r[7][C + 3]); // k
  assert.equal(a[2][2 * c + 9], r[2][2 * C + 9]); // v, head 1
  const [ab, rb] = [V(hw.params, `${l}attn.c_attn.bias`), V(ref, `${l}attn.c_attn.bias`)];
  assert.equal(ab[c + 1], rb[C + 1]);
  assert.equal(ab[2 * c + 15], rb[2 * C + 15]);
  assert.equal(T(hw.params, `${l}attn.c_proj.weight`)[12][9], T(ref, `${l}attn.c_proj.weight`)[12][9]);
  assert.equal(T(hw.params, `${l}mlp.c_fc.weight`)[4][4 * c - 1], T(ref, `${l}mlp.c_fc.weight`)[4][4 * c - 1]);
  assert.equal(T(hw.params, `${l}mlp.c_proj.weight`)[4 * c - 1][c - 1], T(ref, `${l}mlp.c_proj.weight`)[4 * c - 1][c - 1]);
  assert.equal(V(hw.params, `${l}mlp.c_fc.bias`)[4 * c - 1], V(ref, `${l}mlp.c_fc.bias`)[4 * c - 1]);
  assert.equal(T(hw.params, 'transformer.wte.weight')[39][c - 1], T(ref, 'transformer.wte.weight')[39][c - 1]);
  assert.equal(V(hw.params, 'transformer.ln_f.weight')[7], V(ref, 'transformer.ln_f.weight')[7]);
  assert.match(hw.manifest.find((e) => e.param === `${l}attn.c_attn.weight`)?.transform ?? '', /q 0:16 \| k 32:48 \| v 64:80/);
  // It runs.
  const idx = tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32');
  const out = forward(hw.params, hw.config, idx).logits;
  assert.deepEqual(out.shape, [1, 4, 40]);
  tf.dispose([idx, out]);
  disposeParams(hw.params);
  // Parts left fresh on request.
  const part = halfWidth(ref, cfg, { copy: ['wte', 'attn'] });
  assert.equal(part.manifest.find((e) => e.param === `${l}mlp.c_fc.weight`)?.source, 'init');
  disposeParams(part.params);
  disposeParams(ref);
});

test('halfWidth with an odd head count: clear error, or rounding on request', () => {
  const odd = makeConfig(REF, { nLayer: 1, nHead: 5, nEmbd: 40 }); // like GPT-2 XL's 25 heads
  assert.throws(() => halfWidthShape(odd), /half-width needs an even n_head: the reference has n_head = 5 .*round: 'down' for 2 heads \(n_embd 16\).*round: 'up' for 3 heads \(n_embd 24\)/);
  assert.deepEqual(halfWidthShape(odd, 'down'), { nHead: 2, nEmbd: 16, headSize: 8 });
  assert.deepEqual(halfWidthShape(odd, 'up'), { nHead: 3, nEmbd: 24, headSize: 8 });
  assert.throws(() => halfWidthShape(makeConfig(REF, { nHead: 1 })), /at least 2 heads/);
  const ref = fakeReference(odd);
  assert.throws(() => halfWidth(ref, odd), /even n_head/);
  const up = halfWidth(ref, odd, { round: 'up' });
  assert.deepEqual(up.params['transformer.h.0.attn.c_attn.weight'].shape, [24, 72]);
  assert.ok(up.notes.some((n) => /rounded up/.test(n)));
  disposeParams(up.params);
  disposeParams(ref);
});

test('DistilBERT-style init: student block i = teacher block 2i, then the extra blocks', async () => {
  assert.deepEqual(distilbertLayers(24, { extra: [18, 19, 20, 21] }), [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 18, 19, 20, 21]);
  assert.throws(() => distilbertLayers(8, { extra: [8] }), /out of range: the teacher has blocks 0\.\.7/);
  const ref = fakeReference(REF);
  const st = await assertNoLeak(() => distillInit(ref, REF, { seed: 2, extra: [5] }), nParams(makeConfig(REF, { nLayer: 5 })));
  assert.equal(st.config.nLayer, 5);
  for (const [j, i] of [[0, 0], [1, 2], [2, 4], [3, 6], [4, 5]]) {
    assertBitEqual(st.params[`transformer.h.${j}.attn.c_proj.weight`], ref[`transformer.h.${i}.attn.c_proj.weight`], `student ${j} <- teacher ${i}`);
  }
  disposeParams(st.params);
  disposeParams(ref);
});

test('embeddingOnly: wte equal to the reference\'s, every block and wpe fresh (= randomInit\'s with the same seed); no leak', async () => {
  const ref = fakeReference(REF, 9);
  const cfg = makeConfig(REF, { nLayer: 4 });
  const e = await assertNoLeak(() => embeddingOnly(ref, REF, { nLayer: 4, seed: 5000 }), nParams(cfg));
  const r = randomInit(cfg, 5000);
  assert.equal(e.config.nLayer, 4);
  assertBitEqual(e.params['transformer.wte.weight'], ref['transformer.wte.weight'], 'wte copied');
  assert.ok(valuesDiffer(e.params['transformer.wte.weight'], r.params['transformer.wte.weight']), 'the random arm\'s wte differs');
  for (const k of Object.keys(r.params)) {
    if (k === 'transformer.wte.weight') continue;
    assertBitEqual(e.params[k], r.params[k], `${k} fresh, as randomInit's`);
  }
  for (let j = 0; j < 4; j++) {
    const w = `transformer.h.${j}.attn.c_attn.weight`;
    assert.ok(valuesDiffer(e.params[w], ref[w]), `block ${j} is not the reference's`);
  }
  assert.deepEqual(e.manifest.filter((m) => m.source !== 'init').map((m) => m.param), ['transformer.wte.weight']);
  // With wpe as well: both embeddings from the reference, blocks still fresh.
  const ep = embeddingOnly(ref, REF, { nLayer: 2, seed: 1, copy: ['wte', 'wpe'] });
  assertBitEqual(ep.params['transformer.wpe.weight'], ref['transformer.wpe.weight'], 'wpe copied');
  assert.throws(() => embeddingOnly(ref, REF, { nLayer: 2, seed: 1, copy: ['wte', 'block'] }), /no block parts/);
  assert.throws(() => embeddingOnly(ref, REF, { nLayer: 0, seed: 1 }), /nLayer >= 1/);
  for (const p of [e.params, r.params, ep.params, ref]) disposeParams(p);
});
