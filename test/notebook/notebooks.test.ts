// Every committed notebook executes headless at the `tiny` scale, and the regime-dependent ones (02-06) once more in
// the synthetic regime (INHERITUNE_REGIME=synth): scale and regime change numbers, never code paths. Notebook-specific
// checks of the exported HTML (a figure really draws offline, a table is there) use headless Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isRegimeNotebook, resolveNotebooks, runNotebooks } from '../../lib/notebook/runner';
import { findChromium, renderedDom } from '../../lib/viz/browser';
import { jupyterOrSkip } from './jupyter';
import { readClaimRecords } from '../../lib/report/claims';

const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'notebooks-tiny-'));
const startedAt = Date.now();
const synthDir = fs.mkdtempSync(path.join(os.tmpdir(), 'notebooks-tiny-synth-'));

for (const file of resolveNotebooks(undefined)) {
  const name = path.basename(file, '.ipynb');
  test(`notebook ${name} executes at tiny scale`, async (t) => {
    if (jupyterOrSkip(t)) return;
    const r = await runNotebooks({ notebooks: [file], outDir, scale: 'tiny', regime: 'owt-mini', capture: true });
    assert.equal(r.ok, true, `${name} failed:\n${r.stderr}`);
    assert.ok(fs.existsSync(path.join(outDir, `${name}.html`)));
  });
}

for (const file of resolveNotebooks(undefined).filter(isRegimeNotebook)) {
  const name = path.basename(file, '.ipynb');
  test(`notebook ${name} executes at tiny scale in the synth regime`, async (t) => {
    if (jupyterOrSkip(t)) return;
    const r = await runNotebooks({ notebooks: [file], outDir: synthDir, scale: 'tiny', regime: 'synth', capture: true });
    assert.equal(r.ok, true, `${name} (synth) failed:\n${r.stderr}`);
    assert.match(fs.readFileSync(path.join(synthDir, `${name}.html`), 'utf8'), /regime synth/, `${name} names its regime`);
  });
}

test('00-setup exported HTML draws its plotly figure offline and shows the arquero table', async (t) => {
  const html = path.join(outDir, '00-setup.html');
  if (!fs.existsSync(html)) return t.skip('00-setup was not executed');
  if (!findChromium()) {
    if (process.env.CI) assert.fail('chromium missing in CI');
    return t.skip('chromium not installed');
  }
  const dom = renderedDom(html);
  assert.match(dom, /class="main-svg"/, 'plotly drew an SVG (the bundle ran offline)');
  assert.match(dom, /float32 matMul throughput on/);
  assert.match(dom, /<th[^>]*>gflops<\/th>/, 'arquero table present');
  assert.match(dom, /backend: (wasm|node|node-gpu|cpu)/);
});

test('the executed notebooks wrote valid claim records for the report, linked to their executed copies', (t) => {
  const fresh = readClaimRecords('tiny').filter((r) => Date.parse(r.recordedAt) >= startedAt);
  const names = fresh.map((r) => r.notebook);
  if (!fs.existsSync(path.join(outDir, '01-attention-collapse-toy.html'))) return t.skip('the notebooks were not executed');
  for (const nb of resolveNotebooks(undefined).map((f) => path.basename(f, '.ipynb')).filter((n) => n !== '00-setup')) {
    assert.ok(names.includes(nb), `${nb} recorded its claims (got ${names.join(', ') || 'none'})`);
  }
  for (const r of fresh) {
    assert.ok(r.claims.length > 0, `${r.notebook}: claim rows`);
    const dir = r.regime === 'synth' ? synthDir : outDir;
    assert.equal(r.executedHtml && path.resolve(r.executedHtml), path.join(dir, `${r.notebook}.html`));
    // A "±" the report prints must say what it is (std over seeds, a difference's margin, or a stderr).
    for (const c of r.claims) if (c.ours.spread !== undefined) assert.ok(c.ours.spreadKind, `${r.notebook} '${c.quantity}': a spread without its kind`);
    // The report's acceptance: every claim row has its key figure (validated to exist in the record).
    for (const c of r.claims) assert.ok(c.figure, `${r.notebook} (${r.regime}) '${c.quantity}': no figure`);
  }
  // The regime-dependent notebooks recorded the synth regime too.
  for (const nb of resolveNotebooks(undefined).filter(isRegimeNotebook).map((f) => path.basename(f, '.ipynb'))) {
    assert.ok(fresh.some((r) => r.notebook === nb && r.regime === 'synth'), `${nb} recorded its synth claims`);
  }
});
