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
  ArmResult, ArmSummary, ArmTrainFn, InitArm, PAPER_TABLE4, armRank, groupArms, halfArms, histories, inheritRunName, layerGroups,
  layerHalves, layerRowsFromTable, randomRunName, referenceRankRows, runArms, saveSummary, summarizeArms,
  zoomOnFinish, buildArm, INIT_SEED, embeddingArm,
} from '../../lib/experiments/lazy-vs-potent';
import { lazyPotentVerdict, tableARows, tableBRows } from '../../lib/experiments/lazy-vs-potent-report';
import { spreadOf } from '../../lib/experiments/spread';
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

test('arms: run names (random-<k>L and inheritune-<k>L-r1 shared with notebook 04), roles, depths, the embedding-only control', () => {
  const a = groupArms(12);
  assert.deepEqual(a.map((x) => x.run), ['random-4L', 'init-layers-1-4', 'init-layers-5-8', 'init-layers-9-12', 'embedding-only-4L']);
  assert.deepEqual(a.map((x) => x.role), ['random', 'potent', 'potent', 'lazy', 'embedding']);
  assert.deepEqual(a.map((x) => x.label), ['random 4L', 'layers 1-4 (early)', 'layers 5-8 (middle)', 'layers 9-12 (deep)', 'embedding only 4L']);
  assert.ok(a.every((x) => x.nLayer === 4));
  const b = halfArms(12);
  assert.deepEqual(b.map((x) => x.run), ['random-6L', 'inheritune-6L-r1', 'init-layers-7-12', 'embedding-only-6L']);
  assert.deepEqual(b.map((x) => x.role), ['random', 'potent', 'lazy', 'embedding']);
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
  const trainFn: ArmTrainFn = async (run, params, config, seed) => {
    trained.push(run);
    assert.ok(run.endsWith(`-s${seed}`), run);
    const arm = [...groupArms(8), ...halfArms(8)].find((a) => `${a.run}-s${seed}` === run) as InitArm;
    assert.equal(config.nLayer, arm.nLayer);
    if (arm.role === 'embedding') assertBitEqual(params['transformer.wte.weight'], ref['transformer.wte.weight'], `${run} wte`);
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
  const results = await assertNoLeak(() => runArms(ref, REF, rows, arms, trainFn, { seeds: [11] }), 0, 'runArms');
  // tiny-8L: groups of 2 (random-2L, 1-2, 4-5, 7-8, embedding), halves of 4 (random-4L, first half, 5-8, embedding).
  assert.deepEqual(trained, arms.map((a) => `${a.run}-s11`));
  assert.equal(results.length, 9);
  for (const r of results) {
    assert.ok(Number.isFinite(r.valLoss) && Number.isFinite(r.valLossAtInit), r.run);
    assert.equal(r.steps, 3);
    assert.equal(r.reused, false);
    assert.equal(r.seed, 11);
  }
  assert.equal(results[1].avgRank, 7.5); // layers 1-2: MaxRank 8, 7
  assert.equal(results[3].copied, 'wte, block');
  assert.equal(results[4].copied, 'wte');
  assert.match(results[3].notes.join(' '), /6->0, 7->1/); // the deep group moves to blocks 0-1 (attention-scale note)
  assert.deepEqual(Object.keys(histories(results.slice(0, 4))), ['random 2L (seed 11)', 'layers 1-2 (early) (seed 11)', 'layers 4-5 (middle) (seed 11)', 'layers 7-8 (deep) (seed 11)']);

  // The same run twice: trained once, the result reused; two seeds: two runs per arm, summarized over seeds.
  trained.length = 0;
  const twice = await runArms(ref, REF, rows, [halfArms(8)[0], halfArms(8)[0]], trainFn, { seeds: [11, 12] });
  assert.deepEqual(trained, ['random-4L-s11', 'random-4L-s12']);
  assert.equal(twice.length, 4);
  assert.equal(twice[0].valLoss, twice[2].valLoss);
  const sum = summarizeArms(twice);
  assert.equal(sum.length, 1);
  assert.deepEqual(sum[0].seeds, [11, 12, 11, 12]);
  assert.equal(sum[0].run, 'random-4L');
  assert.ok(Math.abs(sum[0].valLoss.mean - (twice[0].valLoss + twice[1].valLoss) / 2) < 1e-12);
  await assert.rejects(() => runArms(ref, REF, rows, [halfArms(8)[0]], trainFn, { seeds: [] }), /at least one seed/);
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

/** Per-seed results of part A's four paper arms (and the control with `embedding`): loss ± `jitter` over 3 seeds. */
function fakeSeedResults(losses: { random: number; potent: number[]; lazy: number; embedding?: number }, lazyRank = 1.22, jitter = 0): ArmResult[] {
  const arms = groupArms(12).slice(0, losses.embedding === undefined ? 4 : 5);
  const loss = [losses.random, ...losses.potent, losses.lazy, losses.embedding ?? NaN];
  const ranks = [NaN, 8.4, 9.48, lazyRank, NaN];
  return arms.flatMap((a, i) => [-jitter, 0, jitter].map((d, k) => ({
    ...a, arm: a.run, run: `${a.run}-s${k}`, seed: k, avgRank: ranks[i], lazy: Math.floor(ranks[i]) === 1, valLoss: loss[i] + d, valLossAtInit: 10, steps: 1,
    history: { steps: [], evals: [] }, copied: '', notes: [], reused: false, timeMs: 0,
  })));
}
function fakeResults(losses: { random: number; potent: number[]; lazy: number; embedding?: number }, lazyRank = 1.22, jitter = 0): ArmSummary[] {
  return summarizeArms(fakeSeedResults(losses, lazyRank, jitter));
}

test('verdict: the paper\'s own Table 4 numbers reproduce; other patterns are called what they are', () => {
  const paper = lazyPotentVerdict(fakeResults({ random: 3.25, potent: [3.22, 3.19], lazy: 3.23 }), { paper: 'lazy −0.02' });
  assert.equal(paper.outcome, 'reproduces');
  assert.equal(paper.blocksOutcome, 'no control');
  assert.ok(Math.abs(paper.lazyVsRandom.delta + 0.02) < 1e-9 && Math.abs(paper.potentVsRandom.delta + 0.06) < 1e-9);
  assert.match(paper.lines[0], /max\(0\.01, std\(A\) \+ std\(B\)\)/);
  assert.match(paper.lines[1], /^Best potent arm \(layers 5-8 \(middle\)\) minus random: −0\.060 \(beyond the margin 0\.010\); layers 9-12 \(deep\) minus random: −0\.020 \(beyond the margin 0\.010\)/);
  assert.match(paper.lines[1], /\(paper: lazy −0\.02\)\.$/);
  assert.match(paper.lines.join('\n'), /the same order, as the paper's "higher AvgRank wins"\./);
  assert.ok(!paper.lines.join(' ').includes('Caveat'));

  const lazyHelps = lazyPotentVerdict(fakeResults({ random: 3.5, potent: [3.3, 3.2], lazy: 3.3 }));
  assert.equal(lazyHelps.outcome, 'partly');
  assert.ok(lazyHelps.potentBeatsLazy);
  assert.match(lazyHelps.lines.join(' '), /clearly better than random/);

  // Lazy as good as potent: the point of the claim (potent > lazy) fails.
  const lazyAsGood = lazyPotentVerdict(fakeResults({ random: 3.5, potent: [3.3, 3.2], lazy: 3.195 }));
  assert.equal(lazyAsGood.outcome, 'does not reproduce');
  assert.match(lazyAsGood.lines[2], /does NOT beat lazy init/);

  const nothing = lazyPotentVerdict(fakeResults({ random: 3.5, potent: [3.6, 3.55], lazy: 3.7 }, 2.5));
  assert.equal(nothing.outcome, 'does not reproduce');
  assert.equal(nothing.deepIsLazy, false);
  assert.match(nothing.lines.join(' '), /Caveat: our deep group \(layers 9-12\) has AvgRank 2\.50/);
  assert.match(nothing.lines.join(' '), /WORSE than random/);
  // Groups of nearly equal AvgRank (our lab reference): the order is reported but not read as evidence.
  const flatRanks = fakeResults({ random: 3.5, potent: [3.3, 3.2], lazy: 3.4 }, 5.5).map((r, i) => ({ ...r, avgRank: [NaN, 5.6, 5.45, 5.5][i] }));
  // The paper's pattern, but with a seed spread larger than the differences: nothing counts.
  const noisy = lazyPotentVerdict(fakeResults({ random: 3.25, potent: [3.22, 3.19], lazy: 3.23 }, 1.22, 0.05));
  assert.equal(noisy.potentVsRandom.outcome, 'tied');
  assert.ok(Math.abs(noisy.potentVsRandom.margin - 0.1) < 1e-9, `margin ${noisy.potentVsRandom.margin}`);
  assert.equal(noisy.outcome, 'does not reproduce');
  assert.match(noisy.lines.join(' '), /3 seeds per arm/);
  assert.match(lazyPotentVerdict(flatRanks).lines.join(' '), /AvgRanks differ by only 0\.15, so the order says little/);
  assert.throws(() => lazyPotentVerdict(fakeResults({ random: 3, potent: [3, 3], lazy: 3 }).slice(1)), /random, a lazy/);
});

test('verdict with the embedding-only control: the gain of the blocks is separated from the copied embedding', () => {
  // The embedding explains most of the gain; potent blocks add 0.05 to it, the deep blocks nothing: holds on blocks.
  const holds = lazyPotentVerdict(fakeResults({ random: 3.5, potent: [3.25, 3.3], lazy: 3.305, embedding: 3.3 }, 1.22, 0.005));
  assert.equal(holds.embeddingVsRandom?.outcome, 'lower');
  assert.deepEqual(holds.blocksVsEmbedding.map((b) => [b.label, b.diff.outcome]), [['layers 1-4 (early)', 'lower'], ['layers 5-8 (middle)', 'tied'], ['layers 9-12 (deep)', 'tied']]);
  assert.equal(holds.blocksOutcome, 'reproduces');
  assert.match(holds.lines.join('\n'), /the copied embedding alone explains part/);
  // Inherited arms are all exactly as good as the embedding alone: every block gain is tied, the claim fails on blocks.
  const embOnly = lazyPotentVerdict(fakeResults({ random: 3.5, potent: [3.3, 3.3], lazy: 3.3, embedding: 3.3 }));
  assert.equal(embOnly.blocksOutcome, 'does not reproduce');
  assert.match(embOnly.lines.join('\n'), /no potent block group adds to the embedding/);
  const rows = tableARows(fakeResults({ random: 3.5, potent: [3.25, 3.3], lazy: 3.31, embedding: 3.3 }, 1.22, 0.01));
  assert.equal(rows[4].init, 'embedding only 4L');
  assert.equal(rows[4]['paper init'], 'not in the paper');
  assert.ok(Math.abs((rows[1]['− embedding only'] as number) + 0.05) < 1e-9);
  assert.ok(Math.abs((rows[1].std as number) - 0.01) < 1e-9 && rows[1].seeds === 3 && Math.abs((rows[1].min as number) - 3.24) < 1e-9);
});

test('tables put the paper beside ours; the summary file drops histories and NaN', () => {
  const res = fakeResults({ random: 3.25, potent: [3.22, 3.19], lazy: 3.23 });
  const a = tableARows(res);
  assert.deepEqual(a.map((r) => r['paper val loss']), [3.25, 3.22, 3.19, 3.23]);
  assert.deepEqual(a.map((r) => r['paper AvgRank']), ['n/a', ...PAPER_TABLE4.groups.map((g) => g.avgRank)]);
  assert.ok(Math.abs((a[3]['− random'] as number) + 0.02) < 1e-9);
  const b = tableBRows([res[0], res[1], res[3]]);
  assert.deepEqual(b.map((r) => r['paper Medium 12L']), [3.36, 3.09, 3.34]);
  assert.deepEqual(b.map((r) => r['paper Large 18L']), [3.59, 3.17, 3.55]);
  const perSeed = fakeSeedResults({ random: 3.25, potent: [3.22, 3.19], lazy: 3.23 }).filter((r) => r.seed === 0);
  const withEvals = perSeed.map((r, i) => ({ ...r, steps: 200, history: { steps: [], evals: [{ step: 0, valLoss: 10, tokens: 0 }, { step: 100, valLoss: 5 + i, tokens: 0 }, { step: 200, valLoss: r.valLoss, tokens: 0 }] } }));
  const fig = zoomOnFinish(lossCurveFigure(histories(withEvals)), withEvals);
  const range = (fig.layout?.yaxis as { range: number[] }).range;
  assert.ok(Math.abs(range[0] - 3.09) < 1e-9 && Math.abs(range[1] - 8.3) < 1e-9, `y range ${range}`);
  // Only step 0 and the final evaluation: nothing to zoom on, the figure is unchanged.
  const ends = perSeed.map((r) => ({ ...r, steps: 200, history: { steps: [], evals: [{ step: 0, valLoss: 10, tokens: 0 }, { step: 200, valLoss: r.valLoss, tokens: 0 }] } }));
  const plain = lossCurveFigure(histories(ends));
  assert.equal(zoomOnFinish(plain, ends), plain);
  assert.match(String((fig.layout?.yaxis as { title: { text: string } }).title.text), /cross-entropy/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazy-potent-'));
  const file = saveSummary(dir, { partA: res });
  const back = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(back.partA[0].history, undefined);
  assert.equal(back.partA[0].avgRank, null);
  assert.equal(back.partA[3].valLoss.mean, 3.23);
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
