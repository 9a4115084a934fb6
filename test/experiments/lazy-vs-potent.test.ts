// Notebook 03's logic at tiny size: which layers each arm inherits, the AvgRank of each group, building and training
// arms (short real training through lib/train, no files), the computed verdict, the tables and the rank cache.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setupBackend, assertNoLeak } from '../helpers';
import { makeConfig } from '../../lib/model/config';
import { Params, disposeParams, initParams } from '../../lib/model/params';
import { MemoryTokenSource } from '../../lib/data/source';
import { train } from '../../lib/train/trainer';
import { lossCurveFigure } from '../../lib/train/plots';
import { LAB_SETUPS, LabData, LabSetup, TrainedModel } from '../../lib/experiments/lab';
import {
  ArmResult, ArmTrainFn, InitArm, PAPER_TABLE4, armRank, groupArms, halfArms, histories, inheritRunName, layerGroups,
  layerHalves, layerRowsFromTable, lazyPotentVerdict, randomRunName, referenceRankRows, runArms, saveSummary, tableARows,
  tableBRows, zoomOnFinish, buildArm, INIT_SEED,
} from '../../lib/experiments/lazy-vs-potent';
import { inheritModel } from '../../lib/inheritune/inherit';
import { fakeReference, assertBitEqual, valuesDiffer } from '../inheritune/fixtures';

before(() => setupBackend());

const REF = makeConfig('tiny-8L', { blockSize: 16, vocabSize: 64 }); // 8 layers, C = 32, scaled attention

test('groups: 12 layers -> 1-4, 5-8, 9-12 exactly; 8 -> 1-2, 4-5, 7-8; 24 -> thirds; halves', () => {
  assert.deepEqual(layerGroups(12), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]);
  assert.deepEqual(layerGroups(8), [[0, 1], [3, 4], [6, 7]]);
  assert.deepEqual(layerGroups(24).map((g) => [g[0], g[g.length - 1]]), [[0, 7], [8, 15], [16, 23]]);
  assert.deepEqual(layerHalves(12), { first: [0, 1, 2, 3, 4, 5], last: [6, 7, 8, 9, 10, 11] });
  assert.deepEqual(layerHalves(7), { first: [0, 1, 2], last: [4, 5, 6] });
  assert.throws(() => layerGroups(2), /at least 3 layers/);
  assert.throws(() => layerHalves(1), /at least 2 layers/);
});

test('arms: run names (random-<k>L and inheritune-<k>L-r1 shared with notebook 04), roles, depths', () => {
  const a = groupArms(12);
  assert.deepEqual(a.map((x) => x.run), ['random-4L', 'init-layers-1-4', 'init-layers-5-8', 'init-layers-9-12']);
  assert.deepEqual(a.map((x) => x.role), ['random', 'potent', 'potent', 'lazy']);
  assert.ok(a.every((x) => x.nLayer === 4));
  const b = halfArms(12);
  assert.deepEqual(b.map((x) => x.run), ['random-6L', 'inheritune-6L-r1', 'init-layers-7-12']);
  assert.deepEqual(b.map((x) => x.role), ['random', 'potent', 'lazy']);
  assert.equal(randomRunName(6), 'random-6L');
  assert.equal(inheritRunName([3, 4]), 'init-layers-4-5');
});

test('AvgRank of a group is the mean MaxRank; rows from a saved table (bigint indices) keep their values', () => {
  const rows = layerRowsFromTable([8, 9, 7, 9.6, 10, 9, 9.9, 9.4, 1, 1.5, 1.2, 1.18].map((m, i) => ({ layer: BigInt(i), maxRank: m, maxRankHead: 0 })));
  assert.equal(rows[3].layer, 3);
  assert.equal(rows[8].lazy, true);
  const [rand, g1, g2, g3] = groupArms(12).map((a) => armRank(rows, a));
  assert.ok(Number.isNaN(rand.avgRank));
  assert.ok(Math.abs(g1.avgRank - 8.4) < 1e-12 && !g1.lazy);
  assert.ok(Math.abs(g2.avgRank - 9.575) < 1e-12);
  assert.ok(Math.abs(g3.avgRank - 1.22) < 1e-12 && g3.lazy);
  assert.throws(() => layerRowsFromTable([{ layer: 'x', maxRank: 1 }]), /integer 'layer'/);
});

