// Options of train(), their defaults, and the JSON run config written to config.json and every checkpoint.
// The run config is also how resume decides whether a checkpoint belongs to this run: every field that changes the
// training trajectory must match (resumeMismatches); logging and checkpoint cadence, maxSteps and the model path may change.
import { GPTConfig, makeConfig } from '../model/config';
import { Params } from '../model/params';
import { BatchSampler } from '../data/sampler';
import { TokenSource } from '../data/source';
import { WindowAlignment } from '../data/prepare';
import { isAligned } from '../data/windows';
import { LiveDisplay } from '../notebook/display';
import { LrSchedule, validateSchedule } from './schedule';
import { AdamWConfig, DecayRule } from './adamw';
import { Accumulation } from './step';
import { EvalOptions } from './evaluate';
import type { ProbeOptions } from '../metrics/emergence';
import { SpikeOptions } from './guards';
import { DistillOptions, distillSettings } from './distill';
import { EvalLog, History, StepLog } from './history';

export interface TrainData {
  /** Train split: a token source (a sampler is built over it) or a ready sampler (tests, custom streams). */
  train: TokenSource | BatchSampler;
  /** Validation split, for fixed and random evaluation batches. */
  val?: TokenSource;
  /** Sampler built over a train TokenSource: 'random' (nanoGPT get_batch, default) or 'sequential' (FineWeb loader). */
  sampler?: 'random' | 'sequential';
  /** Rows per micro-batch (nanoGPT batch_size). */
  batchSize: number;
  /** Tokens per row (nanoGPT block_size); at most the model's blockSize. */
  blockSize: number;
  /** Dataset name, recorded in the run config (e.g. 'owt-mini'). */
  name?: string;
}

export interface TrainOptions {
  /** The model's parameters; updated in place (the caller keeps owning them). */
  params: Params;
  config: GPTConfig;
  /** Preset name, recorded so a checkpoint of another preset is refused by name. */
  preset?: string;
  data: TrainData;
  /** Number of optimizer steps (updates). */
  maxSteps: number;
  /** Learning-rate schedule; defaults: minLr = lr/10, warmupIters 0, decayIters = maxSteps, nanoGPT warmup, cosine. */
  schedule: Partial<LrSchedule> & { lr: number };
  /** AdamW settings; defaults betas (0.9, 0.95), eps 1e-8, weight decay 0.1, decay rule 'rank>=2' (nanoGPT). */
  optimizer?: Partial<AdamWConfig> & { decayRule?: DecayRule };
  /** Global-norm clip (default 1.0; 0 = off). */
  gradClip?: number;
  /** Micro-batches per step (default 1). */
  gradAccumSteps?: number;
  /** 'mean' (nanoGPT, default) or 'sum' (the authors' code, paper.md §11.6). */
  accumulation?: Accumulation;
  /** Seed of the training sampler, the evaluation RNGs and dropout (default 1337, nanoGPT's). */
  seed?: number;
  /** Model path (default: the backend's preference). */
  fast?: boolean;
  /** Read back and log the loss every N steps (default 10); the loss is not synced in between. */
  logInterval?: number;
  eval?: EvalOptions;
  /** Measure the rank and sink profile on fixed validation windows every N steps (emergence of lazy layers). */
  probe?: ProbeOptions;
  /** Skip the update of loss spikes (llm.c -sl). Off by default. Reads the loss back every step. */
  spike?: SpikeOptions;
  /** Knowledge distillation from a teacher (paper.md §5). */
  distill?: DistillOptions;
  /** Run directory (results/<experiment>/<run>): config.json, train.csv, eval.csv, checkpoints/. No files without it. */
  outDir?: string;
  /** Checkpoint every N steps (0 = only the final one; default 0). Needs outDir. */
  checkpointInterval?: number;
  /** Keep only the newest N checkpoints (default: all). */
  keepCheckpoints?: number;
  /** Save a checkpoint at the end (default true when outDir is set). */
  saveFinal?: boolean;
  /** Continue from a checkpoint: true = outDir's latest; 'auto' = that if it exists, else start fresh; or a path. */
  resume?: boolean | 'auto' | string;
  /** Start fresh even if outDir already holds checkpoints (they are deleted). */
  overwrite?: boolean;
  /** Live progress: true (default) = notebook display or stderr line, false = none, or a display of your own. */
  progress?: boolean | LiveDisplay;
  onLog?: (entries: StepLog[], history: History) => void;
  onEval?: (entry: EvalLog, history: History) => void;
  onCheckpoint?: (dir: string, step: number) => void;
  /** Stop at the next step boundary (a final checkpoint is still written when outDir is set). */
  signal?: AbortSignal;
}

