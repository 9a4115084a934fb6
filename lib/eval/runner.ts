// evaluate(): load each task's docs, build the harness's requests, score them, aggregate, and write results in
// lm-evaluation-harness's JSON layout (results / versions / n-shot / higher_is_better / n-samples / config / date,
// anchors.md §2.3) plus per-sample logs samples_<task>.jsonl, so tooling written for the harness reads them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { LoglikResult, Scorer } from './requests';
import { Instance, Row, TaskName, TaskSpec, getTask } from './tasks';
import { DocRecord, Malformed, loadTaskData } from './data';
import { MetricItem, aggregate, processResults } from './metrics';

export interface EvalOptions {
  scorer: Scorer;
  tasks: string[];
  /** Folder with the task files (see data.ts expectedLocations). */
  dataDir?: string;
  /** Explicit file per task, instead of searching dataDir. */
  files?: Partial<Record<string, string>>;
  /** Evaluate the first N docs (N >= 1), or a fraction of them (0 < N < 1, rounded up), as the harness's --limit. */
  limit?: number;
  /** Refuse a task with any malformed row (default: skip those rows and report them). */
  strict?: boolean;
  /** Write results.json and samples_<task>.jsonl here. */
  outDir?: string;
  /** Write the per-sample logs (default true when outDir is set). */
  logSamples?: boolean;
  /** Fields for results.config: model, model_args, batch_size, device, use_cache, ... */
  config?: Record<string, unknown>;
  /** Progress lines (default console.log). */
  log?: (line: string) => void;
}

/** The harness's results file, plus malformed_rows and data_files (ours). */
export interface EvalResults {
  results: Record<string, Record<string, string | number>>;
  group_subtasks: Record<string, string[]>;
  configs: Record<string, Record<string, unknown>>;
  versions: Record<string, number>;
  'n-shot': Record<string, number>;
  higher_is_better: Record<string, Record<string, boolean>>;
  'n-samples': Record<string, { original: number; effective: number }>;
  config: Record<string, unknown>;
  git_hash: string | null;
  date: number;
  total_evaluation_time_seconds: string;
  /** Rows that were skipped, per task: how many, and the first ones with file:line and reason. */
  malformed_rows: Record<string, { count: number; first: Malformed[] }>;
  data_files: Record<string, string[]>;
}

/** One scored doc. */
export interface SampleRecord {
  doc_id: number;
  doc: Row;
  target: string | number;
  arguments: Array<[string, string] | [string]>;
  resps: Array<Array<[number, boolean] | number>>;
  filtered_resps: Array<[number, boolean] | number>;
  filter: 'none';
  metrics: string[];
  doc_hash: string;
  prompt_hash: string;
  target_hash: string;
  /** Where the doc came from (file:line). */
  source: string;
  [metric: string]: unknown;
}

