// The few GPT ops that have two implementations: `plain` (ordinary tfjs ops, autograd does the backward) and
// `fast` (tf.customGrad ops whose forward and backward issue only plain 2-D, non-transposed matMuls).
//
// Why: on wasm only rank-2 non-transposed matMul reaches XNNPACK (~20 GFLOP/s); transposeA/transposeB or batched
// matMuls run at ~1.6 GFLOP/s, and autograd's matMul backward uses exactly those. An explicit tf.transpose followed by a
// plain matMul is ~10x faster there (reference/stack.md §1-2). Both paths compute the same forward numbers; the
// backward differs only by float summation order.
//
// With the native kernels on (lib/backend/native), BLAS takes transpose flags at full speed, so the fast ops pass
// flags instead of materialising transposes (a (V, C) copy of wte per step for the head), and GELU and LayerNorm run
// as single fused kernels.
import * as tf from '@tensorflow/tfjs';
import type { Activation } from './config';
import { nativeOpsActive, geluTanhNative, geluExactNative, layerNormNative } from '../backend/native-ops';
import { crossEntropyNative, ignoreIndexWeights, matMulPairNative } from '../backend/native-train-ops';

type T2 = tf.Tensor2D;
type Arg = tf.Tensor | tf.GradSaveFunc;

/** a^T @ b or a @ b^T for 2-D tensors: transpose flags where BLAS serves them, else an explicit transpose (wasm). */
function matMulT(a: T2, b: T2, transposeA: boolean, transposeB: boolean): T2 {
  if (nativeOpsActive()) return tf.matMul(a, b, transposeA, transposeB);
  return tf.matMul(transposeA ? tf.transpose(a) : a, transposeB ? tf.transpose(b) : b);
}

/** [op(a1) @ op(b1), op(a2) @ op(b2)]: one native kernel that runs both at once where it is on. */
function matMulPair(a1: T2, b1: T2, ta1: boolean, tb1: boolean, a2: T2, b2: T2, ta2: boolean, tb2: boolean): [T2, T2] {
  if (nativeOpsActive()) return matMulPairNative(a1, b1, ta1, tb1, a2, b2, ta2, tb2);
  return [matMulT(a1, b1, ta1, tb1), matMulT(a2, b2, ta2, tb2)];
}

// ---- Linear: y = x @ W (+ b), W in HF Conv1D layout [in, out] ----------------------------------------------------

// Fast Linear without bias. x (N, in), w (in, out) -> (N, out).
const linearFastNoBias = tf.customGrad((...args: Arg[]) => {
  const [x, w, save] = args as [T2, T2, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.matMul(x, w) as T2,
    gradFunc: (dy: T2, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as T2[];
      return matMulPair(dy, ws, false, true, xs, dy, true, false); // dx (N, out) @ (out, in), dw (in, N) @ (N, out)
    },
  };
});

// Fast Linear with bias.
const linearFastBias = tf.customGrad((...args: Arg[]) => {
  const [x, w, b, save] = args as [T2, T2, tf.Tensor1D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.add(tf.matMul(x, w), b) as T2,
    gradFunc: (dy: T2, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as T2[];
      const [dx, dw] = matMulPair(dy, ws, false, true, xs, dy, true, false);
      const db = tf.sum(dy, 0); // (out)
      return [dx, dw, db];
    },
  };
});

/** y = x @ w + b. x (N, in), w (in, out), b (out) or undefined -> (N, out). */
export function linear(x: T2, w: tf.Tensor, b: tf.Tensor | undefined, fast: boolean): T2 {
  if (fast) return b ? linearFastBias(x, w, b) : linearFastNoBias(x, w);
  return tf.tidy(() => {
    const y = tf.matMul(x, w as T2) as T2;
    return b ? (tf.add(y, b) as T2) : y;
  });
}

// ---- Tied LM head: logits = x @ wte^T -----------------------------------------------------------------------------

