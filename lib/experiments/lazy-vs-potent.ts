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
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GPTConfig, makeConfig } from '../model/config';
import { Params, disposeParams } from '../model/params';
import { History } from '../train/history';
import { Figure } from '../viz/plotly';
import { BuiltModel } from '../inheritune/surgery';
import { AttnScaleMode, DEFAULT_COPY, describeCopy, inheritModel, resolveCopy } from '../inheritune/inherit';
import { randomInit } from '../inheritune/baselines';
import { avgRank, LayerRow } from '../metrics/attention-rank';
import { RankRow } from '../inheritune/select';
import { loadRankResult, saveRankResult } from '../metrics/io';
import { LabData, LabSetup, TrainedModel } from './lab';
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

export type ArmRole = 'random' | 'potent' | 'lazy';

export interface InitArm {
  /** Run name (results/lab/<scale>/<run>). 'random-<k>L' is shared with notebook 04. */
  run: string;
  /** Reference blocks (0-based) placed in order as target blocks 0..k-1; null = random init. */
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

/** Part A (Table 4): the three groups (first two potent, last lazy by position) and a random target of the same depth. */
export function groupArms(L: number): InitArm[] {
  const groups = layerGroups(L);
  const g = groups[0].length;
  return [
    { run: randomRunName(g), layers: null, nLayer: g, label: `random ${g}L`, role: 'random' },
    ...groups.map((ls, i): InitArm => ({
      run: inheritRunName(ls), layers: ls, nLayer: g, label: `layers ${span(ls)}${i === 2 ? ' (deep)' : ''}`, role: i === 2 ? 'lazy' : 'potent',
    })),
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
  return `${s.reference} (ours, ${ref.result.steps} steps)`;
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

/** The arm's target: inherited (default copy list: wte + whole blocks) or random. The caller owns params. */
export function buildArm(reference: Params, refConfig: GPTConfig, arm: InitArm, seed: number, attnScale: AttnScaleMode = 'target-position'): BuiltModel {
  if (!arm.layers) return randomInit(makeConfig(refConfig, { nLayer: arm.nLayer }), seed);
  if (arm.layers.length !== arm.nLayer) throw new Error(`arm ${arm.run}: ${arm.layers.length} layers chosen but nLayer is ${arm.nLayer}`);
  return inheritModel(reference, refConfig, { layers: arm.layers, copy: DEFAULT_COPY, seed, attnScale });
}

/** What trainFn must do: train params in place under run name `run` and report the final validation loss. */
export type ArmTrainFn = (run: string, params: Params, config: Readonly<GPTConfig>) => Promise<{ valLoss: number; history: History; steps: number; resumedFrom?: number | null }>;

export interface ArmResult extends InitArm, ArmRank {
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
 * Builds and trains every arm in order (the same run name twice is trained once), disposing each model after
 * training. Only numbers and histories are kept.
 */
export async function runArms(
  reference: Params, refConfig: GPTConfig, rows: readonly RankRow[], arms: readonly InitArm[], trainFn: ArmTrainFn,
  o: { seed: number; attnScale?: AttnScaleMode; onArm?: (arm: InitArm, index: number) => void },
): Promise<ArmResult[]> {
  const done = new Map<string, ArmResult>();
  const out: ArmResult[] = [];
  for (const [i, arm] of arms.entries()) {
    const prev = done.get(arm.run);
    if (prev) {
      out.push({ ...prev, ...arm });
      continue;
    }
    o.onArm?.(arm, i);
    const t0 = Date.now();
    const built = buildArm(reference, refConfig, arm, o.seed, o.attnScale);
    let res: Awaited<ReturnType<ArmTrainFn>>;
    try {
      res = await trainFn(arm.run, built.params, built.config);
    } finally {
      disposeParams(built.params);
    }
    if (!Number.isFinite(res.valLoss)) throw new Error(`run ${arm.run} ended with validation loss ${res.valLoss}`);
    const r: ArmResult = {
      ...arm, ...armRank(rows, arm), valLoss: res.valLoss,
      valLossAtInit: res.history.evals.find((e) => e.step === 0)?.valLoss ?? NaN, steps: res.steps, history: res.history,
      copied: arm.layers ? describeCopy(resolveCopy(DEFAULT_COPY)) : 'nothing', notes: built.notes,
      reused: res.resumedFrom !== undefined && res.resumedFrom !== null, timeMs: Date.now() - t0,
    };
    done.set(arm.run, r);
    out.push(r);
  }
  return out;
}

// ---- the verdict ----------------------------------------------------------------------------------------------

export interface Verdict {
  lazyMinusRandom: number;
  /** potent arm label -> potent loss minus random loss. */
  potentMinusRandom: Array<{ label: string; delta: number }>;
  /** Random loss minus the best potent loss (> 0 when inheriting potent layers helps). */
  potentGain: number;
  potentBeatsRandom: boolean;
  /** The best potent arm beats the lazy arm by more than minEffect. */
  potentBeatsLazy: boolean;
  lazyNearRandom: boolean;
  /** Whether the deep arm is lazy by the paper's test floor(AvgRank) == 1 at this scale. */
  deepIsLazy: boolean;
  outcome: 'reproduces' | 'partly' | 'does not reproduce';
  lines: string[];
}

const orNa = (v: number): number | string => (Number.isFinite(v) ? v : 'n/a');
const f3 = (v: number) => (v >= 0 ? '+' : '') + v.toFixed(3);
const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');

/**
 * The paper's claim, tested on our numbers:
 *   (1) potent init beats random by more than `minEffect` nats;
 *   (2) lazy init ≈ random: it recovers at most half of the potent gain, |lazy − random| <= max(minEffect, gain/2)
 *       (the paper's Table 4 has 0.02 of 0.06, Fig. 3a 0.02 of 0.27).
 * 'reproduces' = (1) and (2). 'partly' = (1) and potent beats lazy by more than minEffect, but lazy init also
 * clearly helps (or hurts). Anything else 'does not reproduce'. `paper` gives the paper's deltas for the sentence.
 * One seed per arm: differences of about minEffect are within run-to-run noise (not measured here).
 */
export function lazyPotentVerdict(
  results: readonly ArmResult[],
  o: { minEffect?: number; paper?: string } = {},
): Verdict {
  const minEffect = o.minEffect ?? 0.01;
  const random = results.find((r) => r.role === 'random');
  const lazy = results.find((r) => r.role === 'lazy');
  const potent = results.filter((r) => r.role === 'potent');
  if (!random || !lazy || !potent.length) throw new Error('the verdict needs a random, a lazy and at least one potent arm');
  const lazyMinusRandom = lazy.valLoss - random.valLoss;
  const potentMinusRandom = potent.map((p) => ({ label: p.label, delta: p.valLoss - random.valLoss }));
  const bestPotent = Math.min(...potent.map((p) => p.valLoss));
  const potentGain = random.valLoss - bestPotent;
  const potentBeatsRandom = potentGain > minEffect;
  const potentBeatsLazy = lazy.valLoss - bestPotent > minEffect;
  const lazyNearRandom = Math.abs(lazyMinusRandom) <= Math.max(minEffect, potentGain / 2);
  const outcome = potentBeatsRandom && lazyNearRandom ? 'reproduces' : potentBeatsRandom && potentBeatsLazy ? 'partly' : 'does not reproduce';
  const deepIsLazy = lazy.lazy;
  const lines = [
    `${lazy.label} init minus random init = ${f3(lazyMinusRandom)} nats; ` +
      potentMinusRandom.map((p) => `${p.label} init minus random = ${f3(p.delta)}`).join('; ') +
      (o.paper ? ` (paper: ${o.paper}).` : '.'),
  ];
  lines.push(potentBeatsRandom
    ? `Potent init beats random by ${potentGain.toFixed(3)} nats (best potent arm), and ${potentBeatsLazy ? 'beats' : 'does NOT beat'} lazy init (best potent minus lazy = ${f3(bestPotent - lazy.valLoss)}).`
    : `Potent init does NOT beat random by more than ${minEffect} nats (gain ${f3(potentGain)}).`);
  lines.push(lazyNearRandom
    ? `Lazy init stays close to random (|Δ| = ${Math.abs(lazyMinusRandom).toFixed(3)} ≤ max(${minEffect}, half the potent gain)), as in the paper.`
    : lazyMinusRandom < 0
      ? `Lazy init is clearly better than random (Δ = ${f3(lazyMinusRandom)}, more than half the potent gain): unlike the paper, the deep layers carry useful weights here. ` +
        `Every inherited arm also gets the reference's token embedding (= LM head); after only ${lazy.steps} steps that alone may explain much of the gain over random (the paper trains 10K-100K steps).`
      : `Lazy init is clearly WORSE than random (Δ = ${f3(lazyMinusRandom)}), as in the paper's Fig. 23 rather than Table 4.`);
  if (!deepIsLazy) {
    lines.push(`Caveat: our deep group (layers ${lazy.layers ? span(lazy.layers) : '?'}) has AvgRank ${f2(lazy.avgRank)}, so it is NOT lazy ` +
      `by the paper's test floor(AvgRank) = 1; this arm tests deep vs early layers rather than collapsed ones.`);
  }
  const inherited = results.filter((r) => r.layers);
  if (inherited.length > 2) {
    const byRank = [...inherited].sort((a, b) => b.avgRank - a.avgRank).map((r) => r.label);
    const byLoss = [...inherited].sort((a, b) => a.valLoss - b.valLoss).map((r) => r.label);
    const same = byRank.every((l, i) => l === byLoss[i]);
    const ranks = inherited.map((r) => r.avgRank);
    const spread = Math.max(...ranks) - Math.min(...ranks);
    lines.push(`Inherited groups by AvgRank (high to low): ${byRank.join(', ')}; by val loss (low to high): ${byLoss.join(', ')}` +
      (same ? ' — the same order, as the paper\'s "higher AvgRank wins"' : ' — a different order') +
      (spread < 1 ? ` (but their AvgRanks differ by only ${spread.toFixed(2)}, so the order says little).` : '.'));
  }
  const word = outcome === 'reproduces' ? 'REPRODUCES' : outcome === 'partly' ? 'PARTLY reproduces: potent beats lazy, but lazy is not ≈ random' : 'does NOT reproduce';
  lines.push(`Verdict at this scale: the claim ${word}. One seed per arm: differences near ${minEffect} nats are within noise.`);
  return { lazyMinusRandom, potentMinusRandom, potentGain, potentBeatsRandom, potentBeatsLazy, lazyNearRandom, deepIsLazy, outcome, lines };
}

// ---- tables and saving ------------------------------------------------------------------------------------------

/** Part A rows: ours beside paper Table 4 (matched by position: random, group 1, 2, 3). */
export function tableARows(results: readonly ArmResult[]): Array<Record<string, string | number>> {
  const random = results.find((r) => r.role === 'random');
  const paper = [PAPER_TABLE4.random, ...PAPER_TABLE4.groups];
  return results.map((r, i) => ({
    init: r.label,
    'our AvgRank': orNa(r.layers ? r.avgRank : NaN),
    'paper AvgRank': orNa(paper[i]?.avgRank ?? NaN),
    'paper init': i === 0 ? 'rand' : `layers ${PAPER_TABLE4.groups[i - 1]?.layers ?? '?'}`,
    'our step-0 loss': orNa(r.valLossAtInit),
    'our val loss': r.valLoss,
    'paper val loss': paper[i]?.valLoss ?? NaN,
    'ours − random': random ? r.valLoss - random.valLoss : NaN,
    'paper − random': (paper[i]?.valLoss ?? NaN) - PAPER_TABLE4.random.valLoss,
  }));
}

/** Part B rows: ours beside paper Fig. 3 (10K steps). */
export function tableBRows(results: readonly ArmResult[]): Array<Record<string, string | number>> {
  const key = { random: 'random', potent: 'firstHalf', lazy: 'lastHalf' } as const;
  const [m, l] = Object.values(PAPER_FIG3);
  const random = results.find((r) => r.role === 'random');
  return results.map((r) => ({
    init: r.label,
    'our AvgRank': orNa(r.layers ? r.avgRank : NaN),
    'our step-0 loss': orNa(r.valLossAtInit),
    'our val loss': r.valLoss,
    'ours − random': random ? r.valLoss - random.valLoss : NaN,
    'paper Medium 12L': m[key[r.role]],
    'paper Large 18L': l[key[r.role]],
  }));
}

/** A loss-curve input: label -> history. */
export function histories(results: readonly ArmResult[]): Record<string, History> {
  return Object.fromEntries(results.map((r) => [r.label, r.history]));
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