export interface TaskRun {
  task: TaskName;
  /** Per-metric aggregate, in the harness's "metric,none" keys (with alias). */
  result: Record<string, string | number>;
  samples: SampleRecord[];
  items: Array<Record<string, MetricItem>>;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** The number of docs the harness evaluates for --limit. */
export function applyLimit(n: number, limit: number | undefined): number {
  if (limit === undefined) return n;
  if (!(limit > 0)) throw new Error(`limit must be > 0 (a count, or a fraction below 1), got ${limit}`);
  return Math.min(n, limit < 1 ? Math.ceil(n * limit) : Math.floor(limit));
}

/** Scores a task's docs (already validated): one batched call per request type, then process_results per doc. */
export async function runTask(spec: TaskSpec, docs: DocRecord[], scorer: Scorer): Promise<TaskRun> {
  const instances: Instance[] = docs.map((d) => spec.instance(d.doc));
  const pairs: Array<[string, string]> = [];
  const texts: string[] = [];
  for (const inst of instances) {
    if (inst.type === 'multiple_choice') pairs.push(...inst.requests);
    else if (inst.type === 'loglikelihood') pairs.push(inst.request);
    else texts.push(inst.text);
  }
  const ll = pairs.length ? await scorer.loglikelihood(pairs) : [];
  const rolling = texts.length ? await scorer.loglikelihoodRolling(texts) : [];
  refuseNonFinite(spec.name, docs, instances, ll, rolling);
  let p = 0;
  let t = 0;
  const items: Array<Record<string, MetricItem>> = [];
  const samples: SampleRecord[] = [];
  instances.forEach((inst, i) => {
    let res: LoglikResult[] | number;
    let args: Array<[string, string] | [string]>;
    let target: string | number;
    if (inst.type === 'loglikelihood_rolling') {
      res = rolling[t++];
      args = [[inst.text]];
      target = inst.text;
    } else {
      const reqs = inst.type === 'multiple_choice' ? inst.requests : [inst.request];
      res = ll.slice(p, p + reqs.length);
      p += reqs.length;
      args = reqs;
      target = inst.type === 'multiple_choice' ? inst.gold : inst.target;
    }
    const m = processResults(inst, res, spec.metrics);
    items.push(m);
    const resps = typeof res === 'number' ? [res] : res.map((r) => [r.ll, r.isGreedy] as [number, boolean]);
    samples.push({
      doc_id: i,
      doc: docs[i].doc,
      target,
      arguments: args,
      resps: resps.map((r) => [r]),
      filtered_resps: resps,
      filter: 'none',
      metrics: Object.keys(m),
      doc_hash: sha256(JSON.stringify(docs[i].doc, null, 2)),
      prompt_hash: sha256(args[0][0]),
      target_hash: sha256(String(target)),
      source: docs[i].where,
      ...m,
    });
  });
  const result: Record<string, string | number> = { alias: spec.name };
  for (const ms of spec.metrics) {
    const a = aggregate(ms, items.map((x) => x[ms.metric]));
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

function taskConfig(spec: TaskSpec): Record<string, unknown> {
  const d = spec.dataset;
  return {
    task: spec.name,
    dataset_path: d.path,
    dataset_name: d.name,
    [d.split === 'test' ? 'test_split' : 'validation_split']: d.split,
    output_type: spec.outputType,
    ...spec.template,
    target_delimiter: ' ',
    fewshot_delimiter: '\n\n',
    num_fewshot: 0,
    metric_list: spec.metrics.map((m) => ({ metric: m.metric, aggregation: m.aggregation, higher_is_better: m.higherIsBetter })),
    metadata: { version: spec.version },
  };
}

/** Runs the tasks and returns (and, with outDir, writes) the harness-format results. */
export async function evaluate(opts: EvalOptions): Promise<EvalResults> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const specs = opts.tasks.map(getTask);
  const start = Date.now();
  const out: EvalResults = {
    results: {}, group_subtasks: {}, configs: {}, versions: {}, 'n-shot': {}, higher_is_better: {}, 'n-samples': {},
    config: {
      model: 'inheritune-lab', model_args: null, batch_size: null, batch_sizes: [], device: null, use_cache: null,
      limit: opts.limit ?? null, bootstrap_iters: 0, gen_kwargs: null, random_seed: 0, numpy_seed: 1234, torch_seed: 1234,
      fewshot_seed: 1234, ...opts.config,
    },
    git_hash: gitHash(),
    date: start / 1000,
    total_evaluation_time_seconds: '0',
    malformed_rows: {},
    data_files: {},
  };
  const runs: TaskRun[] = [];
  for (const spec of specs) {
    const data = await loadTaskData(spec, { dataDir: opts.dataDir, file: opts.files?.[spec.name], strict: opts.strict });
    for (const m of data.malformed.slice(0, 5)) log(`  ${spec.name}: skipped malformed row ${m.where}: ${m.message}`);
    if (data.malformed.length > 5) log(`  ${spec.name}: ... ${data.malformed.length - 5} more malformed rows (see results.json)`);
    const n = applyLimit(data.docs.length, opts.limit);
    log(`${spec.name}: ${n} of ${data.docs.length} docs from ${data.files.join(', ')}${data.malformed.length ? ` (${data.malformed.length} malformed rows skipped)` : ''}`);
    const run = await runTask(spec, data.docs.slice(0, n), opts.scorer);
    runs.push(run);
    out.results[spec.name] = run.result;
    out.group_subtasks[spec.name] = [];
    out.configs[spec.name] = taskConfig(spec);
    out.versions[spec.name] = spec.version;
    out['n-shot'][spec.name] = 0;
    out.higher_is_better[spec.name] = Object.fromEntries(spec.metrics.map((m) => [m.metric, m.higherIsBetter]));
    out['n-samples'][spec.name] = { original: data.docs.length, effective: n };
    out.malformed_rows[spec.name] = { count: data.malformed.length, first: data.malformed.slice(0, 20) };
    out.data_files[spec.name] = data.files.map((f) => path.resolve(f));
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

/** Writes results.json and samples_<task>.jsonl (each atomically: temp file, then rename). */
export function writeResults(outDir: string, results: EvalResults, runs: TaskRun[]): void {
  fs.mkdirSync(outDir, { recursive: true });
  const write = (file: string, text: string) => {
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  };
  write(path.join(outDir, 'results.json'), JSON.stringify(results, jsonSafe, 2) + '\n');
  for (const run of runs) {
    write(path.join(outDir, `samples_${run.task}.jsonl`), run.samples.map((s) => JSON.stringify(s, jsonSafe)).join('\n') + '\n');
  }
}
