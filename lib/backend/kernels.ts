// Kernels that training needs but a backend lacks (or has only in a form too slow for the GPT-2 vocabulary). tfjs does not fall back to another backend per kernel, so a
// missing kernel is registered here in plain JavaScript against the backend's own memory.
import * as tf from '@tensorflow/tfjs';
import { HOST_BACKEND, registerHostKernel } from './host-backend';

/** Minimal view of the wasm backend's memory API (tfjs-backend-wasm 4.x, backend_wasm.d.ts). */
interface WasmBackendMemory {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/**
 * UnsortedSegmentSum(x, segmentIds, numSegments): out[s, ...] = sum of x[i, ...] over i with segmentIds[i] = s.
 * It is the gradient of tf.gather (the token-embedding backward); wasm has no such kernel.
 * x: (N, ...rest) float32; segmentIds: (N) int32; out: (numSegments, ...rest) float32.
 */
function unsortedSegmentSumWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as WasmBackendMemory;
  const x = args.inputs.x as tf.TensorInfo;
  const ids = args.inputs.segmentIds as tf.TensorInfo;
  const numSegments = (args.attrs as { numSegments: number }).numSegments;
  if (x.dtype !== 'float32') throw new Error(`UnsortedSegmentSum (wasm shim): x must be float32, got ${x.dtype}`);
  if (ids.shape.length !== 1 || ids.shape[0] !== x.shape[0]) {
    throw new Error(`UnsortedSegmentSum (wasm shim): segmentIds must be 1-D with length ${x.shape[0]}`);
  }
  const n = x.shape[0];
  const inner = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const out = backend.makeOutput([numSegments, ...x.shape.slice(1)], 'float32');
  // Views are taken after makeOutput: allocating may grow the wasm heap and detach earlier views.
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const seg = backend.typedArrayFromHeap(ids) as Int32Array;
  const o = backend.typedArrayFromHeap(out) as Float32Array;
  o.fill(0);
  for (let i = 0; i < n; i++) {
    const s = seg[i];
    if (s < 0 || s >= numSegments) continue; // TensorFlow drops out-of-range ids
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j] += xs[src + j];
  }
  return out;
}

const registered = new Set<string>();

/** Registers the shims a backend needs; idempotent. */
export function registerMissingKernels(tfjsBackendName: string): void {
  if (tfjsBackendName === HOST_BACKEND && !registered.has(HOST_BACKEND)) {
    // tfjs-backend-cpu's UnsortedSegmentSum loops over every segment (50257 for the GPT-2 vocabulary); this one
    // reads each row once.
    registerHostKernel('UnsortedSegmentSum', unsortedSegmentSumWasm);
    registered.add(HOST_BACKEND);
  }
  if (tfjsBackendName !== 'wasm' || registered.has('wasm')) return;
  if (!tf.getKernel('UnsortedSegmentSum', 'wasm')) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSumWasm as tf.KernelFunc });
  }
  registered.add('wasm');
}
