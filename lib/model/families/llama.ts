// The Llama block as transformers' LlamaDecoderLayer (also Mistral and Qwen2, which differ only by config):
//   x += o_proj(attn(rmsnorm_in(x)))       q/k/v with RoPE, grouped-query heads, optional q/k/v(/o) biases
//   x += down_proj(silu(gate_proj(h)) * up_proj(h)),  h = rmsnorm_post(x)
// Final: model.norm (RMSNorm), then lm_head (or embed_tokens when tied).
import * as tf from '@tensorflow/tfjs';
import { FamilyConfig } from './family-config';
import { BlockCtx, causalAttention, linearT, rmsNorm } from './attention';

export const LLAMA_EMBED = 'model.embed_tokens.weight';
export const LLAMA_FINAL_NORM = 'model.norm.weight';
export const LLAMA_HEAD = 'lm_head.weight';

export function llamaBlockPrefix(l: number): string {
  return `model.layers.${l}.`;
}

/** [suffix, shape] of every tensor of one block. */
export function llamaBlockTensors(c: FamilyConfig): Array<[string, number[]]> {
  const C = c.dModel;
  const q = c.nHead * c.headDim;
  const kv = c.nKVHead * c.headDim;
  const t: Array<[string, number[]]> = [
    ['input_layernorm.weight', [C]],
    ['self_attn.q_proj.weight', [q, C]],
    ['self_attn.k_proj.weight', [kv, C]],
    ['self_attn.v_proj.weight', [kv, C]],
    ['self_attn.o_proj.weight', [C, q]],
    ['post_attention_layernorm.weight', [C]],
    ['mlp.gate_proj.weight', [c.dMLP, C]],
    ['mlp.up_proj.weight', [c.dMLP, C]],
    ['mlp.down_proj.weight', [C, c.dMLP]],
  ];
  if (c.qkvBias) t.push(['self_attn.q_proj.bias', [q]], ['self_attn.k_proj.bias', [kv]], ['self_attn.v_proj.bias', [kv]]);
  if (c.oBias) t.push(['self_attn.o_proj.bias', [C]]);
  if (c.mlpBias) t.push(['mlp.gate_proj.bias', [c.dMLP]], ['mlp.up_proj.bias', [c.dMLP]], ['mlp.down_proj.bias', [C]]);
  return t;
}

/** One block. x (B*T, C) -> (B*T, C). */
export function llamaBlock(c: FamilyConfig, ctx: BlockCtx, x: tf.Tensor, l: number): tf.Tensor {
  const { B, T, hk, w, maybe } = ctx;
  const btc = [B, T, c.dModel];
  if (hk) x = hk.runAs(`blocks.${l}.hook_resid_pre`, x, btc);
  let h = rmsNorm(x, w('input_layernorm.weight'), c.normEps);
  if (hk) h = hk.runAs(`blocks.${l}.ln1.hook_normalized`, h, btc);
  const q = linearT(h, w('self_attn.q_proj.weight'), maybe('self_attn.q_proj.bias')); // (B*T, nh*hd)
  const k = linearT(h, w('self_attn.k_proj.weight'), maybe('self_attn.k_proj.bias')); // (B*T, nkv*hd)
  const v = linearT(h, w('self_attn.v_proj.weight'), maybe('self_attn.v_proj.bias'));
  const z = causalAttention(ctx, l, q, k, v, c.nHead, c.nKVHead, c.headDim);
  let a = linearT(z, w('self_attn.o_proj.weight'), maybe('self_attn.o_proj.bias')); // (B*T, C)
  if (hk) a = hk.runAs(`blocks.${l}.hook_attn_out`, a, btc);
  x = tf.add(x, a);
  if (hk) x = hk.runAs(`blocks.${l}.hook_resid_mid`, x, btc);
  h = rmsNorm(x, w('post_attention_layernorm.weight'), c.normEps);
  if (hk) h = hk.runAs(`blocks.${l}.ln2.hook_normalized`, h, btc);
  const mlpShape = [B, T, c.dMLP];
  let gate = linearT(h, w('mlp.gate_proj.weight'), maybe('mlp.gate_proj.bias')); // (B*T, dMLP)
  if (hk) gate = hk.runAs(`blocks.${l}.mlp.hook_pre`, gate, mlpShape);
  const up = linearT(h, w('mlp.up_proj.weight'), maybe('mlp.up_proj.bias'));
  let g = tf.mul(tf.mul(gate, tf.sigmoid(gate)), up); // silu(gate) * up
  if (hk) g = hk.runAs(`blocks.${l}.mlp.hook_post`, g, mlpShape);
  let m = linearT(g, w('mlp.down_proj.weight'), maybe('mlp.down_proj.bias'));
  if (hk) m = hk.runAs(`blocks.${l}.hook_mlp_out`, m, btc);
  x = tf.add(x, m);
  if (hk) x = hk.runAs(`blocks.${l}.hook_resid_post`, x, btc);
  return x;
}
