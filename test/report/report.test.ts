// The report: assembled from claim records alone, "not run" where a notebook recorded nothing, rebuilt
// incrementally (one changed record changes only its claim's section), ONE plotly bundle, and every figure drawn in
// headless Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ClaimRow, claimRecordPath, combineSeeds, readClaimRecords, recordClaims } from '../../lib/report/claims';
import { buildReport } from '../../lib/report/build';
import { oursText } from '../../lib/report/assemble';
import { ablationClaims, distillClaims } from '../../lib/report/paper-claims';
import type { MethodResult } from '../../lib/experiments/baselines';
import { lossCurveFigure } from '../../lib/train/plots';
import { rankHeatmapFigure } from '../../lib/viz/rank-figures';
import { overlayAuthorsCurves } from '../../lib/viz/authors-overlay';
import { AUTHORS_RUNS_FOR } from '../../lib/report/authors-logs';
import { plotlyBundle } from '../../lib/viz/plotly';
import { findChromium, renderedDom } from '../../lib/viz/browser';
import { tmpDir } from '../data/tmp';

const history = (base: number) => ({
  steps: [0, 1, 2, 3].map((s) => ({ step: s, loss: base - s * 0.1, lr: 1e-3, gradNorm: 1, tokensPerSec: 1, ms: 1 })),
  evals: [0, 2, 4].map((s) => ({ step: s, valLoss: base - s * 0.05, tokens: s * 100 })),
});

// The lab numbers the README reports for notebook 06 (8 layers, 200 steps).
function method(key: string, label: string, valLoss: number): MethodResult {
  return { key, label, layers: 8, nEmbd: 128, steps: 4, valLoss, valLossAtInit: 9, flops: 1, tokens: 1, stages: [], notes: [], history: history(valLoss) } as unknown as MethodResult;
}
const ablation = [method('inheritune', 'Inheritune', 6.413), method('attn+mlp', 'attn+MLP', 6.413), method('attn+ln', 'attn+LN', 6.467), method('mlp+ln', 'MLP+LN', 6.426)];
const kd = [method('inheritune', 'Inheritune', 6.413), method('kd-teacher-init', 'KD + teacher init', 6.364), method('kd-vanilla', 'vanilla KD', 6.657), method('random', 'random init', 6.838)];

function fakeRepo(): string {
  const root = tmpDir('report');
  fs.mkdirSync(path.join(root, 'notebooks'));
  for (const nb of ['01-attention-collapse-toy', '02-rank-profile', '06-ablations-and-distillation']) {
    fs.writeFileSync(path.join(root, 'notebooks', `${nb}.ipynb`), JSON.stringify({ cells: [{ cell_type: 'code', source: [`// ${nb}`] }] }));
  }
  return root;
}

const toyRow: ClaimRow = {
  claim: 'toy-collapse', quantity: 'Demo 2: average k* after 10 steps', paper: { text: '45.25 → 1.00 by step 500', value: 1 },
  ours: { value: 1 }, verdict: { status: 'reproduces', text: 'Demo 2 reproduces.' }, figure: 'traj',
};

function writeRecords(root: string): void {
  recordClaims({ root, notebook: '01-attention-collapse-toy', scale: 'tiny', regime: null, claims: [toyRow], figures: { traj: lossCurveFigure(history(40), { title: 'toy' }) } });
  const heads = [0, 1, 2].flatMap((layer) => [0, 1].map((head) => ({ layer, head, rank: 1 + layer + head })));
  recordClaims({
    root, notebook: '02-rank-profile', scale: 'tiny', regime: 'owt-mini', figures: { heat: rankHeatmapFigure(heads, { title: 'Rank(h,l)' }) },
    claims: [{ claim: 'lazy-deep-layers', quantity: 'layers with MaxRank = 1', paper: { text: '3 of the last 12 (Fig. 8)', value: 3 }, ours: { value: 0, text: '0 of 3' }, verdict: { status: 'does not reproduce', text: 'No layer is exactly rank-1.' }, figure: 'heat' }],
  });
  for (const regime of ['owt-mini', 'synth']) {
    const abl = overlayAuthorsCurves(lossCurveFigure({ Inheritune: history(6.4) }), AUTHORS_RUNS_FOR['submodule-ablation'], { scale: 'tiny', ourTotalSteps: 4 });
    recordClaims({
      root, notebook: '06-ablations-and-distillation', scale: 'tiny', regime,
      claims: [...ablationClaims(ablation, 'ablation'), ...distillClaims(kd, 'kd')],
      figures: { ablation: abl, kd: lossCurveFigure({ KD: history(6.6) }) },
    });
  }
}

