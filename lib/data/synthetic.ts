// Synthetic token datasets in which lazy layers form within minutes on a CPU (issue "Watch lazy layers form"):
//  - synth-iid: a fixed BOS, then i.i.d. Zipf-distributed tokens. No position carries information about the next
//    token, so attention is useless. Meant as the positive control for sinks; measured (docs/lazy-layers.md), the
//    layers switch off instead (uniform attention, nothing written to the residual): a control for that kind of
//    laziness, which k* cannot see.
//  - synth-backcopy: the Bigram-Backcopy task of Guo et al. (arXiv 2410.13835, "Active-Dormant Attention Heads"):
//    a random bigram Markov chain; after one of a few trigger tokens comes a copy of the token before the trigger.
//    Predicting the copy needs one previous-token head, active on triggers and dormant elsewhere; such heads park on
//    BOS (a sink) while dormant, as Guo et al. found and docs/lazy-layers.md measures here.
//  - synth-recall: a dense job for the first layers and a sparse one for the deeper layers. After an ordinary token
//    comes, with probability copyProb, a copy of the token two back (every position needs a previous-token head: a
//    potent early layer, k* ~ 85 of 100); otherwise a bigram draw. Rarely (triggerMass) a trigger appears, and after
//    trigger t comes the document's own value v_t, drawn once per document: recalling it needs an induction head
//    (the previous-token feature, then a match on it), which can only sit in layer 2 or deeper and is active on the
//    trigger rows alone.
// Both are written as ordinary nanoGPT train.bin / val.bin with meta.json, so every loader, sampler and notebook
// works on them unchanged. Every document is BOS + (docTokens - 1) tokens and meta.windows says windows start at
// BOS; a window of T <= docTokens - 1 then sees exactly one document with BOS at position 0.
import * as path from 'node:path';
import { TokenFileWriter } from './formats';
import { PrepareResult, SyntheticTokenizer, withDatasetDir } from './prepare';
import { Rng } from '../util/rng';

export type SyntheticKind = 'iid' | 'backcopy' | 'recall';

export interface SyntheticRecipe {
  kind: SyntheticKind;
  description: string;
  /** Ids are 0..vocabSize-1; 0 is BOS. */
  vocabSize: number;
  /** Tokens per document including its BOS. */
  docTokens: number;
  trainTokens: number;
  valTokens: number;
  /** Zipf exponent of the i.i.d. distribution (iid) or of each bigram row over its successors (backcopy). */
  zipf: number;
  /** backcopy: trigger ids are 1..triggers. */
  triggers: number;
  /** backcopy: total probability of drawing some trigger from a bigram row; recall: of a trigger after an ordinary token. */
  triggerMass: number;
  /** recall: probability that a token after an ordinary token copies the token two back (when that one is ordinary). */
  copyProb?: number;
  seed: number;
}

export const BOS_TOKEN = 0;

export const SYNTHETIC_DATASETS: Record<string, SyntheticRecipe> = {
  'synth-iid': {
    kind: 'iid',
    description: 'BOS, then i.i.d. Zipf(1) tokens over 511 ids: attention is useless (layers switch off rather than sink; docs/lazy-layers.md)',
    vocabSize: 512, docTokens: 257, trainTokens: 4_000_000, valTokens: 200_000, zipf: 1, triggers: 0, triggerMass: 0, seed: 1,
  },
  'synth-recall': {
    kind: 'recall',
    description: 'Copy-and-recall: a bigram chain over 125 ids in which half the tokens copy the token two back (a dense previous-token job), and 2 rare triggers (8%) are followed by a value fixed per document (a sparse induction job); BOS at position 0',
    vocabSize: 128, docTokens: 257, trainTokens: 4_000_000, valTokens: 200_000, zipf: 1, triggers: 2, triggerMass: 0.08, copyProb: 0.5, seed: 1,
  },
  'synth-backcopy': {
    kind: 'backcopy',
    description: 'Bigram-Backcopy (Guo et al. 2024): random bigram chain over 123 ids, 4 triggers followed by a copy of the token before them; BOS at position 0',
    vocabSize: 128, docTokens: 257, trainTokens: 4_000_000, valTokens: 200_000, zipf: 1, triggers: 4, triggerMass: 0.2, seed: 1,
  },
};

