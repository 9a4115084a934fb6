// Inheritance (paper Algorithm 1, steps 1-3; reference/paper.md §3, §4, §11.1): a target GPT built from chosen
// blocks of a reference, placed in order as blocks 0..k-1, with an explicit list of what else is copied.
//
// What is copied by default is what the authors' code copies (train_iniheritune.py): the token embedding, which is
// also the tied LM head, and whole blocks (ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj). The
// position embedding (wpe) and the final LayerNorm (ln_f) are NOT copied by default: they stay at fresh init, as in
// the authors' runs (the paper text only says "token embeddings and prediction head"). Add 'wpe' / 'ln_f' to `copy`
// to ablate that. Sub-module ablations of paper Table 3 are the block-part items of `copy`.
//
// Attention scale. With cfg.scaleAttnByInverseLayerIdx (the authors' runs), block l multiplies its attention logits
// by 1/(l+1), where l is the block's index IN THE MODEL THAT RUNS IT. The authors only ever inherit prefixes
// (reference block i becomes target block i), so the scale is unchanged. Any non-prefix selection (layers 5-8 into a
// 4L model, the lazy layers, stacking) moves reference block i to position j and its logits get 1/(j+1) instead of
// 1/(i+1): the block is (i+1)/(j+1) times sharper than it was trained to be. attnScale 'target-position' (default)
// accepts this, as plain state-dict copying in the authors' code would. 'fold-reference' keeps the reference's
// scale by multiplying the block's query columns of c_attn (weight and bias) by (j+1)/(i+1): the same function up to
// float32 rounding, in our model and in any GPT-2 that applies 1/(layer_idx+1) (transformers' eager attention).
// Those q columns are then not bit-identical to the reference, and AdamW's updates act on rescaled weights.
// A per-block scale field in GPTConfig (attnScaleLayerIdx) would avoid touching weights; it is not added because
// it needs changes in lib/model (config validation, forward, the HF export, which has no such field).
import * as tf from '@tensorflow/tfjs';
import { GPTConfig, makeConfig } from '../model/config';
import { Params, checkParams } from '../model/params';
import {
  BLOCK_PARTS, BlockPart, BuiltModel, GLOBAL_PARTS, GlobalPart, Plan, Transform, materialize, planBlock, planGlobals,
} from './surgery';

/** Named groups of block parts (paper Table 3). */
export type PartPreset = 'block' | 'attn+ln' | 'mlp+ln' | 'attn+mlp';
export const PART_PRESETS: Record<PartPreset, readonly BlockPart[]> = {
  block: ['ln_1', 'attn', 'ln_2', 'mlp'], // the paper's default ("Ours")
  'attn+ln': ['ln_1', 'attn'], // Table 3 "Attention (+ LayerNorm)": attention with the LayerNorm before it
  'mlp+ln': ['ln_2', 'mlp'], // Table 3 "MLP (+ LayerNorm)"
  'attn+mlp': ['attn', 'mlp'], // Table 3 "Attention + MLP, no LN": both LayerNorms fresh (weight 1, bias 0)
};

/** What to copy: global parts ('wte', 'wpe', 'ln_f'), block parts ('ln_1', 'attn', 'ln_2', 'mlp') or a preset. */
export type CopyItem = GlobalPart | BlockPart | PartPreset;

/** The authors' code: token embedding (= tied head) and whole blocks; wpe and ln_f fresh. */
export const DEFAULT_COPY: readonly CopyItem[] = ['wte', 'block'];

/** Everything (used by half-width and stacking, which warm-start every tensor). */
export const COPY_ALL: readonly CopyItem[] = ['wte', 'wpe', 'ln_f', 'block'];

export interface CopySet {
  globals: Set<GlobalPart>;
  parts: Set<BlockPart>;
}