const section = (html: string, id: string) => {
  const m = new RegExp(`<section class="claim" id="claim-${id}">[\\s\\S]*?</section>`).exec(html);
  assert.ok(m, `section ${id}`);
  return m[0];
};

test('claim rows from the lab numbers of notebook 06: verdicts computed, paper numbers from Table 3 and Fig. 17', () => {
  const a = ablationClaims(ablation);
  assert.equal(a[0].ours.value, 0.013);
  assert.equal(a[0].paper.value, 0.04);
  assert.equal(a[0].verdict.status, 'reproduces');
  assert.equal(a[1].ours.value, 0);
  const d = distillClaims(kd);
  assert.deepEqual(d.map((r) => [r.ours.value, r.paper.value, r.verdict.status]), [
    [-0.049, 0.116, 'does not reproduce'], [0.244, 0.107, 'reproduces'], [0.425, 0.059, 'reproduces'],
  ]);
});

test('the report shows every claim; cells without a record say "not run", never a number', () => {
  const root = fakeRepo();
  writeRecords(root);
  const rep = buildReport({ scale: 'tiny', root });
  assert.deepEqual(rep.model.regimes, ['owt-mini', 'synth']);
  const html = fs.readFileSync(rep.html, 'utf8');
  const md = fs.readFileSync(rep.md, 'utf8');
  for (const id of ['lazy-vs-potent', 'inheritune-matches-reference', 'baselines-order', 'downstream-evals']) {
    const s = section(html, id);
    assert.match(s, /not run/);
    assert.doesNotMatch(s.replace(/<script[\s\S]*?<\/script>/g, '').replace(/<h4>The authors[\s\S]*/, ''), /<td>[-+]?\d/, `${id}: no number in a cell`);
  }
  // 02 ran for owt-mini only: synth says not run; the toy (no data) fills both columns.
  const rank = rep.model.sections.find((s) => s.claim.id === 'lazy-deep-layers')!;
  assert.deepEqual(rank.entries.map((e) => e.status), ['does not reproduce', undefined]);
  const toy = rep.model.sections.find((s) => s.claim.id === 'toy-collapse')!;
  assert.deepEqual(toy.entries.map((e) => e.status), ['reproduces', 'reproduces']);
  assert.match(md, /\| Deep layers of trained GPT-2 are lazy \(MaxRank ≈ 1\) \| 02-rank-profile \| does not reproduce \| not run \|/);
  assert.match(md, /\| Inheritune beats knowledge distillation \| 06-ablations-and-distillation \| partly \| partly \|/);
  // Forcing a third regime adds a column of "not run".
  const three = buildReport({ scale: 'tiny', root, regimes: ['owt-mini', 'synth', 'synth-iid'] });
  assert.ok(three.model.sections.filter((s) => s.claim.id !== 'toy-collapse').every((s) => s.entries[2].status === undefined));
  // One plotly bundle for the whole page.
  const probe = plotlyBundle().slice(0, 300);
  assert.equal(html.split(probe).length - 1, 1, 'exactly one plotly bundle');
  assert.equal(rep.figures, (html.match(/class="inheritune-figure"/g) ?? []).length);
});

