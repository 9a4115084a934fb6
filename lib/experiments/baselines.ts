// Notebooks 05 and 06: Inheritune against its baselines (paper Table 2, Fig. 6, Fig. 18; reference/paper.md §5),
// the sub-module ablation (Table 3, Fig. 19) and knowledge distillation (Fig. 17), at the scale's size.
//
// A method is a list of training stages (stacking has two: the small model, then the stacked one); every stage is one
// run of the shared recipe (lab.ts trainLabModel), so a run trained by another notebook under the same name is
// reused: 'inheritune-<l>L-r<round>' and 'random-<l>L' of notebook 04 (and 03). A plan is made for one seed (default
// 5000, the authors'): every fresh tensor and the data order come from it and every run name ends in -s<seed>;
// notebook 05 runs its plan once per seed of the setup (baselines-seeds.ts summarizes over seeds). The reference's own training cost is not counted in any method (the
// paper does not count it either); the methods that need the trained reference say so.
import { GPTConfig, makeConfig } from '../model/config';
import { Params, disposeParams, numParams } from '../model/params';
import { History } from '../train/history';
import { DistillOptions } from '../train/distill';
import { BuiltModel } from '../inheritune/surgery';
import { CopyItem, DEFAULT_COPY, inheritModel } from '../inheritune/inherit';
import { distilbertLayers, distillInit, embeddingOnly, halfWidth, hybridStacking, randomInit, stackBlocks, stackOrder } from '../inheritune/baselines';
import { inherituneRunName, randomRunName } from './inheritune-run';
import { LabData, LabSetup, seedRunName, trainLabModel } from './lab';

/** The init seed of every fresh tensor (the authors' runs and notebook 04 use 5000). */
export const INIT_SEED = 5000;

// ---- the paper's numbers (OWT val loss; reference/paper.md §2, §5, §10) --------------------------------------

export type Cell = { layers: number; valLoss: number };
/** Table 2 (100K steps) with the reference depth; the authors' log values are in paper.md §10. */
export const PAPER_TABLE2: Record<'Medium' | 'Large' | 'XL', { reference: number; halfWidth: Cell; stacking: Cell; hybrid: Cell; ours: Cell }> = {
  Medium: { reference: 24, halfWidth: { layers: 24, valLoss: 3.04 }, stacking: { layers: 16, valLoss: 2.84 }, hybrid: { layers: 16, valLoss: 2.83 }, ours: { layers: 16, valLoss: 2.81 } },
  Large: { reference: 36, halfWidth: { layers: 36, valLoss: 3.06 }, stacking: { layers: 18, valLoss: 2.87 }, hybrid: { layers: 18, valLoss: 2.89 }, ours: { layers: 18, valLoss: 2.80 } },
  XL: { reference: 48, halfWidth: { layers: 48, valLoss: 2.77 }, stacking: { layers: 24, valLoss: 2.65 }, hybrid: { layers: 24, valLoss: 2.64 }, ours: { layers: 24, valLoss: 2.64 } },
};

/** Fig. 6 / Table 5: Inheritune at 100K steps vs the same size from random init at 100K and 200K steps. */
export const PAPER_FIG6: Record<'Medium' | 'Large' | 'XL', { layers: number; ours: number; random: number; random2x: number }> = {
  Medium: { layers: 16, ours: 2.81, random: 2.86, random2x: 2.83 },
  Large: { layers: 18, ours: 2.80, random: 2.97, random2x: 2.84 },
  XL: { layers: 24, ours: 2.64, random: 2.69, random2x: 2.62 },
};

/** Table 3: 16L Medium from sub-modules of the first 16 blocks of the 24L reference (100K steps; step-0 from logs). */
export const PAPER_TABLE3 = {
  'attn+ln': { label: 'Attention (+ LayerNorm)', valLoss: 2.84, valLossAtInit: 15.01 },
  'mlp+ln': { label: 'MLP (+ LayerNorm)', valLoss: 2.85, valLossAtInit: 15.32 },
  'attn+mlp': { label: 'Attention + MLP, no LN', valLoss: 2.80, valLossAtInit: 10.55 },
  inheritune: { label: 'Ours (whole block)', valLoss: 2.81, valLossAtInit: 10.38 },
} as const;

