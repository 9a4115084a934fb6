// Random-init Hugging Face folders of real model shapes (Pythia, SmolLM, Llama 3), written shard by shard in F32, F16
// or BF16 with model.safetensors.index.json: for memory and speed tests of the analysis path on shapes too large to
// download here. Each tensor is generated only while the writer copies it to disk (safetensors-write reads `data`
// lazily), so writing a 16 GB Llama-3-8B folder holds one tensor (at most the 1 GB embedding) in memory.
// Init as transformers' _init_weights: Linear and embedding weights N(0, initializer_range = 0.02), norm weights 1,
// biases 0. Values are drawn from a 65536-entry table of normal quantiles by a xorshift generator (fast: ~2 ns each).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeSafetensors } from '../safetensors-write';
import { MemDType, TensorMap, product } from '../safetensors';
import { floatToBFloat16Bits, floatToHalfBits } from '../half';
import { writeFileAtomic } from '../../util/fs';
import { parseFamilyConfig } from './family-config';
import { llamaBlockPrefix, llamaBlockTensors, LLAMA_EMBED, LLAMA_FINAL_NORM, LLAMA_HEAD } from './llama';
import { neoxBlockPrefix, neoxBlockTensors, NEOX_EMBED, NEOX_FINAL_NORM, NEOX_FINAL_NORM_BIAS, NEOX_HEAD } from './neox';
import { INDEX_FILE, SINGLE_FILE } from './hf-folder';

const LLAMA3_8B = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 4096, num_hidden_layers: 32, num_attention_heads: 32,
  num_key_value_heads: 8, intermediate_size: 14336, vocab_size: 128256, max_position_embeddings: 8192, rms_norm_eps: 1e-5,
  rope_theta: 500000.0, hidden_act: 'silu', tie_word_embeddings: false, attention_bias: false, bos_token_id: 128000, eos_token_id: 128001,
};
const PYTHIA = {
  architectures: ['GPTNeoXForCausalLM'], model_type: 'gpt_neox', max_position_embeddings: 2048, layer_norm_eps: 1e-5, rotary_pct: 0.25,
  rotary_emb_base: 10000, hidden_act: 'gelu', use_parallel_residual: true, tie_word_embeddings: false, vocab_size: 50304, bos_token_id: 0, eos_token_id: 0,
};

/** config.json of each named shape, as published on the Hugging Face Hub (only the fields the forward reads + ids). */
export const RANDOM_SHAPES: Record<string, Record<string, unknown>> = {
  'pythia-70m': { ...PYTHIA, hidden_size: 512, num_hidden_layers: 6, num_attention_heads: 8, intermediate_size: 2048 },
  'pythia-410m': { ...PYTHIA, hidden_size: 1024, num_hidden_layers: 24, num_attention_heads: 16, intermediate_size: 4096 },
  'smollm-135m': {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 576, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3,
    intermediate_size: 1536, vocab_size: 49152, max_position_embeddings: 2048, rms_norm_eps: 1e-5, rope_theta: 10000.0, hidden_act: 'silu', tie_word_embeddings: true,
  },
  'llama-3-8b': LLAMA3_8B,
  'llama-3.1-8b': {
    ...LLAMA3_8B, max_position_embeddings: 131072,
    rope_scaling: { rope_type: 'llama3', factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 8192 },
  },
  'tiny-llama': {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 64, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2,
    intermediate_size: 96, vocab_size: 50304, max_position_embeddings: 256, rms_norm_eps: 1e-5, rope_theta: 500000.0, hidden_act: 'silu', tie_word_embeddings: false,
    rope_scaling: { rope_type: 'llama3', factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 64 },
  },
  'tiny-neox': { ...PYTHIA, hidden_size: 64, num_hidden_layers: 3, num_attention_heads: 4, intermediate_size: 256, max_position_embeddings: 256 },
};

export type RandomDType = 'F32' | 'F16' | 'BF16';

export interface RandomFolderOptions {
  dtype?: RandomDType;
  /** Largest shard in bytes (default 2 GB; a tensor larger than it gets a shard of its own). */
  shardBytes?: number;
  seed?: number;
  /** Called after each shard is written. */
  onShard?: (file: string, index: number, count: number) => void;
}

