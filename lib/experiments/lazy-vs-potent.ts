// Notebook 03: does it matter WHICH reference layers a smaller model inherits? (paper §2, Fig. 2, Fig. 3, Table 4;
// reference/paper.md §4). Targets built from potent (early, high-rank) layers, from the lazy (deep, rank-collapsed)
// layers, or from scratch, all trained with the same recipe and step count; the paper finds lazy init ≈ random init
// and potent init clearly better.
//
// Part A (Table 4 / Fig. 2): three groups of g = floor(L/3) layers, evenly spaced from the first to the last layer
//   (L = 12: blocks 1-4, 5-8, 9-12 exactly; L = 8: 1-2, 4-5, 7-8), each placed as blocks 1..g of a g-layer target,
//   plus a random g-layer target.
// Part B (Fig. 3): k = floor(L/2) layers, the first half (potent) vs the last half (the paper's "lazy layers",
//   indices NOT FOUND in the paper; [inferred] the last L/2) vs random.
// What is copied is the authors' Inheritune default (wte = tied head, whole blocks; wpe and ln_f fresh). Blocks moved
// to a new index keep the authors' plain state-dict behaviour (attnScale 'target-position'): with
// scaleAttnByInverseLayerIdx their logits are scaled by 1/(new index + 1). Every fresh tensor and every random target
// uses the same init seed (INIT_SEED), so two arms differ only in what they inherit; all arms see the same batches.
// Two runs of part B are notebook 04's runs, built identically (same seed, copy list, recipe), so whichever notebook
// runs first trains them and the other reuses them: 'random-<k>L' and the first half = 'inheritune-<k>L-r1'.
// Controls and seeds (issue 15): each part has an embedding-only arm (the reference's wte = tied head, fresh blocks),
// so the gain of the inherited blocks is separated from the copied embedding; every arm trains once per seed of the
// setup (run '<arm>-s<seed>', init and data order from the seed). The verdict and tables: lazy-vs-potent-report.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GPTConfig, makeConfig } from '../model/config';
import { Params, disposeParams } from '../model/params';
import { History } from '../train/history';
import { Figure } from '../viz/plotly';
import { BuiltModel } from '../inheritune/surgery';
import { AttnScaleMode, DEFAULT_COPY, describeCopy, inheritModel, resolveCopy } from '../inheritune/inherit';
import { embeddingOnly, randomInit } from '../inheritune/baselines';
import { avgRank, LayerRow } from '../metrics/attention-rank';
import { RankRow } from '../inheritune/select';
import { loadRankResult, saveRankResult } from '../metrics/io';
import { LabData, LabSetup, TrainedModel, referenceLabel, seedRunName } from './lab';
import { Spread, groupSeeds } from './spread';
import { measureRankProfile } from './rank-profile';

// ---- the paper's numbers -------------------------------------------------------------------------------------

/** Table 4: GPT-2 Small 4L variants of a 12L reference, 100K steps on OpenWebText. */
export const PAPER_TABLE4 = {
  random: { avgRank: NaN, valLoss: 3.25 },
  groups: [
    { layers: '1-4', avgRank: 8.40, valLoss: 3.22 },
    { layers: '5-8', avgRank: 9.48, valLoss: 3.19 },
    { layers: '9-12 (lazy)', avgRank: 1.22, valLoss: 3.23 },
  ],
} as const;

/** Fig. 3, val loss at 10K steps read off the plot (about ±0.02): L/2-layer targets of the 24L / 36L references. */
export const PAPER_FIG3 = {
  'Medium 12L of 24L (Fig. 3a)': { firstHalf: 3.09, lastHalf: 3.34, random: 3.36 },
  'Large 18L of 36L (Fig. 3b)': { firstHalf: 3.17, lastHalf: 3.55, random: 3.59 },
} as const;

// ---- which runs ---------------------------------------------------------------------------------------------

/** potent = early (or middle) layers, lazy = the deep layers, embedding = the embedding-only control. */
export type ArmRole = 'random' | 'potent' | 'lazy' | 'embedding';

export interface InitArm {
  /** Run name (results/lab/<scale>/<run>). 'random-<k>L' is shared with notebook 04. */
  run: string;
  /** Reference blocks (0-based) placed in order as target blocks 0..k-1; null = random init or embedding only. */
  layers: number[] | null;
  /** Target depth. */
  nLayer: number;
  /** For tables: 'layers 1-4', 'random 4L', 'first half (1-6)'. */
  label: string;
  /** The paper's role of the arm: potent (early) layers, the lazy (deep) layers, or random. */
  role: ArmRole;
}

