// GPT-2 forward pass over a Params record (HF names), numerically matching PyTorch's GPT-2 / nanoGPT in float32.
//   x = drop(wte[idx] + wpe[pos]); per block (pre-LN): x += attn(ln_1(x)); x += mlp(ln_2(x)); logits = ln_f(x) @ wte^T
// Attention: softmax(q k^T * (1/sqrt(hs)) [* 1/(layer+1)] + M) v with M = 0 / -Infinity (exactly-zero masked
// probabilities, reference/paper.md §1.1); MLP: c_fc -> tanh GELU -> c_proj (paper.md §7.3).
// `fast` swaps Linear, the tied head and the loss for custom-gradient ops built from plain 2-D matMuls (./ops).
import * as tf from '@tensorflow/tfjs';
import { GPTConfig, activationOf, headSize } from './config';
import { Params, checkParams, blockParamName } from './params';
import { linear, tiedHead, crossEntropy, mlpActivation, layerNorm } from './ops';
import { nativeOpsActive, causalSoftmaxNative, attentionNative } from '../backend/native-ops';
import { HookList, HookRunner } from './hookpoints';
import { backendReport } from '../backend';
import { hashString } from '../util/rng';

export interface ForwardOptions {
  /** Next-token targets, int32 (B, T); -1 marks positions left out of the loss (PyTorch ignore_index=-1). */
  targets?: tf.Tensor;
  /** Use the custom-gradient 2-D matMul ops. Default: backendReport().prefersPlain2DMatMul (wasm, cpu). */
  fast?: boolean;
  /** TransformerLens-style hooks, [(name | predicate, fn)]; see ./hookpoints. */
  hooks?: HookList;
  /** Apply dropout (only matters when cfg.dropout > 0). Default false. */
  training?: boolean;
  /** Seed of the dropout masks (derive one per step, e.g. hash of run seed and step). Unseeded if omitted. */
  seed?: number;
  /** Check every token id (and target) is in range; reads idx back to JS. Default true. */
  checkIds?: boolean;
}

export interface ForwardResult {
  /** (B, T, V) logits at every position. */
  logits: tf.Tensor3D;
  /** Mean cross-entropy over targets >= 0, when targets were given. */
  loss?: tf.Scalar;
}

/** Internal options: stop early (runWithCache) or compute the head only at the last position (generate). */
export interface RunOptions extends ForwardOptions {
  /** Stop before block `stopAtLayer` (negative counts from the end) and return the residual stream instead. */
  stopAtLayer?: number;
  /** Only the last position's logits, (B, 1, V); used by generate. */
  lastPositionOnly?: boolean;
}

export interface RunResult {
  logits?: tf.Tensor3D;
  loss?: tf.Scalar;
  /** (B, T, C) residual stream when stopped by stopAtLayer. */
  resid?: tf.Tensor3D;
}

/**
 * Runs the model. Returns full (B, T, V) logits (never only the last position) and, with targets, the mean
 * cross-entropy. All intermediates are freed; the caller owns the returned tensors.
 */
export function forward(params: Params, cfg: GPTConfig, idx: tf.Tensor, opts: ForwardOptions = {}): ForwardResult {
  const out = runModel(params, cfg, idx, opts);
  return out.loss ? { logits: out.logits as tf.Tensor3D, loss: out.loss } : { logits: out.logits as tf.Tensor3D };
}

/** The loss alone (for tf.variableGrads / optimizer.minimize): forward with targets, logits disposed. */
export function lossFn(params: Params, cfg: GPTConfig, idx: tf.Tensor, targets: tf.Tensor, opts: ForwardOptions = {}): tf.Scalar {
  return tf.tidy(() => forward(params, cfg, idx, { ...opts, targets }).loss as tf.Scalar);
}

/** The default of opts.fast: true where only plain 2-D matMul is fast (wasm, cpu). */
export function defaultFast(): boolean {
  return backendReport()?.prefersPlain2DMatMul ?? false;
}