/** Fig. 17: 16L Medium students of the 24L teacher, val loss at 50K steps (alpha 0.6, temperature 1). */
export const PAPER_KD = {
  alpha: 0.6,
  temperature: 1,
  steps: '50K',
  'kd-vanilla': { label: 'Vanilla KD (random student)', valLoss: 3.019 },
  'kd-teacher-init': { label: 'KD, DistilBERT-style teacher init', valLoss: 3.028 },
  random: { label: 'Vanilla training (random init, no KD)', valLoss: 2.971 },
  inheritune: { label: 'Ours (Inheritune)', valLoss: 2.912 },
} as const;

// ---- methods ----------------------------------------------------------------------------------------------------

export type MethodKey =
  | 'inheritune' | 'random' | 'random-2x' | 'stacking' | 'hybrid-stacking' | 'half-width' | 'embedding-only'
  | 'attn+ln' | 'mlp+ln' | 'attn+mlp' | 'kd-vanilla' | 'kd-teacher-init';

export interface ModelRef {
  params: Params;
  config: Readonly<GPTConfig>;
}

export interface Stage {
  /** Run name (results/lab/<scale>/<run>). */
  run: string;
  steps: number;
  /** Builds the stage's model from the reference, or from the previous stage's trained model (stacking). */
  build: (ref: ModelRef, prev: ModelRef | undefined) => BuiltModel;
  /** Train with the KD loss, the reference as teacher (paper: alpha 0.6, temperature 1). */
  distill?: boolean;
}

export interface MethodSpec {
  key: MethodKey;
  label: string;
  /** Depth and width of the final model. */
  layers: number;
  nEmbd: number;
  /** One line: how the final model starts. */
  init: string;
  stages: Stage[];
  /** Needs the trained reference (whose training cost no method counts). */
  usesReference: boolean;
  /** Init and data-order seed of every stage (run names end in -s<seed>). */
  seed: number;
}

/** The run name of Inheritune at `layers` blocks: notebook 04's restart round that trains exactly this model. */
export function inherituneRunFor(refLayers: number, layers: number): string {
  const d = layers - Math.floor(refLayers / 2);
  return d >= 0 && d % 2 === 0 ? inherituneRunName(layers, d / 2 + 1) : `inheritune-${layers}L`;
}

const sd = seedRunName;

const inheritSpec = (L: number, k: number, steps: number, C: number, seed: number): MethodSpec => ({
  key: 'inheritune', label: `Inheritune ${k}L`, layers: k, nEmbd: C, usesReference: true, seed,
  init: `wte + reference blocks 1-${k} (whole blocks); wpe, ln_f fresh`,
  stages: [{ run: sd(inherituneRunFor(L, k), seed), steps, build: (ref) => inheritModel(ref.params, ref.config, { layers: k, seed, copy: DEFAULT_COPY }) }],
});

const randomSpec = (k: number, steps: number, C: number, seed: number): MethodSpec => ({
  key: 'random', label: `random init ${k}L`, layers: k, nEmbd: C, usesReference: false, init: 'random (nanoGPT init)', seed,
  stages: [{ run: sd(randomRunName(k), seed), steps, build: (ref) => randomInit(makeConfig(ref.config, { nLayer: k }), seed) }],
});

/** The control: the reference's wte (tied head) and fresh blocks; the same run as notebook 03's part B control. */
const embeddingSpec = (k: number, steps: number, C: number, seed: number): MethodSpec => ({
  key: 'embedding-only', label: `embedding only ${k}L`, layers: k, nEmbd: C, usesReference: true, seed,
  init: 'wte (tied head) of the reference, every block fresh',
  stages: [{ run: sd(`embedding-only-${k}L`, seed), steps, build: (ref) => embeddingOnly(ref.params, ref.config, { nLayer: k, seed }) }],
});