test('runArms: inherited blocks are the reference blocks, short real training, models disposed, repeated runs trained once', async () => {
  const ref = fakeReference(REF, 3);
  const rows = Array.from({ length: 8 }, (_, l) => ({ layer: l, maxRank: 8 - l }));
  const src = new MemoryTokenSource(Uint16Array.from({ length: 4000 }, (_, i) => (i * 7 + (i >> 3)) % 64));
  const trained: string[] = [];
  const trainFn: ArmTrainFn = async (run, params, config) => {
    trained.push(run);
    const arm = [...groupArms(8), ...halfArms(8)].find((a) => a.run === run) as InitArm;
    assert.equal(config.nLayer, arm.nLayer);
    if (arm.layers) {
      // Block j of the target is reference block arm.layers[j], bit for bit, before training.
      arm.layers.forEach((i, j) => assertBitEqual(params[`transformer.h.${j}.mlp.c_fc.weight`], ref[`transformer.h.${i}.mlp.c_fc.weight`], `${run} h.${j}`));
      assertBitEqual(params['transformer.wte.weight'], ref['transformer.wte.weight'], `${run} wte`);
    }
    const before = params['transformer.h.0.attn.c_attn.weight'].clone();
    const r = await train({
      params, config, data: { train: src, val: src, batchSize: 2, blockSize: 16 }, maxSteps: 3, seed: 5,
      schedule: { lr: 1e-3 }, eval: { interval: 0, fixedBatches: 1 }, progress: false,
    });
    assert.ok(valuesDiffer(before, params['transformer.h.0.attn.c_attn.weight']), `${run} was trained in place`);
    before.dispose();
    const last = r.history.evals[r.history.evals.length - 1];
    return { valLoss: last.valLoss as number, history: r.history, steps: r.steps, resumedFrom: r.resumedFrom };
  };
  const arms = [...groupArms(8), ...halfArms(8)];
  const results = await assertNoLeak(() => runArms(ref, REF, rows, arms, trainFn, { seed: 11 }), 0, 'runArms');
  // tiny-8L: groups of 2 (random-2L, 1-2, 4-5, 7-8), halves of 4 (random-4L, first half, 5-8): no run name repeats here.
  assert.deepEqual(trained, arms.map((a) => a.run));
  assert.equal(results.length, 7);
  for (const r of results) {
    assert.ok(Number.isFinite(r.valLoss) && Number.isFinite(r.valLossAtInit), r.run);
    assert.equal(r.steps, 3);
    assert.equal(r.reused, false);
  }
  assert.equal(results[1].avgRank, 7.5); // layers 1-2: MaxRank 8, 7
  assert.equal(results[3].copied, 'wte, block');
  assert.match(results[3].notes.join(' '), /6->0, 7->1/); // the deep group moves to blocks 0-1 (attention-scale note)
  assert.deepEqual(Object.keys(histories(results.slice(0, 4))), ['random 2L', 'layers 1-2', 'layers 4-5', 'layers 7-8 (deep)']);

  // The same run name twice: trained once, the result reused.
  trained.length = 0;
  const twice = await runArms(ref, REF, rows, [halfArms(8)[0], halfArms(8)[0]], trainFn, { seed: 11 });
  assert.deepEqual(trained, ['random-4L']);
  assert.equal(twice[0].valLoss, twice[1].valLoss);
  disposeParams(ref);
});