// Fast head: wte is transposed once per call, the backward needs no transposed matMul either.
const headFast = tf.customGrad((...args: Arg[]) => {
  const [x, wte, save] = args as [T2, T2, tf.GradSaveFunc];
  save([x, wte]);
  return {
    value: matMulT(x, wte, false, true), // (N, C) @ (C, V)
    gradFunc: (dy: T2, saved: tf.Tensor[]) => {
      const [xs, w] = saved as T2[];
      // dx = (N, V) @ (V, C); dw = (V, N) @ (N, C) with flags, on wasm ((C, N) @ (N, V))^T to keep both matMuls plain.
      if (nativeOpsActive()) return matMulPair(dy, w, false, false, dy, xs, true, false);
      return [tf.matMul(dy, w), tf.transpose(tf.matMul(tf.transpose(xs), dy))];
    },
  };
});

/** Logits of the weight-tied head. x (N, C), wte (V, C) -> (N, V). */
export function tiedHead(x: T2, wte: tf.Tensor, fast: boolean): T2 {
  return fast ? headFast(x, wte) : tf.matMul(x, wte as T2, false, true);
}

// ---- Cross-entropy: mean over targets >= 0 of -log softmax(logits)[target] (PyTorch ignore_index = -1) -------------

/** Mean cross-entropy. logits (N, V), targets (N) int32 in [-1, V); -1 is ignored (nanoGPT's ignore_index). */
export function crossEntropy(logits: T2, targets: tf.Tensor1D, fast: boolean): tf.Scalar {
  if (fast && nativeOpsActive() && logits.dtype === 'float32' && targets.dtype === 'int32') return crossEntropyNative(logits, targets);
  return tf.tidy(() => (fast ? crossEntropyFused(logits, targets) : crossEntropyPlain(logits, targets)));
}

interface TargetInfo {
  /** (N, 2) int32 [row, target] pairs (ignored rows point at column 0), for gatherND / tensorScatterUpdate. */
  at: tf.Tensor2D;
  /** (N) float32 weight of each row in the mean: 1/n for counted rows, 0 for ignored ones. */
  scale: tf.Tensor1D;
}

function targetInfo(targets: tf.Tensor1D): TargetInfo {
  const N = targets.shape[0];
  const safe = tf.maximum(targets, tf.scalar(0, 'int32'));
  const at = tf.stack([tf.range(0, N, 1, 'int32'), safe], 1) as tf.Tensor2D; // (N, 2)
  return { at, scale: ignoreIndexWeights(targets) };
}

function crossEntropyPlain(logits: T2, targets: tf.Tensor1D): tf.Scalar {
  const { scale } = targetInfo(targets);
  const lse = tf.logSumExp(logits, 1); // (N)
  const nll = tf.sub(lse, pickDifferentiable(logits, tf.maximum(targets, tf.scalar(0, 'int32')))); // (N)
  return tf.sum(tf.mul(nll, scale));
}

/**
 * logits[i, t[i]] through ops that have gradients (tfjs has none for gatherND). logits (N, V) -> (N).
 * `flatLimit` is only lowered by tests, to reach the one-hot branch.
 */
export function pickDifferentiable(logits: T2, safeTargets: tf.Tensor, flatLimit = 2 ** 31): tf.Tensor1D {
  const [N, V] = logits.shape;
  return tf.tidy(() => {
    if (N * V < flatLimit) {
      const flat = tf.add(tf.mul(tf.range(0, N, 1, 'int32'), tf.scalar(V, 'int32')), safeTargets); // i*V + t[i]
      return tf.gather(tf.reshape(logits, [N * V]), flat) as tf.Tensor1D;
    }
    // Beyond int32 flat indices: a one-hot mask (exact, one non-zero term per row). tf.oneHot(dtype 'float32') returns
    // zeros on wasm (tfjs 4.22), hence the cast.
    return tf.sum(tf.mul(logits, tf.cast(tf.oneHot(safeTargets as tf.Tensor1D, V), 'float32')), 1) as tf.Tensor1D;
  });
}