const span = (ls: readonly number[]) => `${ls[0] + 1}-${ls[ls.length - 1] + 1}`;
const range = (start: number, n: number) => Array.from({ length: n }, (_, i) => start + i);

/** Three evenly spaced groups of floor(L/3) consecutive layers: the first starts at 0, the last ends at L-1. */
export function layerGroups(L: number): number[][] {
  if (!Number.isInteger(L) || L < 3) throw new Error(`need a reference with at least 3 layers to form 3 groups, got ${L}`);
  const g = Math.floor(L / 3);
  return [0, Math.round((L - g) / 2), L - g].map((s) => range(s, g));
}

/** The first and the last floor(L/2) layers. */
export function layerHalves(L: number): { first: number[]; last: number[] } {
  if (!Number.isInteger(L) || L < 2) throw new Error(`need a reference with at least 2 layers to split in halves, got ${L}`);
  const k = Math.floor(L / 2);
  return { first: range(0, k), last: range(L - k, k) };
}

/** Init seed of every arm: the authors' seed (5000 + rank), the one notebook 04's runs use. */
export const INIT_SEED = 5000;

export const randomRunName = (k: number) => `random-${k}L`;
/** Notebook 04's first Inheritune round: wte + the first k blocks, the same model as part B's first half. */
export const firstRoundRunName = (k: number) => `inheritune-${k}L-r1`;
export const inheritRunName = (layers: readonly number[]) => `init-layers-${span(layers)}`;
export const embeddingRunName = (k: number) => `embedding-only-${k}L`;

/** The embedding-only control of depth k: the reference's wte (tied head), fresh blocks. */
export function embeddingArm(k: number): InitArm {
  return { run: embeddingRunName(k), layers: null, nLayer: k, label: `embedding only ${k}L`, role: 'embedding' };
}

/** Part A (Table 4): the three groups (early, middle: potent; deep: lazy by position), random and embedding only. */
export function groupArms(L: number): InitArm[] {
  const groups = layerGroups(L);
  const g = groups[0].length;
  const where = ['early', 'middle', 'deep'];
  return [
    { run: randomRunName(g), layers: null, nLayer: g, label: `random ${g}L`, role: 'random' },
    ...groups.map((ls, i): InitArm => ({
      run: inheritRunName(ls), layers: ls, nLayer: g, label: `layers ${span(ls)} (${where[i]})`, role: i === 2 ? 'lazy' : 'potent',
    })),
    embeddingArm(g),
  ];
}

/** Part B (Fig. 3): first half, last half, random, each floor(L/2) layers (random and first half shared with notebook 04). */
export function halfArms(L: number): InitArm[] {
  const { first, last } = layerHalves(L);
  const k = first.length;
  return [
    { run: randomRunName(k), layers: null, nLayer: k, label: `random ${k}L`, role: 'random' },
    { run: firstRoundRunName(k), layers: first, nLayer: k, label: `first half (${span(first)})`, role: 'potent' },
    { run: inheritRunName(last), layers: last, nLayer: k, label: `last half (${span(last)})`, role: 'lazy' },
    embeddingArm(k),
  ];
}

// ---- ranks ----------------------------------------------------------------------------------------------------

/** LayerRows from a saved rank result's `layers` table (arquero objects; Arrow may give bigint indices). */
export function layerRowsFromTable(objects: ReadonlyArray<Record<string, unknown>>): LayerRow[] {
  return objects.map((o) => {
    const layer = Number(o.layer);
    const maxRank = Number(o.maxRank);
    if (!Number.isInteger(layer) || !Number.isFinite(maxRank)) {
      throw new Error(`a rank table row needs an integer 'layer' and a finite 'maxRank', got ${JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))}`);
    }
    return { ...(o as object), layer, maxRank, lazy: maxRank <= 1 + 1e-9 } as LayerRow;
  });
}

/** The model label notebook 02 writes into a rank result's meta: `<preset> (ours, <steps> steps)`. */
export function referenceRankLabel(s: LabSetup, ref: TrainedModel): string {
  return `${referenceLabel(s)} (ours, ${ref.result.steps} steps)`;
}

