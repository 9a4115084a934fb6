// The shared setup of the paper's GPT-2 experiments (notebooks 02-05): one reference model per scale, trained once
// and reused, and one way to train every smaller model the same way.
//
// The paper: references are the authors' own GPT-2 Medium/Large/XL trained from scratch on OpenWebText for 100K steps
// (reference/paper.md §2, §3); targets are trained with a fresh optimizer and schedule. The `paper` scale here is
// GPT-2 Medium (24L) with the Medium hyper-parameters (394K tokens/step, lr 3e-4, warmup 2000, cosine to 1e-5).
// `lab` and `tiny` keep every ratio that matters (targets start at L/2 and grow by 2; the same schedule shape,
// tau = 0.9) and shrink the rest to fit a laptop CPU; their data is the embedded owt-mini corpus.
//
// The data regime (lib/experiments/regimes.ts) is the second dimension: labSetup(scale, regime) applies the regime's
// overrides (the synthetic regime: its dataset, reference shape, lr, steps, seeds) to the scale's setup. Runs of a
// regime live in results/lab/<scale>/<regime>/<run>, so two regimes never share a run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GPTConfig, PresetName, makeConfig } from '../model/config';
import { Params, initParams } from '../model/params';
import { ensureDataset, openDataset, DatasetInfo, defaultDataDir, describeDataset } from '../data/dataset';
import { TokenSource } from '../data/source';
import { train } from '../train/trainer';
import { TrainResult } from '../train/trainer';
import { DistillOptions } from '../train/distill';
import { readCheckpoint, latestCheckpoint } from '../train/checkpoint';
import { Scale, byScale, currentScale } from '../scale';
import { DatasetRecipe, Regime, currentRegime, regimeOverrides, regimeSlug } from './regimes';
import { prepareSynthetic } from '../data/synthetic';
import { WindowMode } from '../data/windows';
import { repoRoot } from '../notebook/kernel';
import { lockRunDir } from '../util/run-lock';

export interface LabSetup {
  scale: Scale;
  /** The data regime (lib/experiments/regimes.ts): owt-mini, synth or custom:<name>. */
  regime: Regime;
  /** Dataset name under data/ (embedded owt-mini, the regime's synthetic dataset, or the user's data). */
  dataset: string;
  /** How the dataset is generated on first use (synthetic regimes); absent = ensureDataset(dataset). */
  datasetRecipe?: DatasetRecipe;
  /** Where windows start: absent = the dataset's default (BOS for synthetic data, any offset for text). */
  windows?: WindowMode;
  reference: PresetName;
  /** Changes to the preset's shape (the synthetic regime's small model); absent = the preset as it is. */
  referenceShape?: Partial<GPTConfig>;
  /** Model context (≤ the preset's blockSize) and training window. */
  blockSize: number;
  batchSize: number;
  gradAccumSteps: number;
  referenceSteps: number;
  /** Steps of every smaller model (each Inheritune round, each baseline). */
  targetSteps: number;
  lr: number;
  minLr: number;
  warmupIters: number;
  /** AdamW weight decay (nanoGPT's 0.1 unless a regime changes it). */
  weightDecay: number;
  evalInterval: number;
  /** Fixed validation batches per evaluation (deterministic, so every model is scored on the same tokens). */
  evalBatches: number;
  /** Rank protocol: N windows of T tokens from the validation split (paper: 100 x 100). */
  rankN: number;
  rankT: number;
  /** The reference's emergence probe: rank and sink profile on probeN x probeT val windows every probeInterval steps. */
  probeInterval: number;
  probeN: number;
  probeT: number;
  /** Seed of the reference (init and data order). */
  seed: number;
  /** Seeds of the compared models (notebooks 03-05): every arm trains once per seed (init and data order). */
  seeds: number[];
}

