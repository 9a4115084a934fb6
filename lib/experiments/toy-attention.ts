// The single multi-head attention layer of the authors' toy demo 2 (reference/paper.md §8, `SimpleAttention`):
// W_Q, W_K, W_V, W_O all d×d, no bias, no mask, no residual, no LayerNorm, no MLP; scores / sqrt(head_dim).
//
// Weights are stored [in, out] (y = x W), the transpose of PyTorch's Linear layout; Kaiming normal with fan_in = d
// has the same distribution either way. Projections go through `linear2d`, whose backward issues only plain 2-D
// non-transposed matMuls (explicit tf.transpose first): on wasm, transposed matMuls leave the XNNPACK fast path
// and run ~10x slower (reference/stack.md §1). The attention matMuls are batched (rank 4) and stay slow there.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';

/** x (M, in) · w (in, out) -> (M, out), with a backward made of plain 2-D matMuls. */
export const linear2d = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved;
      const dx = tf.matMul(dy as tf.Tensor2D, tf.transpose(ws) as tf.Tensor2D); // (M, in)
      const dw = tf.matMul(tf.transpose(xs) as tf.Tensor2D, dy as tf.Tensor2D); // (in, out)
      return [dx, dw];
    },
  };
}) as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

/** A Float32Array of n draws from N(0, std²). */
export function normalArray(rng: Rng, n: number, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  return out;
}

export interface ToyAttentionParams {
  wq: tf.Variable<tf.Rank.R2>;
  wk: tf.Variable<tf.Rank.R2>;
  wv: tf.Variable<tf.Rank.R2>;
  wo: tf.Variable<tf.Rank.R2>;
}

/**
 * Kaiming-normal (relu gain) init: std = sqrt(2 / fan_in) = sqrt(2 / d), drawn in the order W_Q, W_K, W_V, W_O.
 * The caller owns the variables (disposeToyAttention).
 */
export function initToyAttention(d: number, rng: Rng): ToyAttentionParams {
  const std = Math.sqrt(2 / d);
  // tf.variable keeps its initial tensor alive as a separate tensor object: build it inside tidy to drop that.
  const mk = (name: string) =>
    tf.tidy(() => tf.variable(tf.tensor2d(normalArray(rng, d * d, std), [d, d]), true, `toy.${name}.${uniqueId++}`));
  return { wq: mk('wq'), wk: mk('wk'), wv: mk('wv'), wo: mk('wo') };
}
let uniqueId = 0;

export function disposeToyAttention(p: ToyAttentionParams): void {
  p.wq.dispose();
  p.wk.dispose();
  p.wv.dispose();
  p.wo.dispose();
}

/**
 * Forward pass. x (B, T, d) -> { out (B, T, d), att (B, nh, T, T) }; the caller owns both (or runs it in tf.tidy).
 */
export function toyAttentionForward(p: ToyAttentionParams, x: tf.Tensor3D, nHead: number): { out: tf.Tensor3D; att: tf.Tensor4D } {
  const [B, T, d] = x.shape;
  if (d % nHead !== 0) throw new Error(`hidden size (${d}) must be divisible by the number of heads (${nHead})`);
  const hd = d / nHead;
  return tf.tidy(() => {
    const x2 = tf.reshape(x, [B * T, d]) as tf.Tensor2D; // (B*T, d)
    const heads = (w: tf.Tensor2D) => tf.transpose(tf.reshape(linear2d(x2, w), [B, T, nHead, hd]), [0, 2, 1, 3]); // (B, nh, T, hd)
    const q = heads(p.wq);
    const k = heads(p.wk);
    const v = heads(p.wv);
    const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hd)); // (B, nh, T, T), no mask
    const att = tf.softmax(scores) as tf.Tensor4D; // row-wise over keys
    const y = tf.reshape(tf.transpose(tf.matMul(att, v), [0, 2, 1, 3]), [B * T, d]) as tf.Tensor2D; // (B*T, d)
    const out = tf.reshape(linear2d(y, p.wo), [B, T, d]) as tf.Tensor3D;
    return { out, att };
  });
}

/** Mean over the batch of att (B, nh, T, T), in float64: one T×T row-major matrix per head. */
export async function batchMeanPerHead(att: tf.Tensor4D): Promise<Float64Array[]> {
  const [B, nh, T] = att.shape;
  const d = await att.data();
  const TT = T * T;
  const out = Array.from({ length: nh }, () => new Float64Array(TT));
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nh; h++) {
      const off = (b * nh + h) * TT;
      const acc = out[h];
      for (let i = 0; i < TT; i++) acc[i] += d[off + i];
    }
  }
  for (const m of out) for (let i = 0; i < TT; i++) m[i] /= B;
  return out;
}
