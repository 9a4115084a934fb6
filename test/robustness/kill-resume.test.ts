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
 * Starts `train` in its own process group and, `ms` after this process began training (its train.csv is
 * (re)written at the start of training), SIGKILLs the group; ms = Infinity lets it finish.
 */
function runAndKill(args: string[], out: string, ms: number): Promise<{ code: number | null; killed: boolean }> {
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(REPO, 'lib', 'cli', 'main.ts'), 'train', ...args], {
    cwd: REPO, env: { ...process.env, INHERITUNE_DATA: dataRoot }, stdio: 'ignore', detached: true,
  });
  let killed = false;
  let timer: NodeJS.Timeout | undefined;
  const csv = path.join(out, 'train.csv');
  const poll = setInterval(() => {
    if (timer || !Number.isFinite(ms) || !fs.existsSync(csv) || fs.statSync(csv).mtimeMs < started) return;
    timer = setTimeout(() => {
      killed = true;
      try {
        process.kill(-(child.pid as number), 'SIGKILL'); // tsx runs the CLI in a child process: kill them all
      } catch {
        /* already gone */
      }
    }, ms);
  }, 10);
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
  const kills: number[] = [];
  let done = false;
  for (let attempt = 0; attempt < 12 && !done; attempt++) {
    const args = [...ARGS, '--out', out, ...(attempt > 0 ? ['--resume'] : [])];
    // Three kills at random moments of training (steps, evaluations, checkpoint writes), then a run to the end.
    const ms = kills.length < 3 ? 200 + rng.int(3000) : Infinity; // a run trains for ~3.5 s after train.csv appears
    const res = await runAndKill(args, out, ms);
    if (res.killed) {
      kills.push(ms);
      const logged = fs.existsSync(path.join(out, 'train.csv')) ? losses(out).length : 0;
      const cks = listCheckpoints(path.join(out, CHECKPOINTS_DIR)).join(' ') || 'none';
      console.log(`killed ${ms} ms into training: ${logged} steps logged, checkpoints ${cks}`);
    }
    else {
      assert.equal(res.code, 0, `attempt ${attempt} exited ${res.code}`);
      done = true;
    }
  }
  assert.ok(done, 'the run finished');
  assert.equal(kills.length, 3, `killed at ${kills.join(', ')} ms`);
  assert.equal(sha256File(final(out)).sha256, sha256File(final(ref)).sha256, 'final weights are bit-identical');
  assert.deepEqual(losses(out), losses(ref), 'step, loss, lr and gradient norm of every step are identical');
  assert.ok(!fs.existsSync(path.join(out, '.lock')), 'the lock is released');
  const ck = path.join(out, CHECKPOINTS_DIR);
  assert.deepEqual(fs.readdirSync(ck).filter((n) => n.startsWith('.')), [], 'no half-written checkpoints are left');
  assert.deepEqual(listCheckpoints(ck), ['step-00000010', 'step-00000012']);
});
