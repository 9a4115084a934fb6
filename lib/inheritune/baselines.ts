// The baselines Inheritune is compared with (reference/paper.md §5): random init, a longer training budget,
// stacking, hybrid stacking, half-width, and the DistilBERT-style initialisation for knowledge distillation.
// Training stays injected (trainFn, as in grow.ts); the KD loss itself belongs to the trainer.
import * as tf from '@tensorflow/tfjs';
import { GPTConfig, makeConfig } from '../model/config';
import { Params, disposeParams } from '../model/params';
import { BuiltModel, Plan, Transform, materialize, planBlock, planGlobals } from './surgery';
import { AttnScaleMode, COPY_ALL, CopyItem, DEFAULT_COPY, attnScaleFold, attnScaleNotes, checkAttnScale, checkReference, describeCopy, inheritModel, resolveCopy, resolveLayers } from './inherit';
import { EvalFn, RoundInfo, RoundRecord, TrainFn } from './grow';

/** Baseline-I: a same-size model from scratch (nanoGPT init from seed); every manifest row is 'init'. */
export function randomInit(cfg: GPTConfig, seed: number): BuiltModel {
  const config = makeConfig(cfg);
  const { params, manifest } = materialize(config, new Map(), seed);
  return { params, config, manifest, notes: [`random init, ${config.nLayer}L, seed ${seed}`] };
}

/**
 * The embedding-only control (issue 15): a model of `nLayer` blocks that takes from the reference exactly what
 * Inheritune takes besides the blocks (default ['wte']: the token embedding = the tied LM head), with every block,
 * wpe and ln_f fresh from `seed`. With the same seed its blocks equal randomInit's, so inherited arms minus this arm is
 * the gain of the inherited blocks alone, and this arm minus random init the gain of the copied embedding alone.
 * `copy` may add 'wpe' (and 'ln_f'); block parts are refused.
 */
export function embeddingOnly(reference: Params, refConfig: GPTConfig, opts: { nLayer: number; seed: number; copy?: readonly CopyItem[] }): BuiltModel {
  checkReference(reference, refConfig);
  if (!Number.isInteger(opts.nLayer) || opts.nLayer < 1) throw new Error(`embeddingOnly needs nLayer >= 1, got ${opts.nLayer}`);
  const copy = resolveCopy(opts.copy ?? ['wte']);
  if (copy.parts.size) throw new Error(`the embedding-only control copies no block parts; got ${[...copy.parts].join(', ')}`);
  if (!copy.globals.size) throw new Error('the embedding-only control needs at least one embedding to copy (wte, wpe)');
  const config = makeConfig(refConfig, { nLayer: opts.nLayer });
  const plan: Plan = new Map();
  planGlobals(plan, config, reference, 'ref', copy.globals);
  const { params, manifest } = materialize(config, plan, opts.seed);
  return { params, config, manifest, notes: [`embedding only: ${describeCopy(copy)} from the reference, ${config.nLayer} fresh blocks (seed ${opts.seed})`] };
}

/**
 * Baseline-I "same size trained twice as long": only a training budget. Returns the config and the step count
 * (steps * factor); with the LR schedule stretched to the new length, as the paper's 200K-step runs were.
 */
