// Shared pieces of the benchmarks: the configs A-D, random batches, one training step
// (forward + backward through tf.variableGrads, then AdamW), and the FLOP count of a step.
import * as tf from '@tensorflow/tfjs';
import { makeConfig, GPTConfig, countParams } from '../lib/model/config';
import { initParams, disposeParams, Params } from '../lib/model/params';
import { lossFn } from '../lib/model/gpt';
import { AdamW } from '../lib/train/adamw';
import { Rng } from '../lib/util/rng';

export type ConfigKey = 'A' | 'B' | 'C' | 'D' | 'E';

export interface BenchConfig {
  key: ConfigKey;
  cfg: Readonly<GPTConfig>;
  batch: number;
  /** PyTorch (nanoGPT, float32) ms/step on this machine from issue 8: [1 thread, 2 threads]. */
  pytorchMs: [number, number];
  /**
   * Gradient-accumulation micro-batches per step. tfjs keeps every tensor in the wasm heap, which stops at 4 GB;
   * B and C at full batch need more (the (B*T, 50304) logits and their gradients alone are 0.4 GB each for B), so
   * their step runs as equal micro-batches whose gradients are averaged: the same tokens, FLOPs and update.
   */
  microBatches: number;
}

// The paper's GPT options (no biases, vocab padded to 50304, attention scaled by 1/(layer+1)); sizes from issue 8.
function cfgOf(nLayer: number, nHead: number, nEmbd: number, blockSize: number, vocabSize: number): Readonly<GPTConfig> {
  return makeConfig('paper-small-4L', { nLayer, nHead, nEmbd, blockSize, vocabSize });
}

export const BENCH_CONFIGS: Record<ConfigKey, BenchConfig> = {
  A: { key: 'A', cfg: cfgOf(4, 4, 128, 128, 50304), batch: 8, pytorchMs: [1235, 703], microBatches: 1 },
  B: { key: 'B', cfg: cfgOf(6, 6, 384, 256, 50304), batch: 8, pytorchMs: [5998, 3107], microBatches: 2 },
  C: { key: 'C', cfg: cfgOf(12, 12, 768, 256, 50304), batch: 4, pytorchMs: [10428, 5724], microBatches: 4 },
  D: { key: 'D', cfg: cfgOf(4, 4, 128, 128, 512), batch: 8, pytorchMs: [104, 71], microBatches: 1 },
  // GPT-2 Medium (issue 16): 355M parameters; parameters, gradients and AdamW moments alone are 5.7 GB, so it runs
  // only on the host backend (tensors in Node memory), at full batch. No issue-8 PyTorch number: measured in the run.
  E: { key: 'E', cfg: cfgOf(24, 16, 1024, 256, 50304), batch: 4, pytorchMs: [NaN, NaN], microBatches: 1 },
};

/** Configs whose full step does not fit the 4 GB wasm heap at all (run on the host backend only). */
export const HOST_ONLY: ReadonlySet<ConfigKey> = new Set(['E']);

/**
 * FLOPs of one training step (forward + backward), the usual estimate:
 *   6 * N * tokens                      every parameter is used in one multiply-add forward and two backward
 *                                       (N counts the tied wte/head once and includes wpe, as nanoGPT does)
 * + 6 * L * B * T^2 * C                 attention: q·kᵀ and p·v are 2·B·T²·C each forward, twice that backward
 * (the masked half is counted too: the kernels compute it). AdamW and elementwise ops are not counted.
 */
export function stepFlops(spec: BenchConfig): number {
  const { cfg, batch } = spec;
  const T = cfg.blockSize;
  const tokens = batch * T;
  return 6 * countParams(cfg) * tokens + 6 * cfg.nLayer * batch * T * T * cfg.nEmbd;
}

/** Random token batch (B, T) and its next-token targets, int32. */
export function makeBatch(spec: BenchConfig, seed: number): { idx: tf.Tensor2D; targets: tf.Tensor2D } {
  const { cfg, batch: B } = spec;
  const T = cfg.blockSize;
  const rng = new Rng(seed);
  const x = new Int32Array(B * T);
  const y = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let prev = rng.int(cfg.vocabSize);
    for (let t = 0; t < T; t++) {
      const next = rng.int(cfg.vocabSize);
      x[b * T + t] = prev;
      y[b * T + t] = next;
      prev = next;
    }
  }
  return { idx: tf.tensor2d(x, [B, T], 'int32'), targets: tf.tensor2d(y, [B, T], 'int32') };
}

export interface Trainer {
  params: Params;
  /** One step; resolves with the loss after the parameters were updated. */
  step(idx: tf.Tensor, targets: tf.Tensor): Promise<number>;
  dispose(): void;
}

/** Parameters, AdamW (lr 6e-4, wd 0.1, betas 0.9/0.95) and a step function over them (in `microBatches`
 * accumulated micro-batches; the host backend has no 4 GB heap and runs every config at full batch, 1). */
export function makeTrainer(spec: BenchConfig, fast: boolean, seed: number, microBatches = spec.microBatches): Trainer {
  const params = initParams(spec.cfg, { seed });
  const byVarName = new Map<string, string>();
  for (const [name, v] of Object.entries(params)) byVarName.set(v.name, name);
  const opt = new AdamW({ weightDecay: 0.1 });
  return {
    params,
    async step(idx, targets) {
      const m = microBatches;
      const rows = spec.batch / m;
      let sum: Record<string, tf.Tensor> | undefined;
      let lossSum = 0;
      for (let k = 0; k < m; k++) {
        const x = m === 1 ? idx : tf.slice(idx, [k * rows, 0], [rows, -1]);
        const y = m === 1 ? targets : tf.slice(targets, [k * rows, 0], [rows, -1]);
        const { value, grads } = tf.variableGrads(() => lossFn(params, spec.cfg, x, y, { fast, checkIds: false }), Object.values(params));
        if (m > 1) tf.dispose([x, y]);
        lossSum += (await value.data())[0];
        value.dispose();
        if (!sum) {
          sum = grads;
        } else {
          const acc = sum;
          for (const [vn, g] of Object.entries(grads)) {
            const prev = acc[vn];
            acc[vn] = tf.add(prev, g);
            tf.dispose([prev, g]);
          }
        }
      }
      const named: Record<string, tf.Tensor> = {};
      for (const [vn, g] of Object.entries(sum as Record<string, tf.Tensor>)) {
        // mean of the micro-batch means; the sum is freed at once (config C is at the edge of the 4 GB heap)
        named[byVarName.get(vn) as string] = m === 1 ? g : tf.div(g, m);
        if (m > 1) g.dispose();
      }
      opt.apply(params, named, 6e-4);
      tf.dispose(Object.values(named));
      // wasm (and native) kernels run synchronously: the update is done when apply returns.
      return lossSum / m;
    },
    dispose() {
      disposeParams(params);
      const st = opt.getState();
      tf.dispose([...Object.values(st.m), ...Object.values(st.v)]);
    },
  };
}
