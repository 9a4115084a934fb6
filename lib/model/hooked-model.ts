// The seam between the analysis code (rank protocol, sink diagnostics, eval losses) and a model family: a forward
// that takes token ids and TransformerLens hooks and returns logits, a loss, or the residual stream where it
// stopped. Our GPT (lib/model/gpt) and the Llama / GPT-NeoX analysis models (lib/model/families) implement it, so the
// metrics code is written once.
import * as tf from '@tensorflow/tfjs';
import { GPTConfig } from './config';
import { Params } from './params';
import { RunResult, runModel } from './gpt';
import { HookList, hookNames } from './hookpoints';
import { ActivationCache, NamesFilter } from './hooks';

/** The sizes the analysis code reads (the GPTConfig field names, so a GPTConfig is one). */
export type ModelDims = Pick<GPTConfig, 'nLayer' | 'nHead' | 'nEmbd' | 'blockSize' | 'vocabSize'>;

export interface HookedRunOptions {
  hooks?: HookList;
  /** Next-token targets, int32 (B, T); -1 = left out of the mean cross-entropy. */
  targets?: tf.Tensor;
  /** Stop before this block and return the residual stream (B, T, C): no final norm, no LM head. */
  stopAtLayer?: number;
}

export interface HookedModel {
  readonly dims: ModelDims;
  /** A short description for reports, e.g. 'llama (GQA 32/8 heads, BF16 weights streamed per block)'. */
  readonly description: string;
  /** Runs the model; the caller owns the returned tensors. idx: int32 (B, T) token ids. */
  run(idx: tf.Tensor, opts?: HookedRunOptions): RunResult;
  /** True when the weights are read from disk for every forward (then a layer-major pass reads them only once). */
  readonly streamed?: boolean;
  /**
   * Optional layer-major pass: every batch through block 0, then through block 1, ... (see FamilyModel). Activations
   * selected by `keep` go to onActivation(batch, name, t); t is freed after the call.
   */
  runLayerMajor?(batches: Int32Array[], T: number, keep: (name: string) => boolean, onActivation: (b: number, name: string, t: tf.Tensor) => void, stopAtLayer?: number): void;
}

/** Our GPT as a HookedModel (evaluation mode: no dropout). */
export function gptHookedModel(params: Params, cfg: GPTConfig): HookedModel {
  return {
    dims: cfg,
    description: `gpt2 (${cfg.nLayer} layers x ${cfg.nHead} heads, width ${cfg.nEmbd})`,
    run: (idx, o = {}) => runModel(params, cfg, idx, { hooks: o.hooks, targets: o.targets, stopAtLayer: o.stopAtLayer }),
  };
}

/** runWithCache for any HookedModel: the activations named by `namesFilter` are cloned into a cache the caller owns. */
export function runHookedWithCache(model: HookedModel, idx: tf.Tensor, namesFilter: NamesFilter, opts: HookedRunOptions = {}): RunResult & { cache: ActivationCache } {
  let keep: (name: string) => boolean;
  if (typeof namesFilter === 'function') keep = namesFilter;
  else {
    const valid = new Set(hookNames(model.dims));
    const bad = namesFilter.filter((n) => !valid.has(n));
    if (bad.length) throw new Error(`namesFilter has unknown hook names: ${bad.join(', ')} (see hookNames)`);
    const wanted = new Set(namesFilter);
    keep = (n) => wanted.has(n);
  }
  const cache = new ActivationCache();
  const hooks: HookList = [...(opts.hooks ?? []), [keep, (t, name) => cache.set(name, tf.keep(tf.clone(t)))]];
  try {
    return { ...model.run(idx, { ...opts, hooks }), cache };
  } catch (e) {
    cache.dispose();
    throw e;
  }
}
