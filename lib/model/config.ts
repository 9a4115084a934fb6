// GPT-2 model configuration and named presets (paper Table 6, reference/paper.md §2 and §7.3).
//
// Two families:
//   gpt2, gpt2-medium, ...   the OpenAI / Hugging Face architecture: biases on, vocab 50257, plain attention scaling
//   paper-*                  the authors' nanoGPT/Sophia runs: no biases, vocab padded to 50304, attention logits
//                            additionally scaled by 1/(layer_idx+1) (reference/paper.md §1.1, §11.2)
//   tiny-*, lab-*            small models with the paper's options, for the `tiny` and `lab` scales
import { listProblems, quote, quoteName } from '../util/errors';

export interface GPTConfig {
  /** Number of transformer blocks. */
  nLayer: number;
  /** Attention heads per block; nEmbd must be divisible by it. */
  nHead: number;
  /** Residual stream width (C). */
  nEmbd: number;
  /** Maximum sequence length (rows of wpe). */
  blockSize: number;
  /** Rows of wte: 50257 (GPT-2) or 50304 (padded to a multiple of 64, nanoGPT). */
  vocabSize: number;
  /** Biases in Linear and LayerNorm layers (GPT-2: true; the paper's runs: false). */
  bias: boolean;
  /** Dropout probability on embeddings, attention and residual outputs (the paper: 0). */
  dropout: number;
  /** Multiply attention logits by 1/(layer_idx+1) as the authors' runs did (Sophia's GPT-2 option). */
  scaleAttnByInverseLayerIdx: boolean;
  /** LayerNorm epsilon (GPT-2: 1e-5). */
  layerNormEps: number;
  /** The MLP nonlinearity: 'gelu_new', GPT-2's tanh GELU (the default when absent, and the paper's), or 'gelu', the
   *  exact erf GELU of nn.GELU() that current nanoGPT uses. Absent in configs written before it existed. */
  activation?: Activation;
}