/** Validates inputs, then runs the model inside tf.tidy. Used by forward, runWithCache and generate. */
export function runModel(params: Params, cfg: GPTConfig, idx: tf.Tensor, opts: RunOptions = {}): RunResult {
  checkParams(params, cfg);
  const [B, T] = checkTokens(idx, cfg, 'idx', opts.checkIds ?? true, false);
  if (opts.targets) {
    const [tb, tt] = checkTokens(opts.targets, cfg, 'targets', opts.checkIds ?? true, true);
    if (tb !== B || tt !== T) throw new Error(`targets shape [${tb},${tt}] must equal idx shape [${B},${T}]`);
  }
  let stop = opts.stopAtLayer;
  if (stop !== undefined) {
    if (!Number.isInteger(stop) || stop < -cfg.nLayer || stop > cfg.nLayer) {
      throw new Error(`stopAtLayer must be an integer in [${-cfg.nLayer}, ${cfg.nLayer}], got ${stop}`);
    }
    if (stop < 0) stop += cfg.nLayer;
  }
  const hk = opts.hooks && opts.hooks.length ? new HookRunner(opts.hooks, cfg) : undefined;
  const ctx: Ctx = {
    params,
    cfg,
    B,
    T,
    hk,
    fast: opts.fast ?? defaultFast(),
    dropout: opts.training && cfg.dropout > 0 ? cfg.dropout : 0,
    seed: opts.seed,
  };
  return tf.tidy(() => {
    let x = embed(ctx, idx); // (B*T, C)
    const nBlocks = stop ?? cfg.nLayer;
    // Each block in its own tidy: only one block's intermediates are alive at a time (gradients keep their own
    // copies of what they need), so memory grows with the depth by (B*T, C) per block, not by every activation.
    for (let l = 0; l < nBlocks; l++) {
      const xIn = x;
      x = tf.tidy(() => block(ctx, xIn, l));
    }
    if (stop !== undefined) return { resid: tf.reshape(x, [B, T, cfg.nEmbd]) as tf.Tensor3D };
    const C = cfg.nEmbd;
    x = layerNorm(x, params['transformer.ln_f.weight'], params['transformer.ln_f.bias'], cfg.layerNormEps);
    if (hk) x = hk.runAs('ln_final.hook_normalized', x, [B, T, C]);
    if (opts.lastPositionOnly) {
      const last = tf.reshape(tf.slice(tf.reshape(x, [B, T, C]), [0, T - 1, 0], [B, 1, C]), [B, C]); // (B, C)
      return { logits: tf.reshape(tiedHead(last as tf.Tensor2D, params['transformer.wte.weight'], ctx.fast), [B, 1, cfg.vocabSize]) as tf.Tensor3D };
    }
    const logits2d = tiedHead(x as tf.Tensor2D, params['transformer.wte.weight'], ctx.fast); // (B*T, V)
    const logits = tf.reshape(logits2d, [B, T, cfg.vocabSize]) as tf.Tensor3D;
    if (!opts.targets) return { logits };
    const loss = crossEntropy(logits2d, tf.reshape(opts.targets, [B * T]) as tf.Tensor1D, ctx.fast);
    return { logits, loss };
  });
}

interface Ctx {
  params: Params;
  cfg: GPTConfig;
  B: number;
  T: number;
  hk: HookRunner | undefined;
  fast: boolean;
  /** Effective dropout rate (0 when not training). */
  dropout: number;
  seed: number | undefined;
}

/** Dropout at a named site; each site gets its own seed derived from opts.seed. */
function drop(ctx: Ctx, x: tf.Tensor, site: string): tf.Tensor {
  if (ctx.dropout === 0) return x;
  const seed = ctx.seed === undefined ? undefined : hashString(`${ctx.seed}:${site}`);
  return tf.dropout(x, ctx.dropout, undefined, seed);
}

/** Token plus position embeddings. idx (B, T) -> (B*T, C). */
function embed(ctx: Ctx, idx: tf.Tensor): tf.Tensor {
  const { B, T, cfg, hk } = ctx;
  const C = cfg.nEmbd;
  let tok: tf.Tensor = tf.gather(ctx.params['transformer.wte.weight'], idx); // (B, T, C)
  let pos: tf.Tensor = tf.gather(ctx.params['transformer.wpe.weight'], tf.range(0, T, 1, 'int32')); // (T, C)
  if (hk) {
    tok = hk.run('hook_embed', tok);
    // TransformerLens shows pos_embed per batch row; materialise (B, T, C) only when someone hooks it.
    if (hk.has('hook_pos_embed')) pos = hk.run('hook_pos_embed', tf.tile(tf.reshape(pos, [1, T, C]), [B, 1, 1]));
  }
  const x = drop(ctx, tf.add(tok, pos), 'embed'); // (B, T, C)
  return tf.reshape(x, [B * T, C]);
}

