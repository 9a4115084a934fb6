// The GPT-NeoX block (Pythia) as transformers' GPTNeoXLayer:
//   a = dense(attn(LN1(x)))    query_key_value fused per head: (B, T, nh, 3*hd) -> q | k | v; RoPE on the first
//                              rotary_pct of each head's dims
//   parallel:   x = (mlp(LN2(x)) + a) + x
//   sequential: y = a + x; x = mlp(LN2(y)) + y
// mlp = dense_4h_to_h(gelu(dense_h_to_4h(.))). Final: final_layer_norm, then embed_out (untied).
import * as tf from '@tensorflow/tfjs';
import { FamilyConfig } from './family-config';
import { BlockCtx, causalAttention, linearT } from './attention';
import { layerNorm, mlpActivation } from '../ops';

export const NEOX_EMBED = 'gpt_neox.embed_in.weight';
export const NEOX_FINAL_NORM = 'gpt_neox.final_layer_norm.weight';
export const NEOX_FINAL_NORM_BIAS = 'gpt_neox.final_layer_norm.bias';
export const NEOX_HEAD = 'embed_out.weight';

export function neoxBlockPrefix(l: number): string {
  return `gpt_neox.layers.${l}.`;
}

export function neoxBlockTensors(c: FamilyConfig): Array<[string, number[]]> {
  const C = c.dModel;
  const A = c.nHead * c.headDim;
  return [
    ['input_layernorm.weight', [C]], ['input_layernorm.bias', [C]],
    ['post_attention_layernorm.weight', [C]], ['post_attention_layernorm.bias', [C]],
    ['attention.query_key_value.weight', [3 * A, C]], ['attention.query_key_value.bias', [3 * A]],
    ['attention.dense.weight', [C, A]], ['attention.dense.bias', [C]],
    ['mlp.dense_h_to_4h.weight', [c.dMLP, C]], ['mlp.dense_h_to_4h.bias', [c.dMLP]],
    ['mlp.dense_4h_to_h.weight', [C, c.dMLP]], ['mlp.dense_4h_to_h.bias', [C]],
  ];
}

export function neoxBlock(c: FamilyConfig, ctx: BlockCtx, x: tf.Tensor, l: number): tf.Tensor {
  const { B, T, hk, w } = ctx;
  const btc = [B, T, c.dModel];
  const hd = c.headDim;
  const nh = c.nHead;
  if (hk) x = hk.runAs(`blocks.${l}.hook_resid_pre`, x, btc);
  let h = layerNorm(x, w('input_layernorm.weight'), w('input_layernorm.bias'), c.normEps);
  if (hk) h = hk.runAs(`blocks.${l}.ln1.hook_normalized`, h, btc);
  const qkv = tf.reshape(linearT(h, w('attention.query_key_value.weight'), w('attention.query_key_value.bias')), [B * T, nh, 3 * hd]);
  const part = (i: number) => tf.reshape(tf.slice(qkv, [0, 0, i * hd], [B * T, nh, hd]), [B * T, nh * hd]); // per head [q | k | v]
  const z = causalAttention(ctx, l, part(0), part(1), part(2), nh, nh, hd);
  let a = linearT(z, w('attention.dense.weight'), w('attention.dense.bias')); // (B*T, C)
  if (hk) a = hk.runAs(`blocks.${l}.hook_attn_out`, a, btc);
  let mlpIn = x;
  if (!c.parallelResidual) {
    x = tf.add(a, x);
    if (hk) x = hk.runAs(`blocks.${l}.hook_resid_mid`, x, btc);
    mlpIn = x;
  }
  h = layerNorm(mlpIn, w('post_attention_layernorm.weight'), w('post_attention_layernorm.bias'), c.normEps);
  if (hk) h = hk.runAs(`blocks.${l}.ln2.hook_normalized`, h, btc);
  const mlpShape = [B, T, c.dMLP];
  let u = linearT(h, w('mlp.dense_h_to_4h.weight'), w('mlp.dense_h_to_4h.bias'));
  if (hk) u = hk.runAs(`blocks.${l}.mlp.hook_pre`, u, mlpShape);
  let g = mlpActivation(u, c.activation === 'gelu' ? 'gelu' : 'gelu_new');
  if (hk) g = hk.runAs(`blocks.${l}.mlp.hook_post`, g, mlpShape);
  let m = linearT(g, w('mlp.dense_4h_to_h.weight'), w('mlp.dense_4h_to_h.bias'));
  if (hk) m = hk.runAs(`blocks.${l}.hook_mlp_out`, m, btc);
  x = c.parallelResidual ? tf.add(tf.add(m, a), x) : tf.add(m, x);
  if (hk) x = hk.runAs(`blocks.${l}.hook_resid_post`, x, btc);
  return x;
}
