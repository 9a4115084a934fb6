// Optional native kernels for the wasm backend: an N-API addon (native/, built by `npm run build:native` against
// Debian's OpenBLAS) replaces wasm's matMul, elementwise, reduction, softmax and transpose kernels. tfjs keeps
// managing memory: the kernels compute in place in the wasm heap. Without the addon everything runs on plain wasm,
// and nativeStatus() says why.
//
//   INHERITUNE_NATIVE=0      never load the addon (plain wasm kernels)
//   INHERITUNE_THREADS=<n>   threads for the native kernels and OpenBLAS (default: all cores)
//   INHERITUNE_NATIVE_PATH   another build of the addon (.node file)
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { kernelFactories } from './native-kernels';
import type { NativeAddon, Fallback, KernelArgs } from './native-types';
import { installNativeGrads } from './native-grads';
import { registerNativeOps } from './native-ops';
import { registerTrainOps } from './native-train-ops';
import { HOST_BACKEND, cpuFallback, registerHostKernel, restoreHostKernel } from './host-backend';

export type { NativeAddon } from './native-types';

export interface NativeStatus {
  /** True while the native kernels are registered on the wasm backend. */
  enabled: boolean;
  /** One line: what runs (BLAS, threads), or why the native kernels are off. */
  detail: string;
  /** Threads used by the native kernels (when enabled). */
  threads?: number;
  /** Kernel names replaced (when enabled). */
  kernels: string[];
}

let addon: NativeAddon | undefined;
let loadError: string | undefined;
let status: NativeStatus = { enabled: false, detail: 'not initialised (initBackend() picks it up on wasm)', kernels: [] };
const originals = new Map<string, tf.KernelConfig>();

/** The addon file: INHERITUNE_NATIVE_PATH, else native/build/Release/ in this checkout. */
export function nativeAddonPath(): string {
  if (process.env.INHERITUNE_NATIVE_PATH) return path.resolve(process.env.INHERITUNE_NATIVE_PATH);
  // lib/backend/ -> repository root. (tslab compiles lib/ in place, so __dirname is this folder there too.)
  const fromHere = path.resolve(__dirname, '..', '..', 'native', 'build', 'Release', 'inheritune_native.node');
  if (fs.existsSync(fromHere)) return fromHere;
  return path.resolve(process.cwd(), 'native', 'build', 'Release', 'inheritune_native.node');
}

/** Loads the addon once; returns it, or undefined with the reason in `loadAddon().reason`. */
export function loadAddon(): { addon?: NativeAddon; reason?: string } {
  if (addon) return { addon };
  if (loadError) return { reason: loadError };
  const file = nativeAddonPath();
  if (!fs.existsSync(file)) {
    loadError = 'not built: run `npm run build:native` (needs apt package libopenblas-openmp-dev)';
    return { reason: loadError };
  }
  try {
    // OpenMP threads (ours and OpenBLAS's) sleep while waiting instead of spinning: on a machine where other
    // processes run, spinning workers steal the main thread's core and a step got 10x slower (bench notes in
    // native/README.md). libgomp reads this once, when the addon loads it; a user's own setting wins.
    if (!process.env.OMP_WAIT_POLICY) process.env.OMP_WAIT_POLICY = 'passive';
    // A computed path keeps bundlers and tslab's compiler from resolving the .node file themselves.
    const req = require;
    addon = req(file) as NativeAddon;
    return { addon };
  } catch (e) {
    loadError = `built but cannot load: ${(e as Error).message.split('\n')[0]}`;
    return { reason: loadError };
  }
}

/** Thread count from INHERITUNE_THREADS, else every core. */
export function defaultThreads(): number {
  const env = process.env.INHERITUNE_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new Error(`INHERITUNE_THREADS must be a positive integer, got '${env}'`);
    return n;
  }
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

export interface EnableOptions {
  /** Threads for the native kernels and OpenBLAS; default defaultThreads(). */
  threads?: number;
  /** Only these kernels (tfjs names); default all. */
  kernels?: string[];
}

/**
 * Registers the native kernels on the wasm backend (replacing its own; they stay available as fallbacks).
 * Honours INHERITUNE_NATIVE=0. Idempotent; returns the status. Call after the wasm backend is initialised.
 */
