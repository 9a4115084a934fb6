// Checkpoints on disk <-> (GPTConfig, tensors in our naming) <-> Params.
//
// Formats read:
//   - a Hugging Face GPT-2 folder: config.json + model.safetensors (ours, transformers' save_pretrained, or Hub files
//     whose keys lack the "transformer." prefix); F16/BF16/F64 weights become float32;
//   - a nanoGPT state dict exported as safetensors (Linear weights [out, in], lm_head.weight saved). nanoGPT's
//     ckpt.pt is a pickle we cannot read; export it once with PyTorch and the `safetensors` package:
//         ck = torch.load('out/ckpt.pt', map_location='cpu')
//         save_file({k: v.clone().contiguous() for k, v in ck['model'].items()}, 'ckpt.safetensors', metadata={'model_args': json.dumps(ck['model_args'])})
//     (after `import json, torch; from safetensors.torch import save_file`; clone() unshares the tied wte/lm_head).
// Formats written: an HF folder that transformers' GPT2LMHeadModel.from_pretrained loads and that computes the same
// function (writeHFFolder), and a nanoGPT state dict (writeNanoGPTSafetensors; in nanoGPT:
// `model.load_state_dict(safetensors.torch.load_file(path))`, with strict=False if the model keeps the attn.bias mask).
//
// HF GPT-2 always has biases. A bias-free model (the paper's runs) is written for transformers with zero Linear and
// LayerNorm biases, which compute the same function, and "inheritune_bias": false in config.json and the metadata;
// the loader drops those biases again if they are still all zero.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { GPTConfig, activationOf, makeConfig } from './config';
import { Params, paramSpecs } from './params';
import { HeaderEntry, Metadata, TensorEntry, TensorMap, readSafetensors, readSafetensorsHeader } from './safetensors';
import { writeSafetensors } from './safetensors-write';
import { widenHalf } from './half';
import { writeFileAtomic } from '../util/fs';
import { listProblems, quote, quoteName, oneLine } from '../util/errors';
import { assertFiniteTensors } from './finite';
import { verifyRecordedChecksums } from './checksums';
import { LAYOUT_KEY, LINEAR_WEIGHT, Layout, MASK_BUFFER, canonicalName, detectLayout, fromNanoGPTLayout, sameTensor, toNanoGPTLayout } from './nanogpt-names';

export const HF_CONFIG_FILE = 'config.json';
export const HF_WEIGHTS_FILE = 'model.safetensors';
const GPT2_EOS = 50256;

export interface Checkpoint {
  config: Readonly<GPTConfig>;
  /** Our names and layout, float32 (F16/BF16 bit patterns with LoadOptions.half 'keep'); no lm_head, no mask buffers, no *.bias keys when config.bias is false. */
  tensors: TensorMap;
  /** Layout of the file read. */
  layout: Layout;
  metadata: Metadata;
  /** Conversions applied and caveats, one line each. */
  notes: string[];
}

export interface LoadOptions {
  /** Config fields that override config.json / nanoGPT model_args / what the shapes say (nHead cannot be inferred). */
  config?: Partial<GPTConfig>;
  /** Load only the tensors whose (our) names pass, e.g. for rank analysis of some layers. Shapes are still checked. */
  select?: (name: string) => boolean;
  /** Load weights with NaN / Inf values instead of refusing them (to study a broken checkpoint). Default false. */
  allowNonFinite?: boolean;
  /** F16/BF16 weights: widened to float32 on load (default), or 'keep' their 16-bit patterns in the checkpoint (half
   * the host memory); tensorsToParams then widens them one tensor at a time. */
  half?: 'float32' | 'keep';
}

// ---------------------------------------------------------------------------------------------------------------
// config.json

/** HF GPT2Config fields for a config (plus inheritune_bias: false for bias-free models). */
export function toHFConfigJSON(cfg: GPTConfig): Record<string, unknown> {
  const json: Record<string, unknown> = {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    activation_function: activationOf(cfg),
    attn_pdrop: cfg.dropout,
    embd_pdrop: cfg.dropout,
    resid_pdrop: cfg.dropout,
    bos_token_id: GPT2_EOS,
    eos_token_id: GPT2_EOS,
    initializer_range: 0.02,
    layer_norm_epsilon: cfg.layerNormEps,
    n_ctx: cfg.blockSize,
    n_embd: cfg.nEmbd,
    n_head: cfg.nHead,
    n_inner: null,
    n_layer: cfg.nLayer,
    n_positions: cfg.blockSize,
    reorder_and_upcast_attn: false,
    scale_attn_by_inverse_layer_idx: cfg.scaleAttnByInverseLayerIdx,
    scale_attn_weights: true,
    tie_word_embeddings: true,
    torch_dtype: 'float32',
    use_cache: true,
    vocab_size: cfg.vocabSize,
  };
  if (!cfg.bias) json.inheritune_bias = false;
  return json;
}