export function longerTrainingBudget(cfg: GPTConfig, steps: number, factor = 2): { config: Readonly<GPTConfig>; steps: number; label: string } {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a positive integer, got ${steps}`);
  if (!(factor > 0)) throw new Error(`factor must be > 0, got ${factor}`);
  const total = Math.round(steps * factor);
  return { config: makeConfig(cfg), steps: total, label: `${cfg.nLayer}L from scratch, ${total} steps (${factor}x ${steps}), LR schedule over all ${total} steps` };
}

/** Block order of a stack: [0..k-1, 0..k-1, ...] cut to `target` blocks (i % k). */
export function stackOrder(k: number, target: number): number[] {
  if (!Number.isInteger(k) || k < 1) throw new Error(`the number of blocks to stack must be a positive integer, got ${k}`);
  if (!Number.isInteger(target) || target < k) throw new Error(`the stacked model needs at least ${k} blocks, got ${target}`);
  return Array.from({ length: target }, (_, i) => i % k);
}

/**
 * Stacking (Gong et al. 2019): a target of `order.length` blocks whose block j is a copy of source block order[j]
 * (default: the source's blocks twice, 0..k-1 then 0..k-1), with the source's wte, wpe and ln_f. All tensors come
 * from the (trained) source, labelled 'prev'.
 */
export function stackBlocks(source: Params, sourceConfig: GPTConfig, opts: { order?: readonly number[]; seed?: number; attnScale?: AttnScaleMode } = {}): BuiltModel {
  checkReference(source, sourceConfig, 'source');
  const order = resolveLayers(opts.order ?? stackOrder(sourceConfig.nLayer, 2 * sourceConfig.nLayer), sourceConfig.nLayer, { allowRepeats: true, what: 'the source model' });
  const mode = opts.attnScale ?? 'target-position';
  checkAttnScale(mode);
  const config = makeConfig(sourceConfig, { nLayer: order.length });
  const copy = resolveCopy(COPY_ALL);
  const plan: Plan = new Map();
  planGlobals(plan, config, source, 'prev', copy.globals);
  order.forEach((i, j) => planBlock(plan, config, j, source, 'prev', i, copy.parts, attnScaleFold(config, mode, i, j)));
  const { params, manifest } = materialize(config, plan, opts.seed ?? 0);
  const notes = [`stacked ${sourceConfig.nLayer}L -> ${order.length}L, block order [${order.join(', ')}]`, ...attnScaleNotes(config, mode, order)];
  return { params, config, manifest, notes };
}

export interface StackingRunOptions {
  /** The reference's config: the stacked model has its shape except nLayer. */
  refConfig: GPTConfig;
  /** Blocks of the final model. Default floor(L/2) (Large: 18). */
  targetLayers?: number;
  /** Blocks of the model trained from scratch first. Default floor(targetLayers/2) (Large: 9). */
  smallLayers?: number;
  trainFn: TrainFn;
  evalFn?: EvalFn;
  seed?: number;
  attnScale?: AttnScaleMode;
}

/**
 * The stacking baseline: train a small model from scratch (round 1), stack its blocks to targetLayers (i % k), and
 * train again (round 2). Total cost = both trainings. Returns both rounds and the final model (owned by the caller).
 */
export async function stackingRun(opts: StackingRunOptions): Promise<{ rounds: RoundRecord[]; params: Params; config: Readonly<GPTConfig>; notes: string[] }> {
  const L = opts.refConfig.nLayer;
  const target = opts.targetLayers ?? Math.floor(L / 2);
  const small = opts.smallLayers ?? Math.floor(target / 2);
  if (target > L) throw new Error(`targetLayers (${target}) is more layers than the reference has (${L})`);
  const order = stackOrder(small, target);
  const seed = opts.seed ?? 5000;
  const rounds: RoundRecord[] = [];
  const run = async (m: BuiltModel, info: RoundInfo): Promise<void> => {
    const t0 = Date.now();
    const valLossAtInit = opts.evalFn ? await opts.evalFn(m.params, m.config, info) : undefined;
    const train = await opts.trainFn(m.params, m.config, info);
    if (!train || typeof train.valLoss !== 'number') throw new Error(`trainFn must resolve to { valLoss: number }, got ${JSON.stringify(train)}`);
    const rec: RoundRecord = { ...info, mode: 'stacking', valLoss: train.valLoss, timeMs: Date.now() - t0, manifest: m.manifest, notes: m.notes, train };
    if (valLossAtInit !== undefined) rec.valLossAtInit = valLossAtInit;
    if (typeof train.steps === 'number') rec.steps = train.steps;
    rounds.push(rec);
  };
  const first = randomInit(makeConfig(opts.refConfig, { nLayer: small }), seed);
  let stacked: BuiltModel | undefined;
  try {
    await run(first, { round: 1, layers: small, sourceLayers: [], label: `stacking: ${small}L from scratch` });
    stacked = stackBlocks(first.params, first.config, { order, seed, attnScale: opts.attnScale });
    disposeParams(first.params);
    await run(stacked, { round: 2, layers: target, sourceLayers: order, label: `stacking: ${small}L trained, stacked to ${target}L` });
  } catch (e) {
    disposeParams(first.params);
    if (stacked) disposeParams(stacked.params);
    throw e;
  }
  return { rounds, params: stacked.params, config: stacked.config, notes: stacked.notes };
}

/**
 * Hybrid stacking: the first `smallLayers` reference blocks, duplicated to targetLayers (0..k-1, 0..k-1), plus
 * what `copy` says (default as Inheritune: wte and whole blocks). Defaults: smallLayers = floor(L/4),
 * targetLayers = 2 * smallLayers (Large: blocks 0-8 -> 18L). For Medium the paper compares at 16L: pass
 * { smallLayers: 8, targetLayers: 16 }.
 */
export function hybridStacking(
  reference: Params,
  refConfig: GPTConfig,
  opts: { seed: number; smallLayers?: number; targetLayers?: number; copy?: readonly CopyItem[]; attnScale?: AttnScaleMode },
): BuiltModel {
  const small = opts.smallLayers ?? Math.floor(refConfig.nLayer / 4);
  if (!Number.isInteger(small) || small < 1) throw new Error(`smallLayers must be a positive integer, got ${small}`);
  if (small > refConfig.nLayer) throw new Error(`smallLayers (${small}) asks for more layers than the reference has (${refConfig.nLayer})`);
  const order = stackOrder(small, opts.targetLayers ?? 2 * small);
  const built = inheritModel(reference, refConfig, { layers: order, seed: opts.seed, copy: opts.copy ?? DEFAULT_COPY, attnScale: opts.attnScale, allowRepeats: true });
  built.notes.unshift(`hybrid stacking: reference blocks 0..${small - 1} duplicated to ${order.length} blocks`);
  return built;
}

/** Head count and width of the half-width model; throws for an odd head count unless `round` is given. */
export function halfWidthShape(cfg: GPTConfig, round?: 'down' | 'up'): { nHead: number; nEmbd: number; headSize: number } {
  const hs = cfg.nEmbd / cfg.nHead;
  if (cfg.nHead < 2) throw new Error(`half-width needs at least 2 heads, the reference has n_head = ${cfg.nHead}`);
  if (cfg.nHead % 2 !== 0 && !round) {
    const d = Math.floor(cfg.nHead / 2);
    const u = Math.ceil(cfg.nHead / 2);
    throw new Error(
      `half-width needs an even n_head: the reference has n_head = ${cfg.nHead} (n_embd ${cfg.nEmbd}, head size ${hs}); ` +
        `pass round: 'down' for ${d} heads (n_embd ${d * hs}) or round: 'up' for ${u} heads (n_embd ${u * hs})`,
    );
  }
  const nHead = round === 'up' ? Math.ceil(cfg.nHead / 2) : Math.floor(cfg.nHead / 2);
  return { nHead, nEmbd: nHead * hs, headSize: hs };
}

/**
 * Half-width baseline (paper.md §5; the slicing is not stated by the paper, so these choices are ours):
 * every layer kept, n_head -> n_head/2, n_embd -> n_embd/2 (head size unchanged, so 1/sqrt(hs) is unchanged), and
 * every tensor is the leading slice of the reference's (C' = new width, C = old):
 *   wte [V, C'] and wpe [T, C']           first C' columns (the first C' residual features)
 *   ln_*.weight/bias [C']                  first C' entries
 *   attn.c_attn.weight [C', 3C']           rows 0:C'; columns q 0:C' | k C:C+C' | v 2C:2C+C' (the fused layout is
 *                                          [q | k | v], each C wide, heads contiguous hs-wide slices inside, so
 *                                          these are heads 0..nh'-1 of q, k and v); bias the same columns
 *   attn.c_proj.weight [C', C']            rows 0:C' (the kept heads' outputs), columns 0:C'; bias 0:C'
 *   mlp.c_fc.weight [C', 4C']              rows 0:C', columns 0:4C' (the first half of the hidden units); bias 0:4C'
 *   mlp.c_proj.weight [4C', C']            rows 0:4C' (those hidden units), columns 0:C'; bias 0:C'
 * LayerNorms then normalise over the kept features only, so even the copied blocks compute a different function.
 * `copy` can leave parts fresh (default: everything). An odd head count (GPT-2 XL: 25) is an error unless `round`.
 */
export function halfWidth(reference: Params, refConfig: GPTConfig, opts: { seed?: number; round?: 'down' | 'up'; copy?: readonly CopyItem[] } = {}): BuiltModel {
  checkReference(reference, refConfig);
  const shape = halfWidthShape(refConfig, opts.round);
  const C = refConfig.nEmbd;
  const c = shape.nEmbd;
  const config = makeConfig(refConfig, { nEmbd: c, nHead: shape.nHead });
  const copy = resolveCopy(opts.copy ?? COPY_ALL);
  const plan: Plan = new Map();
  planGlobals(plan, config, reference, 'ref', copy.globals, (name) => halfWidthTransform(name.replace(/^transformer\./, ''), C, c));
  for (let l = 0; l < refConfig.nLayer; l++) planBlock(plan, config, l, reference, 'ref', l, copy.parts, (suffix) => halfWidthTransform(suffix, C, c));
  const { params, manifest } = materialize(config, plan, opts.seed ?? 0);
  const notes = [
    `half-width: n_head ${refConfig.nHead} -> ${shape.nHead}, n_embd ${C} -> ${c} (head size ${shape.headSize}), leading slices; copied: ${describeCopy(copy)}`,
  ];
  if (refConfig.nHead % 2 !== 0) notes.push(`odd n_head ${refConfig.nHead} rounded ${opts.round}: the width is ${c}, not exactly half of ${C}`);
  return { params, config, manifest, notes };
}

/** The leading-slice transform of one parameter (suffix inside a block, or 'wte.weight', 'wpe.weight', 'ln_f.*'). */
export function halfWidthTransform(suffix: string, C: number, c: number): Transform {
  const slice2 = (rows: number, cols: number, describe: string): Transform => ({
    kind: 'sliced',
    describe,
    apply: (t) => tf.slice(t, [0, 0], [rows < 0 ? t.shape[0] : rows, cols]),
  });
  const slice1 = (n: number, describe: string): Transform => ({ kind: 'sliced', describe, apply: (t) => tf.slice(t, [0], [n]) });
  const qkv = (t: tf.Tensor): tf.Tensor => {
    const axis = t.rank - 1;
    const parts = [0, 1, 2].map((b) => (t.rank === 2 ? tf.slice(t, [0, b * C], [c, c]) : tf.slice(t, [b * C], [c]))); // q, k, v heads 0..nh'-1
    return tf.concat(parts, axis);
  };
  const cols = `q 0:${c} | k ${C}:${C + c} | v ${2 * C}:${2 * C + c}`;
  switch (suffix) {
    case 'wte.weight':
    case 'wpe.weight':
      return slice2(-1, c, `columns 0:${c}`);
    case 'attn.c_attn.weight':
      return { kind: 'sliced', describe: `rows 0:${c}, columns ${cols}`, apply: qkv };
    case 'attn.c_attn.bias':
      return { kind: 'sliced', describe: `entries ${cols}`, apply: qkv };
    case 'attn.c_proj.weight':
      return slice2(c, c, `rows 0:${c}, columns 0:${c}`);
    case 'mlp.c_fc.weight':
      return slice2(c, 4 * c, `rows 0:${c}, columns 0:${4 * c}`);
    case 'mlp.c_fc.bias':
      return slice1(4 * c, `entries 0:${4 * c}`);
    case 'mlp.c_proj.weight':
      return slice2(4 * c, c, `rows 0:${4 * c}, columns 0:${c}`);
    default:
      if (/^(ln_1|ln_2|ln_f)\.(weight|bias)$/.test(suffix) || /^(attn|mlp)\.c_proj\.bias$/.test(suffix)) return slice1(c, `entries 0:${c}`);
      throw new Error(`internal: no half-width rule for '${suffix}'`);
  }
}

/**
 * DistilBERT-style student layers (Sanh et al. 2019): teacher blocks 0, every, 2*every, ... (< teacherLayers), then
 * `extra`. The paper's 16L student of the 24L Medium: distilbertLayers(24, { extra: [18, 19, 20, 21] })
 * = [0, 2, ..., 22, 18, 19, 20, 21] (12 every-other blocks + 4; blocks 18 and 20 appear twice).
 */
export function distilbertLayers(teacherLayers: number, opts: { every?: number; extra?: readonly number[] } = {}): number[] {
  const every = opts.every ?? 2;
  if (!Number.isInteger(every) || every < 1) throw new Error(`every must be a positive integer, got ${every}`);
  if (!Number.isInteger(teacherLayers) || teacherLayers < 1) throw new Error(`teacherLayers must be a positive integer, got ${teacherLayers}`);
  const base: number[] = [];
  for (let l = 0; l < teacherLayers; l += every) base.push(l);
  const all = [...base, ...(opts.extra ?? [])];
  resolveLayers(all, teacherLayers, { allowRepeats: true, what: 'the teacher' });
  return all;
}

/**
 * Student initialisation for DistilBERT-style KD: student block i = teacher block layers[i] (default
 * distilbertLayers(L, { extra })), plus `copy` (default as Inheritune: wte and whole blocks; DistilBERT itself also
 * copies the position embedding: add 'wpe'). Vanilla KD uses randomInit instead. The KD loss is the trainer's.
 */
export function distillInit(
  teacher: Params,
  teacherConfig: GPTConfig,
  opts: { seed: number; layers?: readonly number[]; every?: number; extra?: readonly number[]; copy?: readonly CopyItem[]; attnScale?: AttnScaleMode },
): BuiltModel {
  const layers = opts.layers ?? distilbertLayers(teacherConfig.nLayer, { every: opts.every, extra: opts.extra });
  const built = inheritModel(teacher, teacherConfig, { layers, seed: opts.seed, copy: opts.copy, attnScale: opts.attnScale, allowRepeats: true });
  built.notes.unshift(`DistilBERT-style student: block i = teacher block [${layers.join(', ')}][i]`);
  return built;
}
