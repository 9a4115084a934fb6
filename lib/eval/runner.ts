// evaluate(): load each task's docs, order and limit them, add few-shot examples, build the requests, score them,
// aggregate, and write results in lm-evaluation-harness's JSON layout (results / versions / n-shot /
// higher_is_better / n-samples / config / date, anchors.md §2.3) plus per-sample logs samples_<task>_<date>.jsonl
// byte-shaped as the harness writes them. Every step follows the chosen harness version (--harness 0.3 | 0.4;
// ./fewshot for the order and the examples, ./stats for the stderrs, ./requests for the token pairs).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { LoglikResult, Scorer } from './requests';
import { DEFAULT_HARNESS, HarnessVersion, Instance, MetricSpec, Row, TaskName, TaskSpec, getTask, taskMetrics } from './tasks';
import { DocRecord, LoadedTask, Malformed, loadTaskData } from './data';
import { MetricItem, aggregate, processResults } from './metrics';
import { DEFAULT_BOOTSTRAP_ITERS } from './stats';
import { V03_SHUFFLE_SEED, V04_FEWSHOT_SEED, drawFewshot, evalOrder, fewshotPrefix, withFewshot } from './fewshot';
import { SampleRecord, harnessDateId, sampleLine, sampleRecord } from './samplelog';

export interface EvalOptions {
  scorer: Scorer;
  tasks: string[];
  /** Folder with the task files (see data.ts expectedLocations). */
  dataDir?: string;
  /** Explicit file per task, instead of searching dataDir. */
  files?: Partial<Record<string, string>>;
  /** Explicit few-shot (training split) file per task. */
  fewshotFiles?: Partial<Record<string, string>>;
  /** Evaluate the first N docs (N >= 1), or a fraction of them (0 < N < 1, rounded up), as the harness's --limit. */
  limit?: number;
  /** Refuse a task with any malformed row (default: skip those rows and report them). */
  strict?: boolean;
  /** Write results.json and samples_<task>_<date>.jsonl here. */
  outDir?: string;
  /** Write the per-sample logs (default true when outDir is set). */
  logSamples?: boolean;
  /** Fields for results.config: model, model_args, batch_size, device, use_cache, ... */
  config?: Record<string, unknown>;
  /** Progress lines (default console.log). */
  log?: (line: string) => void;
  /** The harness version whose requests, order, few-shot sampler and metrics are used (default DEFAULT_HARNESS). */
  harness?: HarnessVersion;
  /** --num_fewshot (default 0). */
  numFewshot?: number;
  /** --bootstrap_iters (default 100000; 0 = no stderrs, v0.4 only). */
  bootstrapIters?: number;
  /** Extra multiple-choice metrics a task's metric_list could add: acc_bytes (v0.4). */
  extraMetrics?: string[];
}

/** The harness's results file, plus malformed_rows and data_files (ours). */
export interface EvalResults {
  results: Record<string, Record<string, string | number>>;
  group_subtasks: Record<string, string[]>;
  configs: Record<string, Record<string, unknown>>;
  versions: Record<string, number>;
  'n-shot': Record<string, number>;
  higher_is_better: Record<string, Record<string, boolean>>;
  /** original: rows in the scored split (malformed ones too); effective: docs scored. */
  'n-samples': Record<string, { original: number; effective: number }>;
  config: Record<string, unknown>;
  git_hash: string | null;
  date: number;
  total_evaluation_time_seconds: string;
  /** Rows that were skipped, per task: how many, and the first ones with file:line and reason. */
  malformed_rows: Record<string, { count: number; first: Malformed[] }>;
  data_files: Record<string, string[]>;
}

export interface TaskRun {
  task: TaskName;
  /** Per-metric aggregate, in the harness's "metric,none" keys (with alias). */
  result: Record<string, string | number>;
  samples: SampleRecord[];
  items: Array<Record<string, MetricItem>>;
}

/** How runTask scores: the version, and the stderr and metric choices. */
export interface RunOptions {
  harness?: HarnessVersion;
  bootstrapIters?: number;
  extraMetrics?: string[];
}

/** The number of docs the harness evaluates for --limit. */
export function applyLimit(n: number, limit: number | undefined): number {
  if (limit === undefined) return n;
  if (!(limit > 0)) throw new Error(`limit must be > 0 (a count, or a fraction below 1), got ${limit}`);
  return Math.min(n, limit < 1 ? Math.ceil(n * limit) : Math.floor(limit));
}

