// Model surgery: copied tensors are bit-identical to the reference, the rest is the TARGET config's fresh init,
// wpe/ln_f only when asked, Table 3 sub-module ablations copy exactly their tensors, attention-scale folding keeps
// the function, clear errors, and no tensor leaks.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend, assertNoLeak, assertClose } from '../helpers';
import { makeConfig } from '../../lib/model/config';
import { disposeParams, initValues, paramSpecs, INIT_STD } from '../../lib/model/params';
import { forward } from '../../lib/model/gpt';
import { inheritModel, resolveCopy, PART_PRESETS } from '../../lib/inheritune/inherit';
import { manifestSummary, blockPartOf, splitBlockName } from '../../lib/inheritune/surgery';
import { fakeReference, assertBitEqual, assertBitEqualArray, valuesDiffer } from './fixtures';

before(() => setupBackend());

const REF = makeConfig('tiny-4L', { blockSize: 16, vocabSize: 40 }); // bias=false, scaled attention, C=32, nh=2
const REF_BIAS = makeConfig(REF, { bias: true });
const SEED = 123;

test('default inheritance: wte and whole blocks copied bit for bit; wpe, ln_f and nothing else fresh', async () => {
  const ref = fakeReference(REF);
  const built = await assertNoLeak(() => inheritModel(ref, REF, { layers: 2, seed: SEED }), paramSpecs(makeConfig(REF, { nLayer: 2 })).length);
  assert.equal(built.config.nLayer, 2);
  assert.equal(built.config.nEmbd, REF.nEmbd);
  const specs = paramSpecs(built.config);
  assert.deepEqual(Object.keys(built.params).sort(), specs.map((s) => s.name).sort());
  for (const spec of specs) {
    const t = built.params[spec.name];
    const row = built.manifest.find((e) => e.param === spec.name);
    if (spec.name === 'transformer.wpe.weight' || spec.name.startsWith('transformer.ln_f.')) {
      assert.equal(row?.source, 'init', spec.name);
      assertBitEqualArray(t, initValues(spec, SEED), spec.name); // the target's own init
      if (spec.init.kind !== 'ones') assert.ok(valuesDiffer(t, ref[spec.name]), `${spec.name} should differ from the reference`);
    } else {
      assert.equal(row?.source, `ref:${spec.name}`, spec.name);
      assert.equal(row?.transform, undefined);
      assertBitEqual(t, ref[spec.name], spec.name);
      assert.notEqual(t, ref[spec.name], 'a new variable, not the reference object');
    }
  }
  // Training the target leaves the reference untouched, and the reference survives disposing the target.
  const before0 = ref['transformer.h.0.attn.c_attn.weight'].dataSync().slice();
  built.params['transformer.h.0.attn.c_attn.weight'].assign(tf.zerosLike(built.params['transformer.h.0.attn.c_attn.weight']));
  disposeParams(built.params);
  assert.deepEqual(ref['transformer.h.0.attn.c_attn.weight'].dataSync(), before0);
  disposeParams(ref);
});

test('fresh parameters have the target init: c_proj std uses the target nLayer', () => {
  const big = makeConfig('tiny-8L', { blockSize: 16, vocabSize: 40, nEmbd: 64 });
  const ref = fakeReference(big);
  const built = inheritModel(ref, big, { layers: [0, 1], seed: 5, copy: ['wte'] }); // blocks all fresh
  const std = (t: tf.Tensor) => {
    const d = t.dataSync();
    let s = 0;
    for (const v of d) s += v * v;
    return Math.sqrt(s / d.length);
  };
  const projStd = INIT_STD / Math.sqrt(2 * 2); // target nLayer = 2, not the reference's 8
  assertClose([std(built.params['transformer.h.1.mlp.c_proj.weight'])], [projStd], 0.05, 'mlp.c_proj std');
  assertClose([std(built.params['transformer.h.0.attn.c_proj.weight'])], [projStd], 0.05, 'attn.c_proj std');
  assertClose([std(built.params['transformer.h.0.mlp.c_fc.weight'])], [INIT_STD], 0.05, 'c_fc std');
  assert.deepEqual(Array.from(built.params['transformer.h.0.ln_1.weight'].dataSync()), new Array(64).fill(1));
  disposeParams(built.params);
  disposeParams(ref);
});

