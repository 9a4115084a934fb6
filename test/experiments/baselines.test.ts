// Notebooks 05/06 plumbing: which runs each method trains (names shared with notebook 04), what each stage starts
// from (stacking's second stage from the first stage's TRAINED weights), the KD wiring, cost accounting, no leaks,
// and the computed verdicts. Training is a fake (a known update) except one short real run through lib/train.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend, assertNoLeak } from '../helpers';
import { fakeReference, bytes } from '../inheritune/fixtures';
import { makeConfig, GPTConfig } from '../../lib/model/config';
import { Params, disposeParams, numParams } from '../../lib/model/params';
import { History } from '../../lib/train/history';
import { DistillOptions } from '../../lib/train/distill';
import { train } from '../../lib/train/trainer';
import { MemoryTokenSource } from '../../lib/data/source';
import { MethodResult, StageTrainFn, ablationLayers, ablationPlan, baselinePlan, distillPlan, inherituneRunFor, methodHistory, runMethod, studentLayers } from '../../lib/experiments/baselines';
import { ablationVerdict, baselinesPaperRows, baselinesVerdict, distillVerdict, methodsTable } from '../../lib/experiments/baselines-report';

before(() => setupBackend());

const REF = makeConfig('tiny-8L', { blockSize: 16, vocabSize: 40 }); // 8 layers, C = 32, 2 heads

function fakeHistory(steps: number, start: number, end: number): History {
  return {
    steps: Array.from({ length: steps }, (_, i) => ({ step: i, loss: start - ((start - end) * i) / steps, lr: 1e-3, gradNorm: 1, tokensPerSec: 1, ms: 1 })),
    evals: [{ step: 0, valLoss: start, tokens: 0 }, { step: steps, valLoss: end, tokens: steps * 64 }],
  };
}

/** A fake trainer: records what it saw, adds 1 to every parameter ("training"), reports a loss per run. */
function fakeTrainer(losses: Record<string, number> = {}) {
  const calls: Array<{ run: string; nLayer: number; nEmbd: number; steps: number; distill?: DistillOptions; seed: number; snapshot: Record<string, Uint8Array> }> = [];
  const fn: StageTrainFn = async (run, params, config, steps, distill, seed) => {
    const snapshot: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(params)) snapshot[k] = bytes(v);
    calls.push({ run, nLayer: config.nLayer, nEmbd: config.nEmbd, steps, distill, seed, snapshot });
    for (const v of Object.values(params)) {
      const t = tf.add(v, 1);
      v.assign(t);
      t.dispose();
    }
    return { valLoss: losses[run] ?? 3, history: fakeHistory(steps, 10, losses[run] ?? 3), steps, tokensPerStep: 64 };
  };
  return { fn, calls };
}

test('run names are shared with notebook 04 (restart rounds) and the 2x budget doubles the steps', () => {
  assert.equal(inherituneRunFor(8, 4), 'inheritune-4L-r1');
  assert.equal(inherituneRunFor(8, 6), 'inheritune-6L-r2');
  assert.equal(inherituneRunFor(12, 7), 'inheritune-7L');
  const plan = baselinePlan(REF, 20);
  assert.deepEqual(plan.map((m) => m.key), ['inheritune', 'random', 'embedding-only', 'random-2x', 'stacking', 'hybrid-stacking', 'half-width']);
  assert.deepEqual(plan.map((m) => m.stages.map((s) => `${s.run}:${s.steps}`).join(' ')), [
    'inheritune-4L-r1-s5000:20', 'random-4L-s5000:20', 'embedding-only-4L-s5000:20', 'random-4L-2x-s5000:40',
    'stacking-2L-s5000:20 stacking-2to4L-s5000:20', 'hybrid-stacking-4L-s5000:20', 'half-width-8L-s5000:20',
  ]);
  assert.deepEqual(plan.map((m) => [m.layers, m.nEmbd]), [[4, 32], [4, 32], [4, 32], [4, 32], [4, 32], [4, 32], [8, 16]]);
  // Another seed: every run name carries it (notebook 05 runs the plan once per seed of the setup).
  const p2 = baselinePlan(REF, 20, 5001);
  assert.ok(p2.every((m) => m.seed === 5001 && m.stages.every((st) => st.run.endsWith('-s5001'))));
  assert.throws(() => baselinePlan(makeConfig(REF, { nLayer: 3 }), 20), /at least 4 layers/);
  assert.equal(ablationLayers(8), 6);
  assert.equal(ablationLayers(12), 8);
  assert.deepEqual(ablationPlan(REF, 20).map((m) => m.stages[0].run), ['inheritune-6L-r2-s5000', 'ablation-attn-mlp-6L-s5000', 'ablation-attn-ln-6L-s5000', 'ablation-mlp-ln-6L-s5000']);
  assert.deepEqual(distillPlan(REF, 20).map((m) => `${m.stages[0].run}:${!!m.stages[0].distill}`), ['inheritune-6L-r2-s5000:false', 'random-6L-s5000:false', 'kd-vanilla-6L-s5000:true', 'kd-teacher-init-6L-s5000:true']);
});

