// Gradients that tfjs builds from several small ops, rebuilt for the native path:
//   Sum, Mean   tfjs multiplies dy by ones(x.shape) made in JavaScript and copied into the heap on every call;
//               here dy is broadcast (Tile) instead, in place, with the same values.
//   Softmax     dx = dy*y - sum(dy*y)*y in one native pass instead of four kernels over (B, nh, T, T).
//   Tanh        dx = (1 - y^2)*dy in one pass instead of three kernels (GELU's backward).
// Each override falls back to tfjs's own gradient when the running backend is not wasm with native kernels, so
// installing them never changes what another backend computes. Same formulas, so results match to rounding.
import * as tf from '@tensorflow/tfjs';
import { NativeAddon, KernelBackend as WasmBackend, f32, size } from './native-types';
import { NATIVE_BACKENDS } from './native-ops';

const SOFTMAX_GRAD = 'InherituneSoftmaxGrad';
const TANH_GRAD = 'InherituneTanhGrad';

function softmaxGradKernel(addon: NativeAddon) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo => {
    const backend = args.backend as WasmBackend;
    const { dy, y } = args.inputs as { dy: tf.TensorInfo; y: tf.TensorInfo };
    const cols = y.shape[y.shape.length - 1];
    const out = backend.makeOutput(y.shape, 'float32');
    addon.softmaxGrad(f32(backend, y), f32(backend, dy), f32(backend, out), size(y.shape) / Math.max(1, cols), cols);
    return out;
  };
}

function tanhGradKernel(addon: NativeAddon) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo => {
    const backend = args.backend as WasmBackend;
    const { dy, y } = args.inputs as { dy: tf.TensorInfo; y: tf.TensorInfo };
    const out = backend.makeOutput(y.shape, 'float32');
    addon.tanhGrad(f32(backend, y), f32(backend, dy), f32(backend, out));
    return out;
  };
}

const originalGrads = new Map<string, tf.GradConfig>();
let active: () => boolean = () => false;

function expandedDy(dy: tf.Tensor, x: tf.Tensor, axis: number | number[]): tf.Tensor {
  const shape = x.shape.slice();
  for (const a of tf.util.parseAxisParam(axis, x.shape)) shape[a] = 1;
  return tf.reshape(dy, shape);
}

function overrides(): tf.GradConfig[] {
  const orig = (name: string): tf.GradConfig => originalGrads.get(name) as tf.GradConfig;
  return [
    {
      kernelName: 'Sum',
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        if (!active()) return orig('Sum').gradFunc(dy, saved, attrs);
        const [x] = saved;
        const { axis } = attrs as unknown as { axis: number | number[] };
        return { x: () => tf.broadcastTo(tf.cast(expandedDy(dy as tf.Tensor, x, axis), 'float32'), x.shape) };
      },
    },
    {
      kernelName: 'Mean',
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        if (!active()) return orig('Mean').gradFunc(dy, saved, attrs);
        const [x] = saved;
        const { axis } = attrs as unknown as { axis: number | number[] };
        const axes = tf.util.parseAxisParam(axis, x.shape);
        const reduceSize = axes.reduce((p, a) => p * x.shape[a], 1);
        return { x: () => tf.div(tf.broadcastTo(tf.cast(expandedDy(dy as tf.Tensor, x, axis), 'float32'), x.shape), reduceSize) };
      },
    },
    {
      kernelName: 'Softmax',
      outputsToSave: [true],
      gradFunc: (dy, saved, attrs) => {
        const [y] = saved;
        const { dim } = attrs as unknown as { dim: number };
        const last = dim === -1 || dim === y.rank - 1;
        if (!active() || !last || y.dtype !== 'float32') return orig('Softmax').gradFunc(dy, saved, attrs);
        return { logits: () => tf.engine().runKernel(SOFTMAX_GRAD, { dy: dy as tf.Tensor, y }, {}) as tf.Tensor };
      },
    },
    {
      kernelName: 'Tanh',
      outputsToSave: [true],
      gradFunc: (dy, saved, attrs) => {
        const [y] = saved;
        if (!active() || y.dtype !== 'float32' || (dy as tf.Tensor).dtype !== 'float32') return orig('Tanh').gradFunc(dy, saved, attrs);
        return { x: () => tf.engine().runKernel(TANH_GRAD, { dy: dy as tf.Tensor, y }, {}) as tf.Tensor };
      },
    },
  ];
}

/** Registers the fused gradient kernels on wasm and the gradient overrides; `isActive` says when to use them. */
export function installNativeGrads(addon: NativeAddon, isActive: () => boolean): void {
  active = () => isActive() && NATIVE_BACKENDS.has(tf.getBackend());
  if (!tf.getKernel(SOFTMAX_GRAD, 'wasm')) {
    tf.registerKernel({ kernelName: SOFTMAX_GRAD, backendName: 'wasm', kernelFunc: softmaxGradKernel(addon) as unknown as tf.KernelFunc });
    tf.registerKernel({ kernelName: TANH_GRAD, backendName: 'wasm', kernelFunc: tanhGradKernel(addon) as unknown as tf.KernelFunc });
  }
  if (originalGrads.size > 0) return;
  for (const g of overrides()) {
    const o = tf.getGradient(g.kernelName);
    if (!o) continue; // tfjs without this gradient: leave it alone
    originalGrads.set(g.kernelName, o);
    tf.registerGradient(g);
  }
}
