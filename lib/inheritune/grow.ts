// Growth rounds of Inheritune (paper Algorithm 1, steps 4-6; reference/paper.md §3).
//
// Round r builds a target with l = startLayers + (r-1) * growBy blocks, trains it with the injected trainFn, and
// stops as soon as its validation loss is <= the reference's, or when the next l would exceed maxLayers.
// Modes:
//   'restart'  (default; the authors' code and logs) every round re-inherits from the reference: wte + the first l
//              reference blocks, everything else fresh; the previous round's training is thrown away.
//   'continue' (the paper text's looser wording, "continuing the training process") round r > 1 takes the previous
//              round's TRAINED model (all its blocks, wte, wpe, ln_f) and appends the next reference blocks
//              l_prev .. l-1 (their parts as in `copy`).
// Training (optimizer, LR schedule, steps) is entirely trainFn's job: it gets fresh variables each round and must
// train them in place (e.g. AdamW.apply assigns to them) without disposing them. A fresh optimizer and schedule per
// round is what the authors did.
import { GPTConfig, makeConfig } from '../model/config';
import { Params, disposeParams } from '../model/params';
import { BuiltModel, Manifest, Plan, materialize, planBlock, planGlobals } from './surgery';
import {
  AttnScaleMode, CopyItem, DEFAULT_COPY, attnScaleFold, attnScaleNotes, checkAttnScale, checkReference, describeCopy,
  inheritModel, resolveCopy, resolveLayers,
} from './inherit';

/** What trainFn resolves to: at least the final validation loss; anything else is kept in the round record. */
export interface TrainResult {
  valLoss: number;
  /** Optimizer steps taken (recorded if given). */
  steps?: number;
  [key: string]: unknown;
}

export interface RoundInfo {
  /** 1-based round number. */
  round: number;
  /** Blocks of the model being trained. */
  layers: number;
  /** Where each block came from: reference block indices, or -1 for a block carried over from the previous round. */
  sourceLayers: number[];
  /** A short label, e.g. 'inheritune 6L (restart from reference)'. */
  label: string;
}

/** Trains the given variables in place and reports the validation loss. */
export type TrainFn = (params: Params, cfg: Readonly<GPTConfig>, round: RoundInfo) => Promise<TrainResult>;
/** Validation loss of a model (no training); used for the step-0 loss the paper's logs show. */
export type EvalFn = (params: Params, cfg: Readonly<GPTConfig>, round: RoundInfo) => Promise<number>;

export type GrowMode = 'restart' | 'continue';

export interface RoundRecord extends RoundInfo {
  mode: GrowMode | 'stacking' | 'baseline';
  /** evalFn before training (the paper's "step 0" loss), when evalFn is given. */
  valLossAtInit?: number;
  valLoss: number;
  steps?: number;
  /** Wall time of the round (build, eval, train), milliseconds. */
  timeMs: number;
  manifest: Manifest;
  notes: string[];
  /** Everything trainFn returned. */
  train: TrainResult;
  /** The round's model, only with keepModels (the caller disposes it). */
  model?: BuiltModel;
}

export interface InherituneOptions {
  reference: Params;
  refConfig: GPTConfig;
  /** The reference's final validation loss: the target to match. */
  refValLoss: number;
  /** Blocks of the first round. Default floor(L/2) (paper: L/2). */
  startLayers?: number;
  /** Blocks added per round. Default 2 (paper). */
  growBy?: number;
  /** Largest model tried. Default L. Must not exceed L. */
  maxLayers?: number;
  /** Stop after this many rounds even if the loss is not matched (default: no limit). */
  maxRounds?: number;
  trainFn: TrainFn;
  evalFn?: EvalFn;
  /** Default 'restart' (the authors' code). */
  mode?: GrowMode;
  /** What is inherited (see inherit.ts). Default ['wte', 'block']. */
  copy?: readonly CopyItem[];
  /** Seed of the fresh init; the same every round (the authors' runs all used seed 5000). Default 5000. */
  seed?: number;
  attnScale?: AttnScaleMode;
  /** Keep every round's model in its record (default false: earlier rounds are disposed). */
  keepModels?: boolean;
  /** Called after each round (progress in notebooks). */
  onRound?: (record: RoundRecord) => void;
}