interface ParsedHFConfig {
  config: Partial<GPTConfig>;
  /** The inheritune_bias flag, if the file has one. */
  declaredBias?: boolean;
}

/** Our config fields from an HF GPT2Config object; throws one Error listing every unsupported or missing field. */
export function fromHFConfigJSON(json: Record<string, unknown>, label: string, notes: string[] = []): ParsedHFConfig {
  const problems: string[] = [];
  const num = (key: string, fallback?: number): number | undefined => {
    const v = json[key];
    if (v === undefined || v === null) {
      if (fallback === undefined) problems.push(`${key} is missing`);
      return fallback;
    }
    if (typeof v !== 'number') problems.push(`${key} must be a number, got ${quote(v)}`);
    return v as number;
  };
  if (json.model_type !== undefined && json.model_type !== 'gpt2') problems.push(`model_type is ${typeof json.model_type === 'string' ? quoteName(json.model_type, 40) : quote(json.model_type)}, expected 'gpt2'`);
  // A string "true" must not silently read as false: every flag we read is a JSON boolean or absent.
  for (const k of BOOLEAN_FIELDS) {
    if (json[k] !== undefined && json[k] !== null && typeof json[k] !== 'boolean') problems.push(`${k} must be true or false, got ${quote(json[k])}`);
  }
  if (json.tie_word_embeddings === false) problems.push('tie_word_embeddings is false: untied LM heads are not supported');
  if (json.scale_attn_weights === false) problems.push('scale_attn_weights is false: attention without 1/sqrt(head size) is not supported');
  if (json.add_cross_attention === true) problems.push('add_cross_attention is true: cross-attention is not supported');
  const nEmbd = num('n_embd');
  if (json.n_inner !== undefined && json.n_inner !== null && nEmbd !== undefined && json.n_inner !== 4 * nEmbd) {
    problems.push(`n_inner is ${quote(json.n_inner)}, only 4 * n_embd (${4 * nEmbd}) is supported`);
  }
  const nPos = json.n_positions ?? json.n_ctx;
  if (typeof nPos !== 'number') problems.push('n_positions (or n_ctx) is missing');
  // transformers' names: gelu_new and gelu_pytorch_tanh are the tanh GELU, gelu the exact erf one (nn.GELU()).
  const act = json.activation_function ?? 'gelu_new';
  const activation = act === 'gelu' ? 'gelu' : act === 'gelu_new' || act === 'gelu_pytorch_tanh' ? 'gelu_new' : undefined;
  if (!activation) problems.push(`activation_function ${quote(act)} is not supported (gelu_new, gelu_pytorch_tanh or gelu)`);
  const config: Partial<GPTConfig> = {
    nLayer: num('n_layer'),
    nHead: num('n_head'),
    nEmbd,
    blockSize: nPos as number,
    vocabSize: num('vocab_size'),
    layerNormEps: num('layer_norm_epsilon', 1e-5),
    dropout: num('resid_pdrop', 0),
    scaleAttnByInverseLayerIdx: json.scale_attn_by_inverse_layer_idx === true,
    // Recorded only when it is not the default, so configs of tanh-GELU models stay as they were.
    ...(activation === 'gelu' ? { activation } : {}),
  };
  if (problems.length) throw new Error(`${label}: unsupported GPT-2 config: ${listProblems(problems)}`);
  if (num('embd_pdrop', config.dropout) !== config.dropout || num('attn_pdrop', config.dropout) !== config.dropout) {
    notes.push(`config has different dropouts (resid/embd/attn); using resid_pdrop=${config.dropout} for all`);
  }
  const flag = json.inheritune_bias;
  return { config, declaredBias: typeof flag === 'boolean' ? flag : undefined };
}