test('wpe and ln_f are copied only when asked', () => {
  const ref = fakeReference(REF_BIAS);
  const built = inheritModel(ref, REF_BIAS, { layers: 3, seed: SEED, copy: ['wte', 'wpe', 'ln_f', 'block'] });
  for (const name of ['transformer.wpe.weight', 'transformer.ln_f.weight', 'transformer.ln_f.bias']) {
    assertBitEqual(built.params[name], ref[name], name);
  }
  assert.ok(built.manifest.every((e) => e.source !== 'init'), 'everything copied');
  disposeParams(built.params);
  const noWte = inheritModel(ref, REF_BIAS, { layers: 1, seed: SEED, copy: ['block'] });
  assert.equal(noWte.manifest.find((e) => e.param === 'transformer.wte.weight')?.source, 'init');
  disposeParams(noWte.params);
  disposeParams(ref);
});

test('sub-module ablations (Table 3) copy exactly the right tensors, biases included', () => {
  const ref = fakeReference(REF_BIAS);
  for (const [preset, parts] of Object.entries(PART_PRESETS)) {
    const built = inheritModel(ref, REF_BIAS, { layers: [1, 2], seed: SEED, copy: ['wte', preset as keyof typeof PART_PRESETS] });
    for (const spec of paramSpecs(built.config)) {
      const b = splitBlockName(spec.name);
      if (!b) continue;
      const copied = parts.includes(blockPartOf(b.suffix));
      const row = built.manifest.find((e) => e.param === spec.name);
      const srcName = `transformer.h.${b.layer + 1}.${b.suffix}`;
      if (copied) {
        assert.equal(row?.source, `ref:${srcName}`, `${preset}: ${spec.name}`);
        assertBitEqual(built.params[spec.name], ref[srcName], `${preset}: ${spec.name}`);
      } else {
        assert.equal(row?.source, 'init', `${preset}: ${spec.name}`);
        assertBitEqualArray(built.params[spec.name], initValues(spec, SEED), `${preset}: ${spec.name}`);
      }
    }
    disposeParams(built.params);
  }
  // attn = c_attn + c_proj (weights and biases); mlp = c_fc + c_proj.
  const s = resolveCopy(['attn+mlp']);
  assert.deepEqual([...s.parts].sort(), ['attn', 'mlp']);
  assert.equal(s.globals.size, 0);
  disposeParams(ref);
});

test('any block list is placed in order; the manifest says where each block came from', () => {
  const ref = fakeReference(REF);
  const built = inheritModel(ref, REF, { layers: [3, 1], seed: SEED });
  assertBitEqual(built.params['transformer.h.0.mlp.c_fc.weight'], ref['transformer.h.3.mlp.c_fc.weight'], 'h.0 <- h.3');
  assertBitEqual(built.params['transformer.h.1.ln_2.weight'], ref['transformer.h.1.ln_2.weight'], 'h.1 <- h.1');
  const summary = manifestSummary(built.manifest);
  assert.deepEqual(summary.find((r) => r.block === 0)?.source, 'ref h.3');
  assert.deepEqual(summary.find((r) => r.name === 'wpe')?.source, 'init');
  assert.ok(built.notes.some((n) => /3->0/.test(n) && /fold-reference/.test(n)), 'documents the attention-scale change');
  disposeParams(built.params);
  disposeParams(ref);
});

