// Training checkpoints: <run>/checkpoints/step-00000300/ holding
//   config.json + model.safetensors   the model as a Hugging Face GPT-2 folder (lib/model/hf.ts)
//   optimizer.safetensors             AdamW moments 'm.<param>' / 'v.<param>' (float32), step in the metadata
//   state.json                        step, sampler and RNG states, run config, history, best val, and the size and
//                                     SHA-256 of every other file (a flipped or truncated byte is detected on load)
// Crash safety: a checkpoint is written into a hidden temporary directory and renamed to its final name only when
// complete; then <run>/checkpoints/latest (a one-line file naming the directory) is replaced atomically. So `latest`
// never names a half-written checkpoint, and leftovers of a crash are hidden directories cleaned up on the next save.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { GPTConfig } from '../model/config';
import { Params } from '../model/params';
import { HF_CONFIG_FILE, HF_WEIGHTS_FILE, loadHFFolder, paramsToTensors, writeHFFolder } from '../model/hf';
import { TensorMap, readSafetensors } from '../model/safetensors';
import { writeSafetensors } from '../model/safetensors-write';
import { writeFileAtomic } from '../util/fs';
import { SamplerState } from '../data/sampler';
import { AdamW } from './adamw';
import { EvaluatorState } from './evaluate';
import { SpikeState } from './guards';
import { History } from './history';
import { RunConfig } from './options';
import { fsyncDir, pidAlive } from '../util/fs';
import { quote } from '../util/errors';
import { sha256File, verifyFileRecords } from '../model/checksums';
import { nonFiniteTensors } from '../model/finite';
import { NonFiniteWeightsError } from './guards';
import { validateStateFields } from './state';

export const CHECKPOINTS_DIR = 'checkpoints';
export const LATEST_FILE = 'latest';
export const STATE_FILE = 'state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
const FORMAT = 'inheritune-train-checkpoint';

export interface TrainState {
  /** Updates done; training continues with update `step`. */
  step: number;
  run: RunConfig;
  sampler: SamplerState;
  evaluator: EvaluatorState | null;
  spike: SpikeState | null;
  /** Training tokens consumed so far. */
  tokens: number;
  history: History;
  bestVal: { step: number; loss: number } | null;
  /** Training wall time so far (ms). */
  elapsedMs: number;
}

export interface CheckpointFile extends TrainState {
  format: typeof FORMAT;
  version: 1;
  optimizerStep: number;
  savedAt: string;
  files: Record<string, { bytes: number; sha256: string }>;
}

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

/**
 * Removes hidden temporary / replaced checkpoint directories, and half-written `latest` pointers (writeFileAtomic's
 * `.latest.<pid>.<hex>.tmp`), left by processes that are gone.
 */
export function cleanStaleTemps(ckDir: string): string[] {
  if (!fs.existsSync(ckDir)) return [];
  const removed: string[] = [];
  for (const n of fs.readdirSync(ckDir)) {
    const m = /^\.step-\d+\.(tmp|old)-(\d+)-/.exec(n) ?? /^\.(latest)\.(\d+)\.[0-9a-f]+\.tmp$/.exec(n);
    if (!m) continue;
    const pid = Number(m[2]);
    if (pid !== process.pid && pidAlive(pid)) continue; // another live process may be writing it
    fs.rmSync(path.join(ckDir, n), { recursive: true, force: true });
    removed.push(n);
  }
  return removed;
}

export interface SaveOptions {
  /** Keep only the newest N checkpoints (the latest is never removed). */
  keep?: number;
  /** Checkpoint directory names pruning must never remove (the last one known to be good). */
  protect?: string[];
  /** Test hook: runs after every file is written, before the directory is renamed into place. */
  beforeCommit?: (tmpDir: string) => void;
}

