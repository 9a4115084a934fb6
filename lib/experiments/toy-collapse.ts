// The authors' two toy demos (attention-collapse-demo/attention_demos.ipynb; reference/paper.md §8), with sizes by
// scale. `paper` is the notebook's exact setting; `lab` and `tiny` shrink sizes and steps, never the procedure.
//
// Demo 1: rank of the attention logits before and after softmax, with random Kaiming weights and no training.
// Demo 2: one attention layer trained with Adam on MSE against pure-noise targets; the batch-mean attention rank
//         of each head falls (paper: average 45.25 at step 0 -> 1.00 by step 500).
//
// Random numbers come from our seeded xoshiro Rng (lib/util/rng), not PyTorch's generator, so individual draws
// differ from the authors'; the distributions are the same. Seeds are returned with every result.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';
import { byScale, Scale } from '../scale';
import { approxRank } from '../metrics/rank';
import {
  batchMeanPerHead,
  disposeToyAttention,
  initToyAttention,
  linear2d,
  normalArray,
  toyAttentionForward,
} from './toy-attention';

// ---- Demo 1 ---------------------------------------------------------------------------------------------------

export interface SoftmaxRankConfig {
  seed: number;
  /** Sequence length T (the matrices are T×T). */
  T: number;
  hidden: number;
  heads: number;
  headDim: number;
  batch: number;
  tau: number;
}

/**
 * Paper: T 1024, hidden 2048, 32 heads × 64, batch 8 (its 64 SVDs of 1024×1024 matrices take minutes here).
 * lab shortens T only. Measured (wasm, seed 42; notebook: pre 274-276, post 1 for all 32 heads):
 *   paper pre 273-275, post 1 for all 32 heads, 13 min (12.6 of them in the SVDs);
 *   lab   pre 111-113 of 256, post 1 for all 32 heads, 10 s;   tiny pre 26-27 of 64, post 1 (4 heads), 0.2 s.
 */
export const SOFTMAX_RANK_SIZES: Record<Scale, SoftmaxRankConfig> = {
  tiny: { seed: 42, T: 64, hidden: 256, heads: 4, headDim: 64, batch: 2, tau: 0.9 },
  lab: { seed: 42, T: 256, hidden: 2048, heads: 32, headDim: 64, batch: 8, tau: 0.9 },
  paper: { seed: 42, T: 1024, hidden: 2048, heads: 32, headDim: 64, batch: 8, tau: 0.9 },
};

export interface SoftmaxRankResult {
  config: SoftmaxRankConfig;
  /** std of W_Q and W_K: kaiming_normal_ on a [heads, hidden, headDim] tensor has fan_in = hidden·headDim. */
  weightStd: number;
  /** k*(tau) per head of the batch-mean logits QKᵀ/sqrt(hd) (before softmax). */
  preRank: number[];
  /** k*(tau) per head of the batch-mean softmax(QKᵀ/sqrt(hd)). */
  postRank: number[];
  /** Empirical std of the logits over all heads (the paper's explanation: ≈ 2/headDim, so rows are ≈ uniform). */
  logitStd: number;
  timings: { forwardMs: number; svdMs: number };
}

/** kaiming_normal_(relu) std of a [heads, hidden, headDim] tensor: PyTorch's fan_in is hidden·headDim. */
export function softmaxDemoWeightStd(hidden: number, headDim: number): number {
  return Math.sqrt(2 / (hidden * headDim));
}