test('rebuilding after one notebook changed its record changes only that claim\'s section', () => {
  const root = fakeRepo();
  writeRecords(root);
  const before = fs.readFileSync(buildReport({ scale: 'tiny', root }).html, 'utf8');
  const toyFile = claimRecordPath('01-attention-collapse-toy', 'tiny', null, root);
  const toyMtime = fs.statSync(toyFile).mtimeMs;
  // Notebook 02 reruns and finds one rank-1 layer; nothing else runs.
  const rec = readClaimRecords('tiny', root).find((r) => r.notebook === '02-rank-profile')!;
  recordClaims({ root, notebook: '02-rank-profile', scale: 'tiny', regime: 'owt-mini', figures: rec.figures,
    claims: [{ ...rec.claims[0], ours: { value: 1, text: '1 of 3' } }] });
  const after = fs.readFileSync(buildReport({ scale: 'tiny', root }).html, 'utf8');
  assert.notEqual(section(after, 'lazy-deep-layers'), section(before, 'lazy-deep-layers'));
  assert.match(section(after, 'lazy-deep-layers'), /1 — 1 of 3/);
  for (const id of ['toy-collapse', 'lazy-vs-potent', 'inheritune-matches-reference', 'baselines-order', 'submodule-ablation', 'distillation', 'downstream-evals']) {
    assert.equal(section(after, id), section(before, id), `${id} unchanged`);
  }
  assert.equal(fs.statSync(toyFile).mtimeMs, toyMtime, 'other records are not rewritten');
});

test('stale records, executed-notebook links, and refused records', () => {
  const root = fakeRepo();
  const outDir = path.join(root, 'results', 'notebooks', 'tiny');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, '01-attention-collapse-toy.html'), '<html></html>');
  process.env.INHERITUNE_NOTEBOOK_OUT = outDir;
  try {
    recordClaims({ root, notebook: '01-attention-collapse-toy', scale: 'tiny', regime: null, claims: [{ ...toyRow, figure: undefined }] });
  } finally {
    delete process.env.INHERITUNE_NOTEBOOK_OUT;
  }
  let rep = buildReport({ scale: 'tiny', root });
  const toy = () => rep.model.sections.find((s) => s.claim.id === 'toy-collapse')!.entries[0];
  assert.equal(toy().executedLink, 'notebooks/tiny/01-attention-collapse-toy.html');
  assert.equal(toy().staleNote, undefined);
  fs.writeFileSync(path.join(root, 'notebooks', '01-attention-collapse-toy.ipynb'), JSON.stringify({ cells: [{ cell_type: 'code', source: ['// edited'] }] }));
  rep = buildReport({ scale: 'tiny', root });
  assert.match(toy().staleNote ?? '', /changed after this record/);

  const bad = (claims: ClaimRow[], figures = {}) => () => recordClaims({ root, notebook: '02-rank-profile', scale: 'tiny', regime: 'owt-mini', claims, figures });
  assert.throws(bad([{ ...toyRow, figure: undefined, ours: { value: NaN } }]), /ours\.value .* is not a finite number/);
  assert.throws(bad([{ ...toyRow, claim: 'nonsense' as ClaimRow['claim'], figure: undefined }]), /unknown claim "nonsense"/);
  const badKind = { value: 1, spread: 0.1, spreadKind: 'sigma' } as unknown as ClaimRow['ours'];
  assert.throws(bad([{ ...toyRow, figure: undefined, ours: badKind }]), /ours\.spreadKind "sigma"; expected one of std, margin, stderr/);
  assert.throws(bad([toyRow]), /figure "traj" is not in the record's figures/);
  assert.throws(() => recordClaims({ root, notebook: 'x', scale: 'tiny', regime: 'Bad Name', claims: [] }), /bad regime/);
  const file = claimRecordPath('02-rank-profile', 'tiny', 'owt-mini', root);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '{"format": "inheritune-claims/1", "notebook": "02-rank');
  assert.throws(() => buildReport({ scale: 'tiny', root }), /results\/02-rank-profile\/tiny\/claims-owt-mini\.json: not valid JSON/);
});

