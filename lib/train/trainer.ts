// The training loop, nanoGPT's train.py as a function:
//   for step s = 0 .. maxSteps-1:
//     evaluate (s % eval.interval == 0), checkpoint (s % checkpointInterval == 0), then
//     lr = get_lr(s); k micro-batches -> accumulated gradients; clip to gradClip; AdamW step
//   then a final evaluation and checkpoint at s = maxSteps.
// Evaluation and checkpoint "at step s" see the model after s updates; a checkpoint at s resumes with update s.
// Losses stay on the device between log points (one readback per logInterval steps) unless the spike guard needs them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { checkParams } from '../model/params';
import { defaultFast } from '../model/gpt';
import { Batch, BatchSampler, RandomWindowSampler, SequentialLoader } from '../data/sampler';
import { hashString } from '../util/rng';
import { learningRate } from './schedule';
import { AdamW } from './adamw';
import { accumulateGradients, applyUpdate, globalNorm } from './step';
import { Evaluator } from './evaluate';
import { NonFiniteWeightsError, SpikeDetector, TrainingDivergedError, checkFinite } from './guards';
import { EvalLog, History, RunLogs, StepLog } from './history';
import { RunConfig, TrainOptions, isSampler, resolveRunConfig, resumeMismatches, sameEvalBatches } from './options';
import {
  CHECKPOINTS_DIR, LATEST_FILE, LoadedCheckpoint, TrainState, listCheckpoints, pruneCheckpoints, readCheckpoint, resolveCheckpoint,
  restoreModelAndOptimizer, saveCheckpoint, setLatest,
} from './checkpoint';
import { lockRunDir } from '../util/run-lock';
import { TrainProgress } from './progress';
import { TrainProbe } from './probe';
import type { ProbeResult } from '../metrics/emergence';

export interface TrainResult {
  history: History;
  /** Updates done in total (including those before a resume). */
  steps: number;
  bestVal: { step: number; loss: number } | null;
  /** Why the loop ended. */
  stopped: 'maxSteps' | 'aborted';
  /** The run config as written to config.json. */
  runConfig: RunConfig;
  /** Step directory of the last checkpoint written (or resumed from), if any. */
  checkpoint: string | null;
  /** Step the run resumed from, or null for a fresh run. */
  resumedFrom: number | null;
  /** Rank and sink probes over training (TrainOptions.probe), including those before a resume. */
  emergence: readonly ProbeResult[];
}

interface Pending {
  step: number;
  lr: number;
  ms: number;
  loss: tf.Scalar | number;
  norm: tf.Scalar;
  skipped: boolean;
}