/** Demo 1. Per head: pre = mean_b(Q_b K_bᵀ / sqrt(hd)), post = mean_b softmax(...), no mask; k* of each. */
export async function runSoftmaxRankDemo(
  config: Partial<SoftmaxRankConfig> = {},
  scale?: Scale,
): Promise<SoftmaxRankResult> {
  const cfg: SoftmaxRankConfig = { ...byScale(SOFTMAX_RANK_SIZES, scale), ...config };
  const { T, hidden: d, heads, headDim: hd, batch: B } = cfg;
  const rng = new Rng(cfg.seed);
  // Draw order as in the notebook: X, then W_Q, W_K (W_V is drawn there too but affects neither matrix).
  const weightStd = softmaxDemoWeightStd(d, hd);
  const x = tf.tensor2d(normalArray(rng, B * T * d), [B * T, d]); // (B*T, d)
  const wq = normalArray(rng, heads * d * hd, weightStd); // (heads, d, hd)
  const wk = normalArray(rng, heads * d * hd, weightStd);
  const preRank: number[] = [];
  const postRank: number[] = [];
  let forwardMs = 0;
  let svdMs = 0;
  let sum = 0;
  let sumSq = 0;
  try {
    for (let h = 0; h < heads; h++) {
      const f0 = performance.now();
      const [pre, post, s1, s2] = tf.tidy(() => {
        const w = (a: Float32Array) => tf.tensor2d(a.subarray(h * d * hd, (h + 1) * d * hd), [d, hd]);
        const q = tf.reshape(tf.matMul(x, w(wq)), [B, T, hd]); // (B, T, hd)
        const k = tf.reshape(tf.matMul(x, w(wk)), [B, T, hd]);
        const logits = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hd)); // (B, T, T)
        return [tf.mean(logits, 0), tf.mean(tf.softmax(logits), 0), tf.sum(logits), tf.sum(tf.square(logits))];
      });
      const [preD, postD, s1D, s2D] = await Promise.all([pre.data(), post.data(), s1.data(), s2.data()]);
      tf.dispose([pre, post, s1, s2]);
      sum += s1D[0];
      sumSq += s2D[0];
      forwardMs += performance.now() - f0;
      const s0 = performance.now();
      preRank.push(approxRank(Float64Array.from(preD), T, cfg.tau)); // (T, T)
      postRank.push(approxRank(Float64Array.from(postD), T, cfg.tau));
      svdMs += performance.now() - s0;
    }
  } finally {
    x.dispose();
  }
  const count = heads * B * T * T;
  const logitStd = Math.sqrt(Math.max(0, sumSq / count - (sum / count) ** 2));
  return { config: cfg, weightStd, preRank, postRank, logitStd, timings: { forwardMs, svdMs } };
}

// ---- Demo 2 ---------------------------------------------------------------------------------------------------

export interface CollapseTrainingConfig {
  seed: number;
  T: number;
  hidden: number;
  heads: number;
  batch: number;
  steps: number;
  checkpointEvery: number;
  lr: number;
  tau: number;
}

/**
 * Paper: T 128, d 512, 8 heads (hd 64), batch 16, 1000 steps, checkpoint every 50.
 * lab keeps T, head_dim 64, batch 16 (so B·T tokens per step) and halves d (4 heads): the initial attention
 * statistics do not depend on d (q entries have std sqrt(d · 2/d) = sqrt(2)), and the step is ~4x cheaper.
 * Shrinking B·T instead (T 64, batch 8) slowed the collapse several-fold: the noise-target gradient that drives
 * attention toward uniform rows (averaging T random values minimises the output's variance) is estimated from B·T
 * tokens. tiny only checks the machinery; it is too short and too small to collapse.
 * Measured on the wasm backend, 2 cores shared with other jobs (load 2-8), seed 42:
 *   paper 45.50 -> 4.38 (step 200) -> 1.00 from step 300 to 1000, 29 min;
 *   lab   45.25 -> 1.25 (step 200) -> 1.00 from step 225 to 500, 70 s;
 *   tiny  13 -> 12.5 (40 steps), ~1 s.
 */
export const COLLAPSE_TRAINING_SIZES: Record<Scale, CollapseTrainingConfig> = {
  tiny: { seed: 42, T: 32, hidden: 128, heads: 2, batch: 4, steps: 40, checkpointEvery: 10, lr: 1e-3, tau: 0.9 },
  lab: { seed: 42, T: 128, hidden: 256, heads: 4, batch: 16, steps: 500, checkpointEvery: 25, lr: 1e-3, tau: 0.9 },
  paper: { seed: 42, T: 128, hidden: 512, heads: 8, batch: 16, steps: 1000, checkpointEvery: 50, lr: 1e-3, tau: 0.9 },
};

export interface CollapseCheckpoint {
  /** Number of Adam updates done (0 = the initialisation). */
  step: number;
  /** Mean over heads of perHead. */
  avgRank: number;
  /** k*(tau) of the batch-mean attention matrix of each head on the fixed validation batch. */
  perHead: number[];
  /** Training loss of the last update (NaN at step 0). */
  loss: number;
}