test('shared runs are built exactly as notebook 04 builds them (same seed, same tensors)', () => {
  const ref = fakeReference(REF, 5);
  const [rand, first] = halfArms(8);
  const a = buildArm(ref, REF, rand, INIT_SEED);
  const b = initParams(makeConfig(REF, { nLayer: 4 }), { seed: 5000 }); // notebook 04: trainRandomBaseline
  for (const k of Object.keys(b)) assertBitEqual(a.params[k], b[k], k);
  const c = buildArm(ref, REF, first, INIT_SEED);
  const d = inheritModel(ref, REF, { layers: 4, seed: 5000 }); // notebook 04 round 1 (restart mode)
  for (const k of Object.keys(d.params)) assertBitEqual(c.params[k], d.params[k], k);
  assert.deepEqual(c.manifest, d.manifest);
  for (const p of [a.params, b, c.params, d.params, ref]) disposeParams(p);
});

function fakeResults(losses: { random: number; potent: number[]; lazy: number }, lazyRank = 1.22): ArmResult[] {
  const arms = groupArms(12);
  const loss = [losses.random, ...losses.potent, losses.lazy];
  const ranks = [NaN, 8.4, 9.48, lazyRank];
  return arms.map((a, i) => ({
    ...a, avgRank: ranks[i], lazy: Math.floor(ranks[i]) === 1, valLoss: loss[i], valLossAtInit: 10, steps: 1,
    history: { steps: [], evals: [] }, copied: '', notes: [], reused: false, timeMs: 0,
  }));
}

