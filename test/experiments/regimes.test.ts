// The data regime dimension of the lab (lib/experiments/regimes.ts): selection by INHERITUNE_REGIME and --regime,
// clear errors for unknown regimes, the synthetic recipe applied to the setup, separate run and result folders, and
// the regime's dataset prepared on first use, deterministically.
import { SYNTHETIC_DATASETS } from '../../lib/data/synthetic';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LAB_REGIMES, currentRegime, parseRegime, regimeSlug } from '../../lib/experiments/regimes';
import { LAB_SETUPS, labData, labSetup, referenceConfig, referenceLabel, resultsDir, runDir, seedRunName, setupTag } from '../../lib/experiments/lab';
import { notebookRegimes, main } from '../../lib/cli/main';
import { notebooksFor } from '../../lib/notebook/runner';
import { isAligned } from '../../lib/data/windows';

test('INHERITUNE_REGIME: default owt-mini, synth, custom:<name>; an unknown regime names the valid ones', () => {
  assert.equal(currentRegime({}), 'owt-mini');
  assert.equal(currentRegime({ INHERITUNE_REGIME: '' }), 'owt-mini');
  assert.equal(currentRegime({ INHERITUNE_REGIME: 'synth' }), 'synth');
  assert.equal(currentRegime({ INHERITUNE_REGIME: ' SYNTH ' }), 'synth');
  assert.equal(currentRegime({ INHERITUNE_REGIME: 'custom:my-data' }), 'custom:my-data');
  assert.throws(() => currentRegime({ INHERITUNE_REGIME: 'synthetic' }),
    /INHERITUNE_REGIME 'synthetic' is not a regime; choose one of: owt-mini, synth, custom:<dataset name under data\/>/);
  assert.throws(() => parseRegime('custom:../etc'), /folder name under data/);
  assert.throws(() => parseRegime('custom:'), /folder name under data/);
  assert.equal(regimeSlug('custom:my-data'), 'custom-my-data');
});

test('--regime: one, several (comma-separated, deduplicated), else the environment; unknown names fail clearly', async () => {
  assert.deepEqual(notebookRegimes(undefined, { INHERITUNE_REGIME: 'synth' }), ['synth']);
  assert.deepEqual(notebookRegimes(undefined, {}), ['owt-mini']);
  assert.deepEqual(notebookRegimes('owt-mini,synth,synth'), ['owt-mini', 'synth']);
  assert.deepEqual(notebookRegimes('custom:abc'), ['custom:abc']);
  assert.throws(() => notebookRegimes('owt-mini,nope'), /--regime 'nope' is not a regime; choose one of: owt-mini, synth/);
  assert.throws(() => notebookRegimes(','), /--regime needs a value/);
  // Through the command: the error comes before any notebook runs.
  await assert.rejects(() => main(['notebooks', '--regime', 'bogus', '--scale', 'tiny']), /--regime 'bogus' is not a regime/);
});

test('labSetup: owt-mini is the scale\'s setup; synth applies LAB_REGIMES (shape, lr, wd, steps, seeds); custom only the dataset', () => {
  const owt = labSetup('lab', 'owt-mini');
  assert.deepEqual(owt, LAB_SETUPS.lab);
  assert.equal(referenceConfig(owt).nLayer, 12);
  assert.equal(referenceLabel(owt), 'lab-12L');
  assert.ok(owt.seeds.length >= 3, 'at least 3 seeds at lab');
  assert.ok(labSetup('tiny', 'owt-mini').seeds.length >= 2);
  for (const scale of ['tiny', 'lab', 'paper'] as const) {
    const s = labSetup(scale, 'synth');
    const o = LAB_REGIMES.synth[scale];
    const c = referenceConfig(s);
    assert.equal(s.regime, 'synth');
    assert.equal(s.dataset, o.dataset);
    assert.equal(s.windows, 'bos');
    assert.equal(c.nLayer, o.referenceShape?.nLayer);
    assert.equal(c.nEmbd, o.referenceShape?.nEmbd);
    assert.equal(c.nHead, o.referenceShape?.nHead);
    assert.equal(c.vocabSize, o.referenceShape?.vocabSize);
    assert.equal(c.scaleAttnByInverseLayerIdx, false);
    assert.equal(c.blockSize, s.blockSize);
    assert.equal(s.lr, o.lr);
    assert.equal(s.weightDecay, o.weightDecay);
    assert.equal(s.referenceSteps, o.referenceSteps);
    assert.deepEqual(s.seeds, o.seeds);
    assert.ok(s.blockSize <= 256, 'a BOS window must fit in one synthetic document (257 tokens)');
  }
  assert.equal(referenceLabel(labSetup('lab', 'synth')), '6L × 64, 2 heads, vocab 128');
  assert.equal(setupTag(labSetup('lab', 'synth')), 'lab, synth (synth-recall)');
  const custom = labSetup('lab', 'custom:mydata');
  assert.deepEqual({ ...custom, regime: 'owt-mini', dataset: 'owt-mini' }, LAB_SETUPS.lab);
  assert.equal(custom.dataset, 'mydata');
  // The result is a copy: changing it does not change LAB_SETUPS.
  labSetup('lab', 'owt-mini').seeds.push(1);
  assert.equal(LAB_SETUPS.lab.seeds.length, 3);
});