/** Trains `params` in place. See TrainOptions for every option and its default. */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const fast = opts.fast ?? defaultFast();
  const run = resolveRunConfig(opts, fast);
  const { params } = opts;
  const cfg = run.model;
  checkParams(params, cfg);
  const d = opts.data;
  const sampler: BatchSampler = isSampler(d.train)
    ? d.train
    : run.data.sampler === 'sequential'
      ? new SequentialLoader(d.train, { batchSize: d.batchSize, blockSize: d.blockSize })
      : new RandomWindowSampler(d.train, { batchSize: d.batchSize, blockSize: d.blockSize, seed: run.seed });
  const evaluator = opts.eval
    ? new Evaluator(opts.eval, { val: d.val, train: isSampler(d.train) ? undefined : d.train, batchSize: d.batchSize, blockSize: d.blockSize }, run.seed)
    : undefined;
  const spike = opts.spike ? new SpikeDetector(opts.spike) : undefined;
  const probe = opts.probe ? new TrainProbe(opts.probe, d.val, cfg, opts.outDir ? path.resolve(opts.outDir) : undefined, run.seed) : undefined;
  const opt = new AdamW({ ...run.optimizer });
  const outDir = opts.outDir ? path.resolve(opts.outDir) : undefined;
  const logs = outDir ? new RunLogs(outDir) : undefined;
  const progress = new TrainProgress(opts.progress);

  let history: History = { steps: [], evals: [] };
  let bestVal: TrainResult['bestVal'] = null;
  let start = 0;
  let tokens = 0;
  let elapsedMs = 0;
  let lastCheckpoint: string | null = null;
  let resumedFrom: number | null = null;
  const pending: Pending[] = [];
  const recentMs: number[] = [];
  // The divergence guard's bookkeeping: the newest checkpoint known good (finite weights, and a finite loss computed
  // from them), and the newest one written whose loss has not been seen yet. Pruning never removes `good`.
  let goodCk: { dir: string; step: number } | null = null;
  let pendingCk: { dir: string; step: number } | null = null;
  // One writer per run directory (the CLI and the notebooks take the same lock; re-entrant in one process).
  const release = outDir ? await lockRunDir(outDir) : undefined;

  try {
    // ---- resume or fresh start ----------------------------------------------------------------------------------
    const found = findResume(opts, outDir, (line) => console.error(line)); // a fallback is always said, --quiet or not
    if (found) {
      const { ck, dir: ckPath } = found;
      if (ck.state.step > run.maxSteps) {
        throw new Error(`checkpoint ${ckPath} is at step ${ck.state.step}, beyond maxSteps ${run.maxSteps} (--steps): ` +
          `nothing to train; pass maxSteps >= ${ck.state.step} to continue the run`);
      }
      const problems = resumeMismatches(ck.state.run, run);
      if (problems.length) {
        throw new Error(`checkpoint ${ckPath} belongs to a different run and cannot be resumed here: ${problems.join('; ')}`);
      }
      restoreModelAndOptimizer(ck, params, opt);
      sampler.setState(ck.state.sampler);
      if (evaluator && ck.state.evaluator && sameEvalBatches(ck.state.run.eval, run.eval)) evaluator.setState(ck.state.evaluator);
      if (spike && ck.state.spike) spike.setState(ck.state.spike);
      history = ck.state.history;
      bestVal = ck.state.bestVal;
      start = resumedFrom = ck.state.step;
      tokens = ck.state.tokens;
      elapsedMs = ck.state.elapsedMs;
      lastCheckpoint = ckPath;
      goodCk = { dir: ckPath, step: ck.state.step };
    } else if (outDir) {
      const ckDir = path.join(outDir, CHECKPOINTS_DIR);
      if (fs.existsSync(ckDir)) {
        // Never delete checkpoints unless told to: a run whose `latest` is lost or whose checkpoints fail to verify
        // is the user's to inspect.
        if (!opts.overwrite && (listCheckpoints(ckDir).length || fs.existsSync(path.join(ckDir, LATEST_FILE)))) {
          throw new Error(`${outDir} already holds a run with checkpoints; pass resume to continue it, overwrite to replace it, ` +
            `or choose another outDir (it holds ${listCheckpoints(ckDir).slice(-3).join(', ') || LATEST_FILE})`);
        }
        fs.rmSync(ckDir, { recursive: true, force: true });
      }
    }
    logs?.start(run, history);
    probe?.start(resumedFrom);

    // ---- helpers ------------------------------------------------------------------------------------------------
    const snapshot = (step: number, note?: string) => {
      const ms = recentMs.length ? recentMs.reduce((a, b) => a + b, 0) / recentMs.length : NaN;
      return {
        step,
        maxSteps: run.maxSteps,
        last: history.steps[history.steps.length - 1],
        losses: history.steps.map((s) => s.loss),
        msPerStep: ms,
        tokensPerSec: (run.tokensPerStep * 1000) / ms,
        lastEval: history.evals[history.evals.length - 1],
        best: bestVal,
        note,
      };
    };

    const flush = async () => {
      if (!pending.length) return;
      const batch = pending.splice(0, pending.length);
      const lossT = batch.filter((p) => typeof p.loss !== 'number').map((p) => p.loss as tf.Scalar);
      const lossV = lossT.length ? await readAll(lossT) : [];
      const normV = await readAll(batch.map((p) => p.norm));
      tf.dispose([...lossT, ...batch.map((p) => p.norm)]);
      let li = 0;
      const entries: StepLog[] = batch.map((p, i) => {
        const loss = typeof p.loss === 'number' ? p.loss : lossV[li++];
        const e: StepLog = { step: p.step, loss, lr: p.lr, gradNorm: normV[i], tokensPerSec: (run.tokensPerStep * 1000) / p.ms, ms: p.ms };
        if (p.skipped) e.skipped = true;
        return e;
      });
      // Log what ran (the curve up to the failure is useful), then stop at the first non-finite value.
      const bad = entries.findIndex((e) => !Number.isFinite(e.loss) || !Number.isFinite(e.gradNorm));
      const good = bad < 0 ? entries : entries.slice(0, bad + 1);
      history.steps.push(...good);
      logs?.appendSteps(good);
      opts.onLog?.(good, history);
      if (pendingCk && good.some((e, i) => e.step === pendingCk?.step && (bad < 0 || i < bad))) {
        // The loss computed from the newest checkpoint's weights is finite: it is good; older ones may now go.
        goodCk = pendingCk;
        pendingCk = null;
        if (outDir && opts.keepCheckpoints !== undefined) pruneCheckpoints(outDir, opts.keepCheckpoints, [path.basename(goodCk.dir)]);
      }
      if (bad >= 0) {
        checkFinite(entries[bad].step, entries[bad].loss, entries[bad].gradNorm, entries[bad].lr, divergenceHint());
      }
      progress.update(() => snapshot(good[good.length - 1].step + 1));
    };

    const evaluate = async (step: number) => {
      if (!evaluator) return;
      const r = await evaluator.evaluate(params, cfg, fast);
      const e: EvalLog = { step, ...r, tokens };
      history.evals.push(e);
      if (e.valLoss !== undefined && (!bestVal || e.valLoss < bestVal.loss)) bestVal = { step, loss: e.valLoss };
      logs?.appendEval(e);
      const parts = [`eval step ${step}`];
      if (e.valLoss !== undefined) parts.push(`val ${e.valLoss.toFixed(4)}`);
      if (e.valLossRandom !== undefined && e.valLossFixed !== undefined) parts.push(`val(random) ${e.valLossRandom.toFixed(4)}`);
      if (e.trainLoss !== undefined) parts.push(`train ${e.trainLoss.toFixed(4)}`);
      progress.line(parts.join(' | '));
      opts.onEval?.(e, history);
      progress.update(() => snapshot(step), true);
    };

    // Names the last good checkpoint; a written one whose loss turned out non-finite is moved aside (kept for study).
    const divergenceHint = (): string => {
      let moved = '';
      if (outDir && pendingCk) {
        const aside = `${pendingCk.dir}.diverged`;
        fs.rmSync(aside, { recursive: true, force: true });
        fs.renameSync(pendingCk.dir, aside);
        if (goodCk) setLatest(outDir, path.basename(goodCk.dir));
        else fs.rmSync(path.join(outDir, CHECKPOINTS_DIR, LATEST_FILE), { force: true });
        moved = `; checkpoint ${path.basename(pendingCk.dir)} gives a non-finite loss or gradient and was moved to ${path.basename(aside)}`;
        pendingCk = null;
        lastCheckpoint = goodCk?.dir ?? null;
      }
      const last = goodCk ? `the last good checkpoint (finite weights and loss) is ${goodCk.dir}` : 'no good checkpoint was written';
      return `; ${last}${moved}`;
    };

    const checkpoint = async (step: number, final = false) => {
      if (!outDir) return;
      const state: TrainState = {
        step,
        run,
        sampler: sampler.getState(),
        evaluator: evaluator ? evaluator.getState() : null,
        spike: spike ? spike.getState() : null,
        tokens,
        history,
        bestVal,
        elapsedMs,
      };
      try {
        lastCheckpoint = await saveCheckpoint(outDir, params, cfg, opt, state, {
          keep: final ? opts.keepCheckpoints : undefined,
          protect: goodCk && !final ? [path.basename(goodCk.dir)] : [],
        });
      } catch (e) {
        if (!(e instanceof NonFiniteWeightsError)) throw e;
        throw new TrainingDivergedError(`training diverged: ${e.message}. Lower the learning rate or warm up longer${divergenceHint()}`, step);
      }
      // Finite weights; the loss computed from them is seen at the next log point (the final one is good as written).
      if (final) goodCk = { dir: lastCheckpoint, step };
      else pendingCk = { dir: lastCheckpoint, step };
      if (!final && opts.keepCheckpoints !== undefined) {
        pruneCheckpoints(outDir, opts.keepCheckpoints, [path.basename(lastCheckpoint), ...(goodCk ? [path.basename(goodCk.dir)] : [])]);
      }
      opts.onCheckpoint?.(lastCheckpoint, step);
    };

    const evalDue = (s: number) =>
      !!run.eval && (s === run.maxSteps || (s === 0 ? run.eval.atStart : run.eval.interval > 0 && s % run.eval.interval === 0));
    const ckptDue = (s: number) => run.checkpointInterval > 0 && s > 0 && s % run.checkpointInterval === 0;

    // ---- the loop -----------------------------------------------------------------------------------------------
    let stopped: TrainResult['stopped'] = 'maxSteps';
    let s = start;
    progress.update(() => snapshot(s), true);
    for (; ; s++) {
      const atResumePoint = resumedFrom !== null && s === resumedFrom; // evaluated and saved before the checkpoint
      if (!atResumePoint && (evalDue(s) || ckptDue(s))) await flush();
      if (!atResumePoint && evalDue(s)) await evaluate(s);
      if (!atResumePoint && probe?.due(s, run.maxSteps)) {
        const p = await probe.run(params, cfg, s);
        const lazy = p.layers.filter((l) => l.maxRank <= 1.5).length;
        const sinks = p.layers.reduce((a, l) => a + l.sinkRate, 0) / p.layers.length;
        progress.line(`probe step ${s} | lazy layers (MaxRank <= 1.5) ${lazy}/${p.layers.length} | mean sink rate ${sinks.toFixed(2)} | ${(p.ms / 1000).toFixed(1)} s`);
      }
      if (s >= run.maxSteps) break;
      if (opts.signal?.aborted) {
        stopped = 'aborted';
        break;
      }
      if (!atResumePoint && ckptDue(s)) await checkpoint(s);

      const t0 = performance.now();
      const lr = learningRate(run.schedule, s);
      const micro: Batch[] = [];
      for (let i = 0; i < run.gradAccumSteps; i++) {
        const b = sampler.next();
        if (b.shape[0] !== d.batchSize || b.shape[1] !== d.blockSize) {
          throw new Error(`the sampler returned a [${b.shape}] batch, expected [${d.batchSize}, ${d.blockSize}] (data.batchSize, data.blockSize)`);
        }
        micro.push(b);
      }
      const seeds = cfg.dropout > 0 ? micro.map((_, i) => hashString(`${run.seed}:dropout:${s}:${i}`)) : undefined;
      const g = accumulateGradients(params, cfg, micro, { accumulation: run.accumulation, fast, seeds, distill: opts.distill });
      let loss: tf.Scalar | number = g.loss;
      let skipped = false;
      if (spike) {
        // The guard needs the loss before deciding on the update: one readback per step.
        const v = (await g.loss.data())[0];
        g.loss.dispose();
        loss = v;
        const z = Number.isFinite(v) ? spike.update(v) : NaN;
        skipped = spike.isSpike(z);
        if (skipped) progress.line(`step ${s}: loss ${v.toFixed(4)} is a spike (z = ${z.toFixed(1)} > ${spike.zThreshold}); update skipped`);
      }
      let norm: tf.Scalar;
      if (skipped) {
        norm = globalNorm(g.grads);
        tf.dispose(Object.values(g.grads));
      } else {
        norm = applyUpdate(params, g.grads, opt, lr, run.gradClip);
      }
      tokens += run.tokensPerStep;
      const logPoint = (s + 1) % run.logInterval === 0 || s + 1 === run.maxSteps;
      // At log points, wait for the device (async backends run behind the JS loop) so the step time is honest.
      if (logPoint) await norm.data();
      const ms = performance.now() - t0;
      elapsedMs += ms;
      recentMs.push(ms);
      if (recentMs.length > 50) recentMs.shift();
      pending.push({ step: s, lr, ms, loss, norm, skipped });
      if (logPoint) await flush();
    }
    await flush();
    const save = opts.saveFinal ?? true;
    if (outDir && save && !(resumedFrom !== null && s === resumedFrom)) await checkpoint(s, true);
    progress.finish(() => snapshot(s, stopped === 'aborted' ? 'stopped' : 'done'));
    return { history, steps: s, bestVal, stopped, runConfig: run, checkpoint: lastCheckpoint, resumedFrom, emergence: probe?.probes ?? [] };
  } finally {
    for (const p of pending) tf.dispose([p.norm, ...(typeof p.loss === 'number' ? [] : [p.loss])]);
    opt.dispose();
    release?.();
  }
}