export interface InherituneResult {
  rounds: RoundRecord[];
  /** The last round's model; the caller owns (disposes) it. */
  params: Params;
  config: Readonly<GPTConfig>;
  manifest: Manifest;
  stopReason: 'matched-reference' | 'max-layers' | 'max-rounds';
  matched: boolean;
  refValLoss: number;
  mode: GrowMode;
}

/**
 * Grows a trained model by appending reference blocks (the 'continue' mode's step): target blocks 0..k-1 and wte,
 * wpe, ln_f come from `prev` (all of it, trained), blocks k.. from `reference` blocks `addLayers` (parts per
 * `copy`; copy's global items are ignored: the globals come from prev). Fresh init for whatever is not copied.
 */
export function growModel(
  prev: Params,
  prevConfig: GPTConfig,
  reference: Params,
  refConfig: GPTConfig,
  addLayers: readonly number[],
  opts: { seed: number; copy?: readonly CopyItem[]; attnScale?: AttnScaleMode; trainable?: boolean },
): BuiltModel {
  checkReference(prev, prevConfig, 'previous');
  checkReference(reference, refConfig);
  const mismatch = (Object.keys(refConfig) as (keyof GPTConfig)[]).filter((k) => k !== 'nLayer' && refConfig[k] !== prevConfig[k]);
  if (mismatch.length) {
    throw new Error(`cannot grow: the previous model and the reference differ in ${mismatch.map((k) => `${k} (${String(prevConfig[k])} vs ${String(refConfig[k])})`).join(', ')}`);
  }
  const added = resolveLayers(addLayers, refConfig.nLayer);
  const copy = resolveCopy(opts.copy ?? DEFAULT_COPY);
  const mode = opts.attnScale ?? 'target-position';
  checkAttnScale(mode);
  const k = prevConfig.nLayer;
  const config = makeConfig(refConfig, { nLayer: k + added.length });
  const plan: Plan = new Map();
  planGlobals(plan, config, prev, 'prev', new Set(['wte', 'wpe', 'ln_f'] as const));
  const all = new Set(['ln_1', 'attn', 'ln_2', 'mlp'] as const);
  for (let j = 0; j < k; j++) planBlock(plan, config, j, prev, 'prev', j, all);
  added.forEach((i, n) => planBlock(plan, config, k + n, reference, 'ref', i, copy.parts, attnScaleFold(config, mode, i, k + n)));
  const { params, manifest } = materialize(config, plan, opts.seed, opts.trainable ?? true);
  const notes = [`grown: blocks 0..${k - 1} and wte/wpe/ln_f from the previous model, blocks ${k}..${k + added.length - 1} from reference blocks [${added.join(', ')}] (${describeCopy({ globals: new Set(), parts: copy.parts })})`];
  notes.push(...attnScaleNotes(config, mode, added, k, copy.parts.has('attn')));
  return { params, config, manifest, notes };
}

/** The sizes a run will try: startLayers, startLayers + growBy, ... <= maxLayers (validated). */
export function growthSchedule(refLayers: number, o: { startLayers?: number; growBy?: number; maxLayers?: number } = {}): number[] {
  const start = o.startLayers ?? Math.floor(refLayers / 2);
  const growBy = o.growBy ?? 2;
  const max = o.maxLayers ?? refLayers;
  const int = (v: number, name: string) => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  };
  int(start, 'startLayers');
  int(growBy, 'growBy');
  int(max, 'maxLayers');
  if (start > refLayers) throw new Error(`startLayers (${start}) asks for more layers than the reference has (${refLayers})`);
  if (max > refLayers) throw new Error(`maxLayers (${max}) asks for more layers than the reference has (${refLayers})`);
  if (start > max) throw new Error(`startLayers (${start}) is larger than maxLayers (${max})`);
  const out: number[] = [];
  for (let l = start; l <= max; l += growBy) out.push(l);
  return out;
}

/**
 * Runs Inheritune: inherit, train, and grow until the reference's validation loss is matched. Every round is
 * recorded. Returns the last round's model (owned by the caller); earlier models are disposed unless keepModels.
 */
