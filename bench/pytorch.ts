// PyTorch on this machine, now, as the bench's yardstick (bench/pytorch_step.py), when Debian's python3-torch is
// installed; otherwise the bench falls back to the numbers issue 8 wrote down.
//
// BLAS: Debian's torch reaches OpenBLAS through the libblas.so.3 alternative, which its own install switches to the
// pthreads build. With 2 torch threads that build's threads fight torch's OpenMP team: config D measured 230 ms/step
// (min 103, max 515) against 63 ms with the OpenMP build (2026-11-22). So PyTorch is run with the same OpenMP
// OpenBLAS our addon links (LD_LIBRARY_PATH), its best configuration here, and the comparison is like for like.
import { execFileSync, spawnSync } from 'child_process';
import * as path from 'path';
import type { ConfigKey } from './common';

const ROOT = path.resolve(__dirname, '..');
// Read before anything loads our addon: lib/backend/native sets OMP_WAIT_POLICY=passive for our own OpenMP team
// (best for us), and PyTorch must not inherit it (passive costs it 30%: D 2 threads 62 -> 83 ms).
const USER_OMP_WAIT_POLICY = process.env.OMP_WAIT_POLICY;
const PYTHON = process.env.INHERITUNE_PYTHON ?? '/usr/bin/python3';

export interface TorchResult {
  stepsMs: number[];
  torch: string;
  blasDir: string | null;
}

export interface TorchRunner {
  available: boolean;
  /** Why PyTorch is not run, or which one runs. */
  detail: string;
  run(config: ConfigKey, threads: number, steps: number, warmup: number, budgetS: number): TorchResult | { error: string };
}

/** The directory of the OpenBLAS the addon links (from native/find-blas.sh), or null. */
function addonBlasDir(): string | null {
  try {
    const libs = execFileSync('sh', [path.join(ROOT, 'native', 'find-blas.sh'), 'libs'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const m = /-L(\S+)/.exec(libs);
    return m ? m[1] : null;
  } catch {
    return null;
  }
}

export function torchRunner(): TorchRunner {
  const probe = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const why = probe.error ? `${PYTHON} not found` : `${PYTHON} has no torch (apt-get install python3-torch)`;
    return { available: false, detail: why, run: () => ({ error: why }) };
  }
  const version = probe.stdout.trim();
  const blasDir = addonBlasDir();
  const env: NodeJS.ProcessEnv = { ...process.env, ...(blasDir ? { LD_LIBRARY_PATH: [blasDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') } : {}) };
  if (USER_OMP_WAIT_POLICY === undefined) delete env.OMP_WAIT_POLICY;
  else env.OMP_WAIT_POLICY = USER_OMP_WAIT_POLICY;
  return {
    available: true,
    detail: `PyTorch ${version} measured now${blasDir ? `, with the addon's OpenBLAS (${blasDir})` : ''}`,
    run(config, threads, steps, warmup, budgetS) {
      const args = [path.join(ROOT, 'bench', 'pytorch_step.py'), '--config', config, '--threads', String(threads), '--steps', String(steps), '--warmup', String(warmup), '--budget-s', String(budgetS)];
      const r = spawnSync(PYTHON, args, { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 16 << 20 });
      const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
      if (r.status !== 0 || !line) return { error: (r.stderr ?? '').trim().split('\n').pop() || `exit ${r.status}` };
      const out = JSON.parse(line.slice(7)) as { stepsMs: number[]; torch: string };
      return { stepsMs: out.stepsMs, torch: out.torch, blasDir };
    },
  };
}