/**
 * Notebook 05 (Table 2, Fig. 6): at k = floor(L/2) layers, Inheritune, random init, random init for 2x the steps,
 * stacking (q = floor(k/2) layers from scratch, duplicated to k, retrained), hybrid stacking (reference blocks
 * 1..q duplicated to k) and half-width (all L layers, half the width and heads, leading slices of the reference).
 */
export function baselinePlan(refConfig: GPTConfig, steps: number, seed = INIT_SEED): MethodSpec[] {
  const L = refConfig.nLayer;
  const k = Math.floor(L / 2);
  const q = Math.floor(k / 2);
  const C = refConfig.nEmbd;
  if (q < 1) throw new Error(`the baselines need a reference of at least 4 layers (stacking trains L/4 layers first), got ${L}`);
  return [
    inheritSpec(L, k, steps, C, seed),
    randomSpec(k, steps, C, seed),
    embeddingSpec(k, steps, C, seed),
    {
      key: 'random-2x', label: `random init ${k}L, 2x steps`, layers: k, nEmbd: C, usesReference: false, init: 'random, trained twice as long', seed,
      stages: [{ run: sd(`${randomRunName(k)}-2x`, seed), steps: 2 * steps, build: (ref) => randomInit(makeConfig(ref.config, { nLayer: k }), seed) }],
    },
    {
      key: 'stacking', label: `stacking ${q}L → ${k}L`, layers: k, nEmbd: C, usesReference: false, seed,
      init: `${q}L trained from scratch, blocks [${stackOrder(q, k).map((i) => i + 1).join(', ')}] of it, retrained`,
      stages: [
        { run: sd(`stacking-${q}L`, seed), steps, build: (ref) => randomInit(makeConfig(ref.config, { nLayer: q }), seed) },
        { run: sd(`stacking-${q}to${k}L`, seed), steps, build: (_ref, prev) => stackBlocks(must(prev).params, must(prev).config, { order: stackOrder(q, k), seed }) },
      ],
    },
    {
      key: 'hybrid-stacking', label: `hybrid stacking ${k}L`, layers: k, nEmbd: C, usesReference: true, seed,
      init: `wte + reference blocks [${stackOrder(q, k).map((i) => i + 1).join(', ')}]`,
      stages: [{ run: sd(`hybrid-stacking-${k}L`, seed), steps, build: (ref) => hybridStacking(ref.params, ref.config, { seed, smallLayers: q, targetLayers: k }) }],
    },
    {
      key: 'half-width', label: `half-width ${L}L`, layers: L, nEmbd: C / 2, usesReference: true, seed,
      init: `every tensor of the reference, leading half of each width (n_embd ${C} → ${C / 2})`,
      stages: [{ run: sd(`half-width-${L}L`, seed), steps, build: (ref) => halfWidth(ref.params, ref.config, { seed }) }],
    },
  ];
}

function must(prev: ModelRef | undefined): ModelRef {
  if (!prev) throw new Error('this stage builds on the previous stage, but it is the first one');
  return prev;
}

/** Default depth of notebook 06: floor(L/2) + 2 (the paper's 16 of 24 is L/2 + 4; lab: 8 of 12 = the same 2/3). */
export function ablationLayers(refLayers: number): number {
  return Math.min(refLayers, Math.floor(refLayers / 2) + 2);
}