/** The metrics a task reports: its version's list plus the requested extras that apply to it. */
export function runMetrics(spec: TaskSpec, h: HarnessVersion, extra: string[] = []): MetricSpec[] {
  const ms = [...taskMetrics(spec, h)];
  for (const e of extra) {
    if (e !== 'acc_bytes') throw new Error(`unknown extra metric '${e}'; available: acc_bytes`);
    if (h === '0.3') throw new Error('acc_bytes does not exist in harness 0.3');
    if (spec.outputType === 'multiple_choice' && !ms.some((m) => m.metric === e)) ms.push({ metric: e, aggregation: 'mean', higherIsBetter: true });
  }
  return ms;
}

/**
 * Scores a task's docs (already validated, few-shot contexts already in `instances` if any): one batched call per
 * request type, then process_results per doc. `docIds` are the harness's doc_ids (row positions in the split).
 */
export async function runTask(spec: TaskSpec, docs: DocRecord[], scorer: Scorer, opts: RunOptions = {}, instances?: Instance[]): Promise<TaskRun> {
  const h = opts.harness ?? DEFAULT_HARNESS;
  const iters = opts.bootstrapIters ?? DEFAULT_BOOTSTRAP_ITERS;
  const metrics = runMetrics(spec, h, opts.extraMetrics);
  const insts: Instance[] = instances ?? docs.map((d) => spec.instance(d.doc, h));
  const pairs: Array<[string, string]> = [];
  const texts: string[] = [];
  for (const inst of insts) {
    if (inst.type === 'multiple_choice') pairs.push(...inst.requests);
    else if (inst.type === 'loglikelihood') pairs.push(inst.request);
    else texts.push(inst.text);
  }
  const ll = pairs.length ? await scorer.loglikelihood(pairs, h) : [];
  const rolling = texts.length ? await scorer.loglikelihoodRolling(texts) : [];
  refuseNonFinite(spec.name, docs, insts, ll, rolling);
  let p = 0;
  let t = 0;
  const items: Array<Record<string, MetricItem>> = [];
  const samples: SampleRecord[] = [];
  insts.forEach((inst, i) => {
    let res: LoglikResult[] | number;
    if (inst.type === 'loglikelihood_rolling') res = rolling[t++];
    else {
      const n = inst.type === 'multiple_choice' ? inst.requests.length : 1;
      res = ll.slice(p, p + n);
      p += n;
    }
    const m = processResults(inst, res, metrics);
    items.push(m);
    samples.push(sampleRecord(docs[i].index, docs[i].doc, inst, res, m));
  });
  const result: Record<string, string | number> = { alias: spec.name };
  for (const ms of metrics) {
    const a = aggregate(ms, items.map((x) => x[ms.metric]), iters);
    result[`${ms.metric},none`] = a.value;
    result[`${ms.metric}_stderr,none`] = a.stderr;
  }
  return { task: spec.name, result, samples, items };
}

/**
 * A NaN log-likelihood compares false with everything, so accuracy would come out as a plausible number (0.5000)
 * with exit code 0: refuse the task instead, naming the first doc and how many scores are bad.
 */
function refuseNonFinite(task: string, docs: DocRecord[], instances: Instance[], ll: LoglikResult[], rolling: number[]): void {
  const bad = ll.filter((r) => !Number.isFinite(r.ll)).length + rolling.filter((x) => !Number.isFinite(x)).length;
  if (!bad) return;
  let p = 0;
  let t = 0;
  let first = -1;
  for (let i = 0; i < instances.length && first < 0; i++) {
    const inst = instances[i];
    const vals = inst.type === 'loglikelihood_rolling' ? [rolling[t++]] : ll.slice(p, (p += inst.type === 'multiple_choice' ? inst.requests.length : 1)).map((r) => r.ll);
    if (vals.some((v) => !Number.isFinite(v))) first = i;
  }
  const where = first >= 0 ? ` (first: doc ${first}, ${docs[first].where})` : '';
  throw new Error(`${task}: ${bad} of ${ll.length + rolling.length} log-likelihoods are not finite${where}; ` +
    'the model computes NaN or Inf (non-finite weights?), so no result is reported');
}

