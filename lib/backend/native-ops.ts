// Fused GPT ops with native kernels. lib/model/ops geluTanh and layerNorm call them while nativeOpsActive() and run
// their composite tfjs ops otherwise (another backend, addon not built, INHERITUNE_NATIVE=0):
//   geluTanhNative(x)              one kernel forward and one backward
//   geluExactNative(x)             the erf GELU of nn.GELU(), one kernel each way (erf: native/src/vmath.h)
//   layerNormNative(x, w, b, eps)  biased variance, one kernel each way
//   causalSoftmaxNative(s, scale)  softmax(scale*s + causal -Infinity mask) over (B, nh, T, T) scores; reads only the
//                                  unmasked half; backward = scale * softmax backward
//   attentionNative(qkv, ...)      causal attention straight from c_attn's (B*T, 3C) output to (B*T, C), no split,
//                                  head transposes or concat (strided BLAS; native/src/attention.cc)
//   adamwNative(p, g, m, v, k)     one AdamW update (lib/train/adamw.ts) in one pass, returning new p, m, v
// Gradients: tf.customGrad with the closed forms
//   gelu'(x) = 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3*0.044715 x^2),  t = tanh(sqrt(2/pi)(x + 0.044715 x^3))
//   exact: gelu'(x) = 0.5 (1 + erf(x / sqrt 2)) + x exp(-x^2 / 2) / sqrt(2 pi)
//   LayerNorm: xhat = (x - mean) rstd, g = dy w; dx = rstd (g - mean(g) - xhat mean(g xhat)); dw = sum dy xhat; db = sum dy
import * as tf from '@tensorflow/tfjs';
import { NativeAddon, KernelBackend, f32 } from './native-types';
import { HOST_BACKEND } from './host-backend';

/** Backends whose kernels the addon computes: wasm (tensors in the wasm heap) and host (tensors in Node memory). */
export const NATIVE_BACKENDS: ReadonlySet<string> = new Set(['wasm', HOST_BACKEND]);

/** The backend calls the fused kernels use (wasm's BackendWasm, or HostView on the host backend). */
export type WasmBackend = KernelBackend;
export type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

const GELU = 'InherituneGelu';
const GELU_GRAD = 'InherituneGeluGrad';
const GELU_EXACT = 'InherituneGeluExact';
const GELU_EXACT_GRAD = 'InherituneGeluExactGrad';
const LN = 'InherituneLayerNorm';
const LN_GRAD = 'InherituneLayerNormGrad';
const CAUSAL = 'InherituneCausalSoftmax';
const CAUSAL_GRAD = 'InherituneCausalSoftmaxGrad';
const ADAMW = 'InherituneAdamW';
const ATTN = 'InherituneAttention';
const ATTN_GRAD = 'InherituneAttentionGrad';
export { f32 };

/** Registers a kernel on the wasm backend. */
export function registerWasmKernel(kernelName: string, f: (a: Args) => tf.TensorInfo | tf.TensorInfo[]): void {
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: f as unknown as tf.KernelFunc });
}

let isActive: () => boolean = () => false;

/** x viewed as (rows, last axis): [rows, size of the last axis]. */
function rowsOf(x: tf.TensorInfo): [number, number] {
  const last = x.shape[x.shape.length - 1];
  return [x.shape.reduce((p, q) => p * q, 1) / Math.max(last, 1), last];
}

/** True when the fused ops run natively (wasm or host backend with native kernels on). */
export function nativeOpsActive(): boolean {
  return isActive() && NATIVE_BACKENDS.has(tf.getBackend());
}

