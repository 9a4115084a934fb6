// Hugging Face config.json of the analysis-only model families -> one FamilyConfig.
//   llama   model_type llama / mistral / qwen2 (Llama 2/3, Mistral, Qwen2, SmolLM, TinyLlama): RMSNorm, RoPE (with
//           rope_theta and rope_scaling), SwiGLU MLP, grouped-query attention, tied or untied lm_head, q/k/v biases
//           (attention_bias, always on for Qwen2), sliding-window attention (Mistral; Qwen2 per layer)
//   neox    model_type gpt_neox (Pythia): LayerNorm, partial RoPE (rotary_pct), fused per-head query_key_value,
//           GELU MLP, parallel or sequential residual, untied embed_out
// Everything the forward would get wrong if ignored is read and checked; an unknown value is refused in one line.
import { listProblems, quote } from '../../util/errors';
import { RopeScaling, parseRopeScaling } from './rope';
import { SlidingWindow, parseSlidingWindow } from './sliding-window';
import { CONFIG_LIMITS } from '../config';

export type Family = 'llama' | 'neox';
export type FamilyActivation = 'silu' | 'gelu' | 'gelu_new';

export interface FamilyConfig {
  family: Family;
  /** config.json's model_type, as written. */
  modelType: string;
  nLayer: number;
  /** Query heads. */
  nHead: number;
  /** Key/value heads (grouped-query attention when < nHead); = nHead for NeoX. */
  nKVHead: number;
  /** Width of one head (head_dim, else hidden_size / num_attention_heads). */
  headDim: number;
  /** Residual stream width (hidden_size). */
  dModel: number;
  /** MLP width (intermediate_size). */
  dMLP: number;
  vocabSize: number;
  /** max_position_embeddings: the longest window measured. */
  contextLength: number;
  /** RMSNorm / LayerNorm epsilon. */
  normEps: number;
  activation: FamilyActivation;
  ropeTheta: number;
  /** Rotated dimensions of each head (all of them for Llama; rotary_pct of them for NeoX), even. */
  rotaryDim: number;
  ropeScaling: RopeScaling;
  /** lm_head shares embed_tokens (tie_word_embeddings). */
  tiedEmbeddings: boolean;
  /** Llama: biases on q/k/v (and o when attention_bias) projections. NeoX: every Linear and LayerNorm has biases. */
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
  /** NeoX: attention and MLP read the same input (x + attn(ln1 x) + mlp(ln2 x)). */
  parallelResidual: boolean;
  /** Mistral's / Qwen2's sliding-window attention (banded causal mask in the layers it marks); absent: all causal. */
  slidingWindow?: SlidingWindow;
}

const LLAMA_TYPES = ['llama', 'mistral', 'qwen2'];
const LIMITS: Record<string, number> = {
  num_hidden_layers: CONFIG_LIMITS.nLayer, num_attention_heads: CONFIG_LIMITS.nHead, num_key_value_heads: CONFIG_LIMITS.nHead,
  hidden_size: CONFIG_LIMITS.nEmbd, head_dim: CONFIG_LIMITS.nEmbd, intermediate_size: 4 * CONFIG_LIMITS.nEmbd, vocab_size: CONFIG_LIMITS.vocabSize,
  max_position_embeddings: CONFIG_LIMITS.blockSize,
};
export const FAMILY_MODEL_TYPES = [...LLAMA_TYPES, 'gpt_neox'];

/** True when config.json names a family of this module (GPT-2 folders go through lib/model/hf). */
export function isFamilyConfig(json: Record<string, unknown>): boolean {
  return typeof json.model_type === 'string' && FAMILY_MODEL_TYPES.includes(json.model_type);
}