/** The owt-mini setup of each scale; other regimes are overrides of it (labSetup). */
export const LAB_SETUPS: Record<Scale, LabSetup> = {
  tiny: {
    scale: 'tiny', regime: 'owt-mini', dataset: 'owt-mini', reference: 'tiny-8L', blockSize: 32, batchSize: 4, gradAccumSteps: 1,
    referenceSteps: 60, targetSteps: 10, lr: 3e-3, minLr: 3e-4, warmupIters: 5, evalInterval: 20, evalBatches: 2,
    weightDecay: 0.1,
    rankN: 8, rankT: 32, probeInterval: 20, probeN: 4, probeT: 32, seed: 1337, seeds: [5000, 5001],
  },
  lab: {
    scale: 'lab', regime: 'owt-mini', dataset: 'owt-mini', reference: 'lab-12L', blockSize: 128, batchSize: 8, gradAccumSteps: 1,
    referenceSteps: 600, targetSteps: 60, lr: 1e-3, minLr: 1e-4, warmupIters: 30, evalInterval: 100, evalBatches: 8,
    weightDecay: 0.1,
    rankN: 100, rankT: 100, probeInterval: 50, probeN: 16, probeT: 64, seed: 1337, seeds: [5000, 5001, 5002],
  },
  paper: {
    scale: 'paper', regime: 'owt-mini', dataset: 'openwebtext', reference: 'paper-medium-24L', blockSize: 1024, batchSize: 12,
    gradAccumSteps: 32, referenceSteps: 100_000, targetSteps: 100_000, lr: 3e-4, minLr: 1e-5, warmupIters: 2000,
    evalInterval: 1000, evalBatches: 200, weightDecay: 0.1, rankN: 100, rankT: 100, probeInterval: 2000, probeN: 32, probeT: 100,
    seed: 1337, seeds: [5000, 5001, 5002],
  },
};

/** The setup of a scale (INHERITUNE_SCALE) and a data regime (INHERITUNE_REGIME): the scale's, with the regime's overrides. */
export function labSetup(scale: Scale = currentScale(), regime: Regime = currentRegime()): LabSetup {
  const base = byScale(LAB_SETUPS, scale);
  const o = regimeOverrides(regime, scale);
  if (!o) return { ...base, seeds: [...base.seeds] };
  const defined = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const s: LabSetup = { ...base, ...defined, regime, seeds: [...(o.seeds ?? base.seeds)] };
  checkSeeds(s.seeds);
  return s;
}

function checkSeeds(seeds: readonly number[]): void {
  if (!seeds.length || seeds.some((x) => !Number.isInteger(x)) || new Set(seeds).size !== seeds.length) {
    throw new Error(`a setup's seeds must be distinct integers, at least one, got [${seeds.join(', ')}]`);
  }
}

/** The reference's model config (the preset with the setup's context length and the regime's shape). */
export function referenceConfig(s: LabSetup): Readonly<GPTConfig> {
  return makeConfig(s.reference, { ...(s.referenceShape ?? {}), blockSize: s.blockSize });
}

/** The reference's name in tables and titles: the preset, or its regime shape (`6L x 64, 2 heads, vocab 128`). */
export function referenceLabel(s: LabSetup): string {
  if (!s.referenceShape) return s.reference;
  const c = referenceConfig(s);
  return `${c.nLayer}L × ${c.nEmbd}, ${c.nHead} heads, vocab ${c.vocabSize}`;
}

/** `scale lab, regime synth (synth-recall)`: what every table and figure title names. */
export function setupTag(s: LabSetup): string {
  return `${s.scale}, ${s.regime}${s.dataset !== s.regime ? ` (${s.dataset})` : ''}`;
}

/** A notebook's output folder: results/<notebook>/<scale>/<regime>. */
export function resultsDir(s: LabSetup, notebook: string): string {
  return path.join('results', notebook, s.scale, regimeSlug(s.regime));
}

export interface LabData {
  info: DatasetInfo;
  train: TokenSource;
  val: TokenSource;
}

/** Prepares (first use) and opens the setup's dataset. */
export async function labData(s: LabSetup, o: { dataDir?: string } = {}): Promise<LabData> {
  const dataDir = o.dataDir ?? defaultDataDir();
  let info: DatasetInfo;
  if (s.datasetRecipe) {
    // Seeded generator: the same recipe gives the same tokens; a changed recipe rebuilds the dataset.
    const r = await prepareSynthetic(s.datasetRecipe.generator, { dataDir, outName: s.dataset, overrides: s.datasetRecipe.overrides, quiet: true });
    info = describeDataset(r.dir);
  } else {
    info = await ensureDataset(s.dataset, { dataDir });
  }
  return { info, train: openDataset(info, 'train', 'auto', s.windows), val: openDataset(info, 'val', 'auto', s.windows) };
}

/** Where a scale's runs live: results/lab/<scale>/<regime>/<name>. */
export function runDir(s: LabSetup, name: string): string {
  return path.join(repoRoot(), 'results', 'lab', s.scale, regimeSlug(s.regime), name);
}

/** The run name of a compared model at one seed: `<name>-s<seed>` (the regime is in the directory, runDir). */
export function seedRunName(name: string, seed: number): string {
  return `${name}-s${seed}`;
}