export function isSyntheticDataset(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(SYNTHETIC_DATASETS, name);
}

/** Cumulative distribution for sampling by binary search. */
function cdf(weights: Float64Array): Float64Array {
  const c = new Float64Array(weights.length);
  let s = 0;
  for (let i = 0; i < weights.length; i++) c[i] = s += weights[i];
  for (let i = 0; i < c.length; i++) c[i] /= s;
  return c;
}

function sample(c: Float64Array, rng: Rng): number {
  const u = rng.next();
  let lo = 0;
  let hi = c.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (c[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function checkRecipe(r: SyntheticRecipe): void {
  const int = (v: number, name: string, min: number, max = Number.MAX_SAFE_INTEGER): void => {
    if (!Number.isInteger(v) || v < min || v > max) throw new Error(`synthetic ${name} must be an integer in [${min}, ${max}], got ${v}`);
  };
  int(r.vocabSize, 'vocabSize', r.kind === 'iid' ? 2 : r.triggers + 3, 65535);
  int(r.docTokens, 'docTokens', 3, 1 << 20);
  int(r.trainTokens, 'trainTokens', r.docTokens);
  int(r.valTokens, 'valTokens', r.docTokens);
  int(r.seed, 'seed', 0);
  if (!(r.zipf >= 0 && r.zipf <= 10)) throw new Error(`synthetic zipf must be in [0, 10], got ${r.zipf}`);
  if (r.kind !== 'iid') {
    int(r.triggers, 'triggers', 1, r.vocabSize - 3);
    if (!(r.triggerMass > 0 && r.triggerMass < 1)) throw new Error(`synthetic triggerMass must be in (0, 1), got ${r.triggerMass}`);
  }
  if (r.kind === 'recall' && !(r.copyProb !== undefined && r.copyProb >= 0 && r.copyProb <= 1)) {
    throw new Error(`synthetic copyProb must be in [0, 1], got ${r.copyProb}`);
  }
}

/**
 * A document generator for a recipe. The chain (bigram rows, which successors) depends on recipe.seed only, so the
 * train and val splits follow one distribution; `stream` separates their random draws.
 */
export function syntheticGenerator(r: SyntheticRecipe, stream: number): () => Uint16Array {
  checkRecipe(r);
  const V = r.vocabSize;
  const chainRng = new Rng(r.seed * 7919 + 17);
  const rng = new Rng(r.seed * 104729 + 31 * (stream + 1));
  if (r.kind === 'iid') {
    const w = new Float64Array(V - 1); // ids 1..V-1
    for (let k = 0; k < w.length; k++) w[k] = 1 / Math.pow(k + 1, r.zipf);
    const c = cdf(w);
    return () => {
      const doc = new Uint16Array(r.docTokens);
      doc[0] = BOS_TOKEN;
      for (let i = 1; i < doc.length; i++) doc[i] = 1 + sample(c, rng);
      return doc;
    };
  }
  // backcopy: triggers 1..nt, ordinary tokens nt+1..V-1. Each ordinary token's bigram row puts Zipf weights on a
  // random permutation of the ordinary tokens (mass 1 - triggerMass) and triggerMass spread evenly on the triggers.
  const nt = r.triggers;
  const first = nt + 1;
  const nOrd = V - first;
  // recall draws its triggers outside the bigram rows.
  const rowTriggerMass = r.kind === 'recall' ? 0 : r.triggerMass;
  const rows: Float64Array[] = [];
  for (let a = 0; a < nOrd; a++) {
    const perm = Array.from({ length: nOrd }, (_, i) => i);
    for (let i = nOrd - 1; i > 0; i--) {
      const j = chainRng.int(i + 1);
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    const w = new Float64Array(nt + nOrd); // [triggers..., ordinary...]
    let z = 0;
    for (let k = 0; k < nOrd; k++) z += 1 / Math.pow(k + 1, r.zipf);
    for (let k = 0; k < nOrd; k++) w[nt + perm[k]] = ((1 - rowTriggerMass) / Math.pow(k + 1, r.zipf)) / z;
    for (let t = 0; t < nt; t++) w[t] = rowTriggerMass / nt;
    rows.push(cdf(w));
  }
  const draw = (cur: number): number => {
    const k = sample(rows[cur - first], rng);
    return k < nt ? 1 + k : first + (k - nt);
  };
  if (r.kind === 'recall') {
    const copyProb = r.copyProb ?? 0;
    return () => {
      const doc = new Uint16Array(r.docTokens);
      const values = Array.from({ length: nt }, () => first + rng.int(nOrd)); // v_t of this document
      doc[0] = BOS_TOKEN;
      doc[1] = first + rng.int(nOrd);
      for (let i = 2; i < doc.length; i++) {
        const prev = doc[i - 1];
        if (prev >= 1 && prev <= nt) doc[i] = values[prev - 1];
        else if (rng.next() < r.triggerMass) doc[i] = 1 + rng.int(nt);
        else if (doc[i - 2] >= first && rng.next() < copyProb) doc[i] = doc[i - 2];
        else doc[i] = draw(prev);
      }
      return doc;
    };
  }
  // Invariant: a bigram draw happens only after an ordinary token, so the token before a trigger is ordinary and a
  // copy is never a trigger; chains of triggers cannot occur.
  return () => {
    const doc = new Uint16Array(r.docTokens);
    doc[0] = BOS_TOKEN;
    doc[1] = first + rng.int(nOrd);
    for (let i = 2; i < doc.length; i++) {
      const prev = doc[i - 1];
      doc[i] = prev >= 1 && prev <= nt ? doc[i - 2] : draw(prev);
    }
    return doc;
  };
}

/** True when `id` is a trigger of the recipe (backcopy: the next token is a copy; recall: the document's value). */
export function isTrigger(r: SyntheticRecipe, id: number): boolean {
  return r.kind !== 'iid' && id >= 1 && id <= r.triggers;
}

export interface SyntheticOptions {
  dataDir: string;
  outName?: string;
  force?: boolean;
  quiet?: boolean;
  /** Changes to the named recipe (tests use small token counts). */
  overrides?: Partial<Omit<SyntheticRecipe, 'kind' | 'description'>>;
}

/** Writes data/<name>/{train,val}.bin and meta.json for a synthetic recipe (seconds; skipped when up to date). */
export async function prepareSynthetic(name: string, opts: SyntheticOptions): Promise<PrepareResult> {
  const base = SYNTHETIC_DATASETS[name];
  if (!base) throw new Error(`unknown synthetic dataset '${name}'; expected one of ${Object.keys(SYNTHETIC_DATASETS).join(', ')}`);
  const r: SyntheticRecipe = { ...base, ...opts.overrides };
  checkRecipe(r);
  const docsOf = (tokens: number): number => Math.max(1, Math.floor(tokens / r.docTokens));
  const recipe = { source: 'synthetic', generator: name, ...r };
  const tokenizer: SyntheticTokenizer = { name: 'synthetic', vocabSize: r.vocabSize, bosToken: BOS_TOKEN };
  return withDatasetDir(
    { name: opts.outName ?? name, dataDir: opts.dataDir, source: `synthetic:${name}`, files: [], force: opts.force, quiet: opts.quiet },
    recipe,
    async (tmpDir) => {
      const counts: number[] = [];
      const docs: number[] = [];
      for (const [split, tokens, stream] of [['train', r.trainTokens, 0], ['val', r.valTokens, 1]] as const) {
        const w = new TokenFileWriter(path.join(tmpDir, `${split}.bin`));
        try {
          const gen = syntheticGenerator(r, stream);
          const n = docsOf(tokens);
          for (let d = 0; d < n; d++) w.write(gen());
          counts.push(w.finish().tokens);
          docs.push(n);
        } catch (e) {
          w.abort();
          throw e;
        }
      }
      return {
        tokens: { train: counts[0], val: counts[1] },
        documents: { train: docs[0], val: docs[1] },
        split: { kind: 'source', description: 'train and val drawn from the same chain with separate random streams' },
        seed: r.seed,
        eot: 'prepend', // BOS opens every document, as EOT does in the llm.c convention
        tokenizer,
        vocabSize: r.vocabSize,
        windows: { start: 'bos', token: BOS_TOKEN },
        synthetic: { ...r, bosToken: BOS_TOKEN, description: r.description },
      };
    },
  );
}