const BOOLEAN_FIELDS = ['scale_attn_by_inverse_layer_idx', 'tie_word_embeddings', 'scale_attn_weights', 'add_cross_attention', 'inheritune_bias', 'reorder_and_upcast_attn'];

/** Our config fields from nanoGPT's model_args (as our exporter and the export recipe above store them). */
function fromNanoGPTModelArgs(args: unknown, label: string): Partial<GPTConfig> {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new Error(`${label}: metadata model_args must be a JSON object, got ${quote(args)}`);
  const out: Partial<GPTConfig> = {};
  const map: [string, keyof GPTConfig][] = [
    ['n_layer', 'nLayer'], ['n_head', 'nHead'], ['n_embd', 'nEmbd'], ['block_size', 'blockSize'], ['vocab_size', 'vocabSize'],
    ['bias', 'bias'], ['dropout', 'dropout'], ['scale_attn_by_inverse_layer_idx', 'scaleAttnByInverseLayerIdx'],
    ['activation', 'activation'],
  ];
  for (const [k, ours] of map) if ((args as Record<string, unknown>)[k] !== undefined) (out as Record<string, unknown>)[ours] = (args as Record<string, unknown>)[k];
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Checks

/** Expected [name, shape] of every parameter of a config (our naming). */
export function expectedShapes(cfg: GPTConfig): Map<string, number[]> {
  return new Map(paramSpecs(cfg).map((s) => [s.name, s.shape]));
}

/**
 * Checks that shapes/dtypes match a config exactly (every parameter present, nothing extra, float dtypes); throws
 * one Error listing every problem.
 */
export function checkShapes(cfg: GPTConfig, tensors: Record<string, { shape: number[]; dtype: string }>, label: string): void {
  const expected = expectedShapes(cfg);
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const t = tensors[name];
    if (!t) problems.push(`missing '${name}'`);
    else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      problems.push(`'${name}' has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
  }
  for (const [name, t] of Object.entries(tensors)) {
    if (!expected.has(name)) problems.push(`unexpected ${quoteName(name)}${!cfg.bias && name.endsWith('.bias') ? ' (config has bias=false)' : ''}`);
    else if (!['F32', 'F64', 'F16', 'BF16'].includes(t.dtype)) problems.push(`'${name}' has dtype ${t.dtype}, expected a float type`);
  }
  if (problems.length) {
    const c = `nLayer=${cfg.nLayer}, nHead=${cfg.nHead}, nEmbd=${cfg.nEmbd}, blockSize=${cfg.blockSize}, vocabSize=${cfg.vocabSize}, bias=${cfg.bias}`;
    throw new Error(`${label}: weights do not match the config (${c}): ${listProblems(problems, 30)}`);
  }
}

function allZero(t: TensorEntry): boolean {
  for (let i = 0; i < t.data.length; i++) if (t.data[i] !== 0) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Loading

/**
 * Loads a safetensors state dict in any supported layout. `hfConfig` is the parsed config.json if there is one;
 * otherwise the config comes from nanoGPT model_args metadata, options.config, and the shapes.
 */
export function loadSafetensorsCheckpoint(file: string, hfConfig?: Record<string, unknown>, options: LoadOptions = {}): Checkpoint {
  const notes: string[] = [];
  const header = readSafetensorsHeader(file);
  // Stored name -> our name, without the mask buffers.
  const ourName = new Map<string, string>();
  const storedName = new Map<string, string>();
  const shapes: Record<string, HeaderEntry> = {};
  for (const [stored, e] of Object.entries(header.tensors)) {
    const name = canonicalName(stored);
    if (MASK_BUFFER.test(name)) continue;
    const other = storedName.get(name);
    if (other !== undefined) throw new Error(`${file}: tensors ${quoteName(other)} and ${quoteName(stored)} are both ${quoteName(name)}`);
    ourName.set(stored, name);
    storedName.set(name, stored);
    shapes[name] = e;
  }
  if (ourName.size < Object.keys(header.tensors).length) notes.push('ignored the attention-mask buffers (attn.bias / attn.masked_bias)');
  const layout = detectLayout(shapes, header.metadata, file);
  const ours: Record<string, { shape: number[]; dtype: string }> = {};
  for (const [name, e] of Object.entries(shapes)) {
    const shape = layout === 'nanogpt' && LINEAR_WEIGHT.test(name) ? [e.shape[1], e.shape[0]] : e.shape;
    if (name !== 'lm_head.weight') ours[name] = { shape, dtype: e.dtype };
  }

  // Config: explicit options > config.json / model_args > shapes.
  let declaredBias: boolean | undefined;
  let given: Partial<GPTConfig> = {};
  if (hfConfig) ({ config: given, declaredBias } = fromHFConfigJSON(hfConfig, file, notes));
  else if (header.metadata.model_args) {
    let args: unknown;
    try {
      args = JSON.parse(header.metadata.model_args) as unknown;
    } catch (e) {
      throw new Error(`${file}: metadata model_args is not valid JSON (${oneLine((e as Error).message)})`);
    }
    given = fromNanoGPTModelArgs(args, file);
  }
  if (!hfConfig && !header.metadata.model_args && options.config?.scaleAttnByInverseLayerIdx === undefined) {
    notes.push('the file does not record scale_attn_by_inverse_layer_idx; assumed false (pass options.config to change)');
  }
  // nanoGPT's own model_args do not name the MLP nonlinearity, and it changed: new_gelu (tanh) until 2023, nn.GELU()
  // (exact) since. The two differ by up to ~3e-4 per activation, so say which one is assumed.
  const givenActivation = options.config?.activation ?? (given as Partial<GPTConfig>).activation;
  if (!hfConfig && givenActivation === undefined) {
    notes.push("the file does not record its MLP activation; assumed GPT-2's tanh GELU (the paper's code, nanoGPT before 2023). " +
      "Current nanoGPT uses the exact GELU: load it with options.config.activation = 'gelu'");
  }
  if (header.metadata.inheritune_bias === 'false') declaredBias = false;
  else if (header.metadata.inheritune_bias !== undefined && header.metadata.inheritune_bias !== 'true') {
    throw new Error(`${file}: metadata inheritune_bias must be 'true' or 'false', got ${quote(header.metadata.inheritune_bias)}`);
  }
  const hasBias = Object.keys(ours).some((n) => n.endsWith('.bias'));
  const layers = Object.keys(ours).map((n) => /^transformer\.h\.(\d+)\./.exec(n)).filter((m) => m) as RegExpExecArray[];
  const inferred: Partial<GPTConfig> = {
    nLayer: layers.reduce((n, m) => Math.max(n, Number(m[1]) + 1), 0), // no spread: a header may hold 300k names
    nEmbd: ours['transformer.wte.weight']?.shape[1],
    vocabSize: ours['transformer.wte.weight']?.shape[0],
    blockSize: ours['transformer.wpe.weight']?.shape[0],
    dropout: 0,
    scaleAttnByInverseLayerIdx: false,
    layerNormEps: 1e-5,
  };
  const merged = { ...inferred, ...given, ...options.config, bias: hasBias } as GPTConfig;
  if (merged.nHead === undefined) {
    throw new Error(`${file}: n_head cannot be inferred from the weights; pass options.config.nHead (or a config.json / model_args)`);
  }
  let withBias: Readonly<GPTConfig>;
  try {
    withBias = makeConfig(merged);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  checkShapes(withBias, ours, file);
  if (shapes['lm_head.weight'] && !sameShapeAs(shapes['lm_head.weight'].shape, ours['transformer.wte.weight']?.shape)) {
    throw new Error(`${file}: lm_head.weight has shape [${shapes['lm_head.weight'].shape.join(', ')}], unlike transformer.wte.weight: untied LM heads are not supported`);
  }

  // Data: the selected tensors; biases too when they may be zero padding to drop.
  const select = options.select ?? (() => true);
  const maybeZeroBiases = hasBias && declaredBias === false;
  const partial = options.select !== undefined;
  const wanted = new Set<string>();
  for (const [stored, name] of ourName) {
    if (select(name) || (maybeZeroBiases && name.endsWith('.bias'))) wanted.add(stored);
    if (name === 'lm_head.weight' && !partial) wanted.add(stored);
  }
  const raw = readSafetensors(file, { names: [...wanted], half: options.half });
  let tensors: TensorMap = {};
  for (const [stored, t] of Object.entries(raw.tensors)) {
    tensors[ourName.get(stored) as string] = t.dtype === 'F64' ? { dtype: 'F32', shape: t.shape, data: new Float32Array(t.data) } : t;
  }
  // After the F64 -> F32 conversion, which turns values beyond float32's range into Inf.
  if (!options.allowNonFinite) assertFiniteTensors(tensors, file, '; refusing to load it (pass --allow-non-finite / allowNonFinite to study it anyway)');
  const stored = new Set(Object.values(raw.storedDtypes));
  const halves = [...stored].filter((d) => d === 'F16' || d === 'BF16');
  if (options.half === 'keep' && halves.length) notes.push(`kept ${halves.join('/')} weights in 16 bits (widened to float32 per tensor when loaded into tfjs)`);
  const widened = [...stored].filter((d) => d === 'F64' || (options.half !== 'keep' && (d === 'F16' || d === 'BF16')));
  if (widened.length) notes.push(`converted ${widened.join('/')} weights to float32`);
  if (layout === 'nanogpt') {
    tensors = fromNanoGPTLayout(tensors);
    notes.push('converted nanoGPT Linear weights [out, in] to Conv1D [in, out]');
  }
  const head = tensors['lm_head.weight'];
  const wte = tensors['transformer.wte.weight'];
  if (head && wte && !sameTensor(head, wte)) {
    throw new Error(`${file}: lm_head.weight differs from transformer.wte.weight: untied LM heads are not supported`);
  }
  if (shapes['lm_head.weight'] && !(head && wte)) notes.push('did not check that lm_head.weight equals wte (partial load)');
  delete tensors['lm_head.weight'];

  let bias = hasBias;
  if (maybeZeroBiases) {
    const biasNames = Object.keys(tensors).filter((n) => n.endsWith('.bias'));
    if (biasNames.every((n) => allZero(tensors[n]))) {
      bias = false;
      for (const n of biasNames) delete tensors[n];
      notes.push('dropped the all-zero biases written for transformers (inheritune_bias: false)');
    } else {
      notes.push('inheritune_bias is false but some biases are non-zero (trained further in transformers?): loading with bias=true');
      if (partial) for (const n of biasNames) if (!select(n)) delete tensors[n];
    }
  }
  const config = makeConfig(withBias, { bias });
  return { config, tensors, layout, metadata: raw.metadata, notes };
}

function sameShapeAs(a: number[], b: number[] | undefined): boolean {
  return b !== undefined && a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Loads a Hugging Face GPT-2 folder (config.json + model.safetensors); the weights may be in any supported layout. */
export function loadHFFolder(dir: string, options: LoadOptions = {}): Checkpoint {
  const cfgPath = path.join(dir, HF_CONFIG_FILE);
  const weights = path.join(dir, HF_WEIGHTS_FILE);
  if (!fs.existsSync(weights)) throw new Error(`${dir}: no ${HF_WEIGHTS_FILE} (sharded or pytorch_model.bin checkpoints are not supported)`);
  let json: Record<string, unknown> | undefined;
  if (fs.existsSync(cfgPath)) {
    try {
      json = JSON.parse(fs.readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${cfgPath}: not valid JSON (${oneLine((e as Error).message)})`);
    }
  }
  return loadSafetensorsCheckpoint(weights, json, options);
}

