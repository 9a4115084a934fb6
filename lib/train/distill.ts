// Knowledge distillation loss (Hinton et al. 2015), the paper's KD baseline (reference/paper.md §5, Fig. 17):
//   loss = alpha · CE(student, targets) + (1 − alpha) · s · KL(softmax(teacher/τ) ‖ softmax(student/τ))
// with s = τ² by default. Why τ²: the soft-target gradient scales as 1/τ², so Hinton et al. multiply that term by τ²
// to keep the two terms' relative weight when τ changes; DistilBERT and PyTorch's KD recipes
// (`kl_div(log_softmax(s/τ), softmax(t/τ), reduction='batchmean') * τ**2`) do the same. `scaleByT2: false` gives the
// unscaled variant. At the paper's τ = 1 both are identical. The paper: alpha 0.6; τ = 1 (v2 summary; v4 silent).
// KL and CE are means over the same positions: those whose target is >= 0 (ignore_index -1), i.e. PyTorch's
// 'batchmean' over tokens. The teacher's logits are inputs here (computed without gradient by teacherLogits).
import * as tf from '@tensorflow/tfjs';
import { GPTConfig } from '../model/config';
import { Params } from '../model/params';
import { forward } from '../model/gpt';
import { crossEntropy } from '../model/ops';

export interface DistillLossOptions {
  /** Weight of the hard-label cross-entropy (paper: 0.6). */
  alpha?: number;
  /** Softmax temperature τ of both distributions in the KL term (paper: 1). */
  temperature?: number;
  /** Multiply the KL term by τ² (Hinton; default true). */
  scaleByT2?: boolean;
}

export interface DistillOptions extends DistillLossOptions {
  /** The teacher's parameters; never updated (no gradient flows to them). */
  teacher: Params;
  teacherConfig: GPTConfig;
  /** Model path for the teacher's forward (default: the backend's preference). */
  fast?: boolean;
}

export const DISTILL_DEFAULTS = { alpha: 0.6, temperature: 1, scaleByT2: true } as const;

/** Resolved, validated loss options. */
export function distillSettings(o: DistillLossOptions): Required<DistillLossOptions> {
  const s = { ...DISTILL_DEFAULTS, ...stripUndefined(o) };
  if (!(s.alpha >= 0 && s.alpha <= 1)) throw new Error(`distillation alpha must be in [0, 1], got ${s.alpha}`);
  if (!(s.temperature > 0) || !Number.isFinite(s.temperature)) throw new Error(`distillation temperature must be > 0, got ${s.temperature}`);
  if (typeof s.scaleByT2 !== 'boolean') throw new Error(`scaleByT2 must be true or false, got ${String(s.scaleByT2)}`);
  return s;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** The teacher's (B, T, V) logits for idx, outside any gradient tape. The caller disposes them. */
export function teacherLogits(d: DistillOptions, idx: tf.Tensor): tf.Tensor3D {
  // tf.stopGradient would not be enough inside a tape (the teacher's graph would still be recorded); callers run this
  // before tf.variableGrads, and the tidy frees every intermediate.
  return tf.tidy(() => forward(d.teacher, d.teacherConfig, idx, { fast: d.fast, checkIds: false }).logits);
}

/**
 * alpha·CE + (1−alpha)·[τ²]·KL(teacher ‖ student). student and teacher logits (B, T, V), targets (B, T) int32 with
 * -1 = ignored. Returns a scalar; intermediates are freed.
 */
export function distillLoss(student: tf.Tensor, teacher: tf.Tensor, targets: tf.Tensor, opts: DistillLossOptions = {}): tf.Scalar {
  const { alpha, temperature: tau, scaleByT2 } = distillSettings(opts);
  if (student.rank !== 3 || teacher.rank !== 3) throw new Error(`distillLoss needs (B, T, V) logits, got [${student.shape}] and [${teacher.shape}]`);
  if (student.shape.some((d, i) => d !== teacher.shape[i])) {
    throw new Error(`student logits [${student.shape}] and teacher logits [${teacher.shape}] must have the same shape (same vocabulary)`);
  }
  const [B, T, V] = student.shape;
  if (targets.shape.length !== 2 || targets.shape[0] !== B || targets.shape[1] !== T) {
    throw new Error(`targets shape [${targets.shape}] must be [${B}, ${T}]`);
  }
  return tf.tidy(() => {
    const N = B * T;
    const s2 = tf.reshape(student, [N, V]) as tf.Tensor2D; // (N, V)
    const t2 = tf.reshape(teacher, [N, V]) as tf.Tensor2D;
    const y = tf.reshape(targets, [N]) as tf.Tensor1D;
    const ce = crossEntropy(s2, y, true); // the fused path: same value and gradient, ~50x faster on wasm at (N, V)
    if (alpha === 1) return ce;
    const keep = tf.cast(tf.greaterEqual(y, tf.scalar(0, 'int32')), 'float32');
    const kl = klMean(s2, t2, tf.div(keep, tf.sum(keep)) as tf.Tensor1D, tau);
    const klWeight = (1 - alpha) * (scaleByT2 ? tau * tau : 1);
    return tf.add(tf.mul(ce, alpha), tf.mul(kl, klWeight)) as tf.Scalar;
  });
}

/**
 * Σ_i w_i · KL(softmax(t_i/τ) ‖ softmax(s_i/τ)) over rows, with the closed-form gradient w_i (ps_i − pt_i) / τ for
 * s (the teacher gets none). Autograd through logSoftmax kept ~15 (N, V) arrays for the backward (3.8 GB of wasm heap
 * at the lab's N = 1024, V = 50304); this keeps two, ps and pt. s, t (N, V), w (N).
 */
function klMean(s: tf.Tensor2D, t: tf.Tensor2D, w: tf.Tensor1D, tau: number): tf.Scalar {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const [value, ps, pt] = tf.tidy(() => {
      const logPs = tf.logSoftmax(tf.div(x, tau)); // (N, V)
      const logPt = tf.logSoftmax(tf.div(t, tau));
      const pt = tf.exp(logPt);
      const perRow = tf.sum(tf.mul(pt, tf.sub(logPt, logPs)), 1); // (N) KL per position
      return [tf.sum(tf.mul(perRow, w)), tf.exp(logPs), pt];
    });
    save([ps, pt, w]); // w too: the caller's tidy frees it before the backward runs
    return {
      value: value as tf.Scalar,
      gradFunc: (dy: tf.Scalar, saved: tf.Tensor[]) => {
        const [psS, ptS, wS] = saved;
        return tf.mul(tf.sub(psS, ptS), tf.reshape(tf.mul(wS, tf.div(dy, tau)), [-1, 1])); // (N, V)
      },
    };
  });
  return op(s);
}

