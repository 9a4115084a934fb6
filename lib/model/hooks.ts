// TransformerLens-style access to activations: runWithCache (keep named activations), runWithHooks (read or edit
// them during the forward), actName. Hook-point names and shapes are listed in ./hookpoints.
//
//   const { logits, cache } = runWithCache(params, cfg, idx, { namesFilter: (n) => n.endsWith('hook_pattern') });
//   const p3 = cache.get('pattern', 3); // (B, nh, T, T) post-softmax attention, what the rank metrics read
//   cache.dispose(); logits?.dispose();
import * as tf from '@tensorflow/tfjs';
import { GPTConfig } from './config';
import { Params } from './params';
import { runModel, ForwardOptions, ForwardResult, forward } from './gpt';
import { HookList, actName, hookNames } from './hookpoints';

export { actName, hookNames } from './hookpoints';
export type { HookFn, HookList, HookTarget } from './hookpoints';

/** Which activations to keep: exact names, or a predicate. Default: all. */
export type NamesFilter = string[] | ((name: string) => boolean);

/** Named activations kept from one forward pass. Owns its tensors: call dispose(). */
export class ActivationCache {
  private readonly store = new Map<string, tf.Tensor>();

  /** @internal Adds a tensor the cache now owns. */
  set(name: string, t: tf.Tensor): void {
    const old = this.store.get(name);
    if (old) old.dispose();
    this.store.set(name, t);
  }

  /**
   * An activation by full name ('blocks.3.attn.hook_pattern') or by kind and layer as actName does
   * (get('pattern', 3)). Throws naming what is cached when absent. The cache keeps ownership.
   */
  get(nameOrKind: string, layer?: number): tf.Tensor {
    const name = layer === undefined && !/^(embed|pos_embed)$/.test(nameOrKind) ? nameOrKind : actName(nameOrKind, layer);
    const t = this.store.get(name);
    if (!t) {
      const have = this.names();
      const list = have.length > 8 ? `${have.slice(0, 8).join(', ')}, ... (${have.length})` : have.join(', ') || 'nothing';
      throw new Error(`activation '${name}' is not in the cache; cached: ${list}`);
    }
    return t;
  }

  has(name: string): boolean {
    return this.store.has(name);
  }

  /** Cached names, in forward order. */
  names(): string[] {
    return [...this.store.keys()];
  }

  get size(): number {
    return this.store.size;
  }

  /** Disposes every cached tensor; the cache is empty afterwards. */
  dispose(): void {
    for (const t of this.store.values()) t.dispose();
    this.store.clear();
  }
}

export interface RunWithCacheOptions extends Omit<ForwardOptions, 'hooks'> {
  /** Which activations to keep (default: all). Unknown exact names are an error. */
  namesFilter?: NamesFilter;
  /** Stop before block `stopAtLayer` (TransformerLens semantics, negative counts from the end): no logits then. */
  stopAtLayer?: number;
  /** Extra hooks run before caching (e.g. an ablation whose effect should show in later activations). */
  hooks?: HookList;
}

export interface RunWithCacheResult {
  /** (B, T, V) logits; absent with stopAtLayer. */
  logits?: tf.Tensor3D;
  loss?: tf.Scalar;
  /** Residual stream (B, T, C) where the run stopped, with stopAtLayer. */
  resid?: tf.Tensor3D;
  cache: ActivationCache;
}

/**
 * Runs the model and keeps the activations selected by namesFilter in an ActivationCache (tensors are clones the
 * cache owns, so two names for one value, e.g. resid_post of layer l and resid_pre of l+1, are disposed independently).
 */
export function runWithCache(params: Params, cfg: GPTConfig, idx: tf.Tensor, opts: RunWithCacheOptions = {}): RunWithCacheResult {
  const filter = opts.namesFilter;
  let keep: (name: string) => boolean;
  if (filter === undefined) keep = () => true;
  else if (typeof filter === 'function') keep = filter;
  else {
    const valid = new Set(hookNames(cfg));
    const bad = filter.filter((n) => !valid.has(n));
    if (bad.length) throw new Error(`namesFilter has unknown hook names: ${bad.join(', ')} (see hookNames(cfg))`);
    const wanted = new Set(filter);
    keep = (n) => wanted.has(n);
  }
  const cache = new ActivationCache();
  const record = (t: tf.Tensor, name: string): void => {
    cache.set(name, tf.keep(tf.clone(t)));
  };
  const hooks: HookList = [...(opts.hooks ?? []), [keep, record]];
  try {
    const out = runModel(params, cfg, idx, { ...opts, hooks });
    return { ...out, cache };
  } catch (e) {
    cache.dispose();
    throw e;
  }
}

/** Forward with hooks: TransformerLens's run_with_hooks(fwd_hooks=[(name, fn)]). */
export function runWithHooks(params: Params, cfg: GPTConfig, idx: tf.Tensor, hooks: HookList, opts: ForwardOptions = {}): ForwardResult {
  return forward(params, cfg, idx, { ...opts, hooks: [...(opts.hooks ?? []), ...hooks] });
}