/** [name, shape] of every tensor of a config, in the order HF writes them (embedding, blocks, final norm, head). */
export function tensorList(json: Record<string, unknown>): Array<[string, number[]]> {
  const c = parseFamilyConfig(json, 'config');
  const llama = c.family === 'llama';
  const out: Array<[string, number[]]> = [[llama ? LLAMA_EMBED : NEOX_EMBED, [c.vocabSize, c.dModel]]];
  for (let l = 0; l < c.nLayer; l++) {
    for (const [s, shape] of llama ? llamaBlockTensors(c) : neoxBlockTensors(c)) out.push([(llama ? llamaBlockPrefix(l) : neoxBlockPrefix(l)) + s, shape]);
  }
  if (llama) out.push([LLAMA_FINAL_NORM, [c.dModel]]);
  else out.push([NEOX_FINAL_NORM, [c.dModel]], [NEOX_FINAL_NORM_BIAS, [c.dModel]]);
  if (!(llama && c.tiedEmbeddings)) out.push([llama ? LLAMA_HEAD : NEOX_HEAD, [c.vocabSize, c.dModel]]);
  return out;
}

/** A table of 65536 N(0, 1) quantiles; table[r16] is a normal draw for a uniform 16-bit r16. */
function normalTable(): Float32Array {
  const t = new Float32Array(65536);
  for (let i = 0; i < 65536; i++) t[i] = inverseNormal((i + 0.5) / 65536);
  return t;
}

/** Acklam's rational approximation of the normal quantile (relative error < 1.2e-9). */
function inverseNormal(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo || p > 1 - lo) {
    const q = Math.sqrt(-2 * Math.log(p < lo ? p : 1 - p));
    const x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    return p < lo ? x : -x;
  }
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** Values of one tensor: norms 1, biases 0, else N(0, 0.02^2); in the requested dtype, made in chunks of 1M values
 * so a 16-bit tensor never has a float32 copy beside it. */
function generate(name: string, n: number, dtype: RandomDType, state: { s: number }, table: Float32Array): Float32Array | Uint16Array {
  const out = dtype === 'F32' ? new Float32Array(n) : new Uint16Array(n);
  const norm = /(layernorm|layer_norm|model\.norm)\.weight$/.test(name);
  const random = !norm && !name.endsWith('.bias');
  const CHUNK = 1 << 20;
  const x = new Float32Array(Math.min(n, CHUNK));
  let s = state.s;
  for (let at = 0; at < n; at += CHUNK) {
    const m = Math.min(CHUNK, n - at);
    const part = m === x.length ? x : x.subarray(0, m);
    if (norm) part.fill(1);
    else if (!random) part.fill(0);
    else {
      for (let i = 0; i < m; i++) {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        part[i] = 0.02 * table[s & 0xffff];
      }
    }
    if (out instanceof Float32Array) out.set(part, at);
    else out.set(dtype === 'BF16' ? floatToBFloat16Bits(part) : floatToHalfBits(part), at);
  }
  state.s = s;
  return out;
}

/** Writes config.json and random weights of `json`'s shape to `dir` (which must not exist or be empty). */
export function writeRandomHFFolder(dir: string, json: Record<string, unknown>, o: RandomFolderOptions = {}): { files: string[]; bytes: number } {
  const dtype = o.dtype ?? 'BF16';
  const width = dtype === 'F32' ? 4 : 2;
  const limit = o.shardBytes ?? 2 * 1024 ** 3;
  const list = tensorList(json);
  if (fs.existsSync(dir) && fs.readdirSync(dir).length) throw new Error(`${dir} exists and is not empty; choose a new folder`);
  fs.mkdirSync(dir, { recursive: true });
  const shards: Array<Array<[string, number[]]>> = [[]];
  let size = 0;
  for (const t of list) {
    const bytes = product(t[1]) * width;
    if (size > 0 && size + bytes > limit) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(t);
    size += bytes;
  }
  const table = normalTable();
  const state = { s: (o.seed ?? 1234) | 0 || 1 };
  const files: string[] = [];
  const weightMap: Record<string, string> = {};
  let total = 0;
  const memType: MemDType = dtype;
  shards.forEach((shard, i) => {
    const file = shards.length === 1 ? SINGLE_FILE : `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
    const tensors: TensorMap = {};
    for (const [name, shape] of shard) {
      // a getter: the writer asks for the data only when it copies this tensor, so one tensor is alive at a time
      Object.defineProperty(tensors, name, {
        enumerable: true,
        value: { dtype: memType, shape, get data() { return generate(name, product(shape), dtype, state, table); } },
      });
      weightMap[name] = file;
      total += product(shape) * width;
    }
    writeSafetensors(path.join(dir, file), tensors, { format: 'pt' });
    files.push(file);
    o.onShard?.(file, i, shards.length);
  });
  const cfg = { ...json, torch_dtype: { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[dtype], initializer_range: 0.02 };
  writeText(path.join(dir, 'config.json'), `${JSON.stringify(cfg, null, 2)}\n`);
  if (shards.length > 1) writeText(path.join(dir, INDEX_FILE), `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`);
  return { files, bytes: total };
}

function writeText(file: string, text: string): void {
  writeFileAtomic(file, (fd) => fs.writeSync(fd, text));
}