/** Registers the fused kernels on wasm (called by enableNativeKernels). */
export function registerNativeOps(addon: NativeAddon, active: () => boolean): void {
  isActive = active;
  if (tf.getKernel(GELU, 'wasm')) return;
  const reg = registerWasmKernel;
  // Outputs are allocated before the views are taken: allocating can grow the wasm heap, which detaches older views.
  const unary = (name: string, kernel: (x: Float32Array, y: Float32Array) => void) =>
    reg(name, ({ inputs, backend }) => {
      const b = backend as WasmBackend;
      const x = inputs.x as tf.TensorInfo;
      const out = b.makeOutput(x.shape, 'float32');
      kernel(f32(b, x), f32(b, out));
      return out;
    });
  const unaryGrad = (name: string, kernel: (x: Float32Array, dy: Float32Array, dx: Float32Array) => void) =>
    reg(name, ({ inputs, backend }) => {
      const b = backend as WasmBackend;
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const out = b.makeOutput(x.shape, 'float32');
      kernel(f32(b, x), f32(b, dy), f32(b, out));
      return out;
    });
  unary(GELU, (x, y) => addon.gelu(x, y));
  unaryGrad(GELU_GRAD, (x, dy, dx) => addon.geluGrad(x, dy, dx));
  unary(GELU_EXACT, (x, y) => addon.geluExact(x, y));
  unaryGrad(GELU_EXACT_GRAD, (x, dy, dx) => addon.geluExactGrad(x, dy, dx));
  reg(LN, ({ inputs, backend, attrs }) => {
    const b = backend as WasmBackend;
    const { x, w, bias } = inputs as { x: tf.TensorInfo; w: tf.TensorInfo; bias?: tf.TensorInfo };
    const [rows, C] = rowsOf(x);
    const y = b.makeOutput(x.shape, 'float32');
    const mean = b.makeOutput([rows], 'float32');
    const rstd = b.makeOutput([rows], 'float32');
    const eps = (attrs as unknown as { eps: number }).eps;
    addon.layerNorm(f32(b, x), f32(b, w), bias ? f32(b, bias) : null, f32(b, y), f32(b, mean), f32(b, rstd), rows, C, eps);
    return [y, mean, rstd];
  });
  reg(LN_GRAD, ({ inputs, backend, attrs }) => {
    const b = backend as WasmBackend;
    const { x, w, mean, rstd, dy } = inputs as Record<string, tf.TensorInfo>;
    const [rows, C] = rowsOf(x);
    const withBias = (attrs as unknown as { withBias: boolean }).withBias;
    const dx = b.makeOutput(x.shape, 'float32');
    const dw = b.makeOutput([C], 'float32');
    const db = withBias ? b.makeOutput([C], 'float32') : undefined;
    addon.layerNormGrad(f32(b, x), f32(b, w), f32(b, mean), f32(b, rstd), f32(b, dy), f32(b, dx), f32(b, dw), db ? f32(b, db) : null, rows, C);
    return db ? [dx, dw, db] : [dx, dw];
  });
  reg(CAUSAL, ({ inputs, backend, attrs }) => {
    const b = backend as WasmBackend;
    const x = inputs.x as tf.TensorInfo;
    const [rows, T] = rowsOf(x);
    const y = b.makeOutput(x.shape, 'float32');
    addon.causalSoftmax(f32(b, x), f32(b, y), rows, T, (attrs as unknown as { scale: number }).scale);
    return y;
  });
  reg(CAUSAL_GRAD, ({ inputs, backend, attrs }) => {
    const b = backend as WasmBackend;
    const { y, dy } = inputs as { y: tf.TensorInfo; dy: tf.TensorInfo };
    const [rows, T] = rowsOf(y);
    const dx = b.makeOutput(y.shape, 'float32');
    addon.causalSoftmaxGrad(f32(b, y), f32(b, dy), f32(b, dx), rows, T, (attrs as unknown as { scale: number }).scale);
    return dx;
  });
  type AttnAttrs = { B: number; T: number; nh: number; scale: number };
  reg(ATTN, ({ inputs, backend, attrs }) => {
    const b = backend as WasmBackend;
    const qkv = inputs.qkv as tf.TensorInfo;
    const { B, T, nh, scale } = attrs as unknown as AttnAttrs;
    const y = b.makeOutput([B * T, qkv.shape[1] / 3], 'float32');
    const p = b.makeOutput([B, nh, T, T], 'float32');
    addon.attention(f32(b, qkv), f32(b, y), f32(b, p), B, T, nh, scale);
    return [y, p];
  });
  reg(ATTN_GRAD, ({ inputs, backend, attrs }) => {
    const b = backend as WasmBackend;
    const { qkv, p, dy } = inputs as Record<string, tf.TensorInfo>;
    const { B, T, nh, scale } = attrs as unknown as AttnAttrs;
    const dqkv = b.makeOutput(qkv.shape, 'float32');
    addon.attentionGrad(f32(b, qkv), f32(b, p), f32(b, dy), f32(b, dqkv), B, T, nh, scale);
    return dqkv;
  });
  reg(ADAMW, ({ inputs, backend, attrs }) => {
    const b = backend as WasmBackend;
    const { p, g, m, v } = inputs as Record<string, tf.TensorInfo>;
    const outs = [p, m, v].map(() => b.makeOutput(p.shape, 'float32'));
    const consts = Float32Array.from((attrs as unknown as { consts: number[] }).consts);
    addon.adamw(f32(b, p), f32(b, g), f32(b, m), f32(b, v), f32(b, outs[0]), f32(b, outs[1]), f32(b, outs[2]), consts);
    return outs;
  });
}

