// AdamW exactly as PyTorch's torch.optim.AdamW (single-tensor path, torch 1.13-2.x), over named tfjs variables:
//   p ← p·(1 − lr·wd)                          (decoupled decay, only for parameters in the decay set)
//   m ← β1·m + (1−β1)·g ;  v ← β2·v + (1−β2)·g²
//   p ← p − (lr / (1−β1^t)) · m / (sqrt(v)/sqrt(1−β2^t) + ε)
// With the native kernels on, each update is one fused kernel (lib/backend/native-ops adamwNative), same order of ops.
// tf.train.adam differs (ε inside the bias correction, default ε 1e-7, no decoupled decay), hence this file.
import * as tf from '@tensorflow/tfjs';
import { nativeOpsActive, adamwNative } from '../backend/native-ops';

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/**
 * Which parameters decay:
 *   'rank>=2'        nanoGPT's configure_optimizers: every tensor with 2 or more dims (matmul weights and embeddings)
 *   'linear-weights' the Inheritune repo's code (Sophia fork): Linear weights only; no embeddings, biases or LayerNorm
 */
export type DecayRule = 'rank>=2' | 'linear-weights';

export function decays(name: string, shape: readonly number[], rule: DecayRule): boolean {
  if (rule === 'rank>=2') return shape.length >= 2;
  return /\.(c_attn|c_proj|c_fc)\.weight$/.test(name);
}

export interface AdamWState {
  step: number;
  m: Record<string, tf.Variable>;
  v: Record<string, tf.Variable>;
}

// Each optimizer names its moment variables with its own id: tfjs variable names are global, and two optimizers over
// the same parameter names (two runs in one notebook, a resumed run) must not collide.
let nextOptimizerId = 0;

export class AdamW {
  readonly config: AdamWConfig;
  private readonly id = nextOptimizerId++;
  readonly decayRule: DecayRule;
  private state: AdamWState = { step: 0, m: {}, v: {} };

  constructor(config: Partial<AdamWConfig> & { decayRule?: DecayRule } = {}) {
    this.config = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, ...config };
    this.decayRule = config.decayRule ?? 'rank>=2';
    const { beta1, beta2, eps, weightDecay } = this.config;
    if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw new Error(`AdamW betas must be in [0, 1), got ${beta1}, ${beta2}`);
    if (!(eps > 0) || !(weightDecay >= 0)) throw new Error(`AdamW needs eps > 0 and weightDecay >= 0, got ${eps}, ${weightDecay}`);
  }

  get step(): number {
    return this.state.step;
  }

  /** Applies one update with learning rate `lr` to every parameter that has a gradient. Disposes nothing it was given. */
  apply(params: Record<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr: number): void {
    const { beta1, beta2, eps, weightDecay } = this.config;
    this.state.step += 1;
    const t = this.state.step;
    const stepSize = lr / (1 - beta1 ** t);
    const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
    for (const name of Object.keys(grads)) {
      const p = params[name];
      if (!p) throw new Error(`AdamW: gradient for unknown parameter '${name}'`);
      const g = grads[name];
      // Inside tidy: tf.variable shares the zeros' buffer, so the zeros tensor itself must be freed (tidy keeps variables).
      const m = (this.state.m[name] ??= tf.tidy(() => tf.variable(tf.zerosLike(p), false, this.varName('m', name))));
      const v = (this.state.v[name] ??= tf.tidy(() => tf.variable(tf.zerosLike(p), false, this.varName('v', name))));
      const decay = weightDecay > 0 && decays(name, p.shape, this.decayRule);
      if (nativeOpsActive() && p.dtype === 'float32' && g.dtype === 'float32') {
        // one fused pass instead of ~12 kernels and their temporaries (for wte, 6 extra (V, C) arrays at once)
        const [p1, m1, v1] = adamwNative(p, g, m, v, { decay: decay ? 1 - lr * weightDecay : 1, beta1, beta2, bc2Sqrt, eps, stepSize });
        m.assign(m1);
        v.assign(v1);
        p.assign(p1);
        tf.dispose([p1, m1, v1]);
        continue;
      }
      tf.tidy(() => {
        const decayed = decay ? tf.mul(p, 1 - lr * weightDecay) : p;
        const m1 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
        const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.mul(g, g), 1 - beta2));
        const denom = tf.add(tf.div(tf.sqrt(v1), bc2Sqrt), eps);
        m.assign(m1);
        v.assign(v1);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m1, denom), stepSize)));
      });
    }
  }

  /** Moments and step, for checkpoints (the caller reads the tensors; they stay owned by the optimizer). */
  getState(): AdamWState {
    return this.state;
  }

  /** Restores moments (copied: the caller may dispose its tensors) and the step count. Shapes must match the parameters. */
  setState(step: number, m: Record<string, tf.Tensor>, v: Record<string, tf.Tensor>): void {
    if (!Number.isInteger(step) || step < 0) throw new Error(`AdamW.setState: step must be an integer >= 0, got ${step}`);
    this.dispose();
    this.state = { step, m: {}, v: {} };
    for (const k of Object.keys(m)) this.state.m[k] = tf.variable(m[k], false, this.varName('m', k));
    for (const k of Object.keys(v)) this.state.v[k] = tf.variable(v[k], false, this.varName('v', k));
  }

  private varName(kind: 'm' | 'v', param: string): string {
    return `adamw${this.id}.${kind}.${param}`;
  }

  dispose(): void {
    tf.dispose([...Object.values(this.state.m), ...Object.values(this.state.v)]);
    this.state = { step: this.state.step, m: {}, v: {} };
  }
}

/**
 * Global-norm gradient clipping as torch.nn.utils.clip_grad_norm_: total = sqrt(Σ‖g‖²); if total > maxNorm every
 * gradient is scaled by maxNorm / (total + 1e-6). Returns the new gradients (the caller disposes both sets) and the
 * norm before clipping.
 */
export function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): { grads: Record<string, tf.Tensor>; norm: tf.Scalar } {
  return tf.tidy(() => {
    const names = Object.keys(grads);
    const sq = names.map((n) => tf.sum(tf.square(grads[n])));
    const norm = tf.sqrt(tf.addN(sq)) as tf.Scalar;
    const coef = tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1);
    const out: Record<string, tf.Tensor> = {};
    for (const n of names) out[n] = tf.mul(grads[n], coef);
    return { grads: out, norm };
  });
}
