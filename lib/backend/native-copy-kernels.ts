// Data-movement kernels for the wasm backend, computed by the native addon: Slice, SplitV, Concat, Pack, Tile (of size-1
// axes: a broadcast copy), and Cast
// to the same dtype (shared, no copy). They cover float32 and int32 (4-byte elements are copied bit-exactly through
// a Float32Array view of the same bytes); other dtypes go to the wasm kernel. wasm's Slice reads its whole input back
// to JavaScript on every call and its Concat copies row by row, which made SplitV/Concat/Pack visible in a profile.
import * as tf from '@tensorflow/tfjs';
import { KernelFactory, KernelArgs, KernelBackend as WasmBackend, f32, size } from './native-types';
const copyable = (dtype: tf.DataType): boolean => dtype === 'float32' || dtype === 'int32';

/** A Float32Array over the tensor's 4-byte elements (int32 data is moved as bit patterns). */
function view4(backend: WasmBackend, t: tf.TensorInfo): Float32Array {
  const v = backend.typedArrayFromHeap(t);
  return v instanceof Float32Array ? v : new Float32Array(v.buffer, v.byteOffset, v.length);
}

function share(backend: WasmBackend, x: tf.TensorInfo, shape: number[] = x.shape): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape, dtype: x.dtype };
}

export const slice: KernelFactory = (addon, fallback) => (args) => {
  const backend = args.backend as WasmBackend;
  const x = args.inputs.x as tf.TensorInfo;
  const { begin, size: sz } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
  if (!copyable(x.dtype) || x.shape.length === 0) return fallback(args);
  const [b, s] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, sz);
  const out = backend.makeOutput(s, x.dtype);
  if (size(s) > 0) addon.slice(view4(backend, x), view4(backend, out), x.shape, b, s);
  return out;
};

export const splitV: KernelFactory = (addon, fallback) => (args) => {
  const backend = args.backend as WasmBackend;
  const x = args.inputs.x as tf.TensorInfo;
  const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
  if (!copyable(x.dtype) || x.shape.length === 0) return fallback(args);
  const ax = tf.util.parseAxisParam(axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, ax);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((n) => {
    const s = x.shape.slice();
    s[ax] = n;
    const out = backend.makeOutput(s, x.dtype);
    if (size(s) > 0) addon.slice(view4(backend, x), view4(backend, out), x.shape, begin, s);
    begin[ax] += n;
    return out;
  });
};

function concatInto(
  addon: Parameters<KernelFactory>[0], backend: WasmBackend, parts: tf.TensorInfo[], outShape: number[], ax: number,
  innerOf: (t: tf.TensorInfo) => number,
): tf.TensorInfo {
  const out = backend.makeOutput(outShape, parts[0].dtype);
  const pre = size(outShape.slice(0, ax));
  if (size(outShape) > 0) {
    // views after makeOutput: allocating may have grown (and detached) the heap
    addon.concat(parts.map((t) => view4(backend, t)), parts.map(innerOf), view4(backend, out), pre);
  }
  return out;
}

export const concat: KernelFactory = (addon, fallback) => (args) => {
  const backend = args.backend as WasmBackend;
  const inputs = args.inputs as unknown as tf.TensorInfo[];
  const dtype = inputs[0]?.dtype;
  if (!dtype || !copyable(dtype) || inputs.some((t) => t.dtype !== dtype)) return fallback(args);
  const ax = tf.util.parseAxisParam((args.attrs as unknown as { axis: number }).axis, inputs[0].shape)[0];
  const shapes = inputs.map((t) => t.shape);
  tf.backend_util.assertParamsConsistent(shapes, ax);
  const outShape = tf.backend_util.computeOutShape(shapes, ax);
  const parts = inputs.filter((t) => size(t.shape) > 0);
  if (parts.length === 0) return backend.makeOutput(outShape, dtype);
  if (parts.length === 1) return share(backend, parts[0], outShape);
  return concatInto(addon, backend, parts, outShape, ax, (t) => size(t.shape.slice(ax)));
};

export const pack: KernelFactory = (addon, fallback) => (args) => {
  const backend = args.backend as WasmBackend;
  const inputs = args.inputs as unknown as tf.TensorInfo[];
  const axis = (args.attrs as unknown as { axis: number }).axis;
  const first = inputs[0];
  if (!first || !copyable(first.dtype) || inputs.length < 2) return fallback(args);
  if (inputs.some((t) => t.dtype !== first.dtype || t.shape.length !== first.shape.length || t.shape.some((d, i) => d !== first.shape[i]))) {
    return fallback(args); // wasm's kernel reports the mismatch
  }
  const r = first.shape.length + 1;
  const ax = axis < 0 ? axis + r : axis;
  const outShape = [...first.shape.slice(0, ax), inputs.length, ...first.shape.slice(ax)];
  const inner = size(first.shape.slice(ax));
  return concatInto(addon, backend, inputs, outShape, ax, () => inner);
};

/** GatherV2 with batchDims 0 (token and position embeddings): wasm's takes ~4.6 ms for a 1024-row lookup. */
export const gatherV2: KernelFactory = (addon, fallback) => (args) => {
  const backend = args.backend as WasmBackend;
  const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number };
  if (!copyable(x.dtype) || indices.dtype !== 'int32' || (batchDims ?? 0) !== 0 || x.shape.length === 0) return fallback(args);
  const ax = tf.util.parseAxisParam(axis, x.shape)[0];
  const outShape = [...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)];
  const out = backend.makeOutput(outShape, x.dtype);
  if (size(outShape) === 0) return out;
  const idx = backend.typedArrayFromHeap(indices) as Int32Array;
  const bad = addon.gather(view4(backend, x), idx, view4(backend, out), size(x.shape.slice(0, ax)), x.shape[ax], size(x.shape.slice(ax + 1)));
  if (bad >= 0) {
    (backend as unknown as { disposeData(d: tf.DataId): void }).disposeData(out.dataId);
    throw new Error(`GatherV2: the index value ${idx[bad]} is not in [0, ${x.shape[ax] - 1}]`);
  }
  return out;
};

/** Cast to the same dtype (autograd's Multiply gradient does it on every call): share the data instead of copying. */
export const cast: KernelFactory = (_addon, fallback) => (args: KernelArgs) => {
  const x = args.inputs.x as tf.TensorInfo;
  const dtype = (args.attrs as unknown as { dtype: tf.DataType }).dtype;
  if (x.dtype !== dtype || dtype === 'string') return fallback(args);
  return share(args.backend as WasmBackend, x);
};

/** Tile where every tiled axis has size 1 (what tf.broadcastTo issues): a broadcast copy. */
export const tile: KernelFactory = (addon, fallback) => (args) => {
  const backend = args.backend as WasmBackend;
  const x = args.inputs.x as tf.TensorInfo;
  const reps = (args.attrs as unknown as { reps: number[] }).reps;
  if (x.dtype !== 'float32' || reps.length !== x.shape.length || reps.some((r, d) => r !== 1 && x.shape[d] !== 1)) return fallback(args);
  const outShape = x.shape.map((d, i) => d * reps[i]);
  const out = backend.makeOutput(outShape, 'float32');
  if (size(outShape) > 0) {
    const v = f32(backend, x);
    addon.binary(7, v, v, f32(backend, out), x.shape, x.shape, outShape);
  }
  return out;
};

export function copyKernelFactories(): Record<string, KernelFactory> {
  return { Slice: slice, SplitV: splitV, Concat: concat, Pack: pack, Cast: cast, GatherV2: gatherV2, Tile: tile };
}