test('DistilBERT-style student layers: every other teacher block, then consecutive blocks from 3L/4', () => {
  assert.deepEqual(studentLayers(24, 16), [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 18, 19, 20, 21]); // the paper's
  assert.deepEqual(studentLayers(12, 8), [0, 2, 4, 6, 8, 10, 9, 10]);
  assert.deepEqual(studentLayers(8, 6), [0, 2, 4, 6, 6, 7]);
  assert.deepEqual(studentLayers(8, 4), [0, 2, 4, 6]);
  assert.throws(() => studentLayers(8, 3), /needs 4\.\.8 layers/);
});

test('runMethod: stacking retrains the trained small model, builders start from the reference, costs add up, nothing leaks', async () => {
  const ref = fakeReference(REF);
  const { fn, calls } = fakeTrainer({ 'stacking-2to4L-s5000': 2.5, 'inheritune-4L-r1-s5000': 2.4 });
  const results: MethodResult[] = [];
  await assertNoLeak(async () => {
    for (const spec of baselinePlan(REF, 5)) results.push(await runMethod(spec, { params: ref, config: REF }, fn));
  }, 0, 'runMethod');
  assert.deepEqual(calls.map((c) => `${c.run}:${c.nLayer}x${c.nEmbd}:${c.steps}`), [
    'inheritune-4L-r1-s5000:4x32:5', 'random-4L-s5000:4x32:5', 'embedding-only-4L-s5000:4x32:5', 'random-4L-2x-s5000:4x32:10', 'stacking-2L-s5000:2x32:5',
    'stacking-2to4L-s5000:4x32:5', 'hybrid-stacking-4L-s5000:4x32:5', 'half-width-8L-s5000:8x16:5',
  ]);
  assert.ok(calls.every((c) => c.distill === undefined), 'no KD in notebook 05');
  assert.ok(calls.every((c) => c.seed === 5000), 'the plan\'s seed orders the data');
  // The embedding-only control: the reference's wte, blocks not the reference's.
  assert.deepEqual(calls[2].snapshot['transformer.wte.weight'], bytes(ref['transformer.wte.weight']));
  assert.notDeepEqual(calls[2].snapshot['transformer.h.0.attn.c_attn.weight'], bytes(ref['transformer.h.0.attn.c_attn.weight']));
  // Stacking stage 2 starts from stage 1's weights after training (fake training added 1): blocks [0, 1, 0, 1].
  const s1 = calls[4].snapshot;
  const s2 = calls[5].snapshot;
  const plus1 = (b: Uint8Array) => {
    const f = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)).map((x) => x + 1); // exact in double, one rounding
    return new Uint8Array(f.buffer);
  };
  assert.deepEqual(s2['transformer.h.2.mlp.c_fc.weight'], plus1(s1['transformer.h.0.mlp.c_fc.weight']));
  assert.deepEqual(s2['transformer.wte.weight'], plus1(s1['transformer.wte.weight']));
  // Inheritune and hybrid stacking start from the reference: block j <- reference block j (Inheritune), j % 2 (hybrid).
  assert.deepEqual(calls[0].snapshot['transformer.h.3.attn.c_attn.weight'], bytes(ref['transformer.h.3.attn.c_attn.weight']));
  assert.deepEqual(calls[6].snapshot['transformer.h.3.attn.c_attn.weight'], bytes(ref['transformer.h.1.attn.c_attn.weight']));
  // Costs: stacking = both stages; 6·N·D with N of each stage's model.
  const st = results[4];
  assert.equal(st.steps, 10);
  assert.equal(st.tokens, 10 * 64);
  assert.equal(st.flops, 6 * st.stages[0].params * 5 * 64 + 6 * st.stages[1].params * 5 * 64);
  assert.equal(st.valLoss, 2.5);
  assert.equal(st.valLossAtInit, 10);
  assert.equal(results[6].nonEmbeddingParams, results[6].params - 40 * 16 - 16 * 16);
  assert.deepEqual(methodHistory(st).evals.map((e) => e.step), [0, 5, 5, 10]);
  assert.equal(methodsTable(results)[4]['compute 6ND'], `${(st.flops / results[0].flops).toFixed(2)}x Inheritune`);
  assert.equal(baselinesPaperRows(results)[0]['paper Medium (24L ref)'], '16L 2.81');
  disposeParams(ref);
});

