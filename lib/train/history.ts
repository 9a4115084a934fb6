// The record of a run: one StepLog per optimizer step, one EvalLog per evaluation, and the files they go to under the
// run directory (results/<experiment>/<run>/): config.json (the run config), train.csv, eval.csv. The CSVs hold full
// float precision (String(x)), so curves read back from disk equal the in-memory history.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/fs';

export interface StepLog {
  /** 0-based index of the update (the lr schedule's `it`). */
  step: number;
  /** Mean training loss over the step's micro-batches, before the update. */
  loss: number;
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  tokensPerSec: number;
  /** Wall time of the step (forward, backward, update; evaluation and checkpoints excluded). */
  ms: number;
  /** True when the loss-spike guard skipped the update. */
  skipped?: boolean;
}

export interface EvalLog {
  /** Number of updates done when evaluated (0 = the initial model). */
  step: number;
  /** Primary validation loss: the fixed batches if any, else the random estimate. */
  valLoss?: number;
  valLossFixed?: number;
  valLossRandom?: number;
  trainLoss?: number;
  /** Training tokens seen so far. */
  tokens: number;
}

export interface History {
  steps: StepLog[];
  evals: EvalLog[];
}

export const TRAIN_CSV = 'train.csv';
export const EVAL_CSV = 'eval.csv';
export const RUN_CONFIG = 'config.json';

const TRAIN_COLUMNS = ['step', 'loss', 'lr', 'grad_norm', 'tokens_per_s', 'ms', 'skipped'];
const EVAL_COLUMNS = ['step', 'val_loss', 'val_loss_fixed', 'val_loss_random', 'train_loss', 'tokens'];

function num(x: number | undefined): string {
  return x === undefined ? '' : String(x);
}

function trainRow(s: StepLog): string {
  return [s.step, s.loss, s.lr, s.gradNorm, s.tokensPerSec, s.ms].map(num).join(',') + `,${s.skipped ? 1 : 0}\n`;
}

function evalRow(e: EvalLog): string {
  return [e.step, e.valLoss, e.valLossFixed, e.valLossRandom, e.trainLoss, e.tokens].map(num).join(',') + '\n';
}

/** Appends to the CSV logs of a run directory. */
export class RunLogs {
  constructor(readonly dir: string) {}

  /** Writes config.json and (re)writes both CSVs from `history` (empty for a fresh run; the checkpoint's on resume). */
  start(runConfig: unknown, history: History): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const put = (name: string, text: string) => writeFileAtomic(path.join(this.dir, name), (fd) => fs.writeSync(fd, text));
    put(RUN_CONFIG, `${JSON.stringify(runConfig, null, 2)}\n`);
    put(TRAIN_CSV, `${TRAIN_COLUMNS.join(',')}\n${history.steps.map(trainRow).join('')}`);
    put(EVAL_CSV, `${EVAL_COLUMNS.join(',')}\n${history.evals.map(evalRow).join('')}`);
  }

  appendSteps(entries: StepLog[]): void {
    if (entries.length) fs.appendFileSync(path.join(this.dir, TRAIN_CSV), entries.map(trainRow).join(''));
  }

  appendEval(e: EvalLog): void {
    fs.appendFileSync(path.join(this.dir, EVAL_CSV), evalRow(e));
  }
}

/** Reads train.csv / eval.csv back (e.g. to plot a finished run). Empty cells become undefined. */
export function readHistory(dir: string): History {
  const rows = (file: string): Record<string, number | undefined>[] => {
    const p = path.join(dir, file);
    if (!fs.existsSync(p)) return [];
    const [head, ...lines] = fs.readFileSync(p, 'utf8').split('\n').filter((l) => l.length > 0);
    const cols = head.split(',');
    return lines.map((l) => {
      const cells = l.split(',');
      const r: Record<string, number | undefined> = {};
      cols.forEach((c, i) => (r[c] = cells[i] === '' || cells[i] === undefined ? undefined : Number(cells[i])));
      return r;
    });
  };
  const steps = rows(TRAIN_CSV).map((r) => {
    const s: StepLog = { step: r.step!, loss: r.loss!, lr: r.lr!, gradNorm: r.grad_norm!, tokensPerSec: r.tokens_per_s!, ms: r.ms! };
    if (r.skipped) s.skipped = true;
    return s;
  });
  const evals = rows(EVAL_CSV).map((r) => {
    const e: EvalLog = { step: r.step!, tokens: r.tokens ?? 0 };
    if (r.val_loss !== undefined) e.valLoss = r.val_loss;
    if (r.val_loss_fixed !== undefined) e.valLossFixed = r.val_loss_fixed;
    if (r.val_loss_random !== undefined) e.valLossRandom = r.val_loss_random;
    if (r.train_loss !== undefined) e.trainLoss = r.train_loss;
    return e;
  });
  return { steps, evals };
}