/** Expands a copy list; unknown items are an error. */
export function resolveCopy(copy: readonly CopyItem[] = DEFAULT_COPY): CopySet {
  if (!Array.isArray(copy)) throw new Error(`copy must be a list such as ['wte', 'block'], got ${JSON.stringify(copy)}`);
  const out: CopySet = { globals: new Set(), parts: new Set() };
  for (const item of copy) {
    if ((GLOBAL_PARTS as readonly string[]).includes(item)) out.globals.add(item as GlobalPart);
    else if ((BLOCK_PARTS as readonly string[]).includes(item)) out.parts.add(item as BlockPart);
    else if (Object.prototype.hasOwnProperty.call(PART_PRESETS, item)) for (const p of PART_PRESETS[item as PartPreset]) out.parts.add(p);
    else {
      const valid = [...GLOBAL_PARTS, ...BLOCK_PARTS, ...Object.keys(PART_PRESETS)];
      throw new Error(`unknown copy item '${String(item)}'; valid items: ${valid.join(', ')}`);
    }
  }
  return out;
}

/** The copy list of a CopySet, globals first then block parts, for labels. */
export function describeCopy(c: CopySet): string {
  const parts = BLOCK_PARTS.filter((p) => c.parts.has(p));
  const preset = (Object.keys(PART_PRESETS) as PartPreset[]).find((k) => {
    const v = PART_PRESETS[k];
    return v.length === parts.length && v.every((p) => c.parts.has(p));
  });
  return [...GLOBAL_PARTS.filter((g) => c.globals.has(g)), ...(preset ? [preset] : parts)].join(', ') || 'nothing';
}

/** 'target-position': the authors' behaviour (scale of the new index); 'fold-reference': keep the reference's scale. */
export type AttnScaleMode = 'target-position' | 'fold-reference';

export interface InheritOptions {
  /** The first l reference blocks (a number), or reference block indices placed in this order as blocks 0..k-1. */
  layers: number | readonly number[];
  /** What is copied besides the chosen blocks' selected parts. Default DEFAULT_COPY: ['wte', 'block']. */
  copy?: readonly CopyItem[];
  /** Seed of the fresh init of everything not copied (per parameter name, as initParams). */
  seed: number;
  /** See the note at the top. Default 'target-position'. */
  attnScale?: AttnScaleMode;
  /** Allow a reference block to appear more than once (hybrid stacking, DistilBERT-style init). Default false. */
  allowRepeats?: boolean;
  /** Whether the new variables are trainable (default true). */
  trainable?: boolean;
}

/**
 * Checks a layer selection against a model with `available` blocks and returns the block indices:
 * a number l means [0 .. l-1]. Errors: not an integer, more layers than available, empty, out of range, duplicates.
 */
export function resolveLayers(layers: number | readonly number[], available: number, opts: { allowRepeats?: boolean; what?: string } = {}): number[] {
  const what = opts.what ?? 'the reference';
  if (typeof layers === 'number') {
    if (!Number.isInteger(layers) || layers < 1) throw new Error(`layer count must be a positive integer, got ${layers}`);
    if (layers > available) throw new Error(`asked for ${layers} layers but ${what} has only ${available} (blocks 0..${available - 1})`);
    return Array.from({ length: layers }, (_, i) => i);
  }
  if (!Array.isArray(layers)) throw new Error(`layers must be a count or a list of block indices, got ${JSON.stringify(layers)}`);
  if (layers.length === 0) throw new Error('the layer selection is empty: choose at least one block');
  const bad = layers.filter((l) => !Number.isInteger(l) || l < 0 || l >= available);
  if (bad.length) throw new Error(`layer indices ${bad.join(', ')} are out of range: ${what} has blocks 0..${available - 1} (0-based)`);
  if (!opts.allowRepeats) {
    const dup = layers.filter((l, i) => layers.indexOf(l) !== i);
    if (dup.length) throw new Error(`layer selection [${layers.join(', ')}] repeats block(s) ${[...new Set(dup)].join(', ')}; each block may be chosen once`);
  }
  return [...layers];
}

/** Multiplies the query columns (the first C of c_attn's 3C outputs) by `factor`; weight [C, 3C] or bias [3C]. */
export function scaleQueryColumns(factor: number, describe: string): Transform {
  return {
    kind: 'q scaled',
    describe,
    apply: (t: tf.Tensor) => {
      const axis = t.rank - 1;
      const C = t.shape[axis] / 3;
      const [q, kv] = tf.split(t, [C, 2 * C], axis); // q: (.., C), kv: (.., 2C)
      return tf.concat([tf.mul(q, tf.scalar(factor, 'float32')), kv], axis);
    },
  };
}