test("attnScale 'fold-reference' keeps the reference's function for moved blocks", async () => {
  // Reference with blocks 0 and 1 turned into identities (zero output projections): then the reference computes
  // exactly what a 2L model of its blocks 2, 3 (with its wte, wpe, ln_f) computes, if the attention scale is kept.
  const ref = fakeReference(REF);
  for (const l of [0, 1]) for (const s of ['attn.c_proj.weight', 'mlp.c_proj.weight']) ref[`transformer.h.${l}.${s}`].assign(tf.zeros([s.startsWith('mlp') ? 128 : 32, 32]));
  const idx = tf.tensor2d([[1, 5, 9, 2, 7, 3, 30, 11]], [1, 8], 'int32');
  const want = forward(ref, REF, idx).logits;
  const copy = ['wte', 'wpe', 'ln_f', 'block'] as const;
  const folded = await assertNoLeak(() => inheritModel(ref, REF, { layers: [2, 3], seed: 1, copy, attnScale: 'fold-reference' }), paramSpecs(makeConfig(REF, { nLayer: 2 })).length);
  const plain = inheritModel(ref, REF, { layers: [2, 3], seed: 1, copy });
  const a = forward(folded.params, folded.config, idx).logits;
  const b = forward(plain.params, plain.config, idx).logits;
  assertClose(a.dataSync(), want.dataSync(), 1e-4, 'folded 2L == reference', 1e-3);
  let maxDiff = 0;
  const [x, y] = [b.dataSync(), want.dataSync()];
  for (let i = 0; i < x.length; i++) maxDiff = Math.max(maxDiff, Math.abs(x[i] - y[i]));
  assert.ok(maxDiff > 1e-4, `the authors' behaviour changes the function (max diff ${maxDiff})`);
  // Only the q columns of c_attn changed, by exactly (j+1)/(i+1) = 1/3 for block 2 -> 0.
  const w = folded.params['transformer.h.0.attn.c_attn.weight'].arraySync() as number[][];
  const r = ref['transformer.h.2.attn.c_attn.weight'].arraySync() as number[][];
  assert.equal(w[4][5], Math.fround(r[4][5] * Math.fround(1 / 3)));
  assert.equal(w[4][32 + 5], r[4][32 + 5]);
  assert.match(folded.manifest.find((e) => e.param === 'transformer.h.0.attn.c_attn.weight')?.transform ?? '', /q columns x 1\/3/);
  tf.dispose([idx, want, a, b]);
  for (const m of [folded, plain]) disposeParams(m.params);
  disposeParams(ref);
});

test('clear errors: too many layers, empty, duplicate, out of range, unknown copy item, wrong reference', () => {
  const ref = fakeReference(REF);
  const bad = (layers: number | number[], re: RegExp) => assert.throws(() => inheritModel(ref, REF, { layers, seed: 1 }), re);
  bad(5, /asked for 5 layers but the reference has only 4/);
  bad(0, /positive integer/);
  bad([], /selection is empty/);
  bad([1, 1], /repeats block\(s\) 1/);
  bad([0, 4], /4 are out of range: the reference has blocks 0\.\.3/);
  bad([-1], /out of range/);
  assert.throws(() => inheritModel(ref, REF, { layers: 2, seed: 1, copy: ['wte', 'heads' as never] }), /unknown copy item 'heads'/);
  assert.throws(() => inheritModel(ref, REF, { layers: 2, seed: 1, attnScale: 'keep' as never }), /attnScale must be/);
  assert.throws(() => inheritModel(ref, REF_BIAS, { layers: 2, seed: 1 }), /reference model does not match its config.*missing/);
  assert.throws(() => inheritModel(ref, REF, { layers: 2 } as never), /needs \{ layers, seed/);
  disposeParams(ref);
});

test('failed calls allocate nothing', async () => {
  const ref = fakeReference(REF);
  await assertNoLeak(() => {
    assert.throws(() => inheritModel(ref, REF, { layers: 9, seed: 1 }));
  });
  disposeParams(ref);
});
