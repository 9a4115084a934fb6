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
import { createHash, randomBytes } from 'node:crypto';
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

function sha256File(file: string): { bytes: number; sha256: string } {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
  const fd = fs.openSync(file, 'r');
  let bytes = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
      bytes += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return { bytes, sha256: h.digest('hex') };
}

/** Removes hidden temporary / replaced checkpoint directories left by processes that are gone. */
export function cleanStaleTemps(ckDir: string): string[] {
  if (!fs.existsSync(ckDir)) return [];
  const removed: string[] = [];
  for (const n of fs.readdirSync(ckDir)) {
    const m = /^\.step-\d+\.(tmp|old)-(\d+)-/.exec(n);
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
  /** Test hook: runs after every file is written, before the directory is renamed into place. */
  beforeCommit?: (tmpDir: string) => void;
}

/** Writes a checkpoint of params + optimizer + state under <runDir>/checkpoints/ and points `latest` at it. */
export async function saveCheckpoint(runDir: string, params: Params, cfg: GPTConfig, opt: AdamW, state: TrainState, so: SaveOptions = {}): Promise<string> {
  const ckDir = path.join(runDir, CHECKPOINTS_DIR);
  fs.mkdirSync(ckDir, { recursive: true });
  cleanStaleTemps(ckDir);
  const name = checkpointName(state.step);
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = path.join(ckDir, `.${name}.tmp-${tag}`);
  fs.mkdirSync(tmp);
  try {
    writeHFFolder(tmp, cfg, await paramsToTensors(params));
    const st = opt.getState();
    const moments: TensorMap = {};
    for (const [k, v] of Object.entries(await paramsToTensors(st.m))) moments[`m.${k}`] = v;
    for (const [k, v] of Object.entries(await paramsToTensors(st.v))) moments[`v.${k}`] = v;
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
  if (so.keep !== undefined) prune(ckDir, so.keep, name);
  return final;
}

/** Step directories under a checkpoints folder, oldest first. */
export function listCheckpoints(ckDir: string): string[] {
  if (!fs.existsSync(ckDir)) return [];
  return fs.readdirSync(ckDir).filter((n) => /^step-\d{8,}$/.test(n)).sort();
}

function prune(ckDir: string, keep: number, latest: string): void {
  const all = listCheckpoints(ckDir).filter((n) => n !== latest);
  const drop = all.slice(0, Math.max(0, all.length - Math.max(0, keep - 1)));
  for (const n of drop) fs.rmSync(path.join(ckDir, n), { recursive: true, force: true });
}

/** The checkpoint `latest` names under a run directory, or null when the run has none. Throws if `latest` is broken. */
export function latestCheckpoint(runDir: string): string | null {
  const ckDir = path.join(runDir, CHECKPOINTS_DIR);
  const latest = path.join(ckDir, LATEST_FILE);
  if (!fs.existsSync(latest)) return null;
  const name = fs.readFileSync(latest, 'utf8').trim();
  if (!/^step-\d{8,}$/.test(name)) throw new Error(`${latest} is corrupt: it should name a checkpoint directory (step-NNNNNNNN), it holds '${name.slice(0, 40)}'`);
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
  let state: CheckpointFile;
  try {
    state = JSON.parse(fs.readFileSync(statePath, 'utf8')) as CheckpointFile;
  } catch (e) {
    throw new Error(`checkpoint ${dir} is corrupt: ${STATE_FILE} is not valid JSON (${(e as Error).message})`);
  }
  if (state.format !== FORMAT || state.version !== 1) {
    throw new Error(`checkpoint ${dir}: ${STATE_FILE} is not a version-1 ${FORMAT} (format '${String(state.format)}', version ${String(state.version)})`);
  }
  for (const [f, want] of Object.entries(state.files ?? {})) {
    const p = path.join(dir, f);
    if (!fs.existsSync(p)) throw new Error(`checkpoint ${dir} is incomplete: ${f} is missing`);
    const got = sha256File(p);
    if (got.bytes !== want.bytes || got.sha256 !== want.sha256) {
      throw new Error(`checkpoint ${dir} is corrupt: ${f} has ${got.bytes} bytes / sha256 ${got.sha256.slice(0, 12)}…, ` +
        `state.json recorded ${want.bytes} bytes / ${want.sha256.slice(0, 12)}…`);
    }
  }
  if (!state.files || !state.files[HF_WEIGHTS_FILE] || !state.files[OPTIMIZER_FILE]) {
    throw new Error(`checkpoint ${dir} is corrupt: ${STATE_FILE} lists no ${HF_WEIGHTS_FILE} / ${OPTIMIZER_FILE}`);
  }
  const ck = loadHFFolder(dir);
  const opt = readSafetensors(path.join(dir, OPTIMIZER_FILE));
  const m: TensorMap = {};
  const v: TensorMap = {};
  for (const [k, t] of Object.entries(opt.tensors)) {
    if (k.startsWith('m.')) m[k.slice(2)] = t;
    else if (k.startsWith('v.')) v[k.slice(2)] = t;
    else throw new Error(`checkpoint ${dir}: unexpected tensor '${k}' in ${OPTIMIZER_FILE}`);
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