/** Writes a checkpoint of params + optimizer + state under <runDir>/checkpoints/ and points `latest` at it. */
export async function saveCheckpoint(runDir: string, params: Params, cfg: GPTConfig, opt: AdamW, state: TrainState, so: SaveOptions = {}): Promise<string> {
  const ckDir = path.join(runDir, CHECKPOINTS_DIR);
  fs.mkdirSync(ckDir, { recursive: true });
  cleanStaleTemps(ckDir);
  const name = checkpointName(state.step);
  const weights = await paramsToTensors(params);
  const st = opt.getState();
  const mT = await paramsToTensors(st.m);
  const vT = await paramsToTensors(st.v);
  // Never write a checkpoint that cannot be resumed: the divergence guard names the last good one instead.
  const bad = [...nonFiniteTensors(weights).map((b) => ({ ...b, kind: 'weight' })), ...nonFiniteTensors(mT).map((b) => ({ ...b, kind: 'AdamW m' })), ...nonFiniteTensors(vT).map((b) => ({ ...b, kind: 'AdamW v' }))];
  if (bad.length) {
    const values = bad.reduce((n, b) => n + b.count.nan + b.count.inf, 0);
    const b = bad[0];
    throw new NonFiniteWeightsError(
      `the model after ${state.step} updates has non-finite values (${b.kind} '${b.name}': ${b.count.nan} NaN, ${b.count.inf} Inf of ${b.size}; ` +
        `${bad.length} tensor(s), ${values} values in all); checkpoint ${name} was not written`,
      state.step,
    );
  }
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = path.join(ckDir, `.${name}.tmp-${tag}`);
  fs.mkdirSync(tmp);
  try {
    writeHFFolder(tmp, cfg, weights);
    const moments: TensorMap = {};
    for (const [k, v] of Object.entries(mT)) moments[`m.${k}`] = v;
    for (const [k, v] of Object.entries(vT)) moments[`v.${k}`] = v;
    writeSafetensors(path.join(tmp, OPTIMIZER_FILE), moments, { step: String(st.step) });
    const files: CheckpointFile['files'] = {};
    for (const f of [HF_CONFIG_FILE, HF_WEIGHTS_FILE, OPTIMIZER_FILE]) files[f] = sha256File(path.join(tmp, f));
    const json: CheckpointFile = { format: FORMAT, version: 1, ...state, optimizerStep: st.step, savedAt: new Date().toISOString(), files };
    const text = `${JSON.stringify(json)}\n`;
    writeFileAtomic(path.join(tmp, STATE_FILE), (fd) => fs.writeSync(fd, text));
    so.beforeCommit?.(tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const final = path.join(ckDir, name);
  let old: string | undefined;
  if (fs.existsSync(final)) {
    old = path.join(ckDir, `.${name}.old-${tag}`);
    fs.renameSync(final, old);
  }
  fs.renameSync(tmp, final);
  fsyncDir(ckDir);
  writeFileAtomic(path.join(ckDir, LATEST_FILE), (fd) => fs.writeSync(fd, `${name}\n`));
  if (old) fs.rmSync(old, { recursive: true, force: true });
  if (so.keep !== undefined) pruneCheckpoints(runDir, so.keep, [name, ...(so.protect ?? [])]);
  return final;
}

/** Step directories under a checkpoints folder, oldest first. */
export function listCheckpoints(ckDir: string): string[] {
  if (!fs.existsSync(ckDir)) return [];
  return fs.readdirSync(ckDir).filter((n) => /^step-\d{8,}$/.test(n)).sort();
}

/**
 * Keeps the newest `keep` checkpoints of a run (at least one) plus the `protect`ed names (the latest and the last
 * one known to be good), removing the older ones.
 */
export function pruneCheckpoints(runDir: string, keep: number, protect: string[]): void {
  const ckDir = path.join(runDir, CHECKPOINTS_DIR);
  const all = listCheckpoints(ckDir);
  const kept = new Set([...all.slice(Math.max(0, all.length - Math.max(1, keep))), ...protect]);
  for (const n of all) if (!kept.has(n)) fs.rmSync(path.join(ckDir, n), { recursive: true, force: true });
}

/** Points `latest` at a step directory name (atomically). */
export function setLatest(runDir: string, name: string): void {
  writeFileAtomic(path.join(runDir, CHECKPOINTS_DIR, LATEST_FILE), (fd) => fs.writeSync(fd, `${name}\n`));
}

/** The checkpoint `latest` names under a run directory, or null when the run has none. Throws if `latest` is broken. */
export function latestCheckpoint(runDir: string): string | null {
  const ckDir = path.join(runDir, CHECKPOINTS_DIR);
  const latest = path.join(ckDir, LATEST_FILE);
  if (!fs.existsSync(latest)) {
    // A lost `latest` (deleted, or a crash between the rename and the pointer on a file system that lost it) must not
    // lose the run: fall back to the newest step directory with a state.json (readCheckpoint verifies it).
    const names = listCheckpoints(ckDir).filter((n) => fs.existsSync(path.join(ckDir, n, STATE_FILE)));
    return names.length ? path.join(ckDir, names[names.length - 1]) : null;
  }
  const name = fs.readFileSync(latest, 'utf8').trim();
  if (!/^step-\d{8,}$/.test(name)) throw new Error(`${latest} is corrupt: it should name a checkpoint directory (step-NNNNNNNN), it holds ${quote(name, 40)}`);
  const dir = path.join(ckDir, name);
  if (!fs.existsSync(dir)) throw new Error(`${latest} names ${name}, which does not exist`);
  return dir;
}

/** Resolves a run directory, its checkpoints folder, or a step directory to a step directory. */
export function resolveCheckpoint(p: string): string {
  if (fs.existsSync(path.join(p, STATE_FILE))) return p;
  const fromRun = fs.existsSync(path.join(p, CHECKPOINTS_DIR)) ? latestCheckpoint(p) : null;
  if (fromRun) return fromRun;
  if (path.basename(p) === CHECKPOINTS_DIR) {
    const fromCk = latestCheckpoint(path.dirname(p));
    if (fromCk) return fromCk;
  }
  throw new Error(`no checkpoint found at ${p}: expected a run directory with checkpoints/latest, or a step directory with ${STATE_FILE}`);
}

export interface LoadedCheckpoint {
  dir: string;
  state: CheckpointFile;
  /** Model tensors (our names and layout). */
  model: TensorMap;
  modelConfig: GPTConfig;
  /** AdamW moments by parameter name. */
  m: TensorMap;
  v: TensorMap;
}

/** Reads and verifies a checkpoint directory (sizes and SHA-256 of every file, format, parseable tensors). */
export function readCheckpoint(dir: string): LoadedCheckpoint {
  const statePath = path.join(dir, STATE_FILE);
  if (!fs.existsSync(statePath)) throw new Error(`checkpoint ${dir} is incomplete: no ${STATE_FILE}`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(statePath, 'utf8')) as unknown;
  } catch (e) {
    throw new Error(`checkpoint ${dir} is corrupt: ${STATE_FILE} is not valid JSON (${quote((e as Error).message, 120)})`);
  }
  const state = raw as CheckpointFile;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || state.format !== FORMAT || state.version !== 1) {
    throw new Error(`checkpoint ${dir}: ${STATE_FILE} is not a version-1 ${FORMAT} (format ${quote(state?.format)}, version ${quote(state?.version)})`);
  }
  validateStateFields(raw as unknown as Record<string, unknown>, statePath, dir);
  if (!state.files[HF_WEIGHTS_FILE] || !state.files[OPTIMIZER_FILE]) {
    throw new Error(`checkpoint ${dir} is corrupt: ${STATE_FILE} lists no ${HF_WEIGHTS_FILE} / ${OPTIMIZER_FILE}`);
  }
  verifyFileRecords(dir, state.files);
  const ck = loadHFFolder(dir);
  const opt = readSafetensors(path.join(dir, OPTIMIZER_FILE));
  const badMoment = nonFiniteTensors(opt.tensors)[0];
  if (badMoment) throw new Error(`checkpoint ${dir}: ${OPTIMIZER_FILE} tensor '${badMoment.name}' has ${badMoment.count.nan} NaN and ${badMoment.count.inf} infinite values; it cannot be resumed`);
  const m: TensorMap = {};
  const v: TensorMap = {};
  for (const [k, t] of Object.entries(opt.tensors)) {
    if (k.startsWith('m.')) m[k.slice(2)] = t;
    else if (k.startsWith('v.')) v[k.slice(2)] = t;
    else throw new Error(`checkpoint ${dir}: unexpected tensor ${quote(k, 100)} in ${OPTIMIZER_FILE}`);
  }
  return { dir, state, model: ck.tensors, modelConfig: ck.config, m, v };
}

