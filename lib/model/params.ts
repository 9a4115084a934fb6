// GPT-2 parameters as a flat record of tf.Variables, keyed by the Hugging Face GPT2LMHeadModel state-dict names.
//
// Layouts follow HF's Conv1D: Linear weights are [in, out], so y = x @ W + b with no transpose (the fast 2-D matMul
// on wasm, reference/stack.md §1). The LM head is tied to transformer.wte.weight and has no key of its own.
// With cfg.bias = false there are no *.bias keys at all, LayerNorm included (the paper's runs, reference/paper.md §7.3).
// Init is nanoGPT's: N(0, 0.02) for weights and embeddings, zeros for biases, ones for LayerNorm weights, and
// N(0, 0.02/sqrt(2*nLayer)) for every *.c_proj.weight (residual projections).
import * as tf from '@tensorflow/tfjs';
import { GPTConfig, validateConfig } from './config';
import { Rng, hashString } from '../util/rng';

/** Parameters by HF state-dict name. The caller owns the variables (disposeParams). */
export type Params = Record<string, tf.Variable>;

export type ParamInit = { kind: 'normal'; std: number } | { kind: 'zeros' } | { kind: 'ones' };

export interface ParamSpec {
  /** HF state-dict name, e.g. `transformer.h.3.attn.c_attn.weight`. */
  name: string;
  shape: number[];
  init: ParamInit;
  /** What the tensor is; the optimiser decides weight decay from it (paper.md §7.3: only Linear weights decay). */
  role: 'embedding' | 'linear.weight' | 'linear.bias' | 'layernorm.weight' | 'layernorm.bias';
}

/** Std of the normal init, nanoGPT's constant. */
export const INIT_STD = 0.02;

/** Name of a block parameter: blockParamName(3, 'attn.c_attn.weight') -> 'transformer.h.3.attn.c_attn.weight'. */
export function blockParamName(layer: number, suffix: string): string {
  return `transformer.h.${layer}.${suffix}`;
}

/** Every parameter of a config, in HF state-dict order (wte, wpe, h.0 ... h.{L-1}, ln_f). */
export function paramSpecs(cfg: GPTConfig): ParamSpec[] {
  validateConfig(cfg);
  const C = cfg.nEmbd;
  const projStd = INIT_STD / Math.sqrt(2 * cfg.nLayer);
  const specs: ParamSpec[] = [];
  const normal = (std: number): ParamInit => ({ kind: 'normal', std });
  const layerNorm = (prefix: string) => {
    specs.push({ name: `${prefix}.weight`, shape: [C], init: { kind: 'ones' }, role: 'layernorm.weight' });
    if (cfg.bias) specs.push({ name: `${prefix}.bias`, shape: [C], init: { kind: 'zeros' }, role: 'layernorm.bias' });
  };
  const linear = (prefix: string, nIn: number, nOut: number, std: number) => {
    specs.push({ name: `${prefix}.weight`, shape: [nIn, nOut], init: normal(std), role: 'linear.weight' });
    if (cfg.bias) specs.push({ name: `${prefix}.bias`, shape: [nOut], init: { kind: 'zeros' }, role: 'linear.bias' });
  };
  specs.push({ name: 'transformer.wte.weight', shape: [cfg.vocabSize, C], init: normal(INIT_STD), role: 'embedding' });
  specs.push({ name: 'transformer.wpe.weight', shape: [cfg.blockSize, C], init: normal(INIT_STD), role: 'embedding' });
  for (let l = 0; l < cfg.nLayer; l++) {
    const p = `transformer.h.${l}`;
    layerNorm(`${p}.ln_1`);
    linear(`${p}.attn.c_attn`, C, 3 * C, INIT_STD);
    linear(`${p}.attn.c_proj`, C, C, projStd);
    layerNorm(`${p}.ln_2`);
    linear(`${p}.mlp.c_fc`, C, 4 * C, INIT_STD);
    linear(`${p}.mlp.c_proj`, 4 * C, C, projStd);
  }
  layerNorm('transformer.ln_f');
  return specs;
}

