// Training guards: stop on a non-finite loss or gradient norm, and (optionally) skip the update of a loss spike.
//
// The spike rule follows llm.c's outlier detector (`-sl`): the z-score of this step's loss against the mean and
// (population) standard deviation of the previous `window` losses; once the window is full, a z-score above the
// threshold skips the optimizer update (the step still counts for the schedule, as in llm.c). Every loss, spikes
// included, then enters the window, so a lasting level shift stops being a spike after a while.

export class TrainingDivergedError extends Error {
  constructor(
    message: string,
    readonly step: number,
  ) {
    super(message);
    this.name = 'TrainingDivergedError';
  }
}

/** The model's weights (or AdamW moments) hold NaN / Inf: a checkpoint of them would be useless, so none is written. */
export class NonFiniteWeightsError extends Error {
  constructor(
    message: string,
    readonly step: number,
  ) {
    super(message);
    this.name = 'NonFiniteWeightsError';
  }
}

/** Throws TrainingDivergedError naming the step when the loss or the gradient norm is NaN or infinite. */
export function checkFinite(step: number, loss: number, gradNorm: number, lr: number, hint = ''): void {
  if (Number.isFinite(loss) && Number.isFinite(gradNorm)) return;
  const what = !Number.isFinite(loss) ? `loss is ${loss}` : `gradient norm is ${gradNorm} (loss ${loss})`;
  throw new TrainingDivergedError(
    `training diverged: ${what} at step ${step} (lr ${lr.toExponential(3)}). ` +
      `Lower the learning rate or warm up longer, check the data and the initial parameters${hint}`,
    step,
  );
}

export interface SpikeOptions {
  /** Skip the update when the loss z-score exceeds this (llm.c's -sl; e.g. 5). */
  zThreshold: number;
  /** Number of previous losses the z-score is computed against (llm.c: 128). */
  window?: number;
}

export interface SpikeState {
  values: number[];
  next: number;
}

export class SpikeDetector {
  readonly zThreshold: number;
  readonly window: number;
  private values: number[] = [];
  /** Ring-buffer slot the next value replaces once the window is full. */
  private next = 0;

  constructor(o: SpikeOptions) {
    this.zThreshold = o.zThreshold;
    this.window = o.window ?? 128;
    if (!(this.zThreshold > 0)) throw new Error(`spike zThreshold must be > 0, got ${o.zThreshold}`);
    if (!Number.isInteger(this.window) || this.window < 2) throw new Error(`spike window must be an integer >= 2, got ${o.window}`);
  }

  /** The z-score of `loss` against the window (NaN until the window is full), then adds `loss` to the window. */
  update(loss: number): number {
    let z = NaN;
    if (this.values.length === this.window) {
      let mean = 0;
      for (const v of this.values) mean += v;
      mean /= this.window;
      let varSum = 0;
      for (const v of this.values) varSum += (v - mean) ** 2;
      const std = Math.sqrt(varSum / this.window);
      z = std > 0 ? (loss - mean) / std : loss === mean ? 0 : Infinity * Math.sign(loss - mean);
      this.values[this.next] = loss;
      this.next = (this.next + 1) % this.window;
    } else {
      this.values.push(loss);
    }
    return z;
  }

  /** True when z is a spike (NaN, during the warm-up of the window, never is). */
  isSpike(z: number): boolean {
    return z > this.zThreshold;
  }

  getState(): SpikeState {
    return { values: this.values.slice(), next: this.next };
  }

  setState(s: SpikeState): void {
    if (!s || !Array.isArray(s.values) || s.values.length > this.window || !Number.isInteger(s.next)) {
      throw new Error(`invalid spike-detector state for a window of ${this.window}`);
    }
    this.values = s.values.slice();
    this.next = s.next;
  }
}