/** Loads a nanoGPT state dict exported to safetensors (see the recipe at the top of this file). */
export function loadNanoGPTSafetensors(file: string, options: LoadOptions = {}): Checkpoint {
  return loadSafetensorsCheckpoint(file, undefined, options);
}

/**
 * Loads what a `--model PATH` option names: a Hugging Face folder (a `train` checkpoint is one) or a nanoGPT
 * .safetensors export. `label` starts the error when the path does not exist.
 */
export function loadModelPath(modelPath: string, label = '--model', options: LoadOptions = {}): Checkpoint {
  if (!fs.existsSync(modelPath)) throw new Error(`${label} ${modelPath}: no such file or folder`);
  if (!fs.statSync(modelPath).isDirectory()) return loadNanoGPTSafetensors(modelPath, options);
  verifyRecordedChecksums(modelPath); // a `train` checkpoint records the SHA-256 of its files: a flipped bit is refused
  return loadHFFolder(modelPath, options);
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

function checkForWrite(cfg: GPTConfig, tensors: TensorMap): void {
  checkShapes(cfg, tensors, 'writing checkpoint');
  for (const [name, t] of Object.entries(tensors)) if (t.dtype !== 'F32') throw new Error(`tensor '${name}': expected F32, got ${t.dtype}`);
}

/**
 * Writes config.json + model.safetensors that transformers loads as GPT2LMHeadModel. A bias-free model gets zero
 * biases (same function) and inheritune_bias: false. Each file is written atomically.
 */
export function writeHFFolder(dir: string, config: GPTConfig, tensors: TensorMap): void {
  const cfg = makeConfig(config);
  checkForWrite(cfg, tensors);
  const out: TensorMap = { ...tensors };
  if (!cfg.bias) {
    for (const [name, shape] of expectedShapes({ ...cfg, bias: true })) {
      if (name.endsWith('.bias')) out[name] = { dtype: 'F32', shape, data: new Float32Array(shape[0]) };
    }
  }
  const metadata: Metadata = { format: 'pt', [LAYOUT_KEY]: 'hf', inheritune_bias: String(cfg.bias) };
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, HF_WEIGHTS_FILE), out, metadata);
  const text = `${JSON.stringify(toHFConfigJSON(cfg), null, 2)}\n`;
  writeFileAtomic(path.join(dir, HF_CONFIG_FILE), (fd) => fs.writeSync(fd, text));
}