/** Parses config.json; throws one Error listing every missing, malformed or unsupported field. */
export function parseFamilyConfig(json: Record<string, unknown>, label: string): FamilyConfig {
  const problems: string[] = [];
  const mt = json.model_type;
  if (typeof mt !== 'string' || !FAMILY_MODEL_TYPES.includes(mt)) {
    throw new Error(`${label}: unknown model_type ${quote(mt)}; supported: ${FAMILY_MODEL_TYPES.join(', ')} (gpt2 folders load through lib/model/hf)`);
  }
  const int = (key: string, fallback?: number): number => {
    const v = json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      problems.push(v === undefined ? `${key} is missing` : `${key} must be a positive integer, got ${quote(v)}`);
      return 1;
    }
    // Bounds before anything is allocated from them (a hostile config could ask for 1e9 layers).
    const limit = LIMITS[key];
    if (limit !== undefined && v > limit) {
      problems.push(`${key} is ${v}, above the limit of ${limit}`);
      return 1;
    }
    return v;
  };
  const real = (key: string, fallback: number): number => {
    const v = json[key] ?? fallback;
    if (typeof v !== 'number' || !(v > 0)) problems.push(`${key} must be a positive number, got ${quote(v)}`);
    return v as number;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = json[key] ?? fallback;
    if (typeof v !== 'boolean') problems.push(`${key} must be true or false, got ${quote(v)}`);
    return v === true;
  };
  const family: Family = mt === 'gpt_neox' ? 'neox' : 'llama';
  const dModel = int('hidden_size');
  const nHead = int('num_attention_heads');
  const headDim = json.head_dim !== undefined && json.head_dim !== null ? int('head_dim') : dModel / nHead;
  if (!Number.isInteger(headDim)) problems.push(`hidden_size (${dModel}) must be divisible by num_attention_heads (${nHead})`);
  const nKVHead = family === 'llama' ? int('num_key_value_heads', nHead) : nHead;
  if (nHead % nKVHead !== 0) problems.push(`num_attention_heads (${nHead}) must be a multiple of num_key_value_heads (${nKVHead})`);
  const act = json.hidden_act ?? (family === 'llama' ? 'silu' : 'gelu');
  // transformers' ACT2FN names: gelu = exact erf GELU; gelu_new / gelu_pytorch_tanh = tanh approximation; silu = swish.
  const activation: FamilyActivation | undefined =
    family === 'llama'
      ? act === 'silu' || act === 'swish' ? 'silu' : undefined
      : act === 'gelu' ? 'gelu' : act === 'gelu_new' || act === 'gelu_pytorch_tanh' ? 'gelu_new' : undefined;
  if (!activation) {
    const ok = family === 'llama' ? 'silu' : 'gelu, gelu_new or gelu_pytorch_tanh';
    problems.push(`hidden_act ${quote(act)} is not supported for ${mt} (${ok})`);
  }
  let rotaryDim = headDim;
  if (family === 'neox') {
    const pct = json.rotary_pct ?? 1;
    if (typeof pct !== 'number' || !(pct > 0 && pct <= 1)) problems.push(`rotary_pct must be in (0, 1], got ${quote(pct)}`);
    else rotaryDim = Math.floor(headDim * pct); // transformers: int(head_size * rotary_pct)
    if (rotaryDim % 2 !== 0) problems.push(`rotary dimensions (${rotaryDim} = head size ${headDim} x rotary_pct ${quote(pct)}) must be even`);
  }
  let ropeScaling: RopeScaling = { type: 'none' };
  try {
    ropeScaling = parseRopeScaling(json.rope_scaling);
  } catch (e) {
    problems.push((e as Error).message);
  }
  const attentionBias = bool('attention_bias', false);
  const nLayer = int('num_hidden_layers');
  const slidingWindow = parseSlidingWindow(json, mt, nLayer, problems);
  const cfg: FamilyConfig = {
    family,
    modelType: mt,
    nLayer,
    nHead,
    nKVHead,
    headDim,
    dModel,
    dMLP: int('intermediate_size'),
    vocabSize: int('vocab_size'),
    contextLength: int('max_position_embeddings', 2048),
    normEps: family === 'llama' ? real('rms_norm_eps', 1e-6) : real('layer_norm_eps', 1e-5),
    activation: activation ?? 'silu',
    ropeTheta: family === 'llama' ? real('rope_theta', 10000) : real('rotary_emb_base', real('rope_theta', 10000)),
    rotaryDim,
    ropeScaling,
    tiedEmbeddings: bool('tie_word_embeddings', family === 'llama'),
    qkvBias: family === 'neox' || mt === 'qwen2' || attentionBias,
    oBias: family === 'neox' || attentionBias,
    mlpBias: family === 'neox' || bool('mlp_bias', false),
    parallelResidual: family === 'neox' ? bool('use_parallel_residual', true) : false,
    ...(slidingWindow ? { slidingWindow } : {}),
  };
  if (family === 'neox' && json.attention_bias === false) problems.push('attention_bias false is not supported for gpt_neox');
  if (problems.length) throw new Error(`${label}: unsupported ${mt} config: ${listProblems(problems)}`);
  return cfg;
}
