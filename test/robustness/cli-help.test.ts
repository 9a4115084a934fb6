// Issue 17, case 8: every CLI command answers --help (and -h) with its usage on stdout and exit code 0, before it
// starts anything (no backend, no notebook run, no training); an unknown command exits 2. In process through main()
// for every command, plus real processes for the two that used to exit 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../lib/cli/main';
import { runCli } from './helpers';

const COMMANDS = ['notebooks', 'report', 'prepare', 'train', 'eval', 'rank', 'backend', 'kernel', 'strip-notebooks', 'help'];

async function captured(argv: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const log = console.log;
  const write = process.stdout.write;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  process.stdout.write = ((chunk: string | Uint8Array) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
  try {
    return { code: await main(argv), out: out.join('\n') };
  } finally {
    console.log = log;
    process.stdout.write = write;
  }
}

test('every command answers --help and -h with exit 0 and its usage (in process)', async () => {
  for (const cmd of COMMANDS) {
    for (const flag of ['--help', '-h']) {
      const r = await captured([cmd, flag]);
      assert.equal(r.code, 0, `${cmd} ${flag}`);
      assert.match(r.out, /usage|Usage/, `${cmd} ${flag} prints a usage`);
    }
  }
});

test('`notebooks --help` and `backend --help` exit 0 as processes; an unknown command exits 2', () => {
  for (const cmd of ['notebooks', 'backend']) {
    const r = runCli([cmd, '--help'], { timeoutMs: 60_000 });
    assert.equal(r.status, 0, `${cmd} --help: exit ${r.status}; ${r.stderr}`);
    assert.match(r.stdout, /^usage: /);
  }
  const bad = runCli(['nosuch']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown command 'nosuch'/);
});
