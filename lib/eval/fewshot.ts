// Which docs the harness scores, in which order, and with which few-shot examples, per version:
//   v0.3 (lm_eval/evaluator.py evaluate, lm_eval/base.py Task.fewshot_context at v0.3.0): the eval docs are shuffled
//     with rnd = random.Random(42) and the first `limit` kept; the same rnd then draws each doc's examples in that
//     order: rnd.sample(training_docs, k) for tasks with a training split, otherwise rnd.sample(validation_docs,
//     k + 1) without the doc itself, first k. Examples are joined by "\n\n" and followed by "\n\n".
//     (lambada_standard: its validation split; lambada_openai: v0.3's script serves its test file as validation.)
//   v0.4 (lm_eval/api/task.py ConfigurableTask.fewshot_context, lm_eval/api/samplers.py ContextSampler.sample at
//     @4e7e0d4): docs in dataset order, the first `limit`; the task's sampler rnd = random.Random(fewshot_seed = 1234)
//     draws rnd.sample(fewshot_docs, k), or k + 1 without the doc when the few-shot split equals the test split
//     (fewshot_split is unset for the eight tasks, so: k + 1 for tasks without a test_split, k for arc_easy, sciq and
//     lambada_openai). fewshot_docs is the training split, else (LAMBADA) the test docs. Each example is
//     q + target_delimiter + answer + fewshot_delimiter "\n\n" (build_qa_turn).
// Winogrande (multiple input): v0.4 puts each option's partial sentence after the examples; v0.3's append_context
// splits the context on "\n\n", drops the last piece and appends the option's partial sentence.
import { PyRandom } from './pyrandom';
import { HarnessVersion, Instance, Row, TaskSpec } from './tasks';

export const V03_SHUFFLE_SEED = 42;
export const V04_FEWSHOT_SEED = 1234;

/** The positions (into all rows of the scored split) the harness evaluates, in its order, and the generator after. */
export function evalOrder(h: HarnessVersion, nRows: number, limit: number): { order: number[]; rnd: PyRandom } {
  const idx = Array.from({ length: nRows }, (_, i) => i);
  if (h === '0.3') {
    const rnd = new PyRandom(V03_SHUFFLE_SEED);
    rnd.shuffle(idx);
    return { order: idx.slice(0, limit), rnd };
  }
  return { order: idx.slice(0, limit), rnd: new PyRandom(V04_FEWSHOT_SEED) };
}

function sameDoc(a: Row, b: Row): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Draws one doc's few-shot examples from `pool` (all rows of the few-shot split, in file order) with `rnd`, as the
 * version's sampler does.
 */
export function drawFewshot(h: HarnessVersion, spec: TaskSpec, rnd: PyRandom, pool: Row[], doc: Row, k: number): Row[] {
  if (k === 0) return [];
  // v0.3: training docs -> k; no training docs (validation or the scored docs) -> k + 1 without the doc. v0.4: k + 1
  // without the doc exactly when the few-shot split (unset) equals the task's test_split (unset when validation is
  // scored).
  const removeDoc = h === '0.3' ? spec.fewshotSplit !== 'train' : spec.dataset.split !== 'test';
  const n = removeDoc ? k + 1 : k;
  if (pool.length < n) throw new Error(`${spec.name}: ${k}-shot needs ${n} few-shot docs but the pool has ${pool.length}`);
  const drawn = rnd.sample(pool, n);
  return removeDoc ? drawn.filter((x) => !sameDoc(x, doc)).slice(0, k) : drawn;
}

/** The labeled examples, each followed by "\n\n" (both versions). */
export function fewshotPrefix(h: HarnessVersion, spec: TaskSpec, examples: Row[]): string {
  if (!examples.length) return '';
  if (!spec.fewshotExample) throw new Error(`${spec.name}: few-shot examples are not defined for a ${spec.outputType} task`);
  return examples.map((d) => `${(spec.fewshotExample as (doc: Row, h: HarnessVersion) => string)(d, h)}\n\n`).join('');
}

/** The doc's instance with the few-shot prefix in its context(s), as the version builds it. */
export function withFewshot(h: HarnessVersion, spec: TaskSpec, inst: Instance, prefix: string): Instance {
  if (inst.type === 'loglikelihood_rolling') {
    if (prefix) throw new Error(`${spec.name}: perplexity tasks are zero-shot only (the harness asserts num_fewshot == 0)`);
    return inst;
  }
  if (inst.type === 'loglikelihood') return { ...inst, request: [prefix + inst.request[0], inst.request[1]] };
  if (spec.name === 'winogrande') {
    if (h === '0.4') return { ...inst, requests: inst.requests.map(([c, t]) => [prefix + c, t] as [string, string]) };
    // v0.3 Winogrande.append_context(ctx, partial_ctx) with ctx = prefix + doc_to_text (the correct option).
    const pieces = (prefix + inst.requests[inst.gold][0]).split('\n\n');
    pieces.pop();
    return { ...inst, requests: inst.requests.map(([c, t]) => [pieces.length ? [...pieces, c].join('\n\n') : c, t] as [string, string]) };
  }
  return { ...inst, requests: inst.requests.map(([c, t]) => [prefix + c, t] as [string, string]) };
}