export const ACTIVATIONS = ['gelu_new', 'gelu'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/** The config's activation, 'gelu_new' when absent. */
export function activationOf(cfg: GPTConfig): Activation {
  return cfg.activation ?? 'gelu_new';
}

const GPT2_DEFAULTS = { blockSize: 1024, vocabSize: 50257, bias: true, dropout: 0, scaleAttnByInverseLayerIdx: false, layerNormEps: 1e-5 };
const PAPER_DEFAULTS = { blockSize: 1024, vocabSize: 50304, bias: false, dropout: 0, scaleAttnByInverseLayerIdx: true, layerNormEps: 1e-5 };

function dims(nLayer: number, nHead: number, nEmbd: number) {
  return { nLayer, nHead, nEmbd };
}

/** Named model shapes. Parameter counts of the paper variants are in reference/paper.md §2. */
export const PRESETS = {
  // OpenAI GPT-2 as released (loads real checkpoints from the Hugging Face Hub, downloaded by the user).
  gpt2: { ...GPT2_DEFAULTS, ...dims(12, 12, 768) },
  'gpt2-medium': { ...GPT2_DEFAULTS, ...dims(24, 16, 1024) },
  'gpt2-large': { ...GPT2_DEFAULTS, ...dims(36, 20, 1280) },
  'gpt2-xl': { ...GPT2_DEFAULTS, ...dims(48, 25, 1600) },
  // The paper's models (Table 6) and their reduced variants.
  'paper-small-12L': { ...PAPER_DEFAULTS, ...dims(12, 12, 768) },
  'paper-small-4L': { ...PAPER_DEFAULTS, ...dims(4, 12, 768) },
  'paper-medium-24L': { ...PAPER_DEFAULTS, ...dims(24, 16, 1024) },
  'paper-medium-16L': { ...PAPER_DEFAULTS, ...dims(16, 16, 1024) },
  'paper-medium-14L': { ...PAPER_DEFAULTS, ...dims(14, 16, 1024) },
  'paper-medium-12L': { ...PAPER_DEFAULTS, ...dims(12, 16, 1024) },
  'paper-large-36L': { ...PAPER_DEFAULTS, ...dims(36, 20, 1280) },
  'paper-large-18L': { ...PAPER_DEFAULTS, ...dims(18, 20, 1280) },
  'paper-large-dagger-32L': { ...PAPER_DEFAULTS, ...dims(32, 20, 1280) },
  'paper-large-dagger-16L': { ...PAPER_DEFAULTS, ...dims(16, 20, 1280) },
  'paper-xl-48L': { ...PAPER_DEFAULTS, ...dims(48, 25, 1600) },
  'paper-xl-24L': { ...PAPER_DEFAULTS, ...dims(24, 25, 1600) },
  // Scaled-down references with the paper's options; the target of an Inheritune run has half the layers.
  'tiny-8L': { ...PAPER_DEFAULTS, blockSize: 64, ...dims(8, 2, 32) },
  'tiny-4L': { ...PAPER_DEFAULTS, blockSize: 64, ...dims(4, 2, 32) },
  'lab-12L': { ...PAPER_DEFAULTS, blockSize: 128, ...dims(12, 4, 128) },
  'lab-6L': { ...PAPER_DEFAULTS, blockSize: 128, ...dims(6, 4, 128) },
} satisfies Record<string, GPTConfig>;

export type PresetName = keyof typeof PRESETS;

export function isPresetName(name: string): name is PresetName {
  return Object.prototype.hasOwnProperty.call(PRESETS, name);
}

/**
 * A validated, frozen config from a preset name and/or overrides:
 *   makeConfig('paper-medium-24L'), makeConfig('tiny-4L', { nLayer: 2 }), makeConfig({ ...full config })
 */
export function makeConfig(base: PresetName | string | GPTConfig, overrides: Partial<GPTConfig> = {}): Readonly<GPTConfig> {
  let start: GPTConfig;
  if (typeof base === 'string') {
    if (!isPresetName(base)) {
      throw new Error(`unknown model preset '${base}'; choose one of: ${Object.keys(PRESETS).join(', ')}`);
    }
    start = PRESETS[base];
  } else {
    start = base;
  }
  const cfg: GPTConfig = { ...start, ...overrides };
  // One form per function: the default activation is absent, so configs written before the field compare equal.
  if (cfg.activation === 'gelu_new') delete cfg.activation;
  validateConfig(cfg);
  return Object.freeze(cfg);
}

/**
 * Upper bounds checked before anything is allocated: a hostile config.json ("n_layer": 10000000) must be refused
 * with a message, not run the process out of memory. Far above every real GPT-2 (XL: 48 layers, 25 heads, width
 * 1600, context 1024, vocab 50257; the largest open models have ~1e11 parameters) and the lab's 4 GB wasm heap.
 */
export const CONFIG_LIMITS = {
  nLayer: 1024,
  nHead: 1024,
  nEmbd: 65536,
  blockSize: 1 << 20,
  vocabSize: 1 << 22,
  /** Parameters (countParams). */
  params: 2e11,
} as const;

/** Throws an Error listing every problem with a config (types, ranges and the CONFIG_LIMITS bounds). */
export function validateConfig(cfg: GPTConfig): void {
  const problems: string[] = [];
  if (typeof cfg !== 'object' || cfg === null) throw new Error(`invalid GPT config: expected an object, got ${quote(cfg)}`);
  const posInt = (k: 'nLayer' | 'nHead' | 'nEmbd' | 'blockSize' | 'vocabSize') => {
    const v = cfg[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) problems.push(`${k} must be a positive integer, got ${quote(v)}`);
    else if (v > CONFIG_LIMITS[k]) problems.push(`${k} is ${v}, above the limit of ${CONFIG_LIMITS[k]}`);
  };
  (['nLayer', 'nHead', 'nEmbd', 'blockSize', 'vocabSize'] as const).forEach(posInt);
  if (Number.isInteger(cfg.nEmbd) && Number.isInteger(cfg.nHead) && cfg.nHead > 0 && cfg.nEmbd % cfg.nHead !== 0) {
    problems.push(`nEmbd (${cfg.nEmbd}) must be divisible by nHead (${cfg.nHead})`);
  }
  if (typeof cfg.bias !== 'boolean') problems.push(`bias must be true or false, got ${quote(cfg.bias)}`);
  if (typeof cfg.scaleAttnByInverseLayerIdx !== 'boolean') {
    problems.push(`scaleAttnByInverseLayerIdx must be true or false, got ${quote(cfg.scaleAttnByInverseLayerIdx)}`);
  }
  if (typeof cfg.dropout !== 'number' || !(cfg.dropout >= 0 && cfg.dropout < 1)) problems.push(`dropout must be in [0, 1), got ${quote(cfg.dropout)}`);
  if (typeof cfg.layerNormEps !== 'number' || !(cfg.layerNormEps > 0 && cfg.layerNormEps < 1)) {
    problems.push(`layerNormEps must be in (0, 1), got ${quote(cfg.layerNormEps)}`);
  }
  if (cfg.activation !== undefined && !(ACTIVATIONS as readonly string[]).includes(cfg.activation)) {
    problems.push(`activation must be one of ${ACTIVATIONS.join(', ')}, got ${quote(cfg.activation)}`);
  }
  const known = new Set(Object.keys(GPT2_DEFAULTS).concat(['nLayer', 'nHead', 'nEmbd', 'activation']));
  for (const k of Object.keys(cfg)) if (!known.has(k)) problems.push(`unknown config field ${quoteName(k, 40)}`);
  if (!problems.length) {
    const n = countParams(cfg);
    if (n > CONFIG_LIMITS.params) problems.push(`the model would have ${n.toExponential(2)} parameters, above the limit of ${CONFIG_LIMITS.params.toExponential(0)}`);
  }
  if (problems.length) throw new Error(`invalid GPT config: ${listProblems(problems)}`);
}

/** Head size hs = C / nh. */
export function headSize(cfg: GPTConfig): number {
  return cfg.nEmbd / cfg.nHead;
}

/** Parameter count, counting the tied wte/lm_head once (as the paper and nanoGPT do, including wpe). */
export function countParams(cfg: GPTConfig): number {
  const C = cfg.nEmbd;
  const b = cfg.bias ? 1 : 0;
  const ln = C + b * C;
  const block = 2 * ln + (C * 3 * C + b * 3 * C) + (C * C + b * C) + (C * 4 * C + b * 4 * C) + (4 * C * C + b * C);
  return cfg.vocabSize * C + cfg.blockSize * C + cfg.nLayer * block + ln;
}
