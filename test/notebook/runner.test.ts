// The notebook runner must fail loudly: a type error or a throwing cell fails the run, names the cell, and stops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeNotebook } from '../../lib/notebook/ipynb';
import { runNotebooks, checkJupyter, resolveNotebooks } from '../../lib/notebook/runner';
import { jupyterOrSkip } from './jupyter';

function tmpNotebook(name: string, cells: Parameters<typeof writeNotebook>[1]): { file: string; out: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nb-test-'));
  const file = path.join(dir, `${name}.ipynb`);
  writeNotebook(file, cells);
  return { file, out: path.join(dir, 'out') };
}

test('a type error in a cell fails the run and names the cell', async (t) => {
  if (jupyterOrSkip(t)) return;
  const nb = tmpNotebook('type-error', [
    { code: 'const fine: number = 1;' },
    { code: "const wrong: number = 'not a number';" },
    { code: "console.log('must not run');" },
  ]);
  const r = await runNotebooks({ notebooks: [nb.file], outDir: nb.out, scale: 'tiny', capture: true });
  assert.equal(r.ok, false);
  assert.notEqual(r.exitCode, 0);
  assert.match(r.stderr, /FAILED at code cell 2/);
  assert.match(r.stderr, /Type 'string' is not assignable to type 'number'/);
  assert.doesNotMatch(r.stdout, /cell 3\/3/);
  assert.ok(fs.existsSync(path.join(nb.out, 'type-error.ipynb')), 'partial executed copy is kept for inspection');
});

test('a throwing cell fails the run with its message', async (t) => {
  if (jupyterOrSkip(t)) return;
  const nb = tmpNotebook('throws', [{ code: "throw new Error('boom from cell 1');" }, { code: 'console.log(1);' }]);
  const r = await runNotebooks({ notebooks: [nb.file], outDir: nb.out, scale: 'tiny', capture: true });
  assert.equal(r.ok, false);
  assert.match(r.stderr, /FAILED at code cell 1/);
  assert.match(r.stderr, /boom from cell 1/);
});

test('the kernel starts at the repository root and receives the scale', async (t) => {
  if (jupyterOrSkip(t)) return;
  const nb = tmpNotebook('root', [
    { code: "import { currentScale } from './lib/scale';\nif (currentScale() !== 'tiny') throw new Error('scale ' + currentScale());" },
    { code: "import * as fs from 'fs';\nif (!fs.existsSync('package.json')) throw new Error('cwd is ' + process.cwd());" },
  ]);
  const r = await runNotebooks({ notebooks: [nb.file], outDir: nb.out, scale: 'tiny', capture: true });
  assert.equal(r.ok, true, r.stderr);
});

test('unknown notebook names list the available ones', () => {
  assert.throws(() => resolveNotebooks(['no-such-notebook']), /no notebook 'no-such-notebook'; available: 00-setup/);
});

test('checkJupyter explains how to install what is missing', (t) => {
  try {
    checkJupyter();
  } catch (e) {
    assert.match((e as Error).message, /npm run setup/);
    return;
  }
  t.diagnostic('jupyter present; message path not exercised');
});
