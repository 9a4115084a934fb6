// Backend selection: one call picks the fastest TensorFlow.js backend that actually loads on this machine,
// says which one runs and why, and patches the kernels our training code needs that the backend lacks.
//
// Order of preference (see shared DESIGN.md and reference/stack.md):
//   node-gpu  @tensorflow/tfjs-node-gpu (CUDA; installed as an optional dependency where it can download)
//   node      @tensorflow/tfjs-node     (libtensorflow on CPU; a user opt-in)
//   wasm      @tensorflow/tfjs-backend-wasm (XNNPACK + SIMD, single thread; always installed, works offline)
//   cpu       the pure-JS reference backend (about 35x slower than wasm; for debugging only)
// and, only when asked for:
//   host      tensors in Node memory (bounded by RAM, not by the 4 GB wasm heap), native kernels over them and
//             tfjs-backend-cpu's for the rest (lib/backend/host-backend): for gpt2-large/xl-sized models
// Force one with INHERITUNE_BACKEND=<name> or initBackend({ backend: '<name>' }).
import * as tf from '@tensorflow/tfjs';
import { registerMissingKernels } from './backend/kernels';
import { enableNativeKernels, nativeStatus, NativeStatus } from './backend/native';
import { guardWasmAllocations } from './backend/wasm-memory';
import { HOST_BACKEND, registerHostBackend } from './backend/host-backend';

export const BACKEND_NAMES = ['node-gpu', 'node', 'wasm', 'cpu', 'host'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  /** Why it was skipped or failed, in one line. */
  reason?: string;
}

export interface BackendReport {
  /** Our name for the backend that runs. */
  name: BackendName;
  /** The name tfjs knows it by (`tensorflow`, `wasm`, `cpu`). */
  tfjsName: string;
  /** Why this backend was chosen. */
  why: string;
  /** Every backend tried, in order, with the reason each was skipped. */
  attempts: BackendAttempt[];
  /** True where only plain 2-D non-transposed matMul is fast (wasm, cpu): the model then uses its 2-D path. */
  prefersPlain2DMatMul: boolean;
  tfjsVersion: string;
  /** Native kernels (OpenBLAS addon) on the wasm backend: on, or why not (lib/backend/native). */
  native: NativeStatus;
}

let current: BackendReport | undefined;

/** The report of the backend chosen by the last initBackend() call, if any. */
export function backendReport(): BackendReport | undefined {
  return current;
}

interface Candidate {
  name: BackendName;
  tfjsName: string;
  /** Loads the package (registers its backend) or throws with a human-readable reason. */
  load: () => void;
  /** Picked only when forced (not in the automatic order). */
  onlyForced?: boolean;
}

function requireNodeBinding(pkg: string): void {
  // A second copy of tfjs-core under the binding would register its kernels into an engine we never use.
  const ours = require.resolve('@tensorflow/tfjs-core');
  let bindingDir: string;
  try {
    bindingDir = require.resolve(`${pkg}/package.json`).replace(/package\.json$/, '');
  } catch {
    throw new Error(`${pkg} is not installed`);
  }
  const theirs = require.resolve('@tensorflow/tfjs-core', { paths: [bindingDir] });
  if (theirs !== ours) throw new Error(`${pkg} brings its own @tensorflow/tfjs-core (${theirs}); versions differ`);
  try {
    require(pkg);
  } catch (e) {
    // Typical: libtensorflow missing (offline install) or libcudart.so not found (no CUDA).
    const msg = (e as Error).message.split('\n')[0];
    throw new Error(`${pkg} is installed but cannot load: ${msg}`);
  }
}

const CANDIDATES: Candidate[] = [
  { name: 'node-gpu', tfjsName: 'tensorflow', load: () => requireNodeBinding('@tensorflow/tfjs-node-gpu') },
  { name: 'node', tfjsName: 'tensorflow', load: () => requireNodeBinding('@tensorflow/tfjs-node') },
  { name: 'wasm', tfjsName: 'wasm', load: () => void require('@tensorflow/tfjs-backend-wasm') },
  { name: 'cpu', tfjsName: 'cpu', load: () => undefined },
  {
    name: 'host',
    tfjsName: HOST_BACKEND,
    // the wasm package too: the native kernels are registered from its kernel list
    load: () => {
      require('@tensorflow/tfjs-backend-wasm');
      registerHostBackend();
    },
    onlyForced: true,
  },
];

/** Backends whose kernels the native addon replaces. */
const NATIVE_CAPABLE = new Set(['wasm', HOST_BACKEND]);

