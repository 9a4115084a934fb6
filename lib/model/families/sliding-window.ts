// Sliding-window attention of Mistral and Qwen2, with Hugging Face transformers' semantics:
//   query i reads key j  iff  i - size < j <= i   (each query reads `size` keys, itself included)
// transformers' masking_utils.py (>= 4.53; read at commit 00c4411): sliding_window_overlay keeps
// `kv_idx > q_idx - sliding_window`, and-ed with causal_mask_function `kv_idx <= q_idx`. The 4.4x code agrees:
// MistralModel._prepare_4d_causal_attention_mask_with_cache_position masks `arange(target) <= cache_position -
// sliding_window`.
// Which layers use the window:
//   mistral  every layer, when sliding_window is not null (MistralConfig defaults it to 4096 when the key is absent;
//            MistralModel ignores layer_types)
//   qwen2    only with use_sliding_window true (Qwen2Config sets sliding_window to None otherwise; default 4096);
//            layer_types when config.json lists them, else layer l is windowed iff l >= max_window_layers
//            (default 28): Qwen2Config.__post_init__ (transformers main, configuration_qwen2.py at commit 008e574),
//            and in 4.4x Qwen2Attention's `layer_idx >= config.max_window_layers`.
import * as tf from '@tensorflow/tfjs';
import { quote } from '../../util/errors';

export interface SlidingWindow {
  /** Keys each query reads, itself included: query i reads keys j with i - size < j <= i. */
  size: number;
  /** layers[l]: layer l uses the window; the others are plainly causal. At least one is true. */
  layers: boolean[];
}

const DEFAULT_WINDOW = 4096; // MistralConfig / Qwen2Config default sliding_window
const DEFAULT_MAX_WINDOW_LAYERS = 28; // Qwen2Config default max_window_layers
const LAYER_TYPES = ['full_attention', 'sliding_attention'];

/** The sliding window of a mistral / qwen2 config.json, or undefined when no layer is windowed. Problems are pushed. */
export function parseSlidingWindow(json: Record<string, unknown>, modelType: string, nLayer: number, problems: string[]): SlidingWindow | undefined {
  if (modelType !== 'mistral' && modelType !== 'qwen2') return undefined;
  const layerTypes = modelType === 'qwen2' ? parseLayerTypes(json.layer_types, nLayer, problems) : undefined;
  if (modelType === 'qwen2') {
    const use = json.use_sliding_window ?? false;
    if (typeof use !== 'boolean') {
      problems.push(`use_sliding_window must be true or false, got ${quote(use)}`);
      return undefined;
    }
    if (!use) {
      if (layerTypes?.some(Boolean)) problems.push('layer_types names sliding_attention layers but use_sliding_window is false');
      return undefined;
    }
  }
  const size = json.sliding_window === undefined ? DEFAULT_WINDOW : json.sliding_window;
  if (size === null) {
    if (layerTypes?.some(Boolean)) problems.push('layer_types names sliding_attention layers but sliding_window is null');
    return undefined;
  }
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) {
    problems.push(`sliding_window must be a positive integer or null, got ${quote(size)}`);
    return undefined;
  }
  let layers: boolean[];
  if (modelType === 'mistral') layers = new Array<boolean>(nLayer).fill(true);
  else if (layerTypes) layers = layerTypes;
  else {
    const from = json.max_window_layers ?? DEFAULT_MAX_WINDOW_LAYERS;
    if (typeof from !== 'number' || !Number.isInteger(from) || from < 0) {
      problems.push(`max_window_layers must be a non-negative integer, got ${quote(from)}`);
      return undefined;
    }
    layers = Array.from({ length: nLayer }, (_, l) => l >= from);
  }
  return layers.some(Boolean) ? { size, layers } : undefined;
}

/** Qwen2's layer_types: true where 'sliding_attention'; undefined when absent. */
function parseLayerTypes(v: unknown, nLayer: number, problems: string[]): boolean[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length !== nLayer || v.some((t) => !LAYER_TYPES.includes(t as string))) {
    problems.push(`layer_types must list ${nLayer} entries (num_hidden_layers), each "full_attention" or "sliding_attention", got ${quote(v)}`);
    return undefined;
  }
  return v.map((t) => t === 'sliding_attention');
}

/** The window layer l reads, or undefined when it is plainly causal. */
export function layerWindow(w: SlidingWindow | undefined, l: number): number | undefined {
  return w && w.layers[l] ? w.size : undefined;
}

/** Short description: 'sliding window 4096' or 'sliding window 3 in layers 1, 2'. */
export function describeSlidingWindow(w: SlidingWindow): string {
  const on = w.layers.flatMap((b, l) => (b ? [l] : []));
  return `sliding window ${w.size}${on.length === w.layers.length ? '' : ` in layers ${on.join(', ')}`}`;
}

/**
 * Additive banded causal mask (T, T): 0 where i - size < j <= i, exactly -Infinity elsewhere. Every row keeps its
 * diagonal (size >= 1), so a softmax over it is finite and sums to 1 with exact zeros outside the band.
 */
export function slidingWindowMask(T: number, size: number): tf.Tensor2D {
  if (!Number.isInteger(size) || size < 1) throw new Error(`sliding window must be a positive integer, got ${size}`);
  const m = new Float32Array(T * T).fill(-Infinity);
  for (let i = 0; i < T; i++) for (let j = Math.max(0, i - size + 1); j <= i; j++) m[i * T + j] = 0;
  return tf.tensor2d(m, [T, T]);
}
