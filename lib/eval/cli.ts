// `eval --model <checkpoint> --tasks ... --data-dir ...`: zero-shot evaluation as lm-evaluation-harness does it,
// results in its JSON layout, per-sample logs, a request cache, and a comparison with the paper's Tables 1 and 7.
import * as path from 'node:path';
import { initBackend } from '../backend';
import { parseArgs } from '../cli/args';
import { defaultDataDir } from '../data/dataset';
import { loadModelPath, tensorsToParams } from '../model/hf';
import { disposeParams } from '../model/params';
import { RequestCache, modelFingerprint } from './cache';
import { ModelScorer } from './score';
import { TASK_NAMES } from './tasks';
import { evaluate } from './runner';
import { paperRowsMatching, saveEvalReport, showEvalReport } from './report';

const REPO = path.resolve(__dirname, '..', '..');

export const EVAL_HELP = `usage: eval --model <checkpoint> --tasks <list> [options]

  --model PATH        Hugging Face GPT-2 folder (config.json + model.safetensors) or a nanoGPT .safetensors export
  --tasks LIST        comma-separated task names, or table1 (the five of Table 1) or all (the eight of Table 7):
                      ${TASK_NAMES.join(', ')}
  --data-dir DIR      the task files (default $INHERITUNE_DATA/eval, else <repo>/data/eval); for each task it reads
                      <task>.jsonl | <task>.parquet | <task>/<split>.jsonl | <task>/<split>-*.parquet, or the raw
                      original (a missing task's error lists the paths and the schema)
  --limit N           only the first N docs of each task (0 < N < 1: that fraction, rounded up)
  --batch-size B      requests per forward pass (default 8)
  --max-length L      tokens of context kept, from the left (default: the model's block size, 1024 for GPT-2)
  --out DIR           results.json, samples_<task>.jsonl and charts (default results/eval/<model name>)
  --cache-dir DIR     request cache (default results/eval/cache); a re-run of the same weights costs nothing
  --no-cache          do not read or write the cache
  --strict            refuse a task that has malformed rows (default: skip and report them)
  --no-samples        do not write per-sample logs
  --compare PREFIX    paper rows to show: table1, table7, table1-medium, ... (default: all)
  --backend NAME      node-gpu | node | wasm | cpu
  --allow-non-finite  load weights with NaN/Inf values (refused by default; non-finite scores still stop the task)
  -h, --help          this help`;

const TASK_SETS: Record<string, string[]> = {
  table1: ['arc_easy', 'piqa', 'sciq', 'hellaswag', 'lambada_openai'],
  all: [...TASK_NAMES],
};

export function parseTaskList(s: string): string[] {
  const out: string[] = [];
  for (const t of s.split(',').map((x) => x.trim()).filter(Boolean)) out.push(...(TASK_SETS[t] ?? [t]));
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
    backend: { type: 'string' }, 'allow-non-finite': { type: 'boolean' },
  });
  const o = a.options;
  if (a.positionals.length) throw new Error(`unexpected argument '${a.positionals[0]}'\n${EVAL_HELP}`);
  if (!o.model) throw new Error(`--model is required\n${EVAL_HELP}`);
  if (!o.tasks) throw new Error(`--tasks is required\n${EVAL_HELP}`);
  const modelPath = path.resolve(String(o.model));
  const ckpt = loadModelPath(modelPath, '--model', { allowNonFinite: o['allow-non-finite'] === true }); // the weights do not need the backend: a bad path fails before anything starts
  const tasks = parseTaskList(String(o.tasks));
  const paperRows = o.compare ? paperRowsMatching(String(o.compare)) : undefined;
  const dataDir = path.resolve(o['data-dir'] ? String(o['data-dir']) : path.join(defaultDataDir(), 'eval'));
  const name = path.basename(modelPath).replace(/\.safetensors$/, '');
  const outDir = path.resolve(o.out ? String(o.out) : path.join(REPO, 'results', 'eval', name));

  const backend = await initBackend({ backend: o.backend as string | undefined });
  for (const n of ckpt.notes) log(`  note: ${n}`);
  const params = tensorsToParams(ckpt.tensors, false);
  try {
    const fingerprint = await modelFingerprint(params, ckpt.config);
    const cacheDir = o['no-cache'] ? undefined : path.resolve(o['cache-dir'] ? String(o['cache-dir']) : path.join(REPO, 'results', 'eval', 'cache'));
    const cache = cacheDir ? new RequestCache(fingerprint.slice(0, 32), cacheDir) : undefined;
    const scorer = new ModelScorer(params, ckpt.config, {
      batchSize: o['batch-size'] as number | undefined,
      maxLength: o['max-length'] as number | undefined,
      cache,
      onProgress: progressPrinter(),
    });
    log(`eval: ${name} (${ckpt.config.nLayer}L, fingerprint ${fingerprint.slice(0, 12)}) on ${backend.name}; ` +
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
      config: {
        model: name, model_args: modelPath, model_fingerprint: fingerprint, batch_size: scorer.batchSize,
        max_length: scorer.maxLength, device: backend.name, use_cache: cache?.file ?? null,
      },
    });
    log(`forward passes ${scorer.stats.forwardPasses}, requests ${scorer.stats.requests} (${scorer.stats.cacheHits} from the cache)`);
    showEvalReport(results, { paperRows, ours: name });
    const figs = saveEvalReport(outDir, results, { paperRows, ours: name, png: false });
    log(`results: ${path.join(outDir, 'results.json')}${figs.length ? `; charts: ${figs.map((f) => f.html).join(', ')}` : ''}`);
    return 0;
  } finally {
    disposeParams(params);
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
