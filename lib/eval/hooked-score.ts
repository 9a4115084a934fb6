// Log-likelihood scoring (lm-evaluation-harness's HFLM rules, ./score) for any HookedModel: the Llama / Mistral /
// Qwen2 / GPT-NeoX analysis models of lib/model/families, given token ids. A model that maps ids to logits is all
// the eval runner needs; the text-to-token step is the tokenizer passed in (these families do not use GPT-2's BPE,
// so there is no default).
import * as tf from '@tensorflow/tfjs';
import { GPTConfig } from '../model/config';
import { HookedModel } from '../model/hooked-model';
import { ModelScorer, ModelScorerOptions, layoutBatch } from './score';
import { EvalTokenizer, LoglikResult, TokenRequest } from './requests';

/** Scores one batch with the model's full (B, T, V) logits (memory: B * T * V floats). */
export function scoreBatchHooked(model: HookedModel, reqs: TokenRequest[], maxLength: number): LoglikResult[] {
  if (reqs.length === 0) return [];
  const lay = layoutBatch(reqs, maxLength);
  const V = model.dims.vocabSize;
  const n = lay.rows.length;
  const [picked, argmax] = tf.tidy(() => {
    const idx = tf.tensor2d(lay.ids, [lay.B, lay.T], 'int32');
    const logits = model.run(idx).logits as tf.Tensor3D; // (B, T, V)
    const rows = tf.gather(tf.reshape(logits, [lay.B * lay.T, V]), tf.tensor1d(lay.rows, 'int32')); // (n, V)
    const logp = tf.logSoftmax(rows);
    const at = new Int32Array(2 * n);
    for (let i = 0; i < n; i++) {
      at[2 * i] = i;
      at[2 * i + 1] = lay.targets[i];
    }
    return [tf.gatherND(logp, tf.tensor2d(at, [n, 2], 'int32')) as tf.Tensor1D, tf.argMax(rows, 1) as tf.Tensor1D];
  });
  const lp = picked.dataSync();
  const am = argmax.dataSync();
  picked.dispose();
  argmax.dispose();
  const out: LoglikResult[] = reqs.map(() => ({ ll: 0, isGreedy: true }));
  for (let i = 0; i < n; i++) {
    const r = out[lay.owner[i]];
    r.ll += lp[i];
    if (am[i] !== lay.targets[i]) r.isGreedy = false;
  }
  return out;
}

/** Float32 logits one forward of HookedModelScorer may hold: (B, T, V) * 4 bytes; larger batches are split. */
export const DEFAULT_LOGITS_BUDGET_BYTES = 2 ** 30;

/** The harness's loglikelihood / loglikelihood_rolling for any HookedModel, batched and cached as ModelScorer. */
export class HookedModelScorer extends ModelScorer {
  readonly logitsBudgetBytes: number;

  constructor(readonly model: HookedModel, opts: ModelScorerOptions & { tokenizer: EvalTokenizer; logitsBudgetBytes?: number }) {
    // The base class reads only blockSize and vocabSize of its config; scoring goes through scoreGroup below.
    const dims: GPTConfig = { ...model.dims, bias: false, dropout: 0, scaleAttnByInverseLayerIdx: false, layerNormEps: 1e-5 };
    super({}, dims, opts);
    this.logitsBudgetBytes = opts.logitsBudgetBytes ?? DEFAULT_LOGITS_BUDGET_BYTES;
  }

  /**
   * Scores a batch in as few forwards as keep its (B, T, V) float32 logits within logitsBudgetBytes (a Llama 3
   * vocabulary of 128256 makes one 8192-token row 4.2 GB, past the wasm heap): a row that alone exceeds it is refused
   * with the remedy instead of running out of memory.
   */
  protected override scoreGroup(reqs: TokenRequest[]): LoglikResult[] {
    const V = this.model.dims.vocabSize;
    const inputLen = (r: TokenRequest) => Math.min(r.context.length + r.continuation.length, this.maxLength + 1) - 1;
    const T = Math.max(...reqs.map(inputLen));
    const rowBytes = T * V * 4;
    const rows = Math.floor(this.logitsBudgetBytes / rowBytes);
    if (rows < 1) {
      throw new Error(`a request of ${T} tokens needs ${(rowBytes / 2 ** 30).toFixed(2)} GiB of float32 logits (${T} x vocabulary ${V}), ` +
        `over the ${(this.logitsBudgetBytes / 2 ** 30).toFixed(2)} GiB a forward may hold: lower --max-length (it changes what is scored)`);
    }
    const out: LoglikResult[] = [];
    for (let s = 0; s < reqs.length; s += rows) out.push(...scoreBatchHooked(this.model, reqs.slice(s, s + rows), this.maxLength));
    this.stats.forwardPasses += Math.ceil(reqs.length / rows) - 1; // the base class counts one per group
    return out;
  }
}
