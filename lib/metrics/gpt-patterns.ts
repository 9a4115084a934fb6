// Adapter from our GPT (lib/model) to the rank protocol: a PatternFn that runs the model with a hook cache and
// returns blocks.{l}.attn.hook_pattern, (B, nh, T, T), for layers 0..last. The forward stops after the last
// requested block (TransformerLens stopAtLayer), so no logits are computed.
import * as tf from '@tensorflow/tfjs';
import { GPTConfig } from '../model/config';
import { Params } from '../model/params';
import { actName, runWithCache } from '../model/hooks';
import { PatternFn } from './measure';

/** lastLayer: the deepest block whose pattern is needed (default the last block). */
export function gptPatternSource(params: Params, cfg: GPTConfig, lastLayer = cfg.nLayer - 1): PatternFn {
  if (!Number.isInteger(lastLayer) || lastLayer < 0 || lastLayer >= cfg.nLayer) {
    throw new Error(`lastLayer (${lastLayer}) must be a block index in 0..${cfg.nLayer - 1}`);
  }
  const names = Array.from({ length: lastLayer + 1 }, (_, l) => actName('pattern', l));
  return async (tokens: Int32Array, B: number, T: number) => {
    if (T > cfg.blockSize) throw new Error(`T (${T}) exceeds the model's context length (block size ${cfg.blockSize})`);
    const idx = tf.tensor2d(tokens, [B, T], 'int32'); // (B, T)
    let res: ReturnType<typeof runWithCache>;
    try {
      res = runWithCache(params, cfg, idx, {
        namesFilter: names,
        stopAtLayer: lastLayer + 1, // = nLayer for the last block: still skips ln_f and the (B*T, V) LM head
      });
    } finally {
      idx.dispose();
    }
    for (const t of [res.logits, res.loss, res.resid]) t?.dispose();
    // The cache's tensors pass to the caller, who disposes each one; the emptied cache is dropped.
    return names.map((n) => res.cache.get(n) as tf.Tensor4D);
  };
}