export interface CollapseTrainingResult {
  config: CollapseTrainingConfig;
  /** Seeds of the three random streams: weights, per-step inputs/targets, the fixed validation batch. */
  seeds: { init: number; data: number; val: number };
  trajectory: CollapseCheckpoint[];
  /** Training loss after every update (length steps). */
  losses: Float32Array;
  timings: { trainMs: number; rankMs: number; msPerStep: number };
}

export interface CollapseProgress {
  checkpoint: CollapseCheckpoint;
  steps: number;
  elapsedMs: number;
}

/**
 * Demo 2. Checkpoints at step 0 (before training), every `checkpointEvery` updates, and after the last update.
 * The validation batch (same size as the training batch) is drawn once from its own stream (the authors draw theirs
 * after re-seeding torch with 42; reference/paper.md §8).
 * Each update draws fresh X ~ N(0,1) (B, T, d) and a pure-noise target of the same shape; loss = mean squared
 * error; Adam(lr, 0.9, 0.999, eps 1e-8: PyTorch's defaults; tfjs's default eps is 1e-7).
 */
export async function runCollapseTraining(
  config: Partial<CollapseTrainingConfig> = {},
  opts: { scale?: Scale; onProgress?: (p: CollapseProgress) => void } = {},
): Promise<CollapseTrainingResult> {
  const cfg: CollapseTrainingConfig = { ...byScale(COLLAPSE_TRAINING_SIZES, opts.scale), ...config };
  const { T, hidden: d, heads, batch: B, steps, checkpointEvery } = cfg;
  if (d % heads !== 0) throw new Error(`hidden (${d}) must be divisible by heads (${heads})`);
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`steps (${steps}) must be a non-negative integer`);
  if (!Number.isInteger(checkpointEvery) || checkpointEvery < 1) {
    throw new Error(`checkpointEvery (${checkpointEvery}) must be a positive integer`);
  }
  const seeds = { init: cfg.seed, data: cfg.seed + 1, val: cfg.seed + 2 };
  const params = initToyAttention(d, new Rng(seeds.init));
  const dataRng = new Rng(seeds.data);
  const xVal = tf.tensor3d(normalArray(new Rng(seeds.val), B * T * d), [B, T, d]); // (B, T, d), fixed
  const optimizer = tf.train.adam(cfg.lr, 0.9, 0.999, 1e-8);
  const vars = [params.wq, params.wk, params.wv, params.wo];
  const trajectory: CollapseCheckpoint[] = [];
  const losses = new Float32Array(steps);
  let trainMs = 0;
  let rankMs = 0;
  const t0 = performance.now();

  const checkpoint = async (step: number) => {
    const r0 = performance.now();
    const att = tf.tidy(() => toyAttentionForward(params, xVal, heads).att); // (B, nh, T, T)
    let means: Float64Array[];
    try {
      means = await batchMeanPerHead(att); // nh × (T, T)
    } finally {
      att.dispose();
    }
    const perHead = means.map((m) => approxRank(m, T, cfg.tau));
    const cp: CollapseCheckpoint = {
      step,
      avgRank: perHead.reduce((a, b) => a + b, 0) / heads,
      perHead,
      loss: step === 0 ? NaN : losses[step - 1],
    };
    trajectory.push(cp);
    rankMs += performance.now() - r0;
    opts.onProgress?.({ checkpoint: cp, steps, elapsedMs: performance.now() - t0 });
  };

  try {
    await checkpoint(0);
    for (let step = 1; step <= steps; step++) {
      const s0 = performance.now();
      const x = tf.tensor3d(normalArray(dataRng, B * T * d), [B, T, d]); // (B, T, d)
      const target = tf.tensor3d(normalArray(dataRng, B * T * d), [B, T, d]);
      const loss = optimizer.minimize(
        () => tf.mean(tf.square(tf.sub(toyAttentionForward(params, x, heads).out, target))) as tf.Scalar,
        true,
        vars,
      );
      losses[step - 1] = loss ? (await loss.data())[0] : NaN;
      tf.dispose([x, target, loss as tf.Tensor]);
      trainMs += performance.now() - s0;
      if (step % checkpointEvery === 0 || step === steps) await checkpoint(step);
    }
  } finally {
    optimizer.dispose();
    disposeToyAttention(params);
    xVal.dispose();
  }
  return { config: cfg, seeds, trajectory, losses, timings: { trainMs, rankMs, msPerStep: steps ? trainMs / steps : 0 } };
}

export { linear2d };
