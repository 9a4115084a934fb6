// One optimisation step: micro-batch gradients (with gradient accumulation), global-norm clipping, AdamW.
//
// Gradient accumulation over k micro-batches, two conventions (reference/paper.md §7.3, §11.6):
//   'mean'  nanoGPT: each micro-batch loss is divided by k before backward, so the accumulated gradient is the gradient
//           of the mean loss, the same as one batch k times larger;
//   'sum'   the Inheritune authors' code: the loss is not divided, gradients are summed (k times the mean gradient),
//           and clipping then acts on the summed gradient.
// Tensors stay on the device: the returned loss and norm are scalars the caller reads back when it chooses to.
import * as tf from '@tensorflow/tfjs';
import { GPTConfig } from '../model/config';
import { Params } from '../model/params';
import { forward } from '../model/gpt';
import { Batch } from '../data/sampler';
import { AdamW, clipByGlobalNorm } from './adamw';
import { DistillOptions, distillLoss, teacherLogits } from './distill';

export type Accumulation = 'mean' | 'sum';

/** int32 (B, T) tensors of a batch; token ids are checked in JS (cheap), so the model need not read them back. */
export function batchTensors(batch: Batch, vocabSize: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const [B, T] = batch.shape;
  if (batch.x.length !== B * T || batch.y.length !== B * T) {
    throw new Error(`batch arrays hold ${batch.x.length}/${batch.y.length} ids, expected B*T = ${B * T} for shape [${B}, ${T}]`);
  }
  for (let i = 0; i < batch.x.length; i++) {
    const a = batch.x[i];
    const b = batch.y[i];
    if (a < 0 || a >= vocabSize || b < -1 || b >= vocabSize) {
      const bad = a < 0 || a >= vocabSize ? `x = ${a}` : `y = ${b}`;
      throw new Error(`batch position [${Math.floor(i / T)}, ${i % T}] has ${bad}; token ids must be in [0, ${vocabSize}) (targets may be -1)`);
    }
  }
  return { x: tf.tensor2d(batch.x, [B, T], 'int32'), y: tf.tensor2d(batch.y, [B, T], 'int32') };
}

export interface GradientOptions {
  accumulation: Accumulation;
  /** Custom-gradient 2-D matMul path of the model (default: the backend's preference). */
  fast?: boolean;
  /** One dropout seed per micro-batch (only used when cfg.dropout > 0). */
  seeds?: number[];
  /** Knowledge distillation: the loss becomes alpha·CE + (1-alpha)·T²·KL(teacher || student). */
  distill?: DistillOptions;
}

export interface Gradients {
  /** Accumulated gradient per parameter name (HF names). The caller disposes them. */
  grads: Record<string, tf.Tensor>;
  /** Mean of the micro-batch losses, unscaled (what nanoGPT would print as loss). The caller disposes it. */
  loss: tf.Scalar;
}

/**
 * Gradients of the training loss over k = batches.length micro-batches, accumulated by the chosen convention.
 * Only trainable parameters get gradients. Creates no tensors besides the returned ones.
 */
export function accumulateGradients(params: Params, cfg: GPTConfig, batches: Batch[], opts: GradientOptions): Gradients {
  const k = batches.length;
  if (k < 1) throw new Error('accumulateGradients needs at least one micro-batch');
  if (opts.accumulation !== 'mean' && opts.accumulation !== 'sum') {
    throw new Error(`accumulation must be 'mean' (nanoGPT) or 'sum' (the authors' code), got '${String(opts.accumulation)}'`);
  }
  const names = Object.keys(params).filter((n) => params[n].trainable);
  const vars = names.map((n) => params[n]);
  const scale = opts.accumulation === 'mean' && k > 1 ? 1 / k : 1;
  let acc: tf.Tensor[] | undefined;
  let lossSum: tf.Scalar | undefined;
  try {
    for (let i = 0; i < k; i++) {
      const { x, y } = batchTensors(batches[i], cfg.vocabSize);
      // Teacher logits are computed before (and outside) the gradient tape: constants for the student's loss.
      const teacher = opts.distill ? teacherLogits(opts.distill, x) : undefined;
      const kept: { loss?: tf.Scalar } = {};
      try {
        const { value, grads } = tf.variableGrads(() => {
          const fo = { fast: opts.fast, training: true, seed: opts.seeds?.[i], checkIds: false };
          let l: tf.Scalar;
          if (teacher && opts.distill) {
            const { logits } = forward(params, cfg, x, fo);
            l = distillLoss(logits, teacher, y, opts.distill);
          } else {
            l = forward(params, cfg, x, { ...fo, targets: y }).loss as tf.Scalar;
          }
          kept.loss = tf.keep(l); // survives the tape's tidy: we report the unscaled loss
          return scale === 1 ? l : tf.mul(l, scale);
        }, vars);
        if (scale !== 1) value.dispose(); // with scale 1 the value is the kept loss itself
        const g = names.map((n) => grads[params[n].name]);
        if (g.some((t) => !t)) throw new Error(`no gradient for ${names.filter((n) => !grads[params[n].name]).join(', ')}`);
        if (!acc) acc = g;
        else {
          const prev: tf.Tensor[] = acc;
          acc = tf.tidy(() => prev.map((a, j) => tf.add(a, g[j])));
          tf.dispose([...prev, ...g]);
        }
        const l = kept.loss as tf.Scalar;
        kept.loss = undefined;
        if (!lossSum) lossSum = l;
        else {
          const prevLoss: tf.Scalar = lossSum;
          lossSum = tf.add(prevLoss, l) as tf.Scalar;
          tf.dispose([prevLoss, l]);
        }
      } finally {
        tf.dispose([x, y]);
        if (teacher) teacher.dispose();
        if (kept.loss) kept.loss.dispose();
      }
    }
  } catch (e) {
    if (acc) tf.dispose(acc);
    if (lossSum) lossSum.dispose();
    throw e;
  }
  const grads: Record<string, tf.Tensor> = {};
  names.forEach((n, j) => (grads[n] = (acc as tf.Tensor[])[j]));
  let loss = lossSum as tf.Scalar;
  if (k > 1) {
    const sum = loss;
    loss = tf.div(sum, k) as tf.Scalar;
    sum.dispose();
  }
  return { grads, loss };
}

/** sqrt(Σ‖g‖²) over every gradient, as clip_grad_norm_ computes it (before clipping). */
export function globalNorm(grads: Record<string, tf.Tensor>): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}

/**
 * Clips (when gradClip > 0) and applies one AdamW update at learning rate lr. Disposes `grads`. Returns the global
 * gradient norm before clipping (the caller disposes it).
 */
export function applyUpdate(params: Params, grads: Record<string, tf.Tensor>, opt: AdamW, lr: number, gradClip: number): tf.Scalar {
  try {
    if (gradClip > 0) {
      const { grads: clipped, norm } = clipByGlobalNorm(grads, gradClip);
      try {
        opt.apply(params, clipped, lr);
      } finally {
        tf.dispose(Object.values(clipped));
      }
      return norm;
    }
    const norm = globalNorm(grads);
    opt.apply(params, grads, lr);
    return norm;
  } finally {
    tf.dispose(Object.values(grads));
  }
}