test('verdict: the paper\'s own Table 4 numbers reproduce; other patterns are called what they are', () => {
  const paper = lazyPotentVerdict(fakeResults({ random: 3.25, potent: [3.22, 3.19], lazy: 3.23 }), { paper: 'lazy −0.02' });
  assert.equal(paper.outcome, 'reproduces');
  assert.ok(Math.abs(paper.lazyMinusRandom + 0.02) < 1e-9 && Math.abs(paper.potentGain - 0.06) < 1e-9);
  assert.match(paper.lines[0], /^layers 9-12 \(deep\) init minus random init = -0\.020 nats; layers 1-4 init minus random = -0\.030; layers 5-8 init minus random = -0\.060 \(paper: lazy −0\.02\)\.$/);
  assert.match(paper.lines.join('\n'), /the same order, as the paper's "higher AvgRank wins"\./);
  assert.ok(!paper.lines.join(' ').includes('Caveat'));

  const lazyHelps = lazyPotentVerdict(fakeResults({ random: 3.5, potent: [3.3, 3.2], lazy: 3.3 }));
  assert.equal(lazyHelps.outcome, 'partly');
  assert.ok(lazyHelps.potentBeatsLazy);
  assert.match(lazyHelps.lines.join(' '), /clearly better than random/);

  // Lazy as good as potent: the point of the claim (potent > lazy) fails.
  const lazyAsGood = lazyPotentVerdict(fakeResults({ random: 3.5, potent: [3.3, 3.2], lazy: 3.195 }));
  assert.equal(lazyAsGood.outcome, 'does not reproduce');
  assert.match(lazyAsGood.lines[1], /does NOT beat lazy init/);

  const nothing = lazyPotentVerdict(fakeResults({ random: 3.5, potent: [3.6, 3.55], lazy: 3.7 }, 2.5));
  assert.equal(nothing.outcome, 'does not reproduce');
  assert.equal(nothing.deepIsLazy, false);
  assert.match(nothing.lines.join(' '), /Caveat: our deep group \(layers 9-12\) has AvgRank 2\.50/);
  assert.match(nothing.lines.join(' '), /WORSE than random/);
  // Groups of nearly equal AvgRank (our lab reference): the order is reported but not read as evidence.
  const flatRanks = fakeResults({ random: 3.5, potent: [3.3, 3.2], lazy: 3.4 }, 5.5).map((r, i) => ({ ...r, avgRank: [NaN, 5.6, 5.45, 5.5][i] }));
  assert.match(lazyPotentVerdict(flatRanks).lines.join(' '), /AvgRanks differ by only 0\.15, so the order says little/);
  assert.throws(() => lazyPotentVerdict(fakeResults({ random: 3, potent: [3, 3], lazy: 3 }).slice(1)), /random, a lazy/);
});

test('tables put the paper beside ours; the summary file drops histories and NaN', () => {
  const res = fakeResults({ random: 3.25, potent: [3.22, 3.19], lazy: 3.23 });
  const a = tableARows(res);
  assert.deepEqual(a.map((r) => r['paper val loss']), [3.25, 3.22, 3.19, 3.23]);
  assert.deepEqual(a.map((r) => r['paper AvgRank']), ['n/a', ...PAPER_TABLE4.groups.map((g) => g.avgRank)]);
  assert.ok(Math.abs((a[3]['ours − random'] as number) + 0.02) < 1e-9);
  const b = tableBRows([res[0], res[1], res[3]]);
  assert.deepEqual(b.map((r) => r['paper Medium 12L']), [3.36, 3.09, 3.34]);
  assert.deepEqual(b.map((r) => r['paper Large 18L']), [3.59, 3.17, 3.55]);
  const withEvals = res.map((r, i) => ({ ...r, steps: 200, history: { steps: [], evals: [{ step: 0, valLoss: 10, tokens: 0 }, { step: 100, valLoss: 5 + i, tokens: 0 }, { step: 200, valLoss: r.valLoss, tokens: 0 }] } }));
  const fig = zoomOnFinish(lossCurveFigure(histories(withEvals)), withEvals);
  const range = (fig.layout?.yaxis as { range: number[] }).range;
  assert.ok(Math.abs(range[0] - 3.09) < 1e-9 && Math.abs(range[1] - 8.3) < 1e-9, `y range ${range}`);
  // Only step 0 and the final evaluation: nothing to zoom on, the figure is unchanged.
  const ends = res.map((r) => ({ ...r, steps: 200, history: { steps: [], evals: [{ step: 0, valLoss: 10, tokens: 0 }, { step: 200, valLoss: r.valLoss, tokens: 0 }] } }));
  const plain = lossCurveFigure(histories(ends));
  assert.equal(zoomOnFinish(plain, ends), plain);
  assert.match(String((fig.layout?.yaxis as { title: { text: string } }).title.text), /cross-entropy/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazy-potent-'));
  const file = saveSummary(dir, { partA: res });
  const back = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(back.partA[0].history, undefined);
  assert.equal(back.partA[0].avgRank, null);
  assert.equal(back.partA[3].valLoss, 3.23);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('reference ranks: measured and saved once, then loaded; a different reference is measured again', async () => {
  const cfg = makeConfig('tiny-4L', { blockSize: 16, vocabSize: 64 });
  const params: Params = initParams(cfg, { seed: 4 });
  const val = new MemoryTokenSource(Uint16Array.from({ length: 2000 }, (_, i) => (i * 13) % 64));
  const setup: LabSetup = { ...LAB_SETUPS.tiny, reference: 'tiny-4L', rankN: 2, rankT: 8 };
  const data = { info: {}, train: val, val } as unknown as LabData;
  const ref = { params, config: cfg, result: { steps: 5 }, valLoss: 0, dir: '' } as unknown as TrainedModel;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazy-potent-ranks-'));
  const a = await referenceRankRows(setup, data, ref, { dirs: [path.join(dir, 'none'), path.join(dir, 'r')], saveDir: path.join(dir, 'r') });
  assert.match(a.source, /measured now/);
  assert.equal(a.rows.length, 4);
  const b = await referenceRankRows(setup, data, ref, { dirs: [path.join(dir, 'r')], saveDir: path.join(dir, 'other') });
  assert.match(b.source, /loaded from/);
  assert.deepEqual(b.rows.map((r) => [r.layer, r.maxRank]), a.rows.map((r) => [r.layer, r.maxRank]));
  const moreSteps = { ...ref, result: { steps: 6 } } as unknown as TrainedModel;
  const c = await referenceRankRows(setup, data, moreSteps, { dirs: [path.join(dir, 'r')], saveDir: path.join(dir, 'other') });
  assert.match(c.source, /measured now/);
  disposeParams(params);
  fs.rmSync(dir, { recursive: true, force: true });
});