function param(ctx: Ctx, l: number, suffix: string): tf.Variable {
  return ctx.params[blockParamName(l, suffix)];
}

/** Optional parameter (biases are absent when cfg.bias is false). */
function maybe(ctx: Ctx, l: number, suffix: string): tf.Variable | undefined {
  return ctx.cfg.bias ? param(ctx, l, suffix) : undefined;
}

/** One pre-LN block. x (B*T, C) -> (B*T, C). */
function block(ctx: Ctx, x: tf.Tensor, l: number): tf.Tensor {
  const { B, T, cfg, hk } = ctx;
  const C = cfg.nEmbd;
  const btc = [B, T, C];
  const eps = cfg.layerNormEps;
  if (hk) x = hk.runAs(`blocks.${l}.hook_resid_pre`, x, btc);

  let h = layerNorm(x, param(ctx, l, 'ln_1.weight'), maybe(ctx, l, 'ln_1.bias'), eps); // (B*T, C)
  if (hk) h = hk.runAs(`blocks.${l}.ln1.hook_normalized`, h, btc);
  let a = attention(ctx, h, l); // (B*T, C)
  if (hk) a = hk.runAs(`blocks.${l}.hook_attn_out`, a, btc);
  x = tf.add(x, drop(ctx, a, `${l}:attn_resid`));
  if (hk) x = hk.runAs(`blocks.${l}.hook_resid_mid`, x, btc);

  h = layerNorm(x, param(ctx, l, 'ln_2.weight'), maybe(ctx, l, 'ln_2.bias'), eps);
  if (hk) h = hk.runAs(`blocks.${l}.ln2.hook_normalized`, h, btc);
  let m = mlp(ctx, h, l); // (B*T, C)
  if (hk) m = hk.runAs(`blocks.${l}.hook_mlp_out`, m, btc);
  x = tf.add(x, drop(ctx, m, `${l}:mlp_resid`));
  if (hk) x = hk.runAs(`blocks.${l}.hook_resid_post`, x, btc);
  return x;
}

/** Hook points inside the attention core: hooking any of them keeps the step-by-step path below. */
const ATTN_HOOKS = ['attn.hook_q', 'attn.hook_k', 'attn.hook_v', 'attn.hook_attn_scores', 'attn.hook_pattern', 'attn.hook_z'];

/** Causal self-attention. h (B*T, C) -> c_proj output (B*T, C). */
function attention(ctx: Ctx, h: tf.Tensor, l: number): tf.Tensor {
  const { B, T, cfg, hk, fast } = ctx;
  const C = cfg.nEmbd;
  const nh = cfg.nHead;
  const hs = headSize(cfg);
  const qkv = linear(h as tf.Tensor2D, param(ctx, l, 'attn.c_attn.weight'), maybe(ctx, l, 'attn.c_attn.bias'), fast); // (B*T, 3C)
  // Same factor as nanoGPT/Sophia: 1/sqrt(hs), times 1/(layer+1) when the config says so (paper.md §1.1).
  const scale = (1 / Math.sqrt(hs)) * (cfg.scaleAttnByInverseLayerIdx ? 1 / (l + 1) : 1);
  const attnHooked = hk !== undefined && ATTN_HOOKS.some((n) => hk.has(`blocks.${l}.${n}`));
  if (nativeOpsActive() && !attnHooked && ctx.dropout === 0) {
    // one native op from qkv to the heads' outputs side by side; same numbers as the steps below
    const y = attentionNative(qkv, B, T, nh, scale); // (B*T, C)
    return linear(y, param(ctx, l, 'attn.c_proj.weight'), maybe(ctx, l, 'attn.c_proj.bias'), fast);
  }
  // Split before any 4-D transpose: a 5-D (B, T, 3, nh, hs) transpose is much slower on wasm (stack.md §2).
  const [q0, k0, v0] = tf.split(qkv, 3, 1); // 3 x (B*T, C)
  const heads = (t: tf.Tensor, name: string): tf.Tensor => {
    let r = tf.reshape(t, [B, T, nh, hs]); // (B, T, nh, hs), TransformerLens's [batch, pos, head, d_head]
    if (hk) r = hk.run(`blocks.${l}.attn.hook_${name}`, r);
    return tf.transpose(r, [0, 2, 1, 3]); // (B, nh, T, hs)
  };
  const q = heads(q0, 'q');
  const k = heads(k0, 'k');
  const v = heads(v0, 'v');
  const qk = tf.matMul(q, k, false, true); // (B, nh, T, T)
  let p: tf.Tensor; // (B, nh, T, T), rows sum to 1, masked entries exactly 0
  const scoresName = `blocks.${l}.attn.hook_attn_scores`;
  if (nativeOpsActive() && !(hk && hk.has(scoresName))) {
    p = causalSoftmaxNative(qk, scale); // one kernel, same numbers: scale, mask and softmax fused
  } else {
    let att = tf.add(tf.mul(qk, tf.scalar(scale)), causalMask(T)); // masked entries become exactly -Infinity
    if (hk) att = hk.run(scoresName, att);
    p = tf.softmax(att, -1);
  }
  if (hk) p = hk.run(`blocks.${l}.attn.hook_pattern`, p);
  p = drop(ctx, p, `${l}:attn`);
  let z = tf.transpose(tf.matMul(p, v), [0, 2, 1, 3]); // (B, nh, T, hs) -> (B, T, nh, hs)
  if (hk) z = hk.run(`blocks.${l}.attn.hook_z`, z);
  const y = tf.reshape(z, [B * T, C]); // heads side by side, as PyTorch's y.transpose(1, 2).view(B, T, C)
  return linear(y as tf.Tensor2D, param(ctx, l, 'attn.c_proj.weight'), maybe(ctx, l, 'attn.c_proj.bias'), fast);
}

