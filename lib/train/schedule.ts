// Learning-rate schedules: linear warmup then cosine decay to min_lr.
// 'nanogpt'  nanoGPT's get_lr: lr·(it+1)/(warmup+1) during warmup (never 0), cosine from warmup to decayIters.
// 'authors'  the Inheritune repo's variant (reference/paper.md §7.3, §11.6): lr·it/warmup during warmup (starts
//            at 0), then the same cosine.
// Both return min_lr after decayIters.

export type WarmupRule = 'nanogpt' | 'authors';

export interface LrSchedule {
  /** Peak learning rate. */
  lr: number;
  minLr: number;
  warmupIters: number;
  /** Step at which the cosine reaches minLr (nanoGPT lr_decay_iters, usually max_iters). */
  decayIters: number;
  warmup?: WarmupRule;
  /** 'cosine' (default) or 'constant' (lr after warmup, as some ablations use). */
  decay?: 'cosine' | 'constant';
}

export function validateSchedule(s: LrSchedule): void {
  const problems: string[] = [];
  if (!(s.lr > 0)) problems.push(`lr must be > 0, got ${s.lr}`);
  if (!(s.minLr >= 0 && s.minLr <= s.lr)) problems.push(`minLr must be in [0, lr], got ${s.minLr}`);
  if (!(Number.isInteger(s.warmupIters) && s.warmupIters >= 0)) problems.push(`warmupIters must be an integer >= 0, got ${s.warmupIters}`);
  if (!(Number.isInteger(s.decayIters) && s.decayIters > s.warmupIters)) {
    problems.push(`decayIters (${s.decayIters}) must be an integer > warmupIters (${s.warmupIters})`);
  }
  if (problems.length) throw new Error(`invalid learning-rate schedule: ${problems.join('; ')}`);
}

/** The learning rate at step `it` (0-based), exactly as the chosen reference computes it. */
export function learningRate(s: LrSchedule, it: number): number {
  const warm = s.warmup ?? 'nanogpt';
  if (it < s.warmupIters) {
    return warm === 'nanogpt' ? (s.lr * (it + 1)) / (s.warmupIters + 1) : (s.lr * it) / s.warmupIters;
  }
  if ((s.decay ?? 'cosine') === 'constant') return s.lr;
  if (it > s.decayIters) return s.minLr;
  const ratio = (it - s.warmupIters) / (s.decayIters - s.warmupIters);
  const coeff = 0.5 * (1 + Math.cos(Math.PI * ratio));
  return s.minLr + coeff * (s.lr - s.minLr);
}
