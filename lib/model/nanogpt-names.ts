// Parameter names and layouts of the three GPT-2 state-dict flavours we meet, and conversions to ours:
//
//   ours / transformers   transformer.h.3.attn.c_attn.weight  Conv1D weights [in, out]; lm_head tied, not saved
//   Hub files (older)     h.3.attn.c_attn.weight              the same without the "transformer." prefix, plus the
//                                                             attention-mask buffers h.3.attn.bias / .masked_bias
//   nanoGPT               transformer.h.3.attn.c_attn.weight  nn.Linear weights [out, in]; lm_head.weight saved (tied);
//                                                             "_orig_mod." prefix after torch.compile; attn.bias buffer
//                                                             (causal mask) without flash attention
//
// The names of nanoGPT and ours coincide, so a nanoGPT dict is recognised by its shapes: c_attn.weight is [3C, C]
// (ours [C, 3C]) and mlp.c_fc.weight is [4C, C] (ours [C, 4C]), or by the metadata our exporter writes.
import { Metadata, TensorEntry, TensorMap } from './safetensors';

export type Layout = 'hf' | 'nanogpt';

/** The four Linear/Conv1D weights whose layouts differ between nanoGPT ([out, in]) and ours ([in, out]). */
export const LINEAR_WEIGHT = /^transformer\.h\.(\d+)\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;
/** Non-parameter buffers (causal masks) stored by some exporters; never parameters in our naming. */
export const MASK_BUFFER = /^transformer\.h\.\d+\.attn\.(bias|masked_bias)$/;

/** Metadata key our exporters use to record the layout of a file. */
export const LAYOUT_KEY = 'inheritune_layout';

/**
 * Adds the "transformer." prefix that Hub checkpoints omit and drops torch.compile's "_orig_mod." prefix.
 * lm_head.weight keeps its name.
 */
export function canonicalName(name: string): string {
  let n = name.startsWith('_orig_mod.') ? name.slice('_orig_mod.'.length) : name;
  if (/^(h\.\d+\.|wte\.|wpe\.|ln_f\.)/.test(n)) n = `transformer.${n}`;
  return n;
}

/** A 2-D tensor transposed: [r, c] -> [c, r]. */
export function transpose2D(t: TensorEntry, name: string): TensorEntry {
  if (t.shape.length !== 2) throw new Error(`tensor '${name}': expected a 2-D weight, got shape [${t.shape.join(', ')}]`);
  const [r, c] = t.shape;
  const src = t.data;
  const out = new (src.constructor as new (n: number) => typeof src)(src.length);
  // Blocked to keep both reads and writes cache-friendly on large matrices.
  const B = 64;
  for (let i0 = 0; i0 < r; i0 += B) {
    for (let j0 = 0; j0 < c; j0 += B) {
      const iEnd = Math.min(i0 + B, r);
      const jEnd = Math.min(j0 + B, c);
      for (let i = i0; i < iEnd; i++) for (let j = j0; j < jEnd; j++) out[j * r + i] = src[i * c + j];
    }
  }
  return { dtype: t.dtype, shape: [c, r], data: out };
}

/**
 * Which layout a (canonically named) state dict uses. Decided by metadata when our exporter wrote it, else by the
 * shape of the first block's c_attn / c_fc weights relative to n_embd (wte's second dim). Throws if they disagree.
 */
export function detectLayout(tensors: Record<string, { shape: number[] }>, metadata: Metadata, label: string): Layout {
  const fromMeta = metadata[LAYOUT_KEY];
  if (fromMeta !== undefined && fromMeta !== 'hf' && fromMeta !== 'nanogpt') {
    throw new Error(`${label}: metadata ${LAYOUT_KEY}='${fromMeta}' is neither 'hf' nor 'nanogpt'`);
  }
  const C = tensors['transformer.wte.weight']?.shape[1] ?? tensors['lm_head.weight']?.shape[1];
  const votes = new Set<Layout>();
  for (const [name, t] of Object.entries(tensors)) {
    const m = LINEAR_WEIGHT.exec(name);
    if (!m || C === undefined || t.shape.length !== 2) continue;
    const [a, b] = t.shape;
    const kind = m[2];
    if (kind === 'attn.c_attn' || kind === 'mlp.c_fc') {
      const k = kind === 'attn.c_attn' ? 3 : 4;
      if (a === C && b === k * C) votes.add('hf');
      else if (a === k * C && b === C) votes.add('nanogpt');
    } else if (kind === 'mlp.c_proj') {
      if (a === 4 * C && b === C) votes.add('hf');
      else if (a === C && b === 4 * C) votes.add('nanogpt');
    }
  }
  if (votes.size > 1) throw new Error(`${label}: some Linear weights are [in, out] (transformers) and others [out, in] (nanoGPT)`);
  const fromShapes = votes.size === 1 ? [...votes][0] : undefined;
  if (fromMeta && fromShapes && fromMeta !== fromShapes) {
    throw new Error(`${label}: metadata says layout '${fromMeta}' but the weight shapes are ${fromShapes} layout`);
  }
  // With no block weights (or nothing decisive) both layouts are the same dict.
  return (fromMeta as Layout | undefined) ?? fromShapes ?? (tensors['lm_head.weight'] ? 'nanogpt' : 'hf');
}

/** nanoGPT layout -> ours: transposes the four Linear weights of every block. Other entries are shared, not copied. */
export function fromNanoGPTLayout(tensors: TensorMap): TensorMap {
  const out: TensorMap = {};
  for (const [name, t] of Object.entries(tensors)) out[name] = LINEAR_WEIGHT.test(name) ? transpose2D(t, name) : t;
  return out;
}

/**
 * Ours -> nanoGPT state-dict naming and layout: Linear weights transposed to [out, in] and lm_head.weight written
 * (nanoGPT's state_dict holds the tied tensor under both names). Other entries are shared, not copied.
 */
export function toNanoGPTLayout(tensors: TensorMap): TensorMap {
  const out: TensorMap = {};
  for (const [name, t] of Object.entries(tensors)) out[name] = LINEAR_WEIGHT.test(name) ? transpose2D(t, name) : t;
  const wte = tensors['transformer.wte.weight'];
  if (wte) out['lm_head.weight'] = wte;
  return out;
}

/** Two tensors with the same dtype, shape and bytes (so NaN payloads and -0 count). */
export function sameTensor(a: TensorEntry, b: TensorEntry): boolean {
  if (a.dtype !== b.dtype || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false;
  const x = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const y = new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