// ---- fused ops -----------------------------------------------------------------------------------------------------

type Arg = tf.Tensor | tf.GradSaveFunc;
const run = (name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor | tf.Tensor[] =>
  tf.engine().runKernel(name, inputs, attrs) as tf.Tensor | tf.Tensor[];

/** An elementwise op with one native kernel forward (x) and one backward (x, dy), as a differentiable function. */
function nativeUnary(forward: string, backward: string): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad((...args: Arg[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([x]);
    return {
      value: run(forward, { x }) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run(backward, { x: saved[0], dy }) as tf.Tensor,
    };
  }) as (x: tf.Tensor) => tf.Tensor;
}

const geluNative = nativeUnary(GELU, GELU_GRAD);

/** tanh GELU in one native kernel each way; any shape, float32. Only while nativeOpsActive(). */
export function geluTanhNative(x: tf.Tensor): tf.Tensor {
  requireActive('geluTanhNative', x);
  return geluNative(x);
}

const geluExactOp = nativeUnary(GELU_EXACT, GELU_EXACT_GRAD);

/** Exact (erf) GELU in one native kernel each way; any shape, float32. Only while nativeOpsActive(). */
export function geluExactNative(x: tf.Tensor): tf.Tensor {
  requireActive('geluExactNative', x);
  return geluExactOp(x);
}

/** Throws unless the native ops are active and every x is float32. */
export function requireActive(name: string, ...xs: tf.Tensor[]): void {
  if (!nativeOpsActive()) throw new Error(`${name}: native kernels are not active (use lib/model/ops, which falls back)`);
  for (const x of xs) if (x.dtype !== 'float32') throw new Error(`${name}: float32 only, got ${x.dtype}`);
}

function lnNative(eps: number, withBias: boolean) {
  return tf.customGrad((...args: Arg[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [x, w, b] = args as tf.Tensor[];
    const [y, mean, rstd] = run(LN, withBias ? { x, w, bias: b } : { x, w }, { eps }) as tf.Tensor[];
    save([x, w, mean, rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws, ms, rs] = saved;
        return run(LN_GRAD, { x: xs, w: ws, mean: ms, rstd: rs, dy }, { withBias }) as tf.Tensor[];
      },
    };
  });
}

const lnCache = new Map<string, ReturnType<typeof lnNative>>();

/** LayerNorm over the last axis (biased variance), one native kernel each way. x (..., C), w and b (C). Only while
 * nativeOpsActive(); lib/model/ops layerNorm checks the shapes. */
export function layerNormNative(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | undefined, eps: number): tf.Tensor {
  requireActive('layerNormNative', x);
  const key = `${eps}:${!!b}`;
  let op = lnCache.get(key);
  if (!op) lnCache.set(key, (op = lnNative(eps, !!b)));
  return b ? op(x, w, b) : op(x, w);
}

// ---- causal attention softmax ----------------------------------------------------------------------------------------

function causalNative(scale: number) {
  return tf.customGrad((...args: Arg[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const y = run(CAUSAL, { x }, { scale }) as tf.Tensor;
    save([y]);
    return { value: y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run(CAUSAL_GRAD, { y: saved[0], dy }, { scale }) as tf.Tensor };
  });
}
const causalCache = new Map<number, ReturnType<typeof causalNative>>();

/** softmax(scale * scores + causal mask) over the last axis. scores (B, nh, T, T), query = second-to-last axis. */
export function causalSoftmaxNative(scores: tf.Tensor, scale: number): tf.Tensor {
  requireActive('causalSoftmaxNative', scores);
  const [T1, T2] = scores.shape.slice(-2);
  if (scores.rank < 2 || T1 !== T2) throw new Error(`causalSoftmaxNative: scores must end in (T, T), got [${scores.shape}]`);
  let op = causalCache.get(scale);
  if (!op) causalCache.set(scale, (op = causalNative(scale)));
  return op(scores);
}

// ---- causal attention from qkv ----------------------------------------------------------------------------------------

/**
 * Causal self-attention core: qkv (B*T, 3C), the c_attn output [q | k | v] with heads side by side in each third, to
 * y (B*T, C) = softmax(scale q kᵀ + causal mask) v with heads side by side, as lib/model/gpt attention computes
 * between c_attn and c_proj (without hooks or attention dropout).
 */
export function attentionNative(qkv: tf.Tensor2D, B: number, T: number, nh: number, scale: number): tf.Tensor2D {
  requireActive('attentionNative', qkv);
  const [rows, C3] = qkv.shape;
  if (qkv.rank !== 2 || rows !== B * T || C3 % (3 * nh) !== 0) {
    throw new Error(`attentionNative: qkv must be (B*T, 3*nh*hs) = (${B}*${T}, 3*${nh}*hs), got [${qkv.shape}]`);
  }
  const attrs = { B, T, nh, scale };
  const op = tf.customGrad((...args: Arg[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const [y, p] = run(ATTN, { qkv: x }, attrs) as tf.Tensor[]; // (B*T, C), (B, nh, T, T)
    save([x, p]);
    return { value: y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run(ATTN_GRAD, { qkv: saved[0], p: saved[1], dy }, attrs) as tf.Tensor };
  });
  return op(qkv) as tf.Tensor2D;
}

// ---- AdamW -----------------------------------------------------------------------------------------------------------

/** The float32 constants of one AdamW update, in the order the kernel takes them (lib/train/adamw.ts). */
export interface AdamWConstants {
  decay: number;
  beta1: number;
  beta2: number;
  bc2Sqrt: number;
  eps: number;
  stepSize: number;
}

/** One AdamW update of p with gradient g and moments m, v; returns new [p, m, v] (nothing is modified in place). */
export function adamwNative(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, k: AdamWConstants): tf.Tensor[] {
  requireActive('adamwNative', p);
  for (const t of [g, m, v]) {
    if (t.dtype !== 'float32' || !tf.util.arraysEqual(t.shape, p.shape)) throw new Error(`adamwNative: g, m and v must be float32 of shape [${p.shape}], got ${t.dtype} [${t.shape}]`);
  }
  // 1 - beta is computed in float64 and rounded once, as tfjs does for tf.mul(g, 1 - beta1).
  const consts = [k.decay, k.beta1, 1 - k.beta1, k.beta2, 1 - k.beta2, k.bc2Sqrt, k.eps, k.stepSize];
  return run(ADAMW, { p, g, m, v }, { consts }) as tf.Tensor[];
}