/** Notebook 06, Table 3: the first m reference blocks with copy 'attn+ln', 'mlp+ln', 'attn+mlp' vs the whole block. */
export function ablationPlan(refConfig: GPTConfig, steps: number, m = ablationLayers(refConfig.nLayer), seed = INIT_SEED): MethodSpec[] {
  const L = refConfig.nLayer;
  const C = refConfig.nEmbd;
  const part = (key: 'attn+ln' | 'mlp+ln' | 'attn+mlp', run: string): MethodSpec => ({
    key, label: `${PAPER_TABLE3[key].label}, ${m}L`, layers: m, nEmbd: C, usesReference: true, seed,
    init: `wte + ${key} of reference blocks 1-${m}; the rest fresh`,
    stages: [{ run: sd(`ablation-${run}-${m}L`, seed), steps, build: (ref) => inheritModel(ref.params, ref.config, { layers: m, seed, copy: ['wte', key] as CopyItem[] }) }],
  });
  return [inheritSpec(L, m, steps, C, seed), part('attn+mlp', 'attn-mlp'), part('attn+ln', 'attn-ln'), part('mlp+ln', 'mlp-ln')];
}

/**
 * DistilBERT-style student layers for an m-layer student of an L-layer teacher: every other teacher block
 * (0, 2, ...), then m - ceil(L/2) consecutive blocks from 3L/4 (paper, 16 of 24: [0, 2, ..., 22, 18, 19, 20, 21]).
 */
export function studentLayers(L: number, m: number): number[] {
  const base = Math.ceil(L / 2);
  if (!Number.isInteger(m) || m < base || m > L) throw new Error(`the DistilBERT-style student needs ${base}..${L} layers (every other teacher block, then extra ones), got ${m}`);
  const extra = m - base;
  const start = Math.min(Math.floor((3 * L) / 4), L - extra);
  return distilbertLayers(L, { every: 2, extra: Array.from({ length: extra }, (_, i) => start + i) });
}

/** Notebook 06, Fig. 17: vanilla KD, KD with the DistilBERT-style init, vanilla training, Inheritune; m layers each. */
export function distillPlan(refConfig: GPTConfig, steps: number, m = ablationLayers(refConfig.nLayer), seed = INIT_SEED): MethodSpec[] {
  const L = refConfig.nLayer;
  const C = refConfig.nEmbd;
  const layers = studentLayers(L, m);
  return [
    inheritSpec(L, m, steps, C, seed),
    randomSpec(m, steps, C, seed),
    {
      key: 'kd-vanilla', label: `vanilla KD ${m}L`, layers: m, nEmbd: C, usesReference: true, init: 'random; KD loss from the reference', seed,
      stages: [{ run: sd(`kd-vanilla-${m}L`, seed), steps, distill: true, build: (ref) => randomInit(makeConfig(ref.config, { nLayer: m }), seed) }],
    },
    {
      key: 'kd-teacher-init', label: `KD + teacher init ${m}L`, layers: m, nEmbd: C, usesReference: true, seed,
      init: `wte + reference blocks [${layers.map((i) => i + 1).join(', ')}]; KD loss from the reference`,
      stages: [{ run: sd(`kd-teacher-init-${m}L`, seed), steps, distill: true, build: (ref) => distillInit(ref.params, ref.config, { seed, layers }) }],
    },
  ];
}

// ---- running ------------------------------------------------------------------------------------------------

export interface StageOutcome {
  valLoss: number;
  history: History;
  /** Optimizer steps and tokens per step of the run. */
  steps: number;
  tokensPerStep: number;
}

/** Trains a stage's model in place (the caller keeps owning the params); `seed` orders the data. */
export type StageTrainFn = (run: string, params: Params, config: Readonly<GPTConfig>, steps: number, distill: DistillOptions | undefined, seed: number) => Promise<StageOutcome>;

/** The lab's trainer: trainLabModel (reuses finished runs by name). */
export function labStageTrainer(s: LabSetup, data: LabData): StageTrainFn {
  return async (run, params, config, steps, distill, seed) => {
    const r = await trainLabModel(s, data, run, params, config, steps, { distill, seed });
    return { valLoss: r.valLoss, history: r.result.history, steps: r.result.steps, tokensPerStep: r.result.runConfig.tokensPerStep };
  };
}

