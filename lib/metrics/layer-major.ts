// The rank protocol's pattern source for models streamed from disk (a Llama-3-8B-shaped BF16 folder): on its first
// call it runs every window layer by layer (model.runLayerMajor: each block is read and widened once, not once per
// batch), feeding the sink diagnostics layer by layer and keeping each (batch, layer) pattern on the host; later calls
// hand the patterns of the batch asked for back as tensors, in the protocol's batch order.
// Host memory: the patterns of all windows, N * nh * T^2 * 4 bytes (Llama-3-8B at N = T = 100: 4.1 GB).
import * as tf from '@tensorflow/tfjs';
import { HookedModel } from '../model/hooked-model';
import { actName } from '../model/hooks';
import type { PatternFn } from './measure';
import { SinkAccumulator } from './sink-measure';

const KINDS = ['pattern', 'resid_pre', 'resid_post', 'v'] as const;

/** Progress of the layer-major pass: `done` of `total` blocks have run on every window, `elapsedMs` since it began. */
export type BlockProgress = (p: { done: number; total: number; elapsedMs: number }) => void;

/**
 * windows: every window the protocol will ask for, in order; batchSize: the protocol's windows per call. onBlock is
 * called as each block finishes on the last batch (the pass gives the protocol nothing until every block has run).
 */
export function layerMajorSinkPatternSource(
  model: HookedModel, acc: SinkAccumulator, windows: readonly Int32Array[], batchSize: number, onBlock?: BlockProgress,
): PatternFn {
  if (!model.runLayerMajor) throw new Error('layerMajorSinkPatternSource: the model has no layer-major pass');
  const L = model.dims.nLayer;
  let patterns: Array<Array<Float32Array | undefined>> | undefined; // [batch][layer] (B, nh, T, T)
  let next = 0;
  const T = windows[0]?.length ?? 0;
  const batches: Int32Array[] = [];
  for (let s = 0; s < windows.length; s += batchSize) {
    const part = windows.slice(s, s + batchSize);
    const ids = new Int32Array(part.length * T);
    part.forEach((w, i) => ids.set(w, i * T));
    batches.push(ids);
  }
  const names = new Map<string, [number, (typeof KINDS)[number]]>();
  for (let l = 0; l < L; l++) for (const k of KINDS) names.set(actName(k, l), [l, k]);

  const pass = (): void => {
    const t0 = performance.now();
    const pats = batches.map(() => new Array<Float32Array | undefined>(L));
    // the current layer's activations of one batch, until its resid_post arrives
    let pending: Partial<Record<(typeof KINDS)[number], Float32Array>> = {};
    model.runLayerMajor!(batches, T, (n) => names.has(n), (b, name, t) => {
      const [l, kind] = names.get(name)!;
      pending[kind] = t.dataSync() as Float32Array;
      if (kind !== 'resid_post') return;
      const B = batches[b].length / T;
      const { pattern, resid_pre: pre, resid_post: post, v } = pending;
      if (!pattern || !pre || !post || !v) throw new Error(`layer-major pass: layer ${l} of batch ${b} lacks a pattern, residual or value`);
      acc.addLayer(l, pattern, pre, post, v, B, T);
      pats[b][l] = pattern;
      pending = {};
      if (b === batches.length - 1) onBlock?.({ done: l + 1, total: L, elapsedMs: performance.now() - t0 });
    });
    for (const ids of batches) acc.addWindows(ids.length / T);
    acc.forwardMs += performance.now() - t0;
    patterns = pats;
  };

  return async (tokens: Int32Array, B: number, t: number) => {
    if (!patterns) pass();
    const b = next++;
    const want = batches[b];
    if (!want || t !== T || tokens.length !== want.length || tokens.some((v, i) => v !== want[i])) {
      throw new Error(`layer-major source: call ${b} asked for windows other than batch ${b} of the ${batches.length} prepared (the protocol must ask in order with batchSize ${batchSize})`);
    }
    const H = model.dims.nHead;
    const out = patterns![b].map((p, l) => {
      if (!p) throw new Error(`layer-major source: no pattern for layer ${l} of batch ${b}`);
      return tf.tensor4d(p, [B, H, T, T]);
    });
    patterns![b] = []; // the host copies are no longer needed
    return out;
  };
}
