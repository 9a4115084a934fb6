// Validation of a checkpoint's state.json before anything in it is used. The file is ours, but it sits on disk next
// to the weights and may be edited, truncated or corrupted: a step of -5 trains with negative learning rates, a step
// of 999 runs past --steps, a history that is not a list crashes with a TypeError. Every field resume reads is
// checked for type and range here, with an error naming the file and the field.
import * as path from 'node:path';
import { quote } from '../util/errors';
import { checkFileRecords } from '../model/checksums';

const STEP_DIR = /^step-(\d{8,})$/;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function isFiniteNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/**
 * Throws an Error naming `file` and the first bad field of a parsed state.json (format and version are checked by
 * the caller). `dir` is the checkpoint folder: its name step-NNNNNNNN must agree with the recorded step.
 */
export function validateStateFields(s: Record<string, unknown>, file: string, dir: string): void {
  const bad = (field: string, want: string, got: unknown) => new Error(`${file}: ${field} must be ${want}, got ${quote(got)}`);
  if (!isCount(s.step)) throw bad('step', 'an integer >= 0', s.step);
  const step = s.step;
  const m = STEP_DIR.exec(path.basename(dir));
  if (m && Number(m[1]) !== step) throw new Error(`${file}: records step ${step}, but its folder is ${path.basename(dir)}`);
  if (!isCount(s.optimizerStep) || s.optimizerStep > step) throw bad('optimizerStep', `an integer in [0, step = ${step}]`, s.optimizerStep);
  if (!isFiniteNumber(s.tokens) || s.tokens < 0) throw bad('tokens', 'a number >= 0', s.tokens);
  if (!isFiniteNumber(s.elapsedMs) || s.elapsedMs < 0) throw bad('elapsedMs', 'a number >= 0', s.elapsedMs);
  if (!isObject(s.run) || !isObject(s.run.model) || !isCount(s.run.maxSteps)) throw bad('run', 'the run config object', s.run);
  checkSampler(s.sampler, file);
  for (const k of ['evaluator', 'spike'] as const) if (s[k] !== null && !isObject(s[k])) throw bad(k, 'an object or null', s[k]);
  if (s.spike !== null && isObject(s.spike) && (!Array.isArray(s.spike.values) || !s.spike.values.every(isFiniteNumber))) {
    throw bad('spike.values', 'a list of finite numbers', s.spike.values);
  }
  if (s.bestVal !== null && !(isObject(s.bestVal) && isCount(s.bestVal.step) && s.bestVal.step <= step && isFiniteNumber(s.bestVal.loss))) {
    throw bad('bestVal', `null or {step <= ${step}, loss: a finite number}`, s.bestVal);
  }
  const h = s.history;
  if (!isObject(h) || !Array.isArray(h.steps) || !Array.isArray(h.evals)) throw bad('history', '{steps: [...], evals: [...]}', h);
  checkLogList(h.steps, 'history.steps', step - 1, ['loss', 'lr', 'gradNorm'], file);
  checkLogList(h.evals, 'history.evals', step, [], file);
  checkFileRecords(s.files, file);
}

function checkSampler(x: unknown, file: string): void {
  const ok = isObject(x) && isCount(x.batchesDrawn) && (
    (x.kind === 'random' && isObject(x.rng) && Array.isArray(x.rng.s) && x.rng.s.length === 4 && x.rng.s.every((v) => isCount(v) && v <= 0xffffffff) &&
      (x.rng.spareNormal === null || x.rng.spareNormal === undefined || isFiniteNumber(x.rng.spareNormal))) ||
    (x.kind === 'sequential' && isCount(x.shard) && isCount(x.pos) && isCount(x.epoch)));
  if (!ok) throw new Error(`${file}: sampler must be a random {rng: {s: [4 x uint32]}, batchesDrawn} or sequential {shard, pos, epoch, batchesDrawn} state, got ${quote(x)}`);
}

/** Entries are objects with increasing integer steps <= maxStep and finite numbers in `fields`. */
function checkLogList(list: unknown[], what: string, maxStep: number, fields: string[], file: string): void {
  let prev = -1;
  for (let i = 0; i < list.length; i++) {
    const e = list[i];
    if (!isObject(e) || !isCount(e.step) || e.step <= prev || e.step > maxStep) {
      throw new Error(`${file}: ${what}[${i}] must be an entry with an increasing integer step <= ${maxStep}, got ${quote(e)}`);
    }
    for (const f of fields) if (!isFiniteNumber(e[f])) throw new Error(`${file}: ${what}[${i}].${f} must be a finite number, got ${quote(e[f])}`);
    prev = e.step;
  }
}
