// `eval --model <checkpoint> --tasks ... --data-dir ...`: evaluation as lm-evaluation-harness does it (v0.3 or v0.4),
// results in its JSON layout, its printed table, per-sample logs, a request cache, and a comparison with the paper's
// Tables 1 and 7.
import * as path from 'node:path';
import { initBackend } from '../backend';
import { parseArgs } from '../cli/args';
import { defaultDataDir } from '../data/dataset';
import { tensorsToParams } from '../model/hf';
import { ACTIVATION_OPTION, loadModelWithActivation, parseActivation } from '../model/activation-option';
import { disposeParams } from '../model/params';
import { RequestCache, modelFingerprint } from './cache';
import { ModelScorer, ModelScorerOptions } from './score';
import { HookedModelScorer } from './hooked-score';
import { openFamilyEval } from './family-eval';
import { DEFAULT_HARNESS, EXTRA_TASK_NAMES, TASK_NAMES, parseHarnessVersion } from './tasks';
import { evaluate } from './runner';
import { DEFAULT_BOOTSTRAP_ITERS } from './stats';
import { makeTable } from './table';
import { paperRowsMatching, saveEvalReport, showEvalReport } from './report';

const REPO = path.resolve(__dirname, '..', '..');

export const EVAL_HELP = `usage: eval --model <checkpoint> --tasks <list> [options]

  --model PATH        Hugging Face GPT-2 folder (config.json + model.safetensors), a nanoGPT .safetensors export, or a
                      Llama / Mistral / Qwen2 / GPT-NeoX folder (config.json's model_type; scored with the folder's
                      own tokenizer.json under the harness version's BOS and prefix-token rules)
  --tokenizer DIR     the folder holding tokenizer.json (+ tokenizer_config.json) for a Llama / NeoX model whose own
                      folder lacks it (default: the model folder; refused for GPT-2, which uses GPT-2's BPE)
  --add_bos_token true|false
                      harness 0.4's HFLM add_bos_token for a Llama / NeoX folder (default: the tokenizer's default
                      special tokens, as the harness since v0.4.9.2; false: no BOS, the default of v0.4.0-v0.4.9.1)
  --tasks LIST        comma-separated task names, or table1 (the five of Table 1), all (the eight of Table 7), or
                      the harness's tags ai2_arc (arc_easy, arc_challenge) / lambada (lambada_openai,
                      lambada_standard). Tasks: ${TASK_NAMES.join(', ')},
                      ${EXTRA_TASK_NAMES.join(', ')}
  --data-dir DIR      the task files (default $INHERITUNE_DATA/eval, else <repo>/data/eval); for each task it reads
                      <task>.jsonl | <task>.parquet | <task>/<split>.jsonl | <task>/<split>-*.parquet, or the raw
                      original (a missing task's error lists the paths and the schema)
  --harness 0.3|0.4   which lm-evaluation-harness to reproduce (default ${DEFAULT_HARNESS}, the v0.3 API the paper's
                      eval wrapper calls): prompts, pair encoding, doc order, few-shot sampler, metric names
  --num_fewshot K     K labeled examples before each doc, drawn as the harness's sampler does (default 0); they
                      come from <task>.train.jsonl | <task>/train.jsonl | ... (lambada_standard: validation;
                      lambada_openai: its own test docs)
  --bootstrap_iters N resamples for bootstrapped stderrs (LAMBADA perplexity; default ${DEFAULT_BOOTSTRAP_ITERS} as the
                      harness; 0 = no stderrs, 0.4 only)
  --acc_bytes         also report acc_bytes (argmax of ll / UTF-8 bytes) for multiple-choice tasks (0.4 only)
  --limit N           only the first N docs of each task (0 < N < 1: that fraction, rounded up); in 0.3 the
                      first N after the harness's seeded shuffle
  --batch-size B      requests per forward pass (default 8)
  --max-length L      tokens of context kept, from the left (default: the model's block size, 1024 for GPT-2;
                      max_position_embeddings for Llama / NeoX)
  --out DIR           results.json, samples_<task>_<date>.jsonl and charts (default results/eval/<model name>)
  --cache-dir DIR     request cache (default results/eval/cache); a re-run of the same weights costs nothing
  --no-cache          do not read or write the cache
  --strict            refuse a task that has malformed rows (default: skip and report them)
  --no-samples        do not write per-sample logs
  --compare PREFIX    paper rows to show: table1, table7, table1-medium, ... (default: all)
  --backend NAME      node-gpu | node | wasm | cpu
  --allow-non-finite  load weights with NaN/Inf values (refused by default; non-finite scores still stop the task)
  --activation gelu_new|gelu
                      the MLP GELU of a nanoGPT file that does not record it (gelu_new: GPT-2's tanh form, assumed
                      otherwise; gelu: the exact erf form of current nanoGPT); must agree with a file that records it
  -h, --help          this help`;