test('runs, results and executed notebooks of two regimes never share a folder; run names carry the seed', () => {
  const a = labSetup('tiny', 'owt-mini');
  const b = labSetup('tiny', 'synth');
  assert.notEqual(runDir(a, 'reference'), runDir(b, 'reference'));
  assert.match(runDir(b, 'reference'), /results[/\\]lab[/\\]tiny[/\\]synth[/\\]reference$/);
  assert.match(runDir(a, 'x'), /results[/\\]lab[/\\]tiny[/\\]owt-mini[/\\]x$/);
  assert.equal(resultsDir(b, '03-lazy-vs-potent'), path.join('results', '03-lazy-vs-potent', 'tiny', 'synth'));
  assert.equal(resultsDir(labSetup('tiny', 'custom:d'), '02-rank-profile'), path.join('results', '02-rank-profile', 'tiny', 'custom-d'));
  assert.equal(seedRunName('random-4L', 5001), 'random-4L-s5001');
  const names = (r: 'owt-mini' | 'synth') => notebooksFor(undefined, r).map((f) => path.basename(f, '.ipynb'));
  assert.ok(names('owt-mini').includes('00-setup') && names('owt-mini').includes('07-downstream-evals'));
  assert.deepEqual(names('synth'), names('owt-mini').filter((n) => /^0[2-6]-/.test(n)));
  assert.deepEqual(notebooksFor(['00-setup'], 'synth').map((f) => path.basename(f)), ['00-setup.ipynb']);
});

test('the synthetic regime\'s dataset is generated on first use, deterministically, with BOS windows', async () => {
  const s = labSetup('tiny', 'synth');
  const dirs = [fs.mkdtempSync(path.join(os.tmpdir(), 'regime-a-')), fs.mkdtempSync(path.join(os.tmpdir(), 'regime-b-'))];
  try {
    const [x, y] = [await labData(s, { dataDir: dirs[0] }), await labData(s, { dataDir: dirs[1] })];
    assert.equal(x.info.meta?.vocabSize, 128);
    // The file records the generator's recipe with the regime's overrides applied.
    const recipe = LAB_REGIMES.synth.tiny.datasetRecipe!;
    const expected = { ...SYNTHETIC_DATASETS[recipe.generator], ...recipe.overrides };
    const got = x.info.meta?.synthetic as { kind: string; triggerMass: number };
    assert.equal(got.kind, expected.kind);
    assert.equal(got.triggerMass, expected.triggerMass);
    assert.ok(isAligned(x.train) && isAligned(x.val));
    for (const f of ['train.bin', 'val.bin']) {
      assert.ok(fs.readFileSync(path.join(dirs[0], s.dataset, f)).equals(fs.readFileSync(path.join(dirs[1], s.dataset, f))), `${f} identical`);
    }
    const again = await labData(s, { dataDir: dirs[0] }); // up to date: reused
    assert.equal(again.info.tokens.train, x.info.tokens.train);
    for (const d of [x, y, again]) { d.train.close(); d.val.close(); }
  } finally {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
});