/** Copies a loaded checkpoint's weights into params and its moments into the optimizer (shapes checked). */
export function restoreModelAndOptimizer(ck: LoadedCheckpoint, params: Params, opt: AdamW): void {
  const problems: string[] = [];
  for (const [name, p] of Object.entries(params)) {
    const t = ck.model[name];
    if (!t) problems.push(`no weights for '${name}'`);
    else if (t.shape.join(',') !== p.shape.join(',')) problems.push(`'${name}' is [${t.shape}] in the checkpoint, [${p.shape}] here`);
  }
  for (const name of Object.keys(ck.model)) if (!params[name]) problems.push(`checkpoint has '${name}', the model does not`);
  for (const [kind, map] of [['m', ck.m], ['v', ck.v]] as const) {
    for (const [name, t] of Object.entries(map)) {
      if (!params[name]) problems.push(`optimizer ${kind}.${name} has no parameter`);
      else if (t.shape.join(',') !== params[name].shape.join(',')) problems.push(`optimizer ${kind}.${name} is [${t.shape}], parameter is [${params[name].shape}]`);
    }
  }
  if (problems.length) throw new Error(`checkpoint ${ck.dir} does not fit this model: ${problems.join('; ')}`);
  for (const [name, p] of Object.entries(params)) {
    const t = ck.model[name];
    tf.tidy(() => p.assign(tf.tensor(t.data as Float32Array, t.shape, 'float32')));
  }
  const toTensors = (map: TensorMap) => {
    const out: Record<string, tf.Tensor> = {};
    for (const [k, t] of Object.entries(map)) out[k] = tf.tensor(t.data as Float32Array, t.shape, 'float32');
    return out;
  };
  const m = toTensors(ck.m);
  const v = toTensors(ck.v);
  try {
    opt.setState(ck.state.optimizerStep, m, v);
  } finally {
    tf.dispose([...Object.values(m), ...Object.values(v)]);
  }
}