export interface RunConfig {
  format: 'inheritune-train-run';
  version: 1;
  preset: string | null;
  model: GPTConfig;
  /** windows: present only when windows start at a boundary token (absent = nanoGPT's any offset). */
  data: { name: string | null; sampler: 'random' | 'sequential' | 'custom'; batchSize: number; blockSize: number; trainTokens: number | null; windows?: WindowAlignment };
  maxSteps: number;
  seed: number;
  gradAccumSteps: number;
  accumulation: Accumulation;
  gradClip: number;
  tokensPerStep: number;
  schedule: Required<LrSchedule>;
  optimizer: AdamWConfig & { decayRule: DecayRule };
  fast: boolean;
  logInterval: number;
  checkpointInterval: number;
  eval: { interval: number; atStart: boolean; fixedBatches: number; fixedMode: string; randomIters: number; trainIters: number; batchSize: number } | null;
  spike: { zThreshold: number; window: number } | null;
  distill: { alpha: number; temperature: number; scaleByT2: boolean; teacher: GPTConfig } | null;
}

function isSampler(x: TokenSource | BatchSampler): x is BatchSampler {
  return typeof (x as BatchSampler).next === 'function';
}

export { isSampler };

function posInt(name: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

/** Validates options and fills every default; the result is what config.json records. */
export function resolveRunConfig(o: TrainOptions, fast: boolean): RunConfig {
  if (!o || !o.params || !o.config) throw new Error('train needs { params, config, data, maxSteps, schedule }');
  const model = { ...makeConfig(o.config) };
  const maxSteps = posInt('maxSteps', o.maxSteps, 0);
  const d = o.data;
  if (!d || !d.train) throw new Error('train needs data.train (a TokenSource or a BatchSampler)');
  posInt('data.batchSize', d.batchSize);
  posInt('data.blockSize', d.blockSize);
  if (d.blockSize > model.blockSize) {
    throw new Error(`data.blockSize ${d.blockSize} exceeds the model's blockSize ${model.blockSize}`);
  }
  const gradAccumSteps = posInt('gradAccumSteps', o.gradAccumSteps ?? 1);
  const accumulation = o.accumulation ?? 'mean';
  if (accumulation !== 'mean' && accumulation !== 'sum') throw new Error(`accumulation must be 'mean' or 'sum', got '${String(accumulation)}'`);
  const gradClip = o.gradClip ?? 1.0;
  if (!(gradClip >= 0)) throw new Error(`gradClip must be >= 0 (0 = off), got ${gradClip}`);
  const seed = o.seed ?? 1337;
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  const s = o.schedule;
  if (!s || typeof s.lr !== 'number') throw new Error('train needs schedule: { lr, ... }');
  const schedule: Required<LrSchedule> = {
    lr: s.lr,
    minLr: s.minLr ?? s.lr / 10,
    warmupIters: s.warmupIters ?? 0,
    decayIters: s.decayIters ?? Math.max(maxSteps, (s.warmupIters ?? 0) + 1),
    warmup: s.warmup ?? 'nanogpt',
    decay: s.decay ?? 'cosine',
  };
  validateSchedule(schedule);
  const op = o.optimizer ?? {};
  const optimizer = {
    beta1: op.beta1 ?? 0.9,
    beta2: op.beta2 ?? 0.95,
    eps: op.eps ?? 1e-8,
    weightDecay: op.weightDecay ?? 0.1,
    decayRule: op.decayRule ?? 'rank>=2',
  };
  if (optimizer.decayRule !== 'rank>=2' && optimizer.decayRule !== 'linear-weights') {
    throw new Error(`optimizer.decayRule must be 'rank>=2' or 'linear-weights', got '${String(optimizer.decayRule)}'`);
  }
  const e = o.eval;
  const evalCfg = e
    ? {
        interval: posInt('eval.interval', e.interval, 0),
        atStart: e.atStart ?? true,
        fixedBatches: e.batches ? e.batches.length : e.fixedBatches ?? 0,
        fixedMode: e.batches ? 'custom' : e.fixedMode ?? 'spaced',
        randomIters: e.randomIters ?? 0,
        trainIters: e.trainIters ?? 0,
        batchSize: e.batchSize ?? d.batchSize,
      }
    : null;
  const spike = o.spike ? { zThreshold: o.spike.zThreshold, window: o.spike.window ?? 128 } : null;
  const distill = o.distill ? { ...distillSettings(o.distill), teacher: { ...makeConfig(o.distill.teacherConfig) } } : null;
  if (distill && distill.teacher.vocabSize !== model.vocabSize) {
    throw new Error(`teacher vocabSize ${distill.teacher.vocabSize} differs from the student's ${model.vocabSize}`);
  }
  const checkpointInterval = posInt('checkpointInterval', o.checkpointInterval ?? 0, 0);
  if (checkpointInterval > 0 && !o.outDir) throw new Error('checkpointInterval needs outDir (where checkpoints are written)');
  const train = d.train;
  return {
    format: 'inheritune-train-run',
    version: 1,
    preset: o.preset ?? null,
    model,
    data: {
      name: d.name ?? null,
      sampler: isSampler(train) ? 'custom' : d.sampler ?? 'random',
      batchSize: d.batchSize,
      blockSize: d.blockSize,
      trainTokens: isSampler(train) ? null : train.length,
      ...(!isSampler(train) && isAligned(train) ? { windows: { ...train.align } } : {}),
    },
    maxSteps,
    seed,
    gradAccumSteps,
    accumulation,
    gradClip,
    tokensPerStep: gradAccumSteps * d.batchSize * d.blockSize,
    schedule,
    optimizer,
    fast,
    logInterval: posInt('logInterval', o.logInterval ?? 10),
    checkpointInterval,
    eval: evalCfg,
    spike,
    distill,
  };
}

// Fields that may differ between a checkpoint and the run resuming it. Evaluation settings may change too: they never
// touch the training stream (the trainer then restarts the evaluation RNGs instead of restoring them).
const MAY_CHANGE = new Set(['maxSteps', 'fast', 'logInterval', 'checkpointInterval']);
const MAY_CHANGE_PREFIX = ['eval'];
// Labels compared only when both runs give one (a notebook may pass a config without naming its preset).
const IF_BOTH = new Set(['preset', 'data.name']);

function flatten(x: unknown, prefix: string, out: Map<string, unknown>): void {
  if (x !== null && typeof x === 'object' && !Array.isArray(x)) {
    for (const [k, v] of Object.entries(x as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, x);
  }
}

/** True when two runs draw the same evaluation batches (so the evaluation RNG states can be restored). */
export function sameEvalBatches(a: RunConfig['eval'], b: RunConfig['eval']): boolean {
  const key = (e: RunConfig['eval']) => (e ? JSON.stringify({ ...e, interval: 0, atStart: true }) : 'none');
  return key(a) === key(b);
}

/** Human-readable differences that forbid resuming `saved` as `now` (empty when compatible). */
export function resumeMismatches(saved: RunConfig, now: RunConfig): string[] {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  flatten(saved, '', a);
  flatten(now, '', b);
  const out: string[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    if (MAY_CHANGE.has(key) || MAY_CHANGE_PREFIX.some((p) => key === p || key.startsWith(`${p}.`))) continue;
    const x = a.get(key);
    const y = b.get(key);
    if (IF_BOTH.has(key) && (x === null || y === null)) continue;
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push(`${key}: checkpoint ${JSON.stringify(x) ?? 'absent'}, this run ${JSON.stringify(y) ?? 'absent'}`);
  }
  return out;
}
