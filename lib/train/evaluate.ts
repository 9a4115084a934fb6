// Evaluation during training, three kinds (any combination):
//   fixed   the same validation batches every time (lib/data validationBatches), so successive losses compare exactly;
//   random  nanoGPT's estimate_loss: `randomIters` fresh random windows of the val split per evaluation;
//   train   a train-loss probe: random windows of the train split.
// The random kinds draw from their own RNGs (seeded from the run seed), never from the training sampler, so evaluating
// does not change the training data stream (unlike the FineWeb script's train_loader.reset(), paper.md §7.2). Their
// RNG states are saved in checkpoints, so a resumed run evaluates on the same windows as an uninterrupted one.
import * as tf from '@tensorflow/tfjs';
import { GPTConfig } from '../model/config';
import { Params } from '../model/params';
import { forward } from '../model/gpt';
import { Batch, RandomWindowSampler, SamplerState, validationBatches } from '../data/sampler';
import { TokenSource } from '../data/source';
import { hashString } from '../util/rng';
import { batchTensors } from './step';

export interface EvalOptions {
  /** Evaluate every `interval` steps (0: only at the end). */
  interval: number;
  /** Also evaluate before the first update (nanoGPT does, at iter 0). Default true. */
  atStart?: boolean;
  /** Number of fixed validation batches (deterministic); 0 = none. */
  fixedBatches?: number;
  /** Placement of the fixed windows: 'spaced' over the val split (default) or 'head' (FineWeb runs). */
  fixedMode?: 'spaced' | 'head';
  /** Explicit fixed batches instead of fixedBatches (tests, custom data). */
  batches?: Batch[];
  /** Random val batches per evaluation (nanoGPT eval_iters); 0 = none. */
  randomIters?: number;
  /** Random train batches per evaluation (train-loss probe); 0 = none. */
  trainIters?: number;
  /** Rows per evaluation batch (default: the training batch size). */
  batchSize?: number;
}

export interface EvalResult {
  /** The primary validation loss: fixed batches when there are any, else the random estimate. */
  valLoss?: number;
  valLossFixed?: number;
  valLossRandom?: number;
  trainLoss?: number;
}

export interface EvaluatorState {
  val?: SamplerState;
  train?: SamplerState;
}

/** Mean over batches of each batch's mean cross-entropy (eval mode: no dropout). One readback at the end. */
export async function meanLoss(params: Params, cfg: GPTConfig, batches: Iterable<Batch>, fast?: boolean): Promise<number> {
  let sum: tf.Scalar | undefined;
  let n = 0;
  for (const b of batches) {
    const next = tf.tidy(() => {
      const { x, y } = batchTensors(b, cfg.vocabSize);
      const l = forward(params, cfg, x, { targets: y, fast, checkIds: false }).loss as tf.Scalar;
      return sum ? tf.add(sum, l) : l;
    }) as tf.Scalar;
    if (sum) sum.dispose();
    sum = next;
    n++;
  }
  if (!sum) throw new Error('meanLoss: no batches');
  const v = (await sum.data())[0];
  sum.dispose();
  return v / n;
}

export class Evaluator {
  private readonly fixed: Batch[];
  private readonly valSampler?: RandomWindowSampler;
  private readonly trainSampler?: RandomWindowSampler;
  private readonly randomIters: number;
  private readonly trainIters: number;

  constructor(
    o: EvalOptions,
    data: { val?: TokenSource; train?: TokenSource; batchSize: number; blockSize: number },
    seed: number,
  ) {
    const B = o.batchSize ?? data.batchSize;
    const T = data.blockSize;
    this.randomIters = o.randomIters ?? 0;
    this.trainIters = o.trainIters ?? 0;
    for (const [k, v] of [['fixedBatches', o.fixedBatches ?? 0], ['randomIters', this.randomIters], ['trainIters', this.trainIters]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new Error(`eval.${k} must be an integer >= 0, got ${v}`);
    }
    const needVal = (o.fixedBatches ?? 0) > 0 || this.randomIters > 0;
    if (needVal && !o.batches && !data.val) throw new Error('evaluation on validation batches needs a val split (data.val)');
    if (this.trainIters > 0 && !data.train) throw new Error('eval.trainIters needs the train split as a TokenSource (data.train), not a custom sampler');
    this.fixed = o.batches ?? ((o.fixedBatches ?? 0) > 0 && data.val
      ? validationBatches(data.val, { batchSize: B, blockSize: T, numBatches: o.fixedBatches as number, mode: o.fixedMode })
      : []);
    if (this.randomIters > 0 && data.val) {
      this.valSampler = new RandomWindowSampler(data.val, { batchSize: B, blockSize: T, seed: hashString(`${seed}:eval-val`) });
    }
    if (this.trainIters > 0 && data.train) {
      this.trainSampler = new RandomWindowSampler(data.train, { batchSize: B, blockSize: T, seed: hashString(`${seed}:eval-train`) });
    }
    if (this.fixed.length === 0 && !this.valSampler && !this.trainSampler) {
      throw new Error('eval needs fixedBatches, batches, randomIters or trainIters > 0');
    }
  }

  async evaluate(params: Params, cfg: GPTConfig, fast?: boolean): Promise<EvalResult> {
    const r: EvalResult = {};
    if (this.fixed.length > 0) r.valLossFixed = await meanLoss(params, cfg, this.fixed, fast);
    if (this.valSampler) r.valLossRandom = await meanLoss(params, cfg, draw(this.valSampler, this.randomIters), fast);
    if (this.trainSampler) r.trainLoss = await meanLoss(params, cfg, draw(this.trainSampler, this.trainIters), fast);
    r.valLoss = r.valLossFixed ?? r.valLossRandom;
    return r;
  }

  getState(): EvaluatorState {
    return { val: this.valSampler?.getState(), train: this.trainSampler?.getState() };
  }

  setState(s: EvaluatorState): void {
    if (this.valSampler) {
      if (!s.val) throw new Error('checkpoint has no RNG state for the random validation batches');
      this.valSampler.setState(s.val);
    }
    if (this.trainSampler) {
      if (!s.train) throw new Error('checkpoint has no RNG state for the train-loss probe');
      this.trainSampler.setState(s.train);
    }
  }
}

function* draw(sampler: RandomWindowSampler, n: number): Generator<Batch> {
  for (let i = 0; i < n; i++) yield sampler.next();
}