export interface StageResult {
  run: string;
  layers: number;
  params: number;
  steps: number;
  tokens: number;
  valLossAtInit: number;
  valLoss: number;
  history: History;
  notes: string[];
}

export interface MethodResult {
  key: MethodKey;
  seed: number;
  label: string;
  layers: number;
  nEmbd: number;
  init: string;
  usesReference: boolean;
  /** Parameters of the final model (tied head counted once) and without wte/wpe. */
  params: number;
  nonEmbeddingParams: number;
  stages: StageResult[];
  /** Totals over the stages. */
  steps: number;
  tokens: number;
  /** Training compute ≈ Σ 6·N·D (+ 2·N_teacher·D for the KD teacher's forward passes). */
  flops: number;
  /** The final stage's validation loss before and after training. */
  valLossAtInit: number;
  valLoss: number;
  notes: string[];
}

/** Trains a method's stages in order and disposes every model; only numbers and histories are kept. */
export async function runMethod(spec: MethodSpec, ref: ModelRef, trainFn: StageTrainFn, o: { onStage?: (stage: Stage, i: number) => void } = {}): Promise<MethodResult> {
  const teacherParams = numParams(ref.params);
  const stages: StageResult[] = [];
  let prev: BuiltModel | undefined;
  let flops = 0;
  let nonEmb = 0;
  try {
    for (const [i, stage] of spec.stages.entries()) {
      o.onStage?.(stage, i);
      const built = stage.build(ref, prev);
      if (prev) disposeParams(prev.params);
      prev = built;
      const distill: DistillOptions | undefined = stage.distill
        ? { teacher: ref.params, teacherConfig: ref.config, alpha: PAPER_KD.alpha, temperature: PAPER_KD.temperature }
        : undefined;
      const r = await trainFn(stage.run, built.params, built.config, stage.steps, distill, spec.seed);
      if (!Number.isFinite(r.valLoss)) throw new Error(`run ${stage.run} ended with validation loss ${r.valLoss}`);
      const n = numParams(built.params);
      const tokens = r.steps * r.tokensPerStep;
      flops += 6 * n * tokens + (distill ? 2 * teacherParams * tokens : 0);
      nonEmb = n - built.params['transformer.wte.weight'].size - built.params['transformer.wpe.weight'].size;
      stages.push({
        run: stage.run, layers: built.config.nLayer, params: n, steps: r.steps, tokens, valLoss: r.valLoss,
        valLossAtInit: r.history.evals.find((e) => e.step === 0)?.valLoss ?? NaN, history: r.history, notes: built.notes,
      });
    }
  } finally {
    if (prev) disposeParams(prev.params);
  }
  const last = stages[stages.length - 1];
  return {
    key: spec.key, seed: spec.seed, label: spec.label, layers: spec.layers, nEmbd: spec.nEmbd, init: spec.init, usesReference: spec.usesReference,
    params: last.params, nonEmbeddingParams: nonEmb, stages,
    steps: stages.reduce((a, s) => a + s.steps, 0), tokens: stages.reduce((a, s) => a + s.tokens, 0), flops,
    valLossAtInit: last.valLossAtInit, valLoss: last.valLoss, notes: [...new Set(stages.flatMap((s) => s.notes))],
  };
}

/** One history per method for lossCurveFigure: the stages one after another on a cumulative step axis. */
export function methodHistory(r: MethodResult): History {
  if (r.stages.length === 1) return r.stages[0].history;
  const out: History = { steps: [], evals: [] };
  let offset = 0;
  for (const s of r.stages) {
    out.steps.push(...s.history.steps.map((x) => ({ ...x, step: x.step + offset })));
    out.evals.push(...s.history.evals.map((e) => ({ ...e, step: e.step + offset })));
    offset += s.steps;
  }
  return out;
}

export function methodHistories(results: readonly MethodResult[]): Record<string, History> {
  return Object.fromEntries(results.map((r) => [r.label, methodHistory(r)]));
}