function gitHash(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

function taskConfig(spec: TaskSpec, h: HarnessVersion, k: number, metrics: MetricSpec[]): Record<string, unknown> {
  const d = spec.dataset;
  return {
    task: spec.name,
    dataset_path: d.path,
    dataset_name: d.name,
    [d.split === 'test' ? 'test_split' : 'validation_split']: d.split,
    ...(k > 0 ? { fewshot_split: spec.fewshotSplit ?? d.split } : {}),
    output_type: spec.outputType,
    ...spec.template,
    target_delimiter: ' ',
    fewshot_delimiter: '\n\n',
    num_fewshot: k,
    metric_list: metrics.map((m) => ({ metric: m.metric, aggregation: m.aggregation, higher_is_better: m.higherIsBetter })),
    metadata: { version: spec.versions[h] },
  };
}

/** A task's docs in the harness's order with their few-shot contexts. */
interface PreparedTask {
  data: LoadedTask;
  docs: DocRecord[];
  instances: Instance[];
  fewshotFiles: string[];
}

async function prepareTask(spec: TaskSpec, opts: EvalOptions, h: HarnessVersion, k: number, log: (s: string) => void): Promise<PreparedTask> {
  const data = await loadTaskData(spec, { dataDir: opts.dataDir, file: opts.files?.[spec.name], strict: opts.strict });
  for (const m of data.malformed.slice(0, 5)) log(`  ${spec.name}: skipped malformed row ${m.where}: ${m.message}`);
  if (data.malformed.length > 5) log(`  ${spec.name}: ... ${data.malformed.length - 5} more malformed rows (see results.json)`);
  // The harness orders and limits all rows of the split; a malformed row keeps its place (and doc_id) and is skipped.
  const byIndex = new Map<number, DocRecord>(data.docs.map((d) => [d.index, d]));
  const { order, rnd } = evalOrder(h, data.rows, applyLimit(data.rows, opts.limit));
  const docs = order.map((i) => byIndex.get(i)).filter((d): d is DocRecord => d !== undefined);
  let pool: Row[] = [];
  let fewshotFiles: string[] = [];
  if (k > 0) {
    if (spec.outputType === 'loglikelihood_rolling') throw new Error(`${spec.name}: perplexity tasks are zero-shot only (the harness asserts num_fewshot == 0)`);
    const fs0 = !spec.fewshotSplit
      ? data
      : await loadTaskData(spec, { dataDir: opts.dataDir, file: opts.fewshotFiles?.[spec.name], split: spec.fewshotSplit });
    // The sampler draws positions in the whole split: a skipped row would shift every later draw.
    if (fs0.malformed.length) {
      throw new Error(`${spec.name}: the few-shot split (${fs0.files.join(', ')}) has ${fs0.malformed.length} malformed row(s), e.g. ${fs0.malformed[0].where}: ${fs0.malformed[0].message}; the harness's sampler needs every row`);
    }
    pool = fs0.docs.map((d) => d.doc);
    fewshotFiles = fs0.files;
  }
  const instances: Instance[] = [];
  for (const i of order) {
    const d = byIndex.get(i);
    // A malformed row still takes its draw, so the examples of the rows after it are the harness's.
    const examples = drawFewshot(h, spec, rnd, pool, d?.doc ?? {}, k);
    if (!d) continue;
    const inst = spec.instance(d.doc, h);
    instances.push(k === 0 && !(h === '0.3' && spec.name === 'winogrande') ? inst : withFewshot(h, spec, inst, fewshotPrefix(h, spec, examples)));
  }
  return { data, docs, instances, fewshotFiles };
}

/** Runs the tasks and returns (and, with outDir, writes) the harness-format results. */
export async function evaluate(opts: EvalOptions): Promise<EvalResults> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const h = opts.harness ?? DEFAULT_HARNESS;
  const k = opts.numFewshot ?? 0;
  const iters = opts.bootstrapIters ?? DEFAULT_BOOTSTRAP_ITERS;
  if (!(Number.isInteger(k) && k >= 0)) throw new Error(`num_fewshot must be an integer >= 0, got ${k}`);
  if (!(Number.isInteger(iters) && iters >= 0)) throw new Error(`bootstrap_iters must be an integer >= 0, got ${iters}`);
  // v0.3's stderr_for_metric has no "iters <= 0" case: its bootstrap divides by min(1000, iters) and crashes.
  if (h === '0.3' && iters === 0) throw new Error('bootstrap_iters 0 (no stderrs) exists only in harness 0.4; v0.3 fails on it');
  const specs = opts.tasks.map(getTask);
  const start = Date.now();
  const seeds = h === '0.3'
    ? { doc_shuffle_seed: V03_SHUFFLE_SEED, fewshot_seed: V03_SHUFFLE_SEED }
    : { random_seed: 0, numpy_seed: 1234, torch_seed: 1234, fewshot_seed: V04_FEWSHOT_SEED };
  const out: EvalResults = {
    results: {}, group_subtasks: {}, configs: {}, versions: {}, 'n-shot': {}, higher_is_better: {}, 'n-samples': {},
    config: {
      model: 'inheritune-lab', model_args: null, batch_size: null, batch_sizes: [], device: null, use_cache: null,
      limit: opts.limit ?? null, bootstrap_iters: iters, gen_kwargs: null, ...seeds, ...opts.config,
      harness_version: h, num_fewshot: k,
    },
    git_hash: gitHash(),
    date: start / 1000,
    total_evaluation_time_seconds: '0',
    malformed_rows: {},
    data_files: {},
  };
  const runs: TaskRun[] = [];
  for (const spec of specs) {
    const prep = await prepareTask(spec, opts, h, k, log);
    const { data, docs } = prep;
    log(`${spec.name}: ${docs.length} of ${data.rows} docs (harness ${h}, ${k}-shot) from ${data.files.join(', ')}${data.malformed.length ? ` (${data.malformed.length} malformed rows skipped)` : ''}`);
    const run = await runTask(spec, docs, opts.scorer, { harness: h, bootstrapIters: iters, extraMetrics: opts.extraMetrics }, prep.instances);
    const metrics = runMetrics(spec, h, opts.extraMetrics);
    runs.push(run);
    out.results[spec.name] = run.result;
    out.group_subtasks[spec.name] = [];
    out.configs[spec.name] = taskConfig(spec, h, k, metrics);
    out.versions[spec.name] = spec.versions[h];
    out['n-shot'][spec.name] = k;
    out.higher_is_better[spec.name] = Object.fromEntries(metrics.map((m) => [m.metric, m.higherIsBetter]));
    out['n-samples'][spec.name] = { original: data.rows, effective: docs.length };
    out.malformed_rows[spec.name] = { count: data.malformed.length, first: data.malformed.slice(0, 20) };
    out.data_files[spec.name] = [...data.files, ...prep.fewshotFiles].map((f) => path.resolve(f));
    log(`  ${formatResult(run.result)}`);
  }
  out.total_evaluation_time_seconds = String((Date.now() - start) / 1000);
  if (opts.outDir) writeResults(opts.outDir, out, opts.logSamples === false ? [] : runs);
  return out;
}

