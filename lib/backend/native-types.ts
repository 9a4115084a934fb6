// Types shared by the native kernels (./native-kernels, ./native-copy-kernels, ./native-grads, ./native-ops,
// ./native-train-ops) and their registration (./native): the addon's functions, the backend calls a kernel uses, and
// the kernel factory signature. Kept apart so that the kernel files import these, not each other.
import * as tf from '@tensorflow/tfjs';

/** The addon's functions (native/src/addon.cc). */
export interface NativeAddon {
  gemm(
    a: Float32Array, b: Float32Array, c: Float32Array, bias: Float32Array | null, batch: number, m: number, n: number,
    k: number, transA: boolean, transB: boolean, aOff: Float64Array | null, bOff: Float64Array | null, act: number,
  ): void;
  unary(op: number, x: Float32Array, y: Float32Array): void;
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, aShape: number[], bShape: number[], outShape: number[]): void;
  reduce(op: number, x: Float32Array, out: Float32Array, pre: number, red: number, post: number): void;
  softmax(x: Float32Array, y: Float32Array, rows: number, cols: number): void;
  transpose(x: Float32Array, y: Float32Array, shape: number[], perm: number[]): void;
  slice(x: Float32Array, y: Float32Array, shape: number[], begin: number[], size: number[]): void;
  concat(xs: Float32Array[], inners: number[], y: Float32Array, pre: number): void;
  /** Returns -1, or the position of the first index outside [0, axisLen). */
  gather(x: Float32Array, idx: Int32Array, y: Float32Array, pre: number, axisLen: number, post: number): number;
  softmaxGrad(y: Float32Array, dy: Float32Array, dx: Float32Array, rows: number, cols: number): void;
  tanhGrad(y: Float32Array, dy: Float32Array, dx: Float32Array): void;
  gelu(x: Float32Array, y: Float32Array): void;
  geluGrad(x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  /** The exact (erf) GELU 0.5 x (1 + erf(x / sqrt 2)) and its derivative times dy. */
  geluExact(x: Float32Array, y: Float32Array): void;
  geluExactGrad(x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  layerNorm(x: Float32Array, w: Float32Array, b: Float32Array | null, y: Float32Array, mean: Float32Array, rstd: Float32Array, rows: number, c: number, eps: number): void;
  layerNormGrad(x: Float32Array, w: Float32Array, mean: Float32Array, rstd: Float32Array, dy: Float32Array, dx: Float32Array, dw: Float32Array, db: Float32Array | null, rows: number, c: number): void;
  /** Row r of (rows, T) is query r % T: softmax(scale * x) over columns <= r % T, exactly 0 beyond. */
  causalSoftmax(x: Float32Array, y: Float32Array, rows: number, T: number, scale: number): void;
  causalSoftmaxGrad(y: Float32Array, dy: Float32Array, dx: Float32Array, rows: number, T: number, scale: number): void;
  /** Causal attention from qkv (B*T, 3C): y (B*T, C) heads side by side and the pattern p (B, nh, T, T). */
  attention(qkv: Float32Array, y: Float32Array, p: Float32Array, B: number, T: number, nh: number, scale: number): void;
  attentionGrad(qkv: Float32Array, p: Float32Array, dy: Float32Array, dqkv: Float32Array, B: number, T: number, nh: number, scale: number): void;
  /** consts: [decay, beta1, 1-beta1, beta2, 1-beta2, bc2Sqrt, eps, stepSize], float32 (lib/train/adamw.ts). */
  adamw(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, pOut: Float32Array, mOut: Float32Array, vOut: Float32Array, consts: Float32Array): void;
  /** Softmax cross-entropy rows: p = softmax(x), nll = logsumexp - x[t] (0 where t = -1). Returns -1 or the first bad row. */
  softmaxXent(x: Float32Array, targets: Int32Array, p: Float32Array, nll: Float32Array, rows: number, V: number): number;
  /** dx = (p - onehot(t)) * coef[row]. */
  softmaxXentGrad(p: Float32Array, targets: Int32Array, coef: Float32Array, dx: Float32Array, rows: number, V: number): void;
  /** C1 = op(A1) op(B1) and C2 = op(A2) op(B2), concurrently on 2 threads; dims = [M, N, K, transA, transB]. */
  gemmPair(a1: Float32Array, b1: Float32Array, c1: Float32Array, dims1: number[], a2: Float32Array, b2: Float32Array, c2: Float32Array, dims2: number[]): void;
  singularValues(a: Float64Array, s: Float64Array, count: number, rows: number, cols: number): void;
  setThreads(n: number): void;
  info(): { blasConfig: string; blasThreading: string; threads: number; cores: number; simd: string };
}

/**
 * What a native kernel needs from its backend: tfjs-backend-wasm's BackendWasm has these calls; on the host backend
 * HostView (./host-backend) provides them over tfjs-backend-cpu. Views are zero-copy: take them after every
 * makeOutput of the kernel (on wasm, allocating can grow the heap, which detaches the views taken before).
 */
export interface KernelBackend {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  incRef(dataId: tf.DataId): void;
  disposeData(dataId: tf.DataId): void;
}

export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}
export type Fallback = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];
/** Builds a kernel function from the addon and the wasm kernel it replaces. */
export type KernelFactory = (addon: NativeAddon, fallback: Fallback) => (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];


export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
/** Zero-copy Float32Array view of a float32 tensor's data. */
export const f32 = (backend: KernelBackend, t: tf.TensorInfo): Float32Array => backend.typedArrayFromHeap(t) as Float32Array;