/** The fold transform for reference block i placed at position j (undefined when nothing changes). */
export function attnScaleFold(cfg: GPTConfig, mode: AttnScaleMode, sourceLayer: number, targetLayer: number): ((suffix: string) => Transform | undefined) | undefined {
  if (mode !== 'fold-reference' || !cfg.scaleAttnByInverseLayerIdx || sourceLayer === targetLayer) return undefined;
  const factor = (targetLayer + 1) / (sourceLayer + 1);
  const t = scaleQueryColumns(factor, `q columns x ${targetLayer + 1}/${sourceLayer + 1} (keeps attention scale 1/${sourceLayer + 1})`);
  return (suffix) => (suffix === 'attn.c_attn.weight' || suffix === 'attn.c_attn.bias' ? t : undefined);
}

/** Notes on attention-scale changes for blocks moved from index sourceLayers[j] to j. */
export function attnScaleNotes(cfg: GPTConfig, mode: AttnScaleMode, sourceLayers: readonly number[], offset = 0, attnCopied = true): string[] {
  if (!cfg.scaleAttnByInverseLayerIdx || !attnCopied) return [];
  const moved = sourceLayers.map((i, k) => [i, k + offset]).filter(([i, j]) => i !== j);
  if (!moved.length) return [];
  const list = moved.slice(0, 6).map(([i, j]) => `${i}->${j}`).join(', ') + (moved.length > 6 ? ', ...' : '');
  if (mode === 'fold-reference') {
    return [`blocks moved to a new index (${list}) keep the reference's attention scale 1/(i+1): their query columns were multiplied by (j+1)/(i+1)`];
  }
  return [
    `blocks moved to a new index (${list}) now scale attention logits by 1/(j+1) instead of the reference's 1/(i+1) ` +
      `(scaleAttnByInverseLayerIdx), i.e. (i+1)/(j+1) times sharper; pass attnScale: 'fold-reference' to keep the reference's scale`,
  ];
}

/**
 * Builds a target model (refConfig with nLayer = number of chosen blocks) from a reference. Chosen blocks are
 * copied (the selected parts; the rest of each block fresh), plus the selected global parts; everything else gets
 * the target's fresh nanoGPT init from opts.seed. The reference stays usable. The caller owns result.params.
 */
export function inheritModel(reference: Params, refConfig: GPTConfig, opts: InheritOptions): BuiltModel {
  if (!opts || typeof opts.seed !== 'number' || !Number.isFinite(opts.seed)) throw new Error('inheritModel needs { layers, seed: number }');
  checkReference(reference, refConfig);
  const layers = resolveLayers(opts.layers, refConfig.nLayer, { allowRepeats: opts.allowRepeats });
  const copy = resolveCopy(opts.copy ?? DEFAULT_COPY);
  const mode = opts.attnScale ?? 'target-position';
  checkAttnScale(mode);
  const config = makeConfig(refConfig, { nLayer: layers.length });
  const plan: Plan = new Map();
  planGlobals(plan, config, reference, 'ref', copy.globals);
  layers.forEach((i, j) => planBlock(plan, config, j, reference, 'ref', i, copy.parts, attnScaleFold(config, mode, i, j)));
  const { params, manifest } = materialize(config, plan, opts.seed, opts.trainable ?? true);
  const notes = [`target: ${layers.length} blocks from reference blocks [${layers.join(', ')}]; copied: ${describeCopy(copy)}`];
  notes.push(...attnScaleNotes(config, mode, layers, 0, copy.parts.has('attn')));
  return { params, config, manifest, notes };
}

export function checkAttnScale(mode: string): void {
  if (mode !== 'target-position' && mode !== 'fold-reference') {
    throw new Error(`attnScale must be 'target-position' or 'fold-reference', got '${mode}'`);
  }
}

/** checkParams with a message that says it is the reference that does not match. */
export function checkReference(reference: Params, refConfig: GPTConfig, what = 'reference'): void {
  if (!reference || typeof reference !== 'object') throw new Error(`the ${what} parameters are missing`);
  try {
    checkParams(reference, refConfig);
  } catch (e) {
    throw new Error(`the ${what} model does not match its config: ${(e as Error).message}`);
  }
}
