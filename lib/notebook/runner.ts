// Headless notebook execution at a chosen scale and data regime: executed copies and HTML go to
// results/notebooks/<scale>/<regime>/,
// never over the committed notebooks. The work is done by scripts/run_notebooks.py (Debian's nbclient), which
// stops at the first failing cell and prints its source and error.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Scale, currentScale } from '../scale';
import { Regime, currentRegime, regimeSlug } from '../experiments/regimes';
import { KERNEL_NAME, installKernel, jupyterEnv, repoRoot } from './kernel';

export const JUPYTER_PYTHON = '/usr/bin/python3';

export interface RunNotebooksOptions {
  /** Notebook paths or names (`01-attention-collapse-toy`); default: notebooksFor(regime), every one for owt-mini. */
  notebooks?: string[];
  scale?: Scale;
  /** Data regime (INHERITUNE_REGIME in the kernel); default currentRegime(). */
  regime?: Regime;
  /** Output folder; default results/notebooks/<scale>/<regime>. */
  outDir?: string;
  /** Seconds per cell before the run fails. */
  cellTimeout?: number;
  /** Extra environment for the kernel. */
  env?: Record<string, string>;
  /** Capture output instead of streaming it to this process's stdout/stderr. */
  capture?: boolean;
}

export interface RunNotebooksResult {
  ok: boolean;
  exitCode: number;
  outDir: string;
  notebooks: string[];
  stdout: string;
  stderr: string;
}

/** Throws with the fix if Debian's Jupyter pieces are missing. */
export function checkJupyter(): void {
  const probe = spawnSync(JUPYTER_PYTHON, ['-c', 'import nbclient, nbconvert, nbformat'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `${JUPYTER_PYTHON} cannot import nbclient/nbconvert/nbformat (${(probe.stderr || String(probe.error)).trim().split('\n').pop()}). ` +
        'Run `npm run setup` (it installs Debian\'s jupyter-nbconvert and python3-nbclient), or ' +
        '`apt-get install jupyter-nbconvert python3-nbclient`.',
    );
  }
}

/** Resolves names like `00-setup` or `notebooks/00-setup.ipynb` to paths; unknown names list the valid ones. */
export function resolveNotebooks(names: string[] | undefined, root = repoRoot()): string[] {
  const dir = path.join(root, 'notebooks');
  const all = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort() : [];
  if (!names || names.length === 0) return all.map((f) => path.join(dir, f));
  return names.map((n) => {
    if (fs.existsSync(n) && n.endsWith('.ipynb')) return path.resolve(n);
    const base = path.basename(n).replace(/\.ipynb$/, '');
    const hit = all.find((f) => f === `${base}.ipynb`) ?? all.find((f) => f.startsWith(base));
    if (!hit) throw new Error(`no notebook '${n}'; available: ${all.map((f) => f.replace(/\.ipynb$/, '')).join(', ')}`);
    return path.join(dir, hit);
  });
}

/** The notebooks whose numbers depend on the data regime (they train on labSetup()'s data): 02-06. */
export const REGIME_NOTEBOOKS = ['02-', '03-', '04-', '05-', '06-'];

export function isRegimeNotebook(file: string): boolean {
  const base = path.basename(file);
  return REGIME_NOTEBOOKS.some((p) => base.startsWith(p));
}

/**
 * The notebooks a run executes: the names given, else every notebook for owt-mini and the regime-dependent ones
 * (02-06) for any other regime (00, 01 and 07 do not read the regime; 07 evaluates GPT-2 text models).
 */
export function notebooksFor(names: string[] | undefined, regime: Regime, root = repoRoot()): string[] {
  const all = resolveNotebooks(names, root);
  if ((names && names.length) || regime === 'owt-mini') return all;
  return all.filter(isRegimeNotebook);
}

/** Executes notebooks headless; resolves with the outcome (never throws for a failing cell). */
export async function runNotebooks(opts: RunNotebooksOptions = {}): Promise<RunNotebooksResult> {
  const root = repoRoot();
  const scale = opts.scale ?? currentScale();
  const regime = opts.regime ?? currentRegime();
  const notebooks = notebooksFor(opts.notebooks, regime, root);
  const outDir = path.resolve(opts.outDir ?? path.join(root, 'results', 'notebooks', scale, regimeSlug(regime)));
  checkJupyter();
  installKernel(root);
  const args = [
    path.join(root, 'scripts', 'run_notebooks.py'),
    '--out', outDir,
    '--kernel', KERNEL_NAME,
    '--timeout', String(opts.cellTimeout ?? 3600),
    '--cwd', root,
    ...notebooks,
  ];
  // INHERITUNE_NOTEBOOK_OUT lets a notebook's claim record link to its executed copy (lib/report/claims).
  const env = jupyterEnv(root, { INHERITUNE_SCALE: scale, INHERITUNE_REGIME: regime, INHERITUNE_NOTEBOOK_OUT: outDir, ...(opts.env ?? {}) });
  return new Promise((resolve, reject) => {
    const child = spawn(JUPYTER_PYTHON, args, { cwd: root, env, stdio: opts.capture ? 'pipe' : 'inherit' });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ ok: code === 0, exitCode: code ?? 1, outDir, notebooks, stdout, stderr }),
    );
  });
}

/** Removes outputs and execution counts from committed notebooks (run before committing). Returns changed files. */
export function stripNotebookOutputs(files: string[]): string[] {
  const changed: string[] = [];
  for (const file of files) {
    const before = fs.readFileSync(file, 'utf8');
    const nb = JSON.parse(before) as { cells: Array<Record<string, unknown>> };
    for (const cell of nb.cells) {
      if (cell.cell_type === 'code') {
        cell.outputs = [];
        cell.execution_count = null;
      }
    }
    const after = JSON.stringify(nb, null, 1) + '\n';
    if (after !== before) {
      fs.writeFileSync(file, after);
      changed.push(file);
    }
  }
  return changed;
}