export interface InitOptions {
  /** Base seed; each parameter draws from its own stream seeded by (seed, name), so adding layers keeps the others. */
  seed: number;
  /** Whether the variables are trainable (default true). */
  trainable?: boolean;
}

/** The per-parameter seed: stable across runs, machines and backends. */
export function paramSeed(seed: number, name: string): number {
  if (!Number.isFinite(seed)) throw new Error(`init seed must be a finite number, got ${seed}`);
  return hashString(`${Math.floor(seed)}:${name}`);
}

/** The initial values of one parameter, generated in JS (bit-identical on every backend). */
export function initValues(spec: ParamSpec, seed: number): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (spec.init.kind === 'ones') out.fill(1);
  else if (spec.init.kind === 'normal') {
    const rng = new Rng(paramSeed(seed, spec.name));
    const std = spec.init.std;
    for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  }
  return out;
}

/** Fresh parameters with nanoGPT's init, reproducible from opts.seed. The caller owns them (disposeParams). */
export function initParams(cfg: GPTConfig, opts: InitOptions): Params {
  if (!opts || typeof opts.seed !== 'number') throw new Error('initParams needs { seed: number }');
  const trainable = opts.trainable ?? true;
  const params: Params = {};
  try {
    for (const spec of paramSpecs(cfg)) {
      const t = tf.tensor(initValues(spec, opts.seed), spec.shape, 'float32');
      params[spec.name] = tf.variable(t, trainable);
      t.dispose(); // the variable holds its own reference to the data
    }
  } catch (e) {
    disposeParams(params);
    throw e;
  }
  return params;
}

/** Disposes every variable of a Params record. */
export function disposeParams(params: Params): void {
  for (const v of Object.values(params)) v.dispose();
}

/**
 * Checks that params match cfg exactly: every expected key present with the right shape and float32 dtype, no extra
 * keys. Throws one Error listing every problem.
 */
export function checkParams(params: Record<string, tf.Tensor>, cfg: GPTConfig): void {
  const specs = paramSpecs(cfg);
  const expected = new Map(specs.map((s) => [s.name, s.shape]));
  const missing: string[] = [];
  const misshaped: string[] = [];
  for (const [name, shape] of expected) {
    const t = params[name];
    if (!t) missing.push(name);
    else if (t.isDisposed) misshaped.push(`${name} is disposed`);
    else if (!sameShape(t.shape, shape)) misshaped.push(`${name} has shape [${t.shape}], expected [${shape}]`);
    else if (t.dtype !== 'float32') misshaped.push(`${name} has dtype ${t.dtype}, expected float32`);
  }
  const extra = Object.keys(params).filter((k) => !expected.has(k));
  if (!missing.length && !misshaped.length && !extra.length) return;
  const parts: string[] = [];
  if (missing.length) parts.push(`missing ${missing.length}: ${missing.join(', ')}`);
  if (extra.length) {
    const hint = !cfg.bias && extra.some((k) => k.endsWith('.bias')) ? ' (config has bias=false)' : '';
    parts.push(`unexpected ${extra.length}: ${extra.join(', ')}${hint}`);
  }
  if (misshaped.length) parts.push(`wrong ${misshaped.length}: ${misshaped.join('; ')}`);
  const shape = `nLayer=${cfg.nLayer}, nHead=${cfg.nHead}, nEmbd=${cfg.nEmbd}, blockSize=${cfg.blockSize}, vocabSize=${cfg.vocabSize}, bias=${cfg.bias}`;
  throw new Error(`parameters do not match the config (${shape}): ${parts.join('; ')}`);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Number of scalars in a Params record (the tied head counted once, as countParams does). */
export function numParams(params: Record<string, tf.Tensor>): number {
  return Object.values(params).reduce((n, t) => n + t.size, 0);
}