/** Parses a backend name given by a user; throws naming the valid choices. */
export function parseBackendName(value: string): BackendName {
  const v = value.trim().toLowerCase();
  if ((BACKEND_NAMES as readonly string[]).includes(v)) return v as BackendName;
  throw new Error(`unknown backend '${value}'; choose one of: ${BACKEND_NAMES.join(', ')}`);
}

export interface InitBackendOptions {
  /** Force this backend; default: env INHERITUNE_BACKEND, else the best available. */
  backend?: BackendName | string;
  /** Print the one-line report. Default false. */
  log?: boolean;
}

/**
 * Picks and initialises a backend. With a forced backend that cannot load, throws an Error whose message names
 * the reason and the backends that do load here.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendReport> {
  const forcedRaw = options.backend ?? process.env.INHERITUNE_BACKEND;
  const forced = forcedRaw ? parseBackendName(forcedRaw) : undefined;
  if (current && (!forced || forced === current.name)) {
    if (current.tfjsName === 'wasm' && tf.getBackend() === 'wasm') guardWasmAllocations(); // a re-created backend
    return current;
  }

  const attempts: BackendAttempt[] = [];
  const order = forced ? CANDIDATES.filter((c) => c.name === forced) : CANDIDATES.filter((c) => !c.onlyForced);
  for (const cand of order) {
    const reason = await tryCandidate(cand);
    attempts.push(reason === undefined ? { name: cand.name, ok: true } : { name: cand.name, ok: false, reason });
    if (reason !== undefined) continue;
    registerMissingKernels(cand.tfjsName);
    // A failed allocation in the 4 GB wasm heap must stop the run, not alias the heap's first bytes.
    if (cand.tfjsName === 'wasm') guardWasmAllocations();
    const native = NATIVE_CAPABLE.has(cand.tfjsName) ? enableNativeKernels() : { enabled: false, detail: `not used on ${cand.name}`, kernels: [] };
    silenceNodeBanner();
    const skipped = attempts.filter((a) => !a.ok).map((a) => `${a.name}: ${a.reason}`);
    current = {
      name: cand.name,
      tfjsName: cand.tfjsName,
      why: forced
        ? `forced by ${options.backend ? 'argument' : 'INHERITUNE_BACKEND'}`
        : skipped.length === 0 ? 'best available' : `best available (skipped ${skipped.join('; ')})`,
      attempts,
      prefersPlain2DMatMul: cand.tfjsName === 'wasm' || cand.tfjsName === 'cpu' || cand.tfjsName === HOST_BACKEND,
      tfjsVersion: tf.version.tfjs,
      native,
    };
    if (options.log) console.log(formatBackendReport(current));
    return current;
  }
  const failure = attempts[0]?.reason ?? 'unknown reason';
  const available = await availableBackends();
  throw new Error(
    `backend '${forced}' is not available: ${failure}. Available here: ${available.join(', ') || 'none'}` +
      (forcedRaw === process.env.INHERITUNE_BACKEND ? ' (unset INHERITUNE_BACKEND to pick automatically)' : ''),
  );
}

async function tryCandidate(cand: Candidate): Promise<string | undefined> {
  try {
    cand.load();
    if (!tf.findBackendFactory(cand.tfjsName)) return `no '${cand.tfjsName}' backend registered after loading`;
    const ok = await tf.setBackend(cand.tfjsName);
    if (!ok) return `tf.setBackend('${cand.tfjsName}') failed to initialise`;
    await tf.ready();
    return undefined;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}

/** Names of the backends whose packages load on this machine (without switching to them). */
export async function availableBackends(): Promise<BackendName[]> {
  const out: BackendName[] = [];
  for (const cand of CANDIDATES) {
    try {
      cand.load();
      if (tf.findBackendFactory(cand.tfjsName)) out.push(cand.name);
    } catch {
      // not available: skip
    }
  }
  return out;
}

/** One line: which backend runs, why, and the tfjs version. */
export function formatBackendReport(r: BackendReport): string {
  const host = r.tfjsName === HOST_BACKEND ? ' (tensors in Node memory; tfjs-backend-cpu kernels where no native one exists)' : '';
  const native = NATIVE_CAPABLE.has(r.tfjsName) ? ` (native kernels: ${nativeStatus().detail})` : '';
  return `backend: ${r.name}${host}${native} (tfjs '${r.tfjsName}' ${r.tfjsVersion}); ${r.why}`;
}

// The cpu backend prints a "looks like you are running TensorFlow.js in Node.js" banner into the first notebook cell
// that runs an op; it advises tfjs-node, which initBackend() already prefers when it can load.
function silenceNodeBanner(): void {
  const b = tf.backend() as unknown as { firstUse?: boolean };
  if (b && 'firstUse' in b) b.firstUse = false;
}
