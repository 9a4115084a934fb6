// Training-step ops with native kernels (native/src/addon_train.cc). lib/model/ops calls them while
// nativeOpsActive() and runs its tfjs versions otherwise:
//   crossEntropyNative(logits, targets)   mean cross-entropy over the vocabulary: one kernel forward (softmax,
//                                         log-sum-exp and the target's loss per row), one backward ((p - onehot) * coef)
//                                         instead of ~15 tfjs kernels and 3 extra (N, V) passes
//   matMulPairNative(...)                 two independent products in one kernel: the dx and dW of a Linear backward
//                                         run concurrently, one thread each (faster than one after the other on 2
//                                         threads for the GPT's small products; bench/native.ts)
import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from './native-types';
import { WasmBackend, f32, registerWasmKernel, requireActive } from './native-ops';

const XENT = 'InherituneSoftmaxXent';
const XENT_GRAD = 'InherituneSoftmaxXentGrad';
const PAIR = 'InherituneMatMulPair';
const i32 = (b: WasmBackend, t: tf.TensorInfo): Int32Array => b.typedArrayFromHeap(t) as Int32Array;

type PairAttrs = { ta1: boolean; tb1: boolean; ta2: boolean; tb2: boolean };

/** [M, N, K, transA, transB] of op(a) @ op(b) for 2-D a and b; throws when the inner sizes differ. */
function dimsOf(a: tf.TensorInfo, b: tf.TensorInfo, ta: boolean, tb: boolean): number[] {
  const [m, k] = ta ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
  const [k2, n] = tb ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
  if (a.shape.length !== 2 || b.shape.length !== 2 || k !== k2) {
    throw new Error(`matMulPairNative: cannot multiply [${a.shape}]${ta ? 'ᵀ' : ''} by [${b.shape}]${tb ? 'ᵀ' : ''}`);
  }
  return [m, n, k, ta ? 1 : 0, tb ? 1 : 0];
}

/** Registers the kernels on wasm (called by enableNativeKernels). */
export function registerTrainOps(addon: NativeAddon): void {
  if (tf.getKernel(XENT, 'wasm')) return;
  const reg = registerWasmKernel;
  reg(XENT, ({ inputs, backend }) => {
    const b = backend as WasmBackend;
    const { x, targets } = inputs as { x: tf.TensorInfo; targets: tf.TensorInfo };
    const [rows, V] = x.shape;
    const t = i32(b, targets);
    for (let r = 0; r < rows; r++) {
      if (t[r] < -1 || t[r] >= V) throw new Error(`crossEntropy: target ${t[r]} at row ${r} is outside [0, ${V}) and is not -1 (ignored)`);
    }
    const p = b.makeOutput([rows, V], 'float32');
    const nll = b.makeOutput([rows], 'float32');
    // views taken after makeOutput: growing the wasm heap detaches the ones taken before (t's buffer is gone then)
    addon.softmaxXent(f32(b, x), i32(b, targets), f32(b, p), f32(b, nll), rows, V); // targets checked above
    return [p, nll];
  });
  reg(XENT_GRAD, ({ inputs, backend }) => {
    const b = backend as WasmBackend;
    const { p, targets, coef } = inputs as Record<string, tf.TensorInfo>;
    const [rows, V] = p.shape;
    const dx = b.makeOutput([rows, V], 'float32');
    addon.softmaxXentGrad(f32(b, p), i32(b, targets), f32(b, coef), f32(b, dx), rows, V);
    return dx;
  });
  reg(PAIR, ({ inputs, backend, attrs }) => {
    const b = backend as WasmBackend;
    const { a1, b1, a2, b2 } = inputs as Record<string, tf.TensorInfo>;
    const { ta1, tb1, ta2, tb2 } = attrs as unknown as PairAttrs;
    const d1 = dimsOf(a1, b1, ta1, tb1);
    const d2 = dimsOf(a2, b2, ta2, tb2);
    const c1 = b.makeOutput([d1[0], d1[1]], 'float32');
    const c2 = b.makeOutput([d2[0], d2[1]], 'float32');
    addon.gemmPair(f32(b, a1), f32(b, b1), f32(b, c1), d1, f32(b, a2), f32(b, b2), f32(b, c2), d2);
    return [c1, c2];
  });
}

/** [op(a1) @ op(b1), op(a2) @ op(b2)] for 2-D float32 tensors, computed concurrently. No gradient (used in gradients). */
export function matMulPairNative(
  a1: tf.Tensor2D, b1: tf.Tensor2D, ta1: boolean, tb1: boolean,
  a2: tf.Tensor2D, b2: tf.Tensor2D, ta2: boolean, tb2: boolean,
): [tf.Tensor2D, tf.Tensor2D] {
  requireActive('matMulPairNative', a1, b1, a2, b2);
  const out = tf.engine().runKernel(PAIR, { a1, b1, a2, b2 }, { ta1, tb1, ta2, tb2 }) as tf.Tensor2D[];
  return [out[0], out[1]];
}

/**
 * Each row's weight in a mean over targets >= 0 (nanoGPT's ignore_index = -1): 1/(counted rows), 0 for ignored rows;
 * 0/0 = NaN everywhere when every row is ignored, as PyTorch. targets (N) int32 -> (N) float32.
 */
export function ignoreIndexWeights(targets: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const keep = tf.cast(tf.greaterEqual(targets, tf.scalar(0, 'int32')), 'float32'); // (N) 1 = counted
    return tf.div(keep, tf.sum(keep)) as tf.Tensor1D;
  });
}

/**
 * Mean cross-entropy of logits (N, V) against int32 targets (N) in [-1, V), -1 ignored (nanoGPT's ignore_index):
 * sum over rows of nll * scale with scale = 1/(number of counted rows), 0 for ignored rows (NaN when all are ignored,
 * as PyTorch). Gradient: (softmax - onehot) * scale * dy, in one kernel.
 */
export function crossEntropyNative(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  requireActive('crossEntropyNative', logits);
  if (logits.rank !== 2 || targets.rank !== 1 || targets.shape[0] !== logits.shape[0] || targets.dtype !== 'int32') {
    throw new Error(`crossEntropyNative: logits (N, V) and int32 targets (N), got [${logits.shape}] and ${targets.dtype} [${targets.shape}]`);
  }
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const [p, nll] = tf.engine().runKernel(XENT, { x, targets }, {}) as tf.Tensor[]; // (N, V), (N)
    const scale = ignoreIndexWeights(targets); // (N)
    save([p, scale, targets]);
    return {
      value: tf.sum(tf.mul(nll, scale)) as tf.Scalar,
      gradFunc: (dy: tf.Scalar, saved: tf.Tensor[]) => {
        const [ps, sc, ts] = saved;
        return tf.engine().runKernel(XENT_GRAD, { p: ps, targets: ts, coef: tf.mul(sc, dy) }, {}) as tf.Tensor;
      },
    };
  });
  return op(logits) as tf.Scalar;
}