export interface TrainedModel {
  params: Params;
  config: Readonly<GPTConfig>;
  result: TrainResult;
  /** Final validation loss on the fixed batches. */
  valLoss: number;
  dir: string;
}

/**
 * Trains `params` in place with the setup's recipe (fresh AdamW and schedule, fixed validation batches), in
 * results/lab/<scale>/<name>, resuming a killed run. A finished run is not trained again.
 * `opts.distill` adds the knowledge-distillation loss (paper §5); validation stays the student's plain CE.
 */
export async function trainLabModel(
  s: LabSetup, data: LabData, name: string, params: Params, config: Readonly<GPTConfig>, steps: number,
  opts: { distill?: DistillOptions; probe?: boolean; seed?: number } = {},
): Promise<TrainedModel> {
  const dir = runDir(s, name);
  const seed = opts.seed ?? s.seed;
  const release = await lockRun(dir);
  let result: TrainResult;
  try {
    // The seed list is not part of a run's recipe: adding a seed must not retrain the others.
    const { seeds: _seeds, ...setup } = s;
    setAsideIfRecipeChanged(dir, { setup, config, steps, seed });
    result = await train({
    params, config, preset: name,
    data: { train: data.train, val: data.val, batchSize: s.batchSize, blockSize: s.blockSize, name: s.dataset },
    maxSteps: steps, gradAccumSteps: s.gradAccumSteps, seed, optimizer: { weightDecay: s.weightDecay },
    schedule: { lr: s.lr, minLr: s.minLr, warmupIters: Math.min(s.warmupIters, Math.max(0, steps - 1)), decayIters: steps },
    eval: { interval: s.evalInterval, fixedBatches: s.evalBatches, randomIters: 0 },
    outDir: dir, resume: 'auto', checkpointInterval: s.evalInterval, keepCheckpoints: 1, distill: opts.distill,
    probe: opts.probe ? { interval: s.probeInterval, N: s.probeN, T: Math.min(s.probeT, config.blockSize) } : undefined,
  });
  } finally {
    release();
  }
  const last = [...result.history.evals].reverse().find((e) => e.valLoss !== undefined);
  if (!last || last.valLoss === undefined) throw new Error(`run ${name} has no validation loss`);
  return { params, config, result, valLoss: last.valLoss, dir };
}

/**
 * A run directory belongs to one recipe (setup, model config, steps). When the recipe changed since the run was
 * made (e.g. new LAB_SETUPS values), the old directory is renamed aside rather than resumed or deleted.
 */
function setAsideIfRecipeChanged(dir: string, recipe: unknown): void {
  const file = path.join(dir, 'recipe.json');
  const text = JSON.stringify(recipe, null, 1);
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') !== text) {
    const aside = `${dir}.old-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    console.log(`the recipe of ${path.basename(dir)} changed: keeping the old run in ${aside} and starting afresh`);
    fs.mkdirSync(aside);
    for (const f of fs.readdirSync(dir)) if (f !== '.lock') fs.renameSync(path.join(dir, f), path.join(aside, f));
  }
  fs.writeFileSync(file, text);
}

/**
 * One process trains a run at a time: two notebooks started together (or a notebook and the CLI) would otherwise
 * resume the same run directory concurrently. The second waits, then finds the run finished and reuses it.
 * A lock left by a dead process is taken over (lib/util/run-lock, the same lock the `train` CLI takes).
 */
function lockRun(dir: string): Promise<() => void> {
  return lockRunDir(dir, { wait: true });
}

/**
 * The setup's reference model, trained from scratch once (results/lab/<scale>/<regime>/reference) and loaded from its final
 * checkpoint afterwards. The caller owns the returned params.
 */
export async function ensureReference(s: LabSetup, data: LabData): Promise<TrainedModel> {
  const config = referenceConfig(s);
  const params = initParams(config, { seed: s.seed });
  return trainLabModel(s, data, 'reference', params, config, s.referenceSteps, { probe: true });
}

/** True when a finished reference checkpoint exists (notebooks say whether they train or reuse it). */
export function referenceIsTrained(s: LabSetup): boolean {
  const dir = runDir(s, 'reference');
  if (!fs.existsSync(dir)) return false;
  const latest = latestCheckpoint(dir);
  if (!latest) return false;
  try {
    return readCheckpoint(latest).state.step >= s.referenceSteps;
  } catch {
    return false;
  }
}