/**
 * The reference's per-layer ranks: the first saved result in `dirs` (notebook 02 writes
 * results/02-rank-profile/<scale>/ranks) that was measured on this reference with this scale's protocol, else a
 * fresh measurement saved to `saveDir`.
 */
export async function referenceRankRows(
  s: LabSetup, data: LabData, ref: TrainedModel, o: { dirs: string[]; saveDir: string },
): Promise<{ rows: LayerRow[]; source: string }> {
  const model = referenceRankLabel(s, ref);
  for (const dir of o.dirs) {
    if (!fs.existsSync(path.join(dir, 'meta.json'))) continue;
    const saved = loadRankResult(dir);
    const m = saved.meta;
    if (m.model !== model || m.N !== s.rankN || m.T !== s.rankT || m.layers.length !== ref.config.nLayer) continue;
    if (m.aggregation !== 'mean-of-kstar' || m.tau !== 0.9) continue;
    return { rows: layerRowsFromTable(saved.tables.layers.objects() as Array<Record<string, unknown>>), source: `loaded from ${dir}` };
  }
  const measured = await measureRankProfile(ref.params, ref.config, data.val, { N: s.rankN, T: s.rankT, seed: 2024, model, data: `${s.dataset} val` });
  saveRankResult(o.saveDir, measured);
  return { rows: measured.aggregated.layers, source: `measured now (N = ${s.rankN}, T = ${s.rankT}) and saved to ${o.saveDir}` };
}

export interface ArmRank {
  /** AvgRank = mean MaxRank of the inherited layers (NaN for random). */
  avgRank: number;
  /** floor(AvgRank) == 1, the paper's lazy-group test. */
  lazy: boolean;
}

export function armRank(rows: readonly RankRow[], arm: InitArm): ArmRank {
  if (!arm.layers) return { avgRank: NaN, lazy: false };
  const g = avgRank(rows as LayerRow[], arm.layers);
  return { avgRank: g.avgRank, lazy: g.lazy };
}

// ---- building and training ------------------------------------------------------------------------------------

/** The arm's target: inherited (default copy list: wte + whole blocks), embedding only, or random. The caller owns params. */
export function buildArm(reference: Params, refConfig: GPTConfig, arm: InitArm, seed: number, attnScale: AttnScaleMode = 'target-position'): BuiltModel {
  if (arm.role === 'embedding') return embeddingOnly(reference, refConfig, { nLayer: arm.nLayer, seed });
  if (!arm.layers) return randomInit(makeConfig(refConfig, { nLayer: arm.nLayer }), seed);
  if (arm.layers.length !== arm.nLayer) throw new Error(`arm ${arm.run}: ${arm.layers.length} layers chosen but nLayer is ${arm.nLayer}`);
  return inheritModel(reference, refConfig, { layers: arm.layers, copy: DEFAULT_COPY, seed, attnScale });
}

/** What trainFn must do: train params in place under run name `run` (data order from `seed`) and report the final validation loss. */
export type ArmTrainFn = (run: string, params: Params, config: Readonly<GPTConfig>, seed: number) => Promise<{ valLoss: number; history: History; steps: number; resumedFrom?: number | null }>;

/** One arm at one seed. `run` is the seeded run name; `arm` the arm's own name. */
export interface ArmResult extends InitArm, ArmRank {
  arm: string;
  seed: number;
  valLoss: number;
  /** Validation loss before the first update (the paper's logged "step 0"), when the run evaluated it. */
  valLossAtInit: number;
  steps: number;
  history: History;
  /** Copy list and notes of the build (attention-scale changes). */
  copied: string;
  notes: string[];
  /** True when the run was already finished (or resumed) rather than trained here from step 0. */
  reused: boolean;
  timeMs: number;
}

/**
 * Builds and trains every arm once per seed (run '<arm>-s<seed>'; the same run twice is trained once), disposing
 * each model after training. Init seed and data-order seed are the seed. Only numbers and histories are kept.
 */
