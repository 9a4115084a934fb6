// Issue 17's fuzz suite: seeded mutants of every format the lab reads from users — safetensors (nanoGPT and HF
// layouts), config.json, token files (.bin, llm.c shards, .npy), train checkpoints, eval task files — run through
// the public loaders. Each mutant must give a correct load (checked independently: finite values, shapes that fit
// the config, fields read as the file says, no checksummed byte altered, every eval line accounted for) or an
// Error with one bounded line; never a crash, a hang or silent garbage. Each family runs in a child process with a
// time limit, so a hang or a dead process is caught and named by its mutant. FUZZ_SEED / FUZZ_COUNT change the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO, tmpDir } from '../robustness/helpers';

const SEED = Number(process.env.FUZZ_SEED ?? 17);
const COUNT = Number(process.env.FUZZ_COUNT ?? 250);
const FAMILIES = ['safetensors', 'config', 'tokens', 'checkpoints', 'eval'];
const LIMIT_MS = 100_000; // per family; they take 5-25 s on a busy 2-core machine

for (const family of FAMILIES) {
  test(`fuzz ${family}: ${COUNT} mutants (seed ${SEED}), each a correct load or a one-line error`, () => {
    const work = path.join(tmpDir(`fuzz-${family}`), 'work');
    const r = spawnSync(process.execPath, [path.join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(__dirname, 'run-family.ts'), family, String(SEED), String(COUNT), work], {
      cwd: REPO, encoding: 'utf8', timeout: LIMIT_MS, env: { ...process.env, INHERITUNE_BACKEND: 'wasm' }, maxBuffer: 16 << 20,
    });
    const current = fs.existsSync(path.join(work, 'current')) ? fs.readFileSync(path.join(work, 'current'), 'utf8') : '?';
    const ops = fs.existsSync(path.join(work, 'ops.log')) ? fs.readFileSync(path.join(work, 'ops.log'), 'utf8').trim().split('\n') : [];
    const last = ops[ops.length - 1] ?? '(none)';
    assert.ok(r.signal !== 'SIGTERM', `hang: no answer within ${LIMIT_MS / 1000} s; mutant #${current} (${last})`);
    assert.equal(r.status, 0, `the fuzz process died (status ${r.status}, signal ${r.signal}) at mutant #${current} (${last}): ${r.stderr.slice(-2000)}`);
    const c = JSON.parse(r.stdout.trim().split('\n').pop() as string) as {
      family: string; mutants: number; loaded: number; refused: number; silent: number; crash: number; badError: number; failures: string[];
    };
    console.log(`fuzz ${c.family}: ${c.mutants} mutants: ${c.loaded} loaded correctly, ${c.refused} refused with a one-line error; ` +
      `${c.crash} crashes, 0 hangs, ${c.silent} silent acceptances, ${c.badError} unbounded or multi-line errors`);
    assert.ok(c.mutants >= 200 && c.mutants === COUNT, `${c.mutants} mutants`);
    assert.equal(c.loaded + c.refused + c.silent + c.crash + c.badError, c.mutants);
    assert.deepEqual(c.failures, [], c.failures.join('\n'));
    assert.equal(c.crash + c.silent + c.badError, 0);
    if (family !== 'eval') assert.ok(c.refused > 0, 'the mutants reach the loaders\' checks'); // eval: bad rows are reported, not thrown
  });
}
