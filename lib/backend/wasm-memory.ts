// Out of memory in the wasm heap is an error, never a number.
//
// tfjs-backend-wasm allocates every tensor with the module's malloc. When the heap cannot grow (it tops out at 4 GB,
// whatever the machine's RAM), malloc returns 0 and tfjs 4.22 records offset 0 as the tensor's address: the tensor
// then aliases the start of the heap (and near 4 GB, where the 32-bit break wraps, malloc can even return a block
// that ends past the heap), kernels read and write other tensors' bytes, and a run prints wrong numbers
// with exit code 0 (issue 16: a corrupt last layer in `rank` on gpt2-medium, "lazy layers" on gpt2-large). The guard
// here wraps the backend's `move` (behind write and makeOutput) and turns a failed allocation into a
// WasmOutOfMemoryError naming the tensor's shape, the bytes asked for, the heap in use and what to change.
//
//   INHERITUNE_WASM_HEAP_MB=<n>   leave only about n MB of free room in the wasm heap (tests of the out-of-memory
//                                 path): an untouched block reserves the rest, so the real malloc fails early.
import * as tf from '@tensorflow/tfjs';

/** The wasm heap's hard limit in tfjs-backend-wasm 4.22 (wasm32, 65536 pages of 64 KiB). */
export const WASM_HEAP_LIMIT_BYTES = 4 * 1024 ** 3;

const MB = 1024 * 1024;

/** Thrown when the wasm heap cannot hold a new tensor. */
export class WasmOutOfMemoryError extends Error {
  constructor(
    readonly shape: number[],
    readonly dtype: string,
    readonly bytes: number,
    readonly heapBytes: number,
  ) {
    super(
      `out of memory: the wasm heap cannot hold a ${dtype} tensor of shape [${shape.join(', ')}] ` +
        `(${formatMB(bytes)} asked; ${capBytes === undefined ? `the heap spans ${formatMB(heapBytes)} of its ${formatMB(WASM_HEAP_LIMIT_BYTES)} limit` : `the heap was capped to ${formatMB(capRoom)} of free room (INHERITUNE_WASM_HEAP_MB)`}). ` +
        'Use fewer sequences per batch (train: --batch / micro-batches; rank: --windows-per-batch), fewer or shorter ' +
        'windows, or a smaller model. Nothing was computed with this tensor.',
    );
    this.name = 'WasmOutOfMemoryError';
  }
}

function formatMB(bytes: number): string {
  return bytes >= 1024 * MB ? `${(bytes / 1024 / MB).toFixed(2)} GB` : `${(bytes / MB).toFixed(1)} MB`;
}

let capBytes: number | undefined;
let capRoom = 0;
/** Bytes held by capWasmHeap's reservation (not counted as the heap's use in messages). */
let reservedBytes = 0;

/** The part of tfjs-backend-wasm's BackendWasm the guard touches. */
interface WasmBackendInternals {
  move(dataId: tf.DataId, values: unknown, shape: number[], dtype: tf.DataType, refCount: number): void;
  dataIdMap: { get(id: tf.DataId): { id: number; memoryOffset: number | null } | undefined; delete(id: tf.DataId): void };
  wasm: { _malloc(n: number): number; HEAPU8: Uint8Array; tfjs: { disposeData(id: number): void } };
}

const guarded = new WeakSet<object>();

/** True when [at, at + bytes) is a real block: not NULL and inside the heap. */
function fitsHeap(backend: WasmBackendInternals, at: number, bytes: number): boolean {
  return at !== 0 && at + bytes <= backend.wasm.HEAPU8.buffer.byteLength;
}

/** Bytes the wasm heap spans now (it only grows). */
export function wasmHeapBytes(): number | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  return (tf.backend() as unknown as WasmBackendInternals).wasm.HEAPU8.buffer.byteLength;
}

/**
 * Installs the allocation check on the running wasm backend (idempotent) and applies INHERITUNE_WASM_HEAP_MB.
 * Call after tf.setBackend('wasm').
 */
export function guardWasmAllocations(): void {
  if (tf.getBackend() !== 'wasm') throw new Error(`guardWasmAllocations: the running backend is '${tf.getBackend()}', not wasm`);
  const backend = tf.backend() as unknown as WasmBackendInternals;
  if (guarded.has(backend)) return;
  guarded.add(backend);
  const move = backend.move.bind(backend);
  backend.move = (dataId, values, shape, dtype, refCount) => {
    move(dataId, values, shape, dtype, refCount);
    if (dtype === 'string') return;
    const bytes = tf.util.sizeFromShape(shape) * tf.util.bytesPerElement(dtype);
    const entry = backend.dataIdMap.get(dataId);
    if (bytes > 0 && entry && !fitsHeap(backend, entry.memoryOffset ?? 0, bytes)) {
      // malloc returned NULL, or (growing past 4 GB wraps its 32-bit break) a block that ends beyond the heap:
      // forget the record tfjs made (the block is not usable, so it is not freed) and stop.
      backend.wasm.tfjs.disposeData(entry.id);
      backend.dataIdMap.delete(dataId);
      throw new WasmOutOfMemoryError(shape, dtype, bytes, backend.wasm.HEAPU8.buffer.byteLength - reservedBytes);
    }
  };
  const env = process.env.INHERITUNE_WASM_HEAP_MB;
  if (env !== undefined && env !== '') {
    const mb = Number(env);
    if (!(mb > 0)) throw new Error(`INHERITUNE_WASM_HEAP_MB must be a positive number of MB, got '${env}'`);
    capWasmHeap(mb * MB);
  }
}

/**
 * Leaves about `freeBytes` of room in the wasm heap, by reserving the rest with blocks that are never written (so
 * they cost address space, not RAM): one block up to near the 4 GB limit, then 1 MB and 64 KB blocks until malloc
 * fails (the free room inside the heap and above it), then frees `freeBytes` of those. For tests of the
 * out-of-memory path: after this the real malloc fails as it does at the limit. Cannot be undone in this process.
 */
export function capWasmHeap(freeBytes: number): void {
  const backend = tf.backend() as unknown as WasmBackendInternals;
  // 0 for a failed block (NULL, or one past the heap's end when the break wraps at 4 GB)
  const malloc = (n: number): number => {
    const at = backend.wasm._malloc(n) >>> 0;
    return fitsHeap(backend, at, n) ? at : 0;
  };
  const free = (backend.wasm as unknown as { _free(p: number): void })._free;
  const span = backend.wasm.HEAPU8.buffer.byteLength;
  const big = Math.floor((WASM_HEAP_LIMIT_BYTES - span - 64 * MB) / MB) * MB;
  if (big > 0 && malloc(big) !== 0) reservedBytes += big;
  // Free whole 1 MB blocks, newest first: they were taken one after another, so the room freed is contiguous.
  const blocks: Record<number, number[]> = { [MB]: [], [64 * 1024]: [] };
  for (const chunk of [MB, 64 * 1024]) {
    for (let at = malloc(chunk); at !== 0; at = malloc(chunk)) blocks[chunk].push(at);
  }
  let freed = 0;
  while (freed < freeBytes && blocks[MB].length > 0) {
    free(blocks[MB].pop() as number);
    freed += MB;
  }
  reservedBytes += blocks[MB].length * MB + blocks[64 * 1024].length * 64 * 1024;
  capBytes = backend.wasm.HEAPU8.buffer.byteLength - reservedBytes;
  capRoom = freed;
}