/** "acc 0.5000 ± 0.0100, acc_norm ..." for a log line. */
export function formatResult(r: Record<string, string | number>): string {
  const parts: string[] = [];
  for (const k of Object.keys(r)) {
    if (!k.endsWith(',none') || k.includes('_stderr,')) continue;
    const name = k.slice(0, -5);
    const v = r[k] as number;
    const se = r[`${name}_stderr,none`];
    parts.push(`${name} ${v.toFixed(4)}${typeof se === 'number' ? ` ± ${se.toFixed(4)}` : ''}`);
  }
  return parts.join(', ');
}

/** JSON that keeps NaN / Infinity visible as strings (JSON has neither). */
function jsonSafe(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
}

/**
 * Writes results.json and samples_<task>_<date_id>.jsonl (each atomically: temp file, then rename). The sample files
 * of earlier runs in outDir are removed first, so the folder holds one run.
 */
export function writeResults(outDir: string, results: EvalResults, runs: TaskRun[], dateId = harnessDateId(new Date(results.date * 1000))): void {
  fs.mkdirSync(outDir, { recursive: true });
  const write = (file: string, text: string) => {
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  };
  for (const f of fs.readdirSync(outDir)) if (/^samples_.*\.jsonl$/.test(f)) fs.rmSync(path.join(outDir, f));
  write(path.join(outDir, 'results.json'), JSON.stringify(results, jsonSafe, 2) + '\n');
  for (const run of runs) {
    write(path.join(outDir, `samples_${run.task}_${dateId}.jsonl`), run.samples.map(sampleLine).join('\n') + '\n');
  }
}

/** The sample log of `task` in outDir (samples_<task>_<date_id>.jsonl), or undefined. */
export function sampleFile(outDir: string, task: string): string | undefined {
  const re = new RegExp(`^samples_${task}_\\d{4}-.*\\.jsonl$`);
  const f = fs.existsSync(outDir) ? fs.readdirSync(outDir).find((x) => re.test(x)) : undefined;
  return f ? path.join(outDir, f) : undefined;
}
