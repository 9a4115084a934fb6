// TransformerLens hook-point names and the tiny runner the forward pass calls at each of them.
// Names and layouts follow TransformerLens exactly (reference/anchors.md §1.5), so cached activations can be compared
// with TL / CircuitsVis code:
//   hook_embed, hook_pos_embed                          [batch, pos, d_model]
//   blocks.{l}.hook_resid_pre|mid|post                  [batch, pos, d_model]
//   blocks.{l}.ln1|ln2.hook_normalized                  [batch, pos, d_model]  (after the LayerNorm weight and bias)
//   blocks.{l}.attn.hook_q|k|v|z                        [batch, pos, head, d_head]
//   blocks.{l}.attn.hook_attn_scores                    [batch, head, q_pos, k_pos]  scaled, masked with -Infinity
//   blocks.{l}.attn.hook_pattern                        [batch, head, q_pos, k_pos]  softmax probabilities (pre-dropout)
//   blocks.{l}.hook_attn_out|hook_mlp_out               [batch, pos, d_model]
//   blocks.{l}.mlp.hook_pre|hook_post                   [batch, pos, d_mlp]  (before / after GELU)
//   ln_final.hook_normalized                            [batch, pos, d_model]
// The module is separate from hooks.ts (runWithCache) so that gpt.ts can import it without an import cycle.
import * as tf from '@tensorflow/tfjs';
import { GPTConfig } from './config';

/** A hook: sees an activation by name; returning a tensor replaces it (same shape), returning nothing keeps it. */
export type HookFn = (t: tf.Tensor, name: string) => tf.Tensor | void;
/** Which names a hook applies to: one exact name, or a predicate over names. */
export type HookTarget = string | ((name: string) => boolean);
/** Hooks as TransformerLens's fwd_hooks: a list of (target, fn) pairs, run in order. */
export type HookList = Array<[HookTarget, HookFn]>;

const BLOCK_HOOKS = [
  'hook_resid_pre',
  'ln1.hook_normalized',
  'attn.hook_q',
  'attn.hook_k',
  'attn.hook_v',
  'attn.hook_attn_scores',
  'attn.hook_pattern',
  'attn.hook_z',
  'hook_attn_out',
  'hook_resid_mid',
  'ln2.hook_normalized',
  'mlp.hook_pre',
  'mlp.hook_post',
  'hook_mlp_out',
  'hook_resid_post',
];

/** Every hook-point name of a config, in the order the forward pass reaches them. */
export function hookNames(cfg: Pick<GPTConfig, 'nLayer'>): string[] {
  const names = ['hook_embed', 'hook_pos_embed'];
  for (let l = 0; l < cfg.nLayer; l++) for (const h of BLOCK_HOOKS) names.push(`blocks.${l}.${h}`);
  names.push('ln_final.hook_normalized');
  return names;
}

const ATTN_KINDS = new Set(['q', 'k', 'v', 'z', 'attn_scores', 'pattern']);
const BLOCK_KINDS = new Set(['resid_pre', 'resid_mid', 'resid_post', 'attn_out', 'mlp_out']);
const MLP_KINDS = new Set(['pre', 'post']);
const ALIASES: Record<string, string> = { attn: 'pattern', attn_logits: 'attn_scores' };

/**
 * TransformerLens's get_act_name: actName('pattern', 3) -> 'blocks.3.attn.hook_pattern'; actName('embed') ->
 * 'hook_embed'; actName('normalized', 2, 'ln1') -> 'blocks.2.ln1.hook_normalized';
 * actName('normalized', undefined, 'ln_final') -> 'ln_final.hook_normalized'. Aliases: attn -> pattern,
 * attn_logits -> attn_scores.
 */
export function actName(kind: string, layer?: number, layerType?: 'ln1' | 'ln2' | 'ln_final' | 'attn' | 'mlp'): string {
  const k = ALIASES[kind] ?? kind;
  if (k === 'embed' || k === 'pos_embed') return `hook_${k}`;
  if (k === 'normalized' && layerType === 'ln_final') return 'ln_final.hook_normalized';
  if (layer === undefined || !Number.isInteger(layer) || layer < 0) {
    throw new Error(`actName('${kind}'): needs a non-negative integer layer, got ${String(layer)}`);
  }
  if (ATTN_KINDS.has(k)) return `blocks.${layer}.attn.hook_${k}`;
  if (BLOCK_KINDS.has(k)) return `blocks.${layer}.hook_${k}`;
  if (MLP_KINDS.has(k)) return `blocks.${layer}.mlp.hook_${k}`;
  if (k === 'normalized' && (layerType === 'ln1' || layerType === 'ln2')) return `blocks.${layer}.${layerType}.hook_normalized`;
  const kinds = ['embed', 'pos_embed', ...BLOCK_KINDS, ...ATTN_KINDS, ...MLP_KINDS, 'normalized (with ln1|ln2|ln_final)'];
  throw new Error(`actName: unknown activation kind '${kind}'; expected one of: ${kinds.join(', ')}`);
}

/** Calls registered hooks at named points. Built only when hooks are given: an unhooked forward never sees it. */
export class HookRunner {
  private readonly byName = new Map<string, HookFn[]>();

  constructor(hooks: HookList, cfg: Pick<GPTConfig, 'nLayer'>) {
    const names = hookNames(cfg);
    const valid = new Set(names);
    for (const [target, fn] of hooks) {
      if (typeof fn !== 'function') throw new Error(`hook for ${String(target)} is not a function`);
      if (typeof target === 'string') {
        if (!valid.has(target)) {
          throw new Error(`unknown hook point '${target}' for a ${cfg.nLayer}-layer model; e.g. ${names.slice(0, 4).join(', ')}, ... (see hookNames(cfg))`);
        }
        this.add(target, fn);
      } else {
        for (const n of names) if (target(n)) this.add(n, fn);
      }
    }
  }

  private add(name: string, fn: HookFn): void {
    const fns = this.byName.get(name);
    if (fns) fns.push(fn);
    else this.byName.set(name, [fn]);
  }

  /** True when at least one hook is registered at `name`. */
  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Runs the hooks registered at `name` in order; a returned tensor replaces the activation (same shape required). */
  run(name: string, t: tf.Tensor): tf.Tensor {
    const fns = this.byName.get(name);
    if (!fns) return t;
    let cur = t;
    for (const fn of fns) {
      const out = fn(cur, name);
      if (out === undefined || out === null) continue;
      if (!(out instanceof tf.Tensor)) throw new Error(`hook at ${name} returned ${typeof out}; expected a tf.Tensor or nothing`);
      if (out.shape.length !== cur.shape.length || out.shape.some((d, i) => d !== cur.shape[i])) {
        throw new Error(`hook at ${name} returned shape [${out.shape}], expected [${cur.shape}]`);
      }
      cur = out;
    }
    return cur;
  }

  /**
   * For activations the forward keeps in another layout (e.g. (B*T, C) for [batch, pos, d_model]): reshapes to the
   * TransformerLens shape only when hooked, then back.
   */
  runAs(name: string, t: tf.Tensor, tlShape: number[]): tf.Tensor {
    if (!this.byName.has(name)) return t;
    const out = this.run(name, tf.reshape(t, tlShape));
    return tf.reshape(out, t.shape);
  }
}
