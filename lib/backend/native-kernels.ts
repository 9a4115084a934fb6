// tfjs kernels for the wasm backend that compute in the native addon (native/): they read their inputs and write
// their output in place in the wasm heap (zero-copy Float32Array views) and hand anything they do not cover (other
// dtypes, unusual attributes) to the wasm kernel they replace. Registration lives in ./native.
import * as tf from '@tensorflow/tfjs';
import { copyKernelFactories } from './native-copy-kernels';
import { KernelFactory, KernelBackend as WasmBackend, f32, size } from './native-types';

export type { NativeAddon, KernelArgs, Fallback, KernelFactory, KernelBackend } from './native-types';


// Below this many output elements the wasm kernel is as fast (the cost is the JS around either call).
const TINY = 64;

// ---- matMul --------------------------------------------------------------------------------------------------------

interface MatMulPlan {
  outShape: number[];
  batch: number;
  m: number;
  n: number;
  k: number;
  aOff: Float64Array | null;
  bOff: Float64Array | null;
}

/** Shapes and per-batch offsets of a (broadcast) batched matMul; throws tfjs's message on a shape mismatch. */
export function planMatMul(aShape: number[], bShape: number[], transA: boolean, transB: boolean): MatMulPlan {
  const ra = aShape.length;
  const rb = bShape.length;
  if (ra < 2 || rb < 2) throw new Error(`matMul needs rank >= 2 inputs, got shapes [${aShape}] and [${bShape}]`);
  const m = transA ? aShape[ra - 1] : aShape[ra - 2];
  const k = transA ? aShape[ra - 2] : aShape[ra - 1];
  const kb = transB ? bShape[rb - 1] : bShape[rb - 2];
  const n = transB ? bShape[rb - 2] : bShape[rb - 1];
  if (k !== kb) {
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${aShape} and ${bShape} and ` +
        `transposeA=${transA} and transposeB=${transB} must match.`,
    );
  }
  const outerA = aShape.slice(0, -2);
  const outerB = bShape.slice(0, -2);
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  const batch = size(outer);
  const sameA = outerA.length === outer.length && outerA.every((d, i) => d === outer[i]);
  const sameB = outerB.length === outer.length && outerB.every((d, i) => d === outer[i]);
  let aOff: Float64Array | null = null;
  let bOff: Float64Array | null = null;
  if (!sameA || !sameB) {
    aOff = broadcastOffsets(outer, outerA, m * k);
    bOff = broadcastOffsets(outer, outerB, k * n);
  }
  return { outShape: [...outer, m, n], batch, m, n, k, aOff, bOff };
}

/** Element offset of each output batch entry's matrix in an input with batch dims `dims` (numpy broadcasting). */
function broadcastOffsets(outer: number[], dims: number[], matSize: number): Float64Array {
  const batch = size(outer);
  const off = new Float64Array(batch);
  const r = outer.length;
  const pad = r - dims.length;
  const strides = new Array<number>(r).fill(0);
  let s = 1;
  for (let d = r - 1; d >= pad; d--) {
    const len = dims[d - pad];
    strides[d] = len === 1 ? 0 : s;
    s *= len;
  }
  const idx = new Array<number>(r).fill(0);
  for (let i = 0; i < batch; i++) {
    let o = 0;
    for (let d = 0; d < r; d++) o += idx[d] * strides[d];
    off[i] = o * matSize;
    for (let d = r - 1; d >= 0; d--) {
      if (++idx[d] < outer[d]) break;
      idx[d] = 0;
    }
  }
  return off;
}

export const batchMatMul: KernelFactory = (addon, fallback) => (args) => {
  const backend = args.backend as WasmBackend;
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return fallback(args);
  const p = planMatMul(a.shape, b.shape, transposeA, transposeB);
  const out = backend.makeOutput(p.outShape, 'float32');
  addon.gemm(f32(backend, a), f32(backend, b), f32(backend, out), null, p.batch, p.m, p.n, p.k, transposeA, transposeB, p.aOff, p.bOff, 0);
  return out;
};

/** _FusedMatMul with no activation or relu and a bias over the last axis; anything else goes to wasm. */
export const fusedMatMul: KernelFactory = (addon, fallback) => (args) => {
  const backend = args.backend as WasmBackend;
  const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const attrs = args.attrs as unknown as { transposeA: boolean; transposeB: boolean; activation?: string };
  const act = attrs.activation ?? 'linear';
  if (!a || !b || a.dtype !== 'float32' || b.dtype !== 'float32' || preluActivationWeights) return fallback(args);
  if (act !== 'linear' && act !== 'relu') return fallback(args);
  const p = planMatMul(a.shape, b.shape, attrs.transposeA, attrs.transposeB);
  if (bias) {
    const lastOnly = bias.dtype === 'float32' && bias.shape.length >= 1 && bias.shape[bias.shape.length - 1] === p.n &&
      size(bias.shape) === p.n && bias.shape.length <= p.outShape.length;
    if (!lastOnly) return fallback(args);
  }
  const out = backend.makeOutput(p.outShape, 'float32');
  addon.gemm(
    f32(backend, a), f32(backend, b), f32(backend, out), bias ? f32(backend, bias) : null, p.batch, p.m, p.n, p.k,
    attrs.transposeA, attrs.transposeB, p.aOff, p.bOff, act === 'relu' ? 1 : 0,
  );
  return out;
};

// ---- elementwise ---------------------------------------------------------------------------------------------------

/** Unary kernels by tfjs name -> op code in native/src/kernels.h. */
export const UNARY_OPS: Record<string, number> = {
  Tanh: 0, Exp: 1, Neg: 2, Sqrt: 3, Rsqrt: 4, Square: 5, Relu: 6, Sigmoid: 7, Abs: 8, Reciprocal: 9,
};

export function unaryKernel(op: number): KernelFactory {
  return (addon, fallback) => (args) => {
    const backend = args.backend as WasmBackend;
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype !== 'float32' || size(x.shape) < TINY) return fallback(args);
    const out = backend.makeOutput(x.shape, 'float32');
    addon.unary(op, f32(backend, x), f32(backend, out));
    return out;
  };
}

/** Binary kernels by tfjs name -> op code. */
export const BINARY_OPS: Record<string, number> = {
  Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6,
};

export function binaryKernel(op: number): KernelFactory {
  return (addon, fallback) => (args) => {
    const backend = args.backend as WasmBackend;
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return fallback(args);
    const outShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
    if (size(outShape) < TINY) return fallback(args);
    const r = outShape.length;
    const pad = (s: number[]): number[] => [...new Array<number>(r - s.length).fill(1), ...s];
    const out = backend.makeOutput(outShape, 'float32');
    addon.binary(op, f32(backend, a), f32(backend, b), f32(backend, out), pad(a.shape), pad(b.shape), outShape);
    return out;
  };
}

// ---- reductions, softmax, transpose, identity ----------------------------------------------------------------------

/** Reduction kernels by tfjs name -> [op code, name of the axis attribute]. */
export const REDUCE_OPS: Record<string, [number, string]> = {
  Sum: [0, 'axis'], Mean: [1, 'axis'], Max: [2, 'reductionIndices'], Min: [3, 'axis'],
};

export function reduceKernel(op: number, axisAttr: string): KernelFactory {
  return (addon, fallback) => (args) => {
    const backend = args.backend as WasmBackend;
    const x = args.inputs.x as tf.TensorInfo;
    const attrs = args.attrs as Record<string, unknown>;
    if (x.dtype !== 'float32' || size(x.shape) < TINY) return fallback(args);
    const axes = tf.util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape).slice().sort((p, q) => p - q);
    // Native covers one contiguous block of axes (last axis, first axis, all axes ...), and no empty dims.
    if (axes.length === 0 || x.shape.some((d) => d === 0)) return fallback(args);
    for (let i = 1; i < axes.length; i++) if (axes[i] !== axes[i - 1] + 1) return fallback(args);
    const s = axes[0];
    const e = axes[axes.length - 1];
    const pre = size(x.shape.slice(0, s));
    const red = size(x.shape.slice(s, e + 1));
    const post = size(x.shape.slice(e + 1));
    const outShape = attrs.keepDims
      ? x.shape.map((d, i) => (i >= s && i <= e ? 1 : d))
      : x.shape.filter((_, i) => i < s || i > e);
    const out = backend.makeOutput(outShape, 'float32');
    addon.reduce(op, f32(backend, x), f32(backend, out), pre, red, post);
    return out;
  };
}

export const softmax: KernelFactory = (addon, fallback) => (args) => {
  const backend = args.backend as WasmBackend;
  const x = args.inputs.logits as tf.TensorInfo;
  const dim = (args.attrs as unknown as { dim: number }).dim;
  const r = x.shape.length;
  if (x.dtype !== 'float32' || r === 0 || (dim !== -1 && dim !== r - 1)) return fallback(args);
  const cols = x.shape[r - 1];
  const out = backend.makeOutput(x.shape, 'float32');
  addon.softmax(f32(backend, x), f32(backend, out), size(x.shape) / Math.max(cols, 1), cols);
  return out;
};

export const transpose: KernelFactory = (addon, fallback) => (args) => {
  const backend = args.backend as WasmBackend;
  const x = args.inputs.x as tf.TensorInfo;
  const perm = (args.attrs as unknown as { perm: number[] }).perm;
  if (x.dtype !== 'float32' || size(x.shape) < TINY) return fallback(args);
  const out = backend.makeOutput(perm.map((p) => x.shape[p]), 'float32');
  addon.transpose(f32(backend, x), f32(backend, out), x.shape, perm);
  return out;
};

/**
 * Identity without a copy: the output shares the input's data and takes a reference (as tfjs's cpu backend does).
 * wasm's own Identity copies, and autograd and customGrad call it hundreds of times per training step.
 */
export const identity: KernelFactory = (_addon, fallback) => (args) => {
  const backend = args.backend as WasmBackend;
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype === 'string') return fallback(args);
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

/** Every kernel this module replaces, by tfjs kernel name. */
export function kernelFactories(): Record<string, KernelFactory> {
  const out: Record<string, KernelFactory> = { BatchMatMul: batchMatMul, _FusedMatMul: fusedMatMul, Softmax: softmax, Transpose: transpose, Identity: identity };
  for (const [name, op] of Object.entries(UNARY_OPS)) out[name] = unaryKernel(op);
  for (const [name, op] of Object.entries(BINARY_OPS)) out[name] = binaryKernel(op);
  for (const [name, [op, axisAttr]] of Object.entries(REDUCE_OPS)) out[name] = reduceKernel(op, axisAttr);
  return { ...out, ...copyKernelFactories() };
}