/**
 * Softmax and cross-entropy in one op with the closed-form gradient (softmax - onehot) * scale, so autograd keeps no
 * (N, V) intermediates of its own. On wasm the Softmax kernel is ~7x faster than Exp over (N, V), so the log-sum-exp
 * is recovered from it: the largest probability is exp(0) / sum = 1 / sum, hence lse = max - log(max prob) (max prob
 * >= 1/V, so nothing underflows). Backward: probs with 1 subtracted at each target (a scatter, no one-hot matrix).
 */
function crossEntropyFused(logits: T2, targets: tf.Tensor1D): tf.Scalar {
  const op = tf.customGrad((...args: Arg[]) => {
    const [x, save] = args as [T2, tf.GradSaveFunc];
    const { at, scale } = targetInfo(targets);
    const p = tf.softmax(x) as T2; // (N, V)
    const lse = tf.sub(tf.max(x, 1), tf.log(tf.max(p, 1))); // (N)
    const nll = tf.sub(lse, tf.gatherND(x, at)); // (N)
    save([p, at, scale]);
    return {
      value: tf.sum(tf.mul(nll, scale)) as tf.Scalar,
      gradFunc: (dy: tf.Scalar, saved: tf.Tensor[]) => {
        const [ps, ats, sc] = saved;
        const pt = tf.sub(tf.gatherND(ps, ats), tf.scalar(1)); // (N) p[target] - 1
        const g = tf.tensorScatterUpdate(ps, ats, pt); // (N, V) softmax - onehot
        return [tf.mul(g, tf.reshape(tf.mul(sc, dy), [-1, 1]))];
      },
    };
  });
  return op(logits);
}

// ---- Elementwise pieces shared by both paths ------------------------------------------------------------------------

const GELU_C = Math.sqrt(2 / Math.PI);

/** GPT-2's tanh GELU: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); one fused kernel when native is on. */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  if (nativeOpsActive() && x.dtype === 'float32') return geluTanhNative(x);
  return geluTanhComposite(x);
}

/** geluTanh from tfjs ops (autograd backward). x*x*x, not pow: pow is slow on wasm. */
export function geluTanhComposite(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const x3 = tf.mul(tf.mul(x, x), x);
    const inner = tf.mul(tf.add(x, tf.mul(x3, 0.044715)), GELU_C);
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
  });
}

/** The exact GELU of nn.GELU(): 0.5 x (1 + erf(x / sqrt(2))); one fused kernel when native is on. */
export function geluExact(x: tf.Tensor): tf.Tensor {
  if (nativeOpsActive() && x.dtype === 'float32') return geluExactNative(x);
  return geluExactComposite(x);
}

/** geluExact from tfjs ops (autograd backward; tfjs's erf is Abramowitz-Stegun 7.1.26, 1.5e-7 absolute). */
export function geluExactComposite(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
}

/** The MLP nonlinearity a config names. */
export function mlpActivation(x: tf.Tensor, activation: Activation): tf.Tensor {
  return activation === 'gelu' ? geluExact(x) : geluTanh(x);
}

/** LayerNorm over the last axis with biased variance, as torch.nn.functional.layer_norm. x (..., C), w and b (C). */
export function layerNorm(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | undefined, eps: number): tf.Tensor {
  const C = x.shape[x.shape.length - 1];
  if (w.shape.length !== 1 || w.shape[0] !== C || (b && (b.shape.length !== 1 || b.shape[0] !== C))) {
    throw new Error(`layerNorm: w and b must have shape [${C}] (the last axis of x [${x.shape}]), got [${w.shape}]${b ? ` and [${b.shape}]` : ''}`);
  }
  if (nativeOpsActive() && x.dtype === 'float32') return layerNormNative(x, w, b, eps);
  return layerNormComposite(x, w, b, eps);
}

/** layerNorm from tfjs ops (autograd backward). */
export function layerNormComposite(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | undefined, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const mean = tf.mean(x, -1, true); // (N, 1)
    const xc = tf.sub(x, mean); // (N, C)
    const variance = tf.mean(tf.mul(xc, xc), -1, true); // (N, 1)
    const y = tf.mul(tf.mul(xc, tf.rsqrt(tf.add(variance, eps))), w);
    return b ? tf.add(y, b) : y;
  });
}
