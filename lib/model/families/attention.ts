// Pieces the Llama and GPT-NeoX blocks share: Linear with PyTorch's [out, in] weights, RMSNorm, and causal
// self-attention with RoPE, grouped-query heads and an optional sliding window (Mistral, Qwen2), firing the
// TransformerLens hook points on the way.
import * as tf from '@tensorflow/tfjs';
import { HookRunner } from '../hookpoints';
import { causalMask } from '../gpt';
import { nativeOpsActive, causalSoftmaxNative } from '../../backend/native-ops';
import { applyRope } from './rope';
import { slidingWindowMask } from './sliding-window';

/** Per-forward state a block reads. */
export interface BlockCtx {
  B: number;
  T: number;
  hk: HookRunner | undefined;
  cos: tf.Tensor2D;
  sin: tf.Tensor2D;
  /** This block's sliding window (query i reads keys i - window < j <= i); undefined: plainly causal. */
  window?: number;
  /** A weight of the current block by its name after 'model.layers.{l}.' / 'gpt_neox.layers.{l}.'; f32. */
  w: (suffix: string) => tf.Tensor;
  /** The same when the tensor may be absent (biases). */
  maybe: (suffix: string) => tf.Tensor | undefined;
}

/** y = x W^T + b with W in torch.nn.Linear's [out, in] layout. x (N, in) -> (N, out). */
export function linearT(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    // BLAS (native kernels) takes the transpose flag at full speed; wasm's transposed matMul is slow (stack.md §2).
    const y = nativeOpsActive() ? tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D, false, true) : tf.matMul(x as tf.Tensor2D, tf.transpose(w) as tf.Tensor2D);
    return b ? tf.add(y, b) : y;
  });
}

/** Llama's RMSNorm: x / sqrt(mean(x^2) + eps) * w over the last axis. x (N, C), w (C). */
export function rmsNorm(x: tf.Tensor, w: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), w));
}

/**
 * Causal attention, banded when ctx.window < T. q0 (B*T, nh*hd), k0 and v0 (B*T, nkv*hd) straight from the
 * projections -> z (B*T, nh*hd), the heads side by side before the output projection. Hooks: attn.hook_q|k|v
 * [batch, pos, head, d_head] (before RoPE, as TransformerLens), hook_attn_scores, hook_pattern [batch, head, q, k]
 * (exact zeros outside the window), hook_z.
 */
export function causalAttention(ctx: BlockCtx, l: number, q0: tf.Tensor, k0: tf.Tensor, v0: tf.Tensor, nh: number, nkv: number, hd: number): tf.Tensor {
  const { B, T, hk } = ctx;
  const heads = (t: tf.Tensor, n: number, name: string): tf.Tensor => {
    let r = tf.reshape(t, [B, T, n, hd]); // (B, T, n, hd)
    if (hk) r = hk.run(`blocks.${l}.attn.hook_${name}`, r);
    return tf.transpose(r, [0, 2, 1, 3]); // (B, n, T, hd)
  };
  const q = applyRope(heads(q0, nh, 'q'), ctx.cos, ctx.sin); // (B, nh, T, hd)
  let k = applyRope(heads(k0, nkv, 'k'), ctx.cos, ctx.sin); // (B, nkv, T, hd)
  let v = heads(v0, nkv, 'v');
  if (nkv !== nh) {
    // transformers' repeat_kv: query head h reads key/value head floor(h / (nh / nkv)).
    const rep = nh / nkv;
    const expand = (t: tf.Tensor) => tf.reshape(tf.tile(tf.reshape(t, [B, nkv, 1, T * hd]), [1, 1, rep, 1]), [B, nh, T, hd]);
    k = expand(k);
    v = expand(v);
  }
  const scale = 1 / Math.sqrt(hd);
  const qk = tf.matMul(q, k, false, true); // (B, nh, T, T)
  const scoresName = `blocks.${l}.attn.hook_attn_scores`;
  // A window at least T long masks nothing the causal mask does not: such windows take the plain causal path.
  const banded = ctx.window !== undefined && ctx.window < T;
  let p: tf.Tensor;
  if (nativeOpsActive() && !banded && !(hk && hk.has(scoresName))) {
    p = causalSoftmaxNative(qk, scale);
  } else {
    const mask = banded ? slidingWindowMask(T, ctx.window!) : causalMask(T); // (T, T)
    let att = tf.add(tf.mul(qk, tf.scalar(scale)), mask); // masked entries exactly -Infinity
    if (hk) att = hk.run(scoresName, att);
    p = tf.softmax(att, -1);
  }
  if (hk) p = hk.run(`blocks.${l}.attn.hook_pattern`, p);
  let z = tf.transpose(tf.matMul(p, v), [0, 2, 1, 3]); // (B, T, nh, hd)
  if (hk) z = hk.run(`blocks.${l}.attn.hook_z`, z);
  return tf.reshape(z, [B * T, nh * hd]);
}