/** Writes a nanoGPT state dict ([out, in] Linear weights, lm_head.weight) with nanoGPT model_args in the metadata. */
export function writeNanoGPTSafetensors(file: string, config: GPTConfig, tensors: TensorMap): void {
  const cfg = makeConfig(config);
  checkForWrite(cfg, tensors);
  const modelArgs = {
    n_layer: cfg.nLayer, n_head: cfg.nHead, n_embd: cfg.nEmbd, block_size: cfg.blockSize, bias: cfg.bias,
    vocab_size: cfg.vocabSize, dropout: cfg.dropout, scale_attn_by_inverse_layer_idx: cfg.scaleAttnByInverseLayerIdx,
    activation: activationOf(cfg),
  };
  writeSafetensors(file, toNanoGPTLayout(tensors), { format: 'pt', [LAYOUT_KEY]: 'nanogpt', model_args: JSON.stringify(modelArgs) });
}

// ---------------------------------------------------------------------------------------------------------------
// tfjs adapters

/** One tf.Variable per tensor (float types, F16/BF16 included, -> float32; integer types -> int32). The caller owns them.
 * With opts.consume, each entry is deleted from `tensors` as it is converted. */
export function tensorsToParams(tensors: TensorMap, trainable = true, opts: { consume?: boolean } = {}): Params {
  const params: Params = {};
  try {
    for (const [name, t] of Object.entries(tensors)) {
      // consume: drop each host array once it is in tfjs, so a big model is not held twice (gpt2-xl: 6.2 GB each)
      if (opts.consume) delete tensors[name];
      const half = t.dtype === 'F16' || t.dtype === 'BF16';
      const isFloat = t.dtype === 'F32' || t.dtype === 'F64' || half;
      // A copy (widened from 16 bits one tensor at a time): tfjs may keep the array it is given, and the caller may
      // reuse theirs.
      const owned = opts.consume && (t.data instanceof Float32Array || t.data instanceof Int32Array); // no copy needed
      const values = half ? widenHalf(t.data as Uint16Array, t.dtype as 'F16' | 'BF16') : owned ? t.data : isFloat ? new Float32Array(t.data) : new Int32Array(t.data);
      params[name] = tf.tidy(() => tf.variable(tf.tensor(values, t.shape, isFloat ? 'float32' : 'int32'), trainable));
    }
  } catch (e) {
    for (const v of Object.values(params)) v.dispose();
    throw e;
  }
  return params;
}

/** The values of every tensor (a Params record or any tensors), copied out of tfjs. Creates no tensors. */
export async function paramsToTensors(params: Record<string, tf.Tensor>): Promise<TensorMap> {
  const out: TensorMap = {};
  for (const name of Object.keys(params).sort()) {
    const v = params[name];
    if (v.dtype === 'float32') out[name] = { dtype: 'F32', shape: v.shape.slice(), data: new Float32Array((await v.data()) as Float32Array) };
    else if (v.dtype === 'int32') out[name] = { dtype: 'I32', shape: v.shape.slice(), data: new Int32Array((await v.data()) as Int32Array) };
    else throw new Error(`tensor '${name}' has dtype ${v.dtype}; only float32 and int32 can be saved`);
  }
  return out;
}
