// The authors' published GPT-2 training logs (reference/authors-logs/, MIT, from LLM-Inheritune commit 560611d):
// a strict parser and a catalog of the runs the notebooks compare with. One line per evaluation (every 1K steps):
//   step 1000: train loss 5.2189, val loss 5.2027            (OpenWebText)
//   step 1000: train loss 3.3227, val loss 3.3609, B_tok: 0.000061   (FineWeb-Edu)
// Several files log a step twice (a resumed run, or two writers in large_log.txt's tail): the LAST line of a step is
// kept, as reference/paper.md §10 does (its 100K values are the last lines), and the dropped lines are reported.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../notebook/kernel';
import { quote } from '../util/errors';

export interface AuthorsLogPoint {
  step: number;
  trainLoss: number;
  valLoss: number;
  /** FineWeb logs only. Not a token count: it reads 0.000061 at every step after 0, so nothing uses it as an axis. */
  bTok?: number;
  /** 1-based line in the file. */
  line: number;
}

export interface AuthorsLog {
  file: string;
  /** One point per step, sorted by step (the last line of a step logged twice). */
  points: AuthorsLogPoint[];
  /** Lines dropped because the same step was logged again later. */
  dropped: AuthorsLogPoint[];
}

const LINE = /^step (\d+): train loss (\d+(?:\.\d+)?), val loss (\d+(?:\.\d+)?)(?:, B_tok: (\d+(?:\.\d+)?))?$/;

/** Parses one log's text; any line that is not blank and not in the format is an error naming file and line. */
export function parseAuthorsLog(text: string, file = '<text>'): AuthorsLog {
  const byStep = new Map<number, AuthorsLogPoint>();
  const dropped: AuthorsLogPoint[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const m = LINE.exec(line);
    if (!m) {
      throw new Error(`${file}:${i + 1}: cannot parse ${quote(line)}; expected 'step N: train loss X, val loss Y' (optionally ', B_tok: Z')`);
    }
    const p: AuthorsLogPoint = { step: Number(m[1]), trainLoss: Number(m[2]), valLoss: Number(m[3]), line: i + 1 };
    if (m[4] !== undefined) p.bTok = Number(m[4]);
    if (!Number.isSafeInteger(p.step) || !Number.isFinite(p.trainLoss) || !Number.isFinite(p.valLoss)) {
      throw new Error(`${file}:${i + 1}: step or loss out of range in ${quote(line)}`);
    }
    const prev = byStep.get(p.step);
    if (prev) dropped.push(prev);
    byStep.set(p.step, p);
  });
  if (byStep.size === 0) throw new Error(`${file}: no 'step N: train loss X, val loss Y' line`);
  return { file, points: [...byStep.values()].sort((a, b) => a.step - b.step), dropped };
}

/** Where the logs are: reference/authors-logs of this checkout. */
export function authorsLogsDir(root = repoRoot()): string {
  return path.join(root, 'reference', 'authors-logs');
}

/** Reads and parses one log, `rel` relative to the logs folder (e.g. 'OpenWebText_logs/medium-scratch/medium_log.txt'). */
export function readAuthorsLog(rel: string, dir = authorsLogsDir()): AuthorsLog {
  const file = path.join(dir, rel);
  if (!fs.existsSync(file)) throw new Error(`authors' log ${rel} not found under ${dir} (it ships with the repository in reference/authors-logs/)`);
  return parseAuthorsLog(fs.readFileSync(file, 'utf8'), rel);
}

// ---- the runs -----------------------------------------------------------------------------------------------------

export interface AuthorsRun {
  /** Log file relative to reference/authors-logs. */
  file: string;
  label: string;
  /** Steps the run was scheduled for (its cosine ends there): the x-axis unit when made a fraction of training. */
  totalSteps: number;
  /** Tokens per optimizer step (paper F.2 via reference/paper.md §2: Medium 393,216; Large and XL 131,072). */
  tokensPerStep: number;
  dataset: 'OpenWebText' | 'FineWeb-Edu';
}

const MEDIUM = 393_216;
const OWT = 'OpenWebText_logs';
const med = (file: string, label: string, totalSteps = 100_000): AuthorsRun => ({ file: `${OWT}/${file}`, label, totalSteps, tokensPerStep: MEDIUM, dataset: 'OpenWebText' });

/** The GPT-2 Medium runs behind the claims the notebooks check (names from reference/paper.md §10). */
export const AUTHORS_RUNS = {
  'medium-24L': med('medium-scratch/medium_log.txt', 'Medium 24L reference (rand init)'),
  'medium-16L-rand': med('medium-scratch/medium_log-ly16.txt', 'Medium 16L rand init'),
  'medium-16L-rand-200k': med('medium-scratch/medium-200k_log.txt', 'Medium 16L rand init, 200K steps', 200_000),
  'medium-12L-ours': med('medium-scratch/medium-half-init_log.txt', 'Medium 12L Inheritune (round 1)'),
  'medium-14L-ours': med('medium-scratch/medium-init_14-.txt', 'Medium 14L Inheritune (round 2)'),
  'medium-16L-ours': med('medium-scratch/medium-init_ly.txt', 'Medium 16L Inheritune (round 3)'),
  'medium-half-width': med('Baselines/medium-baselines/medium_halfwdth.txt', 'Medium half-width 24L'),
  'medium-stacking': med('Baselines/medium-baselines/medium_stacking_2rnd.txt', 'Medium stacking 16L (round 2)'),
  'medium-hybrid-stacking': med('Baselines/medium-baselines/medium_hybridstacking.txt', 'Medium hybrid stacking 16L'),
  'medium-attn': med('medium-scratch/analysis/medium-attn.txt', 'Medium 16L, attention (+LN) inherited'),
  'medium-mlp': med('medium-scratch/analysis/medium-mlp.txt', 'Medium 16L, MLP (+LN) inherited'),
  'medium-attnmlp': med('medium-scratch/analysis/medium-attnmlp.txt', 'Medium 16L, attention + MLP (no LN) inherited'),
  'medium-kd': med('Baselines/KD/distill_medium.txt', 'Medium 16L vanilla KD', 50_000),
  'medium-kd-init': med('Baselines/KD/distill_medium_init.txt', 'Medium 16L KD + teacher init', 50_000),
} as const satisfies Record<string, AuthorsRun>;

export type AuthorsRunId = keyof typeof AUTHORS_RUNS;

/** Which authors' runs go beside which of our figures (keys are claim ids of lib/report/claims). */
export const AUTHORS_RUNS_FOR: Record<string, AuthorsRunId[]> = {
  'inheritune-matches-reference': ['medium-24L', 'medium-12L-ours', 'medium-14L-ours', 'medium-16L-ours', 'medium-16L-rand'],
  'baselines-order': ['medium-16L-ours', 'medium-half-width', 'medium-stacking', 'medium-hybrid-stacking', 'medium-16L-rand', 'medium-16L-rand-200k'],
  'submodule-ablation': ['medium-16L-ours', 'medium-attnmlp', 'medium-attn', 'medium-mlp'],
  distillation: ['medium-16L-ours', 'medium-kd', 'medium-kd-init', 'medium-16L-rand'],
};