test('every figure of the report draws in headless Chromium (an SVG with its data traces)', (t) => {
  if (!findChromium()) {
    if (process.env.CI) assert.fail('chromium missing in CI');
    return t.skip('chromium not installed');
  }
  const root = fakeRepo();
  writeRecords(root);
  const rep = buildReport({ scale: 'tiny', root });
  const html = fs.readFileSync(rep.html, 'utf8');
  const ids = [...html.matchAll(/<div id="([^"]+)" class="inheritune-figure"/g)].map((m) => m[1]);
  // toy, heatmap, ablation overlay and KD for each of 2 regimes, the authors' curves for 04, 05 (no record) and
  // distillation (no overlay recorded).
  assert.equal(ids.length, 9);
  const dom = renderedDom(rep.html, 20000);
  const starts = ids.map((id) => dom.indexOf(`<div id="${id}"`));
  assert.ok(starts.every((s) => s >= 0), 'every figure div is in the DOM');
  const order = [...starts].sort((a, b) => a - b);
  ids.forEach((id, i) => {
    const from = starts[i];
    const to = order.find((s) => s > from) ?? dom.length;
    const part = dom.slice(from, to);
    assert.match(part, /class="main-svg"/, `${id}: plotly drew an SVG`);
    const traces = (part.match(/class="(?:trace [a-z]+|hm)[" ]/g) ?? []).length;
    assert.ok(traces >= 1, `${id}: ${traces} data traces drawn`);
    assert.match(part, /d="M[\d.]/, `${id}: a drawn path`);
  });
});

test('combineSeeds: mean, sample std and the seeds\' common verdict, or "partly" when they disagree', () => {
  const row = (v: number, status: ClaimRow['verdict']['status']): ClaimRow => ({ ...toyRow, figure: undefined, ours: { value: v }, verdict: { status, text: `v=${v}` } });
  const agree = combineSeeds([[row(1, 'reproduces')], [row(2, 'reproduces')], [row(3, 'reproduces')]]);
  assert.deepEqual([agree[0].ours.value, agree[0].ours.spread, agree[0].ours.seeds, agree[0].verdict.status], [2, 1, 3, 'reproduces']);
  assert.equal(agree[0].ours.spreadKind, 'std');
  assert.equal(oursText(agree[0]), '2 ± 1 std (3 seeds)');
  assert.equal(combineSeeds([[row(1, 'reproduces')]])[0].ours.spreadKind, undefined, 'one seed: no spread, no kind');
  const split = combineSeeds([[row(1, 'reproduces')], [row(2, 'does not reproduce')]]);
  assert.equal(split[0].verdict.status, 'partly');
  assert.match(split[0].verdict.text, /1 reproduces, 1 does not reproduce/);
  assert.throws(() => combineSeeds([[row(1, 'reproduces')], [{ ...row(1, 'reproduces'), quantity: 'other' }]]), /seed 2: row 1 is not/);
});

test('`report` command: rebuilds from the records under results/ with the regimes asked for', async () => {
  const { main } = await import('../../lib/cli/main');
  const out = tmpDir('report-cli');
  const log = console.log;
  console.log = () => undefined;
  let code: number;
  try {
    code = await main(['report', '--scale', 'tiny', '--out', out, '--regimes', 'owt-mini,synth']);
  } finally {
    console.log = log;
  }
  assert.equal(code, 0);
  const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
  assert.match(md, /\| claim \| notebook \| owt-mini \| synth \|/);
  assert.ok(fs.statSync(path.join(out, 'report.html')).size > 4e6, 'the plotly bundle is inside');
  await assert.rejects(() => main(['report', 'extra']), /no positional arguments/);
  await assert.rejects(() => main(['report', '--regimes', 'owt-mini,x y']), /--regimes entry 'x y' is not a regime/);
});
