// Rotary position embeddings as Hugging Face transformers applies them (Llama, Mistral, Qwen2, GPT-NeoX):
//   inv_freq[i] = 1 / theta^(2i / d) for i < d/2 (d = rotated dims), adjusted by rope_scaling;
//   angle(p, j) = p * inv_freq[j mod d/2] for j < d (the halves repeat: cat(freqs, freqs));
//   rope(x)[..j] = x * cos + rotate_half(x) * sin, rotate_half(x) = cat(-x[d/2:], x[:d/2]),
// applied to the first d dims of every head; the rest pass through (NeoX's partial rotary, rotary_pct).
// Angles, cos and sin are computed in float64 and rounded once to float32.
import * as tf from '@tensorflow/tfjs';
import { quote } from '../../util/errors';

export type RopeScaling =
  | { type: 'none' }
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

/** rope_scaling of config.json (null / absent / rope_type default = none); unknown types are refused. */
export function parseRopeScaling(raw: unknown): RopeScaling {
  if (raw === undefined || raw === null) return { type: 'none' };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`rope_scaling must be an object or null, got ${quote(raw)}`);
  const r = raw as Record<string, unknown>;
  const type = r.rope_type ?? r.type;
  const num = (k: string): number => {
    const v = r[k];
    if (typeof v !== 'number' || !(v > 0)) throw new Error(`rope_scaling.${k} must be a positive number, got ${quote(v)}`);
    return v;
  };
  if (type === 'default') return { type: 'none' };
  if (type === 'linear') return { type: 'linear', factor: num('factor') };
  if (type === 'llama3') {
    const s = { type: 'llama3' as const, factor: num('factor'), lowFreqFactor: num('low_freq_factor'), highFreqFactor: num('high_freq_factor'), originalMaxPositions: num('original_max_position_embeddings') };
    if (!(s.highFreqFactor > s.lowFreqFactor)) throw new Error(`rope_scaling: high_freq_factor (${s.highFreqFactor}) must exceed low_freq_factor (${s.lowFreqFactor})`);
    return s;
  }
  throw new Error(`rope_scaling type ${quote(type)} is not supported (supported: default, linear, llama3)`);
}

/** The d/2 inverse frequencies, float64 (transformers' _compute_default / _linear / _llama3_parameters). */
export function ropeInvFreq(d: number, theta: number, s: RopeScaling): Float64Array {
  const half = d / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(theta, (2 * i) / d);
  if (s.type === 'linear') for (let i = 0; i < half; i++) inv[i] /= s.factor;
  if (s.type === 'llama3') {
    const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
    const highWavelen = s.originalMaxPositions / s.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen > lowWavelen) inv[i] /= s.factor; // long wavelengths: interpolated
      else if (wavelen >= highWavelen) {
        // between the two: a smooth mix of the scaled and unscaled frequency
        const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[i] = (1 - smooth) * (inv[i] / s.factor) + smooth * inv[i];
      }
    }
  }
  return inv;
}

/** cos and sin tables, each (T, d) float32, for positions 0..T-1. The caller disposes them. */
export function ropeTables(T: number, d: number, theta: number, s: RopeScaling): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const inv = ropeInvFreq(d, theta, s);
  const cos = new Float32Array(T * d);
  const sin = new Float32Array(T * d);
  for (let p = 0; p < T; p++) {
    for (let j = 0; j < d; j++) {
      const a = p * inv[j % (d / 2)];
      cos[p * d + j] = Math.cos(a);
      sin[p * d + j] = Math.sin(a);
    }
  }
  return { cos: tf.tensor2d(cos, [T, d]), sin: tf.tensor2d(sin, [T, d]) };
}

/**
 * Rotates the first d dims of every head. x (B, nh, T, hs), cos/sin (T, d) -> (B, nh, T, hs).
 */
export function applyRope(x: tf.Tensor, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor {
  return tf.tidy(() => {
    const [B, nh, T, hs] = x.shape;
    const d = cos.shape[1];
    const rot = d === hs ? x : tf.slice(x, [0, 0, 0, 0], [B, nh, T, d]); // (B, nh, T, d)
    const [x1, x2] = tf.split(rot, 2, 3); // 2 x (B, nh, T, d/2)
    const rotated = tf.concat([tf.neg(x2), x1], 3); // rotate_half
    const out = tf.add(tf.mul(rot, cos), tf.mul(rotated, sin)); // (T, d) broadcasts over (B, nh)
    return d === hs ? out : tf.concat([out, tf.slice(x, [0, 0, 0, d], [B, nh, T, hs - d])], 3);
  });
}
