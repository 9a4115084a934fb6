// The `host` backend: tensors in Node memory (one TypedArray per tensor, as tfjs-backend-cpu keeps them), bounded by
// the machine's RAM instead of the 4 GB wasm heap, computed by the native kernels (OpenBLAS addon) where they exist
// and by tfjs-backend-cpu's kernels, slow but complete, for anything else (issue 16: gpt2-large/xl do not fit the
// wasm heap). Model code is unchanged: the same tfjs-core ops, the same kernel names.
//
// How: a second tfjs-backend-cpu instance registered under the name 'host', with every cpu kernel registered for it
// too; then the native kernels are registered over those, each seeing the cpu backend through HostView, the same
// small interface (makeOutput, typedArrayFromHeap, incRef, disposeData) they use on wasm. A native kernel's fallback
// is the cpu kernel it replaces. Select it with INHERITUNE_BACKEND=host or initBackend({ backend: 'host' }).
import * as tf from '@tensorflow/tfjs';

export const HOST_BACKEND = 'host';

const MB = 1024 * 1024;

/** Thrown when Node cannot allocate a tensor of the host backend. */
export class HostOutOfMemoryError extends Error {
  constructor(shape: number[], dtype: string, bytes: number, cause: string) {
    super(
      `out of memory: cannot allocate a ${dtype} tensor of shape [${shape.join(', ')}] (${(bytes / MB).toFixed(1)} MB) ` +
        `in host memory (${cause}). Use fewer sequences per batch (train: --batch; rank: --windows-per-batch), fewer or ` +
        'shorter windows, or a smaller model. Nothing was computed with this tensor.',
    );
    this.name = 'HostOutOfMemoryError';
  }
}

/** The part of tfjs-backend-cpu's MathBackendCPU used here. */
interface CpuBackend {
  data: { get(id: tf.DataId): { values: unknown; dtype: tf.DataType } | undefined };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: unknown): tf.TensorInfo;
  incRef(id: tf.DataId): void;
  disposeData(id: tf.DataId, force?: boolean): boolean;
}

type Typed = Float32Array | Int32Array | Uint8Array;
const ARRAY: Record<string, new (n: number | ArrayLike<number> | ArrayBufferLike) => Typed> = {
  float32: Float32Array, int32: Int32Array, bool: Uint8Array,
};

/** A cpu backend seen as the native kernels see the wasm backend: outputs allocated, data as typed arrays. */
export class HostView {
  constructor(readonly cpu: CpuBackend) {}

  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo {
    const Ctor = ARRAY[dtype];
    if (!Ctor) throw new Error(`host backend: cannot allocate dtype ${dtype}`);
    const n = shape.reduce((a, b) => a * b, 1);
    let values: Typed;
    try {
      values = new Ctor(n);
    } catch (e) {
      throw new HostOutOfMemoryError(shape, dtype, n * (dtype === 'bool' ? 1 : 4), (e as Error).message);
    }
    return this.cpu.makeTensorInfo(shape, dtype, values);
  }

  /** The tensor's own array (no copy); values stored in another form are converted once and stored back. */
  typedArrayFromHeap(t: tf.TensorInfo): Typed {
    const entry = this.cpu.data.get(t.dataId);
    if (!entry) throw new Error(`host backend: tensor data of shape [${t.shape}] is not on this backend (disposed?)`);
    const Ctor = ARRAY[t.dtype];
    if (!Ctor) throw new Error(`host backend: no typed array for dtype ${t.dtype}`);
    const v = entry.values;
    if (v instanceof Ctor) return v;
    const n = t.shape.reduce((a, b) => a * b, 1);
    const converted = v == null ? new Ctor(n) : v instanceof ArrayBuffer ? new Ctor(v) : new Ctor(v as ArrayLike<number>);
    entry.values = converted;
    return converted;
  }

  incRef(id: tf.DataId): void {
    this.cpu.incRef(id);
  }

  disposeData(id: tf.DataId): void {
    this.cpu.disposeData(id);
  }
}

const views = new WeakMap<object, HostView>();
function viewOf(backend: unknown): HostView {
  if (backend instanceof HostView) return backend;
  let v = views.get(backend as object);
  if (!v) views.set(backend as object, (v = new HostView(backend as CpuBackend)));
  return v;
}
const cpuOf = (backend: unknown): unknown => (backend instanceof HostView ? backend.cpu : backend);

type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
type KernelFn = (args: Args) => tf.TensorInfo | tf.TensorInfo[];

/** A kernel written against the wasm backend's interface, run on the host backend. */
export function onHost(f: KernelFn): KernelFn {
  return (args) => f({ ...args, backend: viewOf(args.backend) });
}

/** The cpu kernel `name` as a fallback that accepts a HostView or the cpu backend. */
export function cpuFallback(name: string): KernelFn | undefined {
  const k = tf.getKernel(name, 'cpu');
  if (!k) return undefined;
  const f = k.kernelFunc as unknown as KernelFn;
  return (args) => f({ ...args, backend: cpuOf(args.backend) });
}

/**
 * Registers the 'host' backend (a tfjs-backend-cpu instance) with every cpu kernel; idempotent. Never chosen
 * automatically (priority -1): initBackend picks it only when asked.
 */
export function registerHostBackend(): void {
  if (tf.findBackendFactory(HOST_BACKEND)) return;
  const cpuFactory = tf.findBackendFactory('cpu');
  if (!cpuFactory) throw new Error('host backend: tfjs-backend-cpu is not registered');
  tf.registerBackend(HOST_BACKEND, cpuFactory, -1);
  for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: HOST_BACKEND });
}

/** Registers `f` (written for the wasm backend's interface) for the host backend, replacing what is there. */
export function registerHostKernel(kernelName: string, f: KernelFn): void {
  if (tf.getKernel(kernelName, HOST_BACKEND)) tf.unregisterKernel(kernelName, HOST_BACKEND);
  tf.registerKernel({ kernelName, backendName: HOST_BACKEND, kernelFunc: onHost(f) as unknown as tf.KernelFunc });
}

/** Puts the cpu kernel `name` back on the host backend (or removes ours where cpu has none). */
export function restoreHostKernel(kernelName: string): void {
  if (tf.getKernel(kernelName, HOST_BACKEND)) tf.unregisterKernel(kernelName, HOST_BACKEND);
  const k = tf.getKernel(kernelName, 'cpu');
  if (k) tf.registerKernel({ ...k, backendName: HOST_BACKEND });
}