async function readAll(ts: tf.Scalar[]): Promise<number[]> {
  if (ts.length === 1) return [(await ts[0].data())[0]];
  const stacked = tf.stack(ts);
  try {
    return Array.from(await stacked.data());
  } finally {
    stacked.dispose();
  }
}

/**
 * The checkpoint to resume, loaded and verified, or null for a fresh start. When checkpoints/latest is missing, the
 * newest step directory that verifies is used (and said); a broken `latest` is an error, never a fresh start.
 */
function findResume(opts: TrainOptions, outDir: string | undefined, note: (line: string) => void): { dir: string; ck: LoadedCheckpoint } | null {
  const r = opts.resume;
  if (r === undefined || r === false) return null;
  if (typeof r === 'string' && r !== 'auto') {
    const dir = resolveCheckpoint(path.resolve(r));
    return { dir, ck: readCheckpoint(dir) };
  }
  if (!outDir) throw new Error('resume: true needs outDir (the run directory to resume), or pass resume: <checkpoint path>');
  const ckDir = path.join(outDir, CHECKPOINTS_DIR);
  if (fs.existsSync(path.join(ckDir, LATEST_FILE))) {
    const dir = resolveCheckpoint(outDir);
    return { dir, ck: readCheckpoint(dir) };
  }
  const names = listCheckpoints(ckDir).reverse();
  const skipped: string[] = [];
  for (const n of names) {
    const dir = path.join(ckDir, n);
    try {
      const ck = readCheckpoint(dir);
      note(`note: ${path.join(ckDir, LATEST_FILE)} is missing; resuming from the newest valid checkpoint ${n}` +
        (skipped.length ? ` (skipped ${skipped.join('; ')})` : ''));
      setLatest(outDir, n);
      return { dir, ck };
    } catch (e) {
      skipped.push(`${n}: ${(e as Error).message.slice(0, 300)}`);
    }
  }
  if (names.length) throw new Error(`nothing to resume in ${outDir}: checkpoints/latest is missing and no checkpoint verifies (${skipped.slice(0, 3).join('; ')})`);
  if (r === true) throw new Error(`nothing to resume: ${outDir} has no checkpoints/latest`);
  return null;
}