const TASK_SETS: Record<string, string[]> = {
  table1: ['arc_easy', 'piqa', 'sciq', 'hellaswag', 'lambada_openai'],
  all: [...TASK_NAMES],
};

/**
 * The harness's task tags (arc_easy.yaml / arc_challenge.yaml: tag ai2_arc; lambada_openai.yaml /
 * lambada_standard.yaml: tag lambada). Tags only expand: the harness reports no aggregate row for them.
 */
export const TASK_GROUPS: Record<string, string[]> = {
  ai2_arc: ['arc_easy', 'arc_challenge'],
  lambada: ['lambada_openai', 'lambada_standard'],
};

export function parseTaskList(s: string): string[] {
  const out: string[] = [];
  for (const t of s.split(',').map((x) => x.trim()).filter(Boolean)) out.push(...(TASK_SETS[t] ?? TASK_GROUPS[t] ?? [t]));
  return [...new Set(out)];
}

/** Runs the command; resolves to the exit code. `log` receives progress and summary lines. */
export async function evalCommand(argv: string[], log: (s: string) => void = (s) => console.log(s)): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    log(EVAL_HELP);
    return 0;
  }
  const a = parseArgs(argv, {
    model: { type: 'string' }, tasks: { type: 'string' }, 'data-dir': { type: 'string' }, limit: { type: 'number' },
    'batch-size': { type: 'number' }, 'max-length': { type: 'number' }, out: { type: 'string' }, 'cache-dir': { type: 'string' },
    'no-cache': { type: 'boolean' }, strict: { type: 'boolean' }, 'no-samples': { type: 'boolean' }, compare: { type: 'string' },
    backend: { type: 'string' }, harness: { type: 'string' }, num_fewshot: { type: 'number' }, bootstrap_iters: { type: 'number' },
    acc_bytes: { type: 'boolean' }, 'allow-non-finite': { type: 'boolean' }, activation: ACTIVATION_OPTION, tokenizer: { type: 'string' },
    add_bos_token: { type: 'string' },
  });
  const o = a.options;
  if (a.positionals.length) throw new Error(`unexpected argument '${a.positionals[0]}'\n${EVAL_HELP}`);
  if (!o.model) throw new Error(`--model is required\n${EVAL_HELP}`);
  if (!o.tasks) throw new Error(`--tasks is required\n${EVAL_HELP}`);
  const modelPath = path.resolve(String(o.model));
  const harness = o.harness === undefined ? DEFAULT_HARNESS : parseHarnessVersion(String(o.harness));
  const allowNonFinite = o['allow-non-finite'] === true;
  const activation = parseActivation(o.activation);
  // The weights and tokenizer do not need the backend: a bad path or a missing tokenizer fails before anything starts.
  const addBos = o.add_bos_token === undefined ? undefined : String(o.add_bos_token);
  if (addBos !== undefined && addBos !== 'true' && addBos !== 'false') throw new Error(`--add_bos_token must be true or false, got '${addBos}'`);
  const family = openFamilyEval(modelPath, {
    harness, allowNonFinite, activation, tokenizerDir: o.tokenizer as string | undefined, addBosToken: addBos === undefined ? undefined : addBos === 'true',
  });
  const ckpt = family ? undefined : loadModelWithActivation(modelPath, '--model', activation, { allowNonFinite });
  const tasks = parseTaskList(String(o.tasks));
  const paperRows = o.compare ? paperRowsMatching(String(o.compare)) : undefined;
  const dataDir = path.resolve(o['data-dir'] ? String(o['data-dir']) : path.join(defaultDataDir(), 'eval'));
  const name = path.basename(modelPath).replace(/\.safetensors$/, '');
  const outDir = path.resolve(o.out ? String(o.out) : path.join(REPO, 'results', 'eval', name));
  const cacheDir = o['no-cache'] ? undefined : path.resolve(o['cache-dir'] ? String(o['cache-dir']) : path.join(REPO, 'results', 'eval', 'cache'));

  const backend = await initBackend({ backend: o.backend as string | undefined });
  for (const n of (family ? family.model.notes : ckpt!.notes)) log(`  note: ${n}`);
  const scorerOptions = (cache: RequestCache | undefined): ModelScorerOptions => ({
    harness, batchSize: o['batch-size'] as number | undefined, maxLength: o['max-length'] as number | undefined, cache, onProgress: progressPrinter(),
  });
  let scorer: ModelScorer;
  let fingerprint: string;
  let modelLine: string;
  let dispose: () => void;
  if (family) {
    fingerprint = family.fingerprint();
    const cache = cacheDir ? new RequestCache(fingerprint.slice(0, 32), cacheDir) : undefined;
    const model = family.model.load();
    dispose = () => family.model.dispose();
    try {
      scorer = new HookedModelScorer(model, { ...scorerOptions(cache), tokenizer: family.tokenizer });
    } catch (e) {
      dispose();
      throw e;
    }
    log(`  tokenizer: ${family.tokenizer.description}`);
    modelLine = `${family.modelType} ${model.dims.nLayer}L`;
  } else {
    const params = tensorsToParams(ckpt!.tensors, false);
    dispose = () => disposeParams(params);
    try {
      fingerprint = await modelFingerprint(params, ckpt!.config);
      const cache = cacheDir ? new RequestCache(fingerprint.slice(0, 32), cacheDir) : undefined;
      scorer = new ModelScorer(params, ckpt!.config, scorerOptions(cache));
    } catch (e) {
      dispose();
      throw e;
    }
    modelLine = `${ckpt!.config.nLayer}L`;
  }
  try {
    const cache = scorer.opts.cache;
    log(`eval: ${name} (${modelLine}, fingerprint ${fingerprint.slice(0, 12)}) on ${backend.name}; harness ${harness}; ` +
      `batch ${scorer.batchSize}, max_length ${scorer.maxLength}; cache ${cache ? `${cache.file} (${cache.size} entries)` : 'off'}`);
    const results = await evaluate({
      scorer,
      tasks,
      dataDir,
      limit: o.limit as number | undefined,
      strict: o.strict === true,
      outDir,
      logSamples: o['no-samples'] !== true,
      log,
      harness,
      numFewshot: o.num_fewshot as number | undefined,
      bootstrapIters: o.bootstrap_iters as number | undefined,
      extraMetrics: o.acc_bytes === true ? ['acc_bytes'] : undefined,
      config: {
        model: name, model_args: modelPath, model_fingerprint: fingerprint, batch_size: scorer.batchSize,
        max_length: scorer.maxLength, device: backend.name, use_cache: cache?.file ?? null,
        ...(family ? { model_type: family.modelType, tokenizer: family.tokenizer.folder, tokenizer_sha256: family.tokenizer.sha256, add_bos_token: addBos === undefined ? null : addBos === 'true' } : {}),
      },
    });
    log(`forward passes ${scorer.stats.forwardPasses}, requests ${scorer.stats.requests} (${scorer.stats.cacheHits} from the cache)`);
    log(makeTable(results));
    showEvalReport(results, { paperRows, ours: name });
    const figs = saveEvalReport(outDir, results, { paperRows, ours: name, png: false });
    log(`results: ${path.join(outDir, 'results.json')}${figs.length ? `; charts: ${figs.map((f) => f.html).join(', ')}` : ''}`);
    return 0;
  } finally {
    dispose();
  }
}

/** A one-line progress counter on a terminal; silent otherwise. */
function progressPrinter(): ((done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (done < total && now - last < 500) return;
    last = now;
    process.stderr.write(`\r  scored ${done}/${total} requests${done === total ? '\n' : ''}`);
  };
}