export function enableNativeKernels(opts: EnableOptions = {}): NativeStatus {
  if (process.env.INHERITUNE_NATIVE === '0') {
    disableNativeKernels();
    status = { enabled: false, detail: 'disabled by INHERITUNE_NATIVE=0', kernels: [] };
    return status;
  }
  const { addon: a, reason } = loadAddon();
  if (!a) {
    status = { enabled: false, detail: reason ?? 'unknown reason', kernels: [] };
    return status;
  }
  const threads = opts.threads ?? defaultThreads();
  a.setThreads(threads);
  const factories = kernelFactories();
  const wanted = opts.kernels ?? Object.keys(factories);
  disableNativeKernels();
  const done: string[] = [];
  for (const name of wanted) {
    const make = factories[name];
    if (!make) throw new Error(`no native kernel '${name}'; available: ${Object.keys(factories).join(', ')}`);
    const orig = tf.getKernel(name, 'wasm');
    if (!orig) continue; // wasm lacks it: nothing to fall back to, leave it alone
    originals.set(name, orig);
    const fallback = orig.kernelFunc as unknown as Fallback;
    const kernelFunc = make(a, fallback) as unknown as tf.KernelFunc;
    tf.unregisterKernel(name, 'wasm');
    // setupFunc/disposeFunc stay the original's: the fallback needs its setup if the backend is re-created.
    tf.registerKernel({ ...orig, kernelFunc });
    done.push(name);
  }
  // Fused gradients (Softmax, Tanh) and broadcast-based Sum/Mean gradients, used while native kernels are on.
  installNativeGrads(a, () => status.enabled);
  registerNativeOps(a, () => status.enabled);
  registerTrainOps(a);
  if (tf.findBackendFactory(HOST_BACKEND)) enableOnHost(a, factories, wanted);
  const info = a.info();
  status = {
    enabled: true,
    detail: `on: OpenBLAS ${blasVersion(info.blasConfig)} (${info.blasThreading}), ${threads} thread${threads === 1 ? '' : 's'}, ${info.simd}`,
    threads,
    kernels: done,
  };
  return status;
}

/**
 * The same kernels on the host backend (lib/backend/host-backend: tensors in Node memory), each falling back to the
 * cpu kernel it replaces; the fused ops (Inherit*) are registered there as they are on wasm.
 */
function enableOnHost(a: NativeAddon, factories: Record<string, ReturnType<typeof kernelFactories>[string]>, wanted: string[]): void {
  for (const name of wanted) {
    const fallback = cpuFallback(name);
    if (!fallback) continue;
    registerHostKernel(name, factories[name](a, fallback as Fallback) as (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]);
    onHost.add(name);
  }
  for (const k of tf.getKernelsForBackend('wasm')) {
    if (k.kernelName.startsWith('Inheritune')) registerHostKernel(k.kernelName, k.kernelFunc as unknown as (args: KernelArgs) => tf.TensorInfo);
  }
}
const onHost = new Set<string>();

/** Puts wasm's own kernels back (and the cpu kernels on the host backend). */
export function disableNativeKernels(): void {
  for (const [name, orig] of originals) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(orig);
  }
  originals.clear();
  for (const name of onHost) restoreHostKernel(name);
  onHost.clear();
  if (status.enabled) status = { enabled: false, detail: 'disabled by disableNativeKernels()', kernels: [] };
}

/** Changes the thread count of running native kernels (benchmarks compare 1 and 2 threads). */
export function setNativeThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`thread count must be a positive integer, got ${n}`);
  const { addon: a } = loadAddon();
  if (!a) throw new Error(`native kernels unavailable: ${loadError}`);
  a.setThreads(n);
  if (status.enabled) status = { ...status, threads: n, detail: status.detail.replace(/\d+ threads?/, `${n} thread${n === 1 ? '' : 's'}`) };
}

export function nativeStatus(): NativeStatus {
  return status;
}

function blasVersion(config: string): string {
  const m = /OpenBLAS\s+([\d.]+)/.exec(config);
  return m ? m[1] : config.split(' ')[0] || 'unknown';
}

/**
 * Singular values (descending) of `count` row-major float64 rows x cols matrices packed in `a`, through LAPACK's
 * dgesdd in the addon, one matrix per thread. Returns count * min(rows, cols) values, or undefined where the addon is
 * unavailable or INHERITUNE_NATIVE=0 (callers then use their JavaScript SVD).
 */
export function nativeSingularValues(a: Float64Array, count: number, rows: number, cols: number): Float64Array | undefined {
  if (process.env.INHERITUNE_NATIVE === '0') return undefined;
  const { addon: m } = loadAddon();
  if (!m) return undefined;
  if (a.length !== count * rows * cols) {
    throw new Error(`nativeSingularValues: a has ${a.length} values, expected count*rows*cols = ${count}*${rows}*${cols}`);
  }
  if (!status.enabled) m.setThreads(defaultThreads());
  const s = new Float64Array(count * Math.min(rows, cols));
  m.singularValues(a, s, count, rows, cols);
  return s;
}

/** For tests: run one kernel through the original wasm implementation while native kernels are on. */
export function wasmKernel(name: string): ((args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]) | undefined {
  const k = originals.get(name) ?? tf.getKernel(name, 'wasm');
  return k ? (k.kernelFunc as unknown as (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]) : undefined;
}