/** MLP. h (B*T, C) -> (B*T, C). */
function mlp(ctx: Ctx, h: tf.Tensor, l: number): tf.Tensor {
  const { B, T, cfg, hk, fast } = ctx;
  const shape4 = [B, T, 4 * cfg.nEmbd];
  let u = linear(h as tf.Tensor2D, param(ctx, l, 'mlp.c_fc.weight'), maybe(ctx, l, 'mlp.c_fc.bias'), fast) as tf.Tensor; // (B*T, 4C)
  if (hk) u = hk.runAs(`blocks.${l}.mlp.hook_pre`, u, shape4);
  let g = mlpActivation(u, activationOf(cfg)); // (B*T, 4C)
  if (hk) g = hk.runAs(`blocks.${l}.mlp.hook_post`, g, shape4);
  return linear(g as tf.Tensor2D, param(ctx, l, 'mlp.c_proj.weight'), maybe(ctx, l, 'mlp.c_proj.bias'), fast);
}

/** (T, T) additive causal mask: 0 on and below the diagonal, -Infinity above (adding 0 leaves logits bit-exact). */
export function causalMask(T: number): tf.Tensor2D {
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = -Infinity;
  return tf.tensor2d(m, [T, T]);
}

/**
 * Checks a token tensor: int32, rank 2, 1 <= T <= blockSize, and (when `checkValues`) every id in [0, vocabSize)
 * (targets also allow -1). Returns [B, T].
 */
export function checkTokens(t: tf.Tensor, cfg: GPTConfig, label: string, checkValues: boolean, allowIgnore: boolean): [number, number] {
  if (!(t instanceof tf.Tensor)) throw new Error(`${label} must be an int32 tf.Tensor of shape [B, T], got ${typeof t}`);
  if (t.rank !== 2) throw new Error(`${label} must have shape [B, T], got [${t.shape}]`);
  if (t.dtype !== 'int32') throw new Error(`${label} must be int32 token ids, got ${t.dtype}`);
  const [B, T] = t.shape as [number, number];
  if (B < 1 || T < 1) throw new Error(`${label} is empty: shape [${t.shape}]`);
  if (T > cfg.blockSize) {
    throw new Error(`sequence length ${T} exceeds the model's blockSize ${cfg.blockSize}; crop ${label} to the last ${cfg.blockSize} tokens`);
  }
  if (checkValues) {
    const ids = t.dataSync();
    const lo = allowIgnore ? -1 : 0;
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] < lo || ids[i] >= cfg.vocabSize) {
        const what = allowIgnore ? `[0, ${cfg.vocabSize}) or -1 (ignored)` : `[0, ${cfg.vocabSize})`;
        throw new Error(`${label}[${Math.floor(i / T)}, ${i % T}] = ${ids[i]} is out of range; token ids must be in ${what}`);
      }
    }
  }
  return [B, T];
}
