// Kill -9 at random moments through the CLI: `train` is started, killed (the whole process group, SIGKILL) after a
// seeded random delay, and resumed with --resume until it finishes; the final weights and the logged losses must
// equal those of an uninterrupted run bit for bit, and the run directory must hold no leftovers (stale lock,
// half-written checkpoints). Kept short: a 12-step tiny-4L run, three kills.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { Rng } from '../../lib/util/rng';
import { sha256File } from '../../lib/model/checksums';
import { CHECKPOINTS_DIR, listCheckpoints } from '../../lib/train/checkpoint';
import { REPO, runCli, tmpDir } from './helpers';

let dataRoot: string;
const ARGS = ['--preset', 'tiny-4L', '--data', 'toy', '--batch-size', '2', '--block-size', '16', '--eval-batches', '1',
  '--steps', '12', '--checkpoint-interval', '2', '--log-interval', '1', '--keep-checkpoints', '2', '--quiet'];

before(() => {
  dataRoot = tmpDir('kill-data');
  fs.mkdirSync(path.join(dataRoot, 'toy'));
  const ids = Uint16Array.from({ length: 20000 }, (_, i) => (i * 31 + (i % 17) * 211) % 50257);
  fs.writeFileSync(path.join(dataRoot, 'toy', 'train.bin'), Buffer.from(ids.buffer));
  fs.writeFileSync(path.join(dataRoot, 'toy', 'val.bin'), Buffer.from(ids.subarray(0, 4000).slice().buffer));
});

/**
 * Starts `train` in its own process group and SIGKILLs the group `extraMs` after train.csv holds `steps` logged
 * steps written by this process (train.csv is rewritten when training starts); steps = Infinity lets it finish.
 * Triggering on logged steps, not wall time, makes the kill land mid-training however fast the machine is.
 */
function runAndKill(args: string[], out: string, steps: number, extraMs: number): Promise<{ code: number | null; killed: boolean }> {
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(REPO, 'lib', 'cli', 'main.ts'), 'train', ...args], {
    cwd: REPO, env: { ...process.env, INHERITUNE_DATA: dataRoot }, stdio: ['ignore', 'ignore', fs.openSync(`${out}.stderr`, 'a')], detached: true,
  });
  let killed = false;
  let timer: NodeJS.Timeout | undefined;
  const csv = path.join(out, 'train.csv');
  const poll = setInterval(() => {
    if (timer || !Number.isFinite(steps) || !fs.existsSync(csv) || fs.statSync(csv).mtimeMs < started) return;
    if (losses(out).length < steps) return;
    timer = setTimeout(() => {
      killed = true;
      try {
        process.kill(-(child.pid as number), 'SIGKILL'); // tsx runs the CLI in a child process: kill them all
      } catch {
        /* already gone */
      }
    }, extraMs);
  }, 5);
  return new Promise((resolve) => child.once('exit', (code) => {
    clearInterval(poll);
    if (timer) clearTimeout(timer);
    resolve({ code, killed });
  }));
}

function losses(out: string): string[] {
  return fs.readFileSync(path.join(out, 'train.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').slice(0, 4).join(','));
}

test('train killed with SIGKILL at random moments, then resumed, ends bit-identical to an uninterrupted run', async () => {
  const ref = path.join(tmpDir('kill-ref'), 'run');
  const r = runCli(['train', ...ARGS, '--out', ref], { env: { INHERITUNE_DATA: dataRoot } });
  assert.equal(r.status, 0, r.stderr);
  const final = (out: string) => path.join(out, CHECKPOINTS_DIR, 'step-00000012', 'model.safetensors');

  const out = path.join(tmpDir('kill-run'), 'run');
  const rng = new Rng(2024);
  // Three kill points: after 2-4, 5-7 and 8-10 logged steps, plus 0-60 ms (a step, an evaluation or a checkpoint write).
  const targets = [2 + rng.int(3), 5 + rng.int(3), 8 + rng.int(3)];
  const kills: number[] = [];
  let done = false;
  for (let attempt = 0; attempt < 12 && !done; attempt++) {
    const args = [...ARGS, '--out', out, ...(attempt > 0 ? ['--resume'] : [])];
    const target = kills.length < targets.length ? targets[kills.length] : Infinity;
    const ms = rng.int(60);
    const res = await runAndKill(args, out, target, ms);
    if (res.killed) {
      kills.push(target);
      const logged = fs.existsSync(path.join(out, 'train.csv')) ? losses(out).length : 0;
      const cks = listCheckpoints(path.join(out, CHECKPOINTS_DIR)).join(' ') || 'none';
      console.log(`killed ${ms} ms after step ${target - 1} was logged: ${logged} steps logged, checkpoints ${cks}`);
    }
    else {
      const err = fs.existsSync(`${out}.stderr`) ? fs.readFileSync(`${out}.stderr`, 'utf8').slice(-1500) : '';
      assert.equal(res.code, 0, `attempt ${attempt} exited ${res.code}: ${err}`);
      done = true;
    }
  }
  assert.ok(done, 'the run finished');
  // A run that outpaces its kill point (it has to finish the remaining steps within 60 ms) counts no kill.
  assert.ok(kills.length >= 2, `killed after ${kills.join(', ')} logged steps`);
  assert.equal(sha256File(final(out)).sha256, sha256File(final(ref)).sha256, 'final weights are bit-identical');
  assert.deepEqual(losses(out), losses(ref), 'step, loss, lr and gradient norm of every step are identical');
  assert.ok(!fs.existsSync(path.join(out, '.lock')), 'the lock is released');
  const ck = path.join(out, CHECKPOINTS_DIR);
  assert.deepEqual(fs.readdirSync(ck).filter((n) => n.startsWith('.')), [], 'no half-written checkpoints are left');
  assert.deepEqual(listCheckpoints(ck), ['step-00000010', 'step-00000012']);
});