export async function runArms(
  reference: Params, refConfig: GPTConfig, rows: readonly RankRow[], arms: readonly InitArm[], trainFn: ArmTrainFn,
  o: { seeds: readonly number[]; attnScale?: AttnScaleMode; onArm?: (arm: InitArm, seed: number) => void },
): Promise<ArmResult[]> {
  if (!o.seeds.length) throw new Error('runArms needs at least one seed');
  const done = new Map<string, ArmResult>();
  const out: ArmResult[] = [];
  for (const arm of arms) {
    for (const seed of o.seeds) {
      const run = seedRunName(arm.run, seed);
      const prev = done.get(run);
      if (prev) {
        out.push({ ...prev, ...arm, run, arm: arm.run });
        continue;
      }
      o.onArm?.(arm, seed);
      const t0 = Date.now();
      const built = buildArm(reference, refConfig, arm, seed, o.attnScale);
      let res: Awaited<ReturnType<ArmTrainFn>>;
      try {
        res = await trainFn(run, built.params, built.config, seed);
      } finally {
        disposeParams(built.params);
      }
      if (!Number.isFinite(res.valLoss)) throw new Error(`run ${run} ended with validation loss ${res.valLoss}`);
      const r: ArmResult = {
        ...arm, ...armRank(rows, arm), run, arm: arm.run, seed, valLoss: res.valLoss,
        valLossAtInit: res.history.evals.find((e) => e.step === 0)?.valLoss ?? NaN, steps: res.steps, history: res.history,
        copied: arm.layers ? describeCopy(resolveCopy(DEFAULT_COPY)) : arm.role === 'embedding' ? 'wte' : 'nothing', notes: built.notes,
        reused: res.resumedFrom !== undefined && res.resumedFrom !== null, timeMs: Date.now() - t0,
      };
      done.set(run, r);
      out.push(r);
    }
  }
  return out;
}

/** One arm over its seeds. */
export interface ArmSummary extends InitArm, ArmRank {
  valLoss: Spread;
  /** Validation loss before the first update, over the seeds that evaluated it (null when none did). */
  valLossAtInit: Spread | null;
  seeds: number[];
  steps: number;
}

/** Groups per-seed results by arm (in first-seen order): mean, std, min, max over seeds. */
export function summarizeArms(results: readonly ArmResult[]): ArmSummary[] {
  return groupSeeds(results, (r) => r.arm).map(({ first: f, valLoss, valLossAtInit, seeds }) => ({
    run: f.arm, layers: f.layers, nLayer: f.nLayer, label: f.label, role: f.role, avgRank: f.avgRank, lazy: f.lazy,
    valLoss, valLossAtInit, seeds, steps: f.steps,
  }));
}

/** A loss-curve input, label -> history: the first seed of each arm (all seeds would crowd the figure). */
export function histories(results: readonly ArmResult[]): Record<string, History> {
  const first = new Map<string, ArmResult>();
  for (const r of results) if (!first.has(r.arm)) first.set(r.arm, r);
  return Object.fromEntries([...first.values()].map((r) => [`${r.label} (seed ${r.seed})`, r.history]));
}

/**
 * Zooms a loss-curve figure's y axis on the part that separates the arms: from just below the lowest loss of the
 * second half of training (final validation, or training loss) to just above the worst validation loss at the first
 * evaluation after step 0 (the step-0 losses, about ln(vocab), would flatten everything else). Without such an
 * intermediate evaluation the figure is returned unchanged.
 */
export function zoomOnFinish(fig: Figure, results: readonly ArmResult[]): Figure {
  const early = results.map((r) => r.history.evals.find((e) => e.step > 0 && e.valLoss !== undefined && e.step < r.steps)?.valLoss ?? NaN);
  if (!early.every(Number.isFinite)) return fig;
  const late = results.flatMap((r) => [r.valLoss, ...r.history.steps.filter((st) => st.step >= r.steps / 2).map((st) => st.loss)]).filter(Number.isFinite);
  const lo = Math.min(...late) - 0.1;
  const hi = Math.max(...early) + 0.3;
  const yaxis = { ...((fig.layout?.yaxis as Record<string, unknown>) ?? {}), range: [lo, hi] };
  return { ...fig, layout: { ...fig.layout, yaxis } };
}

/** Writes the numbers (no histories) to <dir>/summary.json. */
export function saveSummary(dir: string, summary: Record<string, unknown>): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'summary.json');
  const strip = (_k: string, v: unknown) => (_k === 'history' ? undefined : typeof v === 'number' && !Number.isFinite(v) ? null : v);
  fs.writeFileSync(file, JSON.stringify(summary, strip, 2) + '\n');
  return file;
}