export async function inherituneRun(opts: InherituneOptions): Promise<InherituneResult> {
  const { reference, refConfig, refValLoss, trainFn } = opts;
  if (typeof trainFn !== 'function') throw new Error('inherituneRun needs trainFn: (params, cfg, round) => Promise<{ valLoss }>');
  if (typeof refValLoss !== 'number' || !Number.isFinite(refValLoss)) throw new Error(`refValLoss must be a finite number, got ${String(refValLoss)}`);
  checkReference(reference, refConfig);
  const mode = opts.mode ?? 'restart';
  if (mode !== 'restart' && mode !== 'continue') throw new Error(`mode must be 'restart' or 'continue', got '${String(mode)}'`);
  const sizes = growthSchedule(refConfig.nLayer, opts);
  const maxRounds = opts.maxRounds ?? Infinity;
  if (!(maxRounds >= 1)) throw new Error(`maxRounds must be >= 1, got ${maxRounds}`);
  resolveCopy(opts.copy ?? DEFAULT_COPY); // fail before any work
  checkAttnScale(opts.attnScale ?? 'target-position');
  const seed = opts.seed ?? 5000;

  const rounds: RoundRecord[] = [];
  let current: BuiltModel | undefined;
  let stopReason: InherituneResult['stopReason'] = 'max-layers';
  try {
    for (let r = 0; r < sizes.length; r++) {
      if (r >= maxRounds) {
        stopReason = 'max-rounds';
        break;
      }
      const l = sizes[r];
      const t0 = Date.now();
      const grow = mode === 'continue' && current !== undefined;
      const prevLayers = current ? current.config.nLayer : 0;
      const built: BuiltModel = grow
        ? growModel((current as BuiltModel).params, (current as BuiltModel).config, reference, refConfig, range(prevLayers, l), { seed, copy: opts.copy, attnScale: opts.attnScale })
        : inheritModel(reference, refConfig, { layers: l, seed, copy: opts.copy, attnScale: opts.attnScale });
      if (current && !opts.keepModels) disposeParams(current.params);
      current = built;
      const info: RoundInfo = {
        round: r + 1,
        layers: l,
        sourceLayers: grow ? [...Array(prevLayers).fill(-1), ...range(prevLayers, l)] : range(0, l),
        label: `inheritune ${l}L (${grow ? `continue: ${prevLayers}L trained + reference blocks ${prevLayers}..${l - 1}` : 'restart from reference'})`,
      };
      const valLossAtInit = opts.evalFn ? await opts.evalFn(built.params, built.config, info) : undefined;
      const train = await trainFn(built.params, built.config, info);
      if (!train || typeof train.valLoss !== 'number' || Number.isNaN(train.valLoss)) {
        throw new Error(`trainFn must resolve to { valLoss: number }, got ${JSON.stringify(train)} in round ${r + 1}`);
      }
      const record: RoundRecord = {
        ...info,
        mode,
        valLoss: train.valLoss,
        timeMs: Date.now() - t0,
        manifest: built.manifest,
        notes: built.notes,
        train,
      };
      if (valLossAtInit !== undefined) record.valLossAtInit = valLossAtInit;
      if (typeof train.steps === 'number') record.steps = train.steps;
      if (opts.keepModels) record.model = built;
      rounds.push(record);
      opts.onRound?.(record);
      if (train.valLoss <= refValLoss) {
        stopReason = 'matched-reference';
        break;
      }
    }
  } catch (e) {
    // The caller never sees these models: free them (disposing a variable twice is a no-op).
    if (current) disposeParams(current.params);
    for (const r of rounds) if (r.model) disposeParams(r.model.params);
    throw e;
  }
  const last = current as BuiltModel;
  return {
    rounds,
    params: last.params,
    config: last.config,
    manifest: last.manifest,
    stopReason,
    matched: stopReason === 'matched-reference',
    refValLoss,
    mode,
  };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

/** One row per round for a notebook table (paper Table 5 style). */
export function roundsTable(rounds: readonly RoundRecord[], refValLoss?: number): Array<Record<string, string | number>> {
  return rounds.map((r) => {
    const row: Record<string, string | number> = { round: r.round, layers: r.layers, mode: r.mode, valLoss: r.valLoss };
    if (r.valLossAtInit !== undefined) row.valLossAtInit = r.valLossAtInit;
    if (r.steps !== undefined) row.steps = r.steps;
    row.seconds = r.timeMs / 1000;
    if (refValLoss !== undefined) row.matched = r.valLoss <= refValLoss ? 'yes' : 'no';
    return row;
  });
}