test('notebook 06 models: sub-module copies leave the other parts fresh; KD stages get the reference as teacher', async () => {
  const ref = fakeReference(REF);
  const { fn, calls } = fakeTrainer();
  await assertNoLeak(async () => {
    for (const spec of [...ablationPlan(REF, 3), ...distillPlan(REF, 3)]) await runMethod(spec, { params: ref, config: REF }, fn);
  }, 0, 'runMethod');
  const byRun = (r: string) => calls.find((c) => c.run === r)!;
  const same = (run: string, name: string, refName = name) => Buffer.compare(Buffer.from(byRun(run).snapshot[name]), Buffer.from(bytes(ref[refName]))) === 0;
  assert.ok(same('ablation-attn-mlp-6L-s5000', 'transformer.h.5.attn.c_attn.weight') && same('ablation-attn-mlp-6L-s5000', 'transformer.h.5.mlp.c_fc.weight'));
  assert.ok(!same('ablation-attn-mlp-6L-s5000', 'transformer.h.5.ln_1.weight'), 'attn+mlp: LayerNorms fresh');
  assert.ok(same('ablation-attn-ln-6L-s5000', 'transformer.h.1.ln_1.weight') && !same('ablation-attn-ln-6L-s5000', 'transformer.h.1.mlp.c_fc.weight'));
  assert.ok(same('ablation-mlp-ln-6L-s5000', 'transformer.h.1.ln_2.weight') && !same('ablation-mlp-ln-6L-s5000', 'transformer.h.1.attn.c_attn.weight'));
  assert.ok(same('kd-teacher-init-6L-s5000', 'transformer.h.1.attn.c_attn.weight', 'transformer.h.2.attn.c_attn.weight'), 'student block 1 = teacher block 2');
  assert.ok(same('kd-teacher-init-6L-s5000', 'transformer.h.4.mlp.c_proj.weight', 'transformer.h.6.mlp.c_proj.weight'), 'student block 4 = teacher block 6 (extra from 3L/4)');
  for (const r of ['kd-vanilla-6L-s5000', 'kd-teacher-init-6L-s5000']) {
    const d = byRun(r).distill;
    assert.ok(d && d.teacher === ref && d.teacherConfig === REF && d.alpha === 0.6 && d.temperature === 1, `${r} distills from the reference`);
  }
  assert.equal(calls.filter((c) => c.distill).length, 2);
  disposeParams(ref);
});

test('a real KD stage through lib/train: the student trains, the teacher does not change, KD compute is counted', async () => {
  const cfg: GPTConfig = makeConfig(REF, { nLayer: 4 });
  const teacher = fakeReference(cfg, 3);
  const before = bytes(teacher['transformer.h.2.attn.c_attn.weight']);
  const tokens = new Uint16Array(2000).map((_, i) => (i * 7 + (i >> 3)) % 40);
  const src = new MemoryTokenSource(tokens);
  const realTrain: StageTrainFn = async (_run, params, config, steps, distill) => {
    const r = await train({
      params, config, data: { train: src, val: src, batchSize: 2, blockSize: 8 }, maxSteps: steps, schedule: { lr: 1e-3 },
      eval: { interval: steps, fixedBatches: 1 }, progress: false, distill,
    });
    const last = r.history.evals[r.history.evals.length - 1];
    return { valLoss: last.valLoss ?? NaN, history: r.history, steps: r.steps, tokensPerStep: r.runConfig.tokensPerStep };
  };
  const spec = distillPlan(cfg, 2, 3).find((m) => m.key === 'kd-teacher-init')!;
  const res = await assertNoLeak(() => runMethod(spec, { params: teacher, config: cfg }, realTrain), 0, 'KD stage');
  assert.ok(Number.isFinite(res.valLoss) && res.valLoss !== res.valLossAtInit);
  assert.equal(res.flops, 6 * res.params * 2 * 16 + 2 * numParams(teacher) * 2 * 16);
  assert.deepEqual(bytes(teacher['transformer.h.2.attn.c_attn.weight']), before, 'the teacher changed');
  disposeParams(teacher);
});

test('verdicts are computed from the numbers', () => {
  const r = (key: MethodResult['key'], valLoss: number, steps = 10, flops = 100): MethodResult => ({
    key, seed: 5000, label: key, layers: 4, nEmbd: 32, init: '', usesReference: true, params: 1, nonEmbeddingParams: 1, stages: [],
    steps, tokens: steps, flops, valLossAtInit: 10, valLoss, notes: [],
  });
  const base = [r('inheritune', 3.0), r('random', 3.2), r('random-2x', 3.1, 20, 200), r('stacking', 3.15, 20, 150), r('hybrid-stacking', 3.05), r('half-width', 3.3)];
  const v = baselinesVerdict(base).join('\n');
  assert.match(v, /Inheritune beats every warm-start baseline; the best of them, hybrid-stacking, is 0\.050 nats worse/);
  assert.match(v, /Inheritune is better with half the steps/);
  assert.match(v, /1\.50x Inheritune's compute/);
  const v2 = baselinesVerdict([r('inheritune', 3.0), r('hybrid-stacking', 2.9), r('random-2x', 2.95)]).join('\n');
  assert.match(v2, /Unlike the paper, hybrid-stacking beats Inheritune by 0\.100/);
  assert.match(v2, /random init with twice the steps is better/);
  const a = ablationVerdict([r('inheritune', 3.0), r('attn+mlp', 2.99), r('attn+ln', 3.1), r('mlp+ln', 3.2)]).join('\n');
  assert.match(a, /As in the paper, inheriting attention and MLP together beats inheriting either alone, by 0\.110/);
  const k = distillVerdict([r('inheritune', 3.0), r('random', 3.1), r('kd-vanilla', 3.2), r('kd-teacher-init', 2.995)]).join('\n');
  assert.match(k, /does not beat kd-teacher-init by more than 0\.01/);
  assert.match(k, /Vanilla KD vs vanilla training: \+0\.100/);
});
