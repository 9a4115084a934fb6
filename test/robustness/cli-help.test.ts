// Issue 17, case 8: every CLI command answers --help (and -h) with its usage on stdout and exit code 0, before it
// starts anything (no backend, no notebook run, no training); an unknown command exits 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from './helpers';

const COMMANDS = ['notebooks', 'prepare', 'train', 'eval', 'rank', 'backend', 'kernel', 'strip-notebooks', 'help'];

test('every command answers --help with exit 0 and its usage', () => {
  for (const cmd of COMMANDS) {
    const r = runCli([cmd, '--help'], { timeoutMs: 60_000 });
    assert.equal(r.status, 0, `${cmd} --help: exit ${r.status}; ${r.stderr}`);
    assert.match(r.stdout, /usage|Usage/, `${cmd} --help prints a usage`);
  }
  const h = runCli(['backend', '-h']);
  assert.equal(h.status, 0, h.stderr);
  const bad = runCli(['nosuch']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown command 'nosuch'/);
});
