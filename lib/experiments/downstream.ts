// Notebook 07: the paper's zero-shot downstream comparison (Table 1: FineWeb-Edu models; Table 7: GPT-2 XL 48L vs
// Inheritune 24L on OpenWebText; reference/paper.md §2, §6) for this scale's models: the reference (L layers),
// Inheritune round 1 (the first L/2 reference blocks, trained) and a random-init L/2 model trained the same way.
//
// Benchmark items cannot be downloaded here (reference/data.md §2): task files come from the user's data dir
// (data/eval or $INHERITUNE_DATA/eval). Tasks without a file are run through the SAME pipeline on the project's
// format fixtures (test/fixtures/eval/*.fixture.jsonl), whose results are marked 'format-fixtures' and are refused
// by every function that puts numbers beside the paper's.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GPTConfig } from '../model/config';
import { Params, disposeParams } from '../model/params';
import { tensorsToParams } from '../model/hf';
import { latestCheckpoint, readCheckpoint } from '../train/checkpoint';
import { inheritModel } from '../inheritune/inherit';
import { defaultDataDir } from '../data/dataset';
import { repoRoot } from '../notebook/kernel';
import { Scale, byScale, currentScale } from '../scale';
import { TASK_NAMES, TaskName, getTask } from '../eval/tasks';
import { findTaskFiles, loadTaskData } from '../eval/data';
import { EvalResults, evaluate } from '../eval/runner';
import { ModelScorer, ScorerStats } from '../eval/score';
import { RequestCache, modelFingerprint } from '../eval/cache';
import { LabData, LabSetup, TrainedModel, ensureReference, referenceConfig, runDir, seedRunName, trainLabModel } from './lab';
import { inherituneRunName, randomRunName, trainRandomBaseline } from './inheritune-run';

export const FIXTURE_LABEL = 'FORMAT FIXTURES — a pipeline check, not benchmark results';

/** Table 7's tasks, which include Table 1's five. */
export const DOWNSTREAM_TASKS: readonly TaskName[] = TASK_NAMES;
export const TABLE1_TASKS: readonly TaskName[] = ['arc_easy', 'piqa', 'sciq', 'hellaswag', 'lambada_openai'];

export interface DownstreamSettings {
  /** Docs per task (the harness's --limit); undefined = all. */
  limit: number | undefined;
  /** Requests per forward pass. */
  batchSize: number;
}

export const DOWNSTREAM_SETTINGS: Record<Scale, DownstreamSettings> = {
  tiny: { limit: 4, batchSize: 8 },
  lab: { limit: 500, batchSize: 16 },
  paper: { limit: undefined, batchSize: 16 },
};

/** The scale's settings; INHERITUNE_EVAL_LIMIT (a count, a fraction below 1, or 'all') overrides the limit. */
export function downstreamSettings(scale: Scale = currentScale(), env: Record<string, string | undefined> = process.env): DownstreamSettings {
  const s = { ...byScale(DOWNSTREAM_SETTINGS, scale) };
  const raw = env.INHERITUNE_EVAL_LIMIT?.trim();
  if (raw) {
    if (raw === 'all') s.limit = undefined;
    else {
      const n = Number(raw);
      if (!(n > 0) || (n >= 1 && !Number.isInteger(n))) throw new Error(`INHERITUNE_EVAL_LIMIT must be 'all', a positive integer or a fraction in (0, 1), got '${raw}'`);
      s.limit = n;
    }
  }
  return s;
}

/** The seed of every fresh init and the data order: the setup's first seed, as notebook 04's first seed run. */
export const downstreamSeed = (s: LabSetup): number => s.seeds[0];

export type ModelRole = 'reference' | 'inheritune' | 'random';

export interface DownstreamRun {
  role: ModelRole;
  /** Run name under results/lab/<scale>/ (as notebooks 02-05 name them). */
  run: string;
  label: string;
  layers: number;
  steps: number;
}

/** The three models of the comparison at this scale. */
export function downstreamRuns(s: LabSetup): DownstreamRun[] {
  const L = referenceConfig(s).nLayer;
  const k = Math.floor(L / 2);
  return [
    { role: 'reference', run: 'reference', label: `reference ${L}L`, layers: L, steps: s.referenceSteps },
    { role: 'inheritune', run: seedRunName(inherituneRunName(k, 1), downstreamSeed(s)), label: `Inheritune ${k}L (round 1)`, layers: k, steps: s.targetSteps },
    { role: 'random', run: seedRunName(randomRunName(k), downstreamSeed(s)), label: `random init ${k}L`, layers: k, steps: s.targetSteps },
  ];
}

export interface LoadedRun {
  params: Params;
  config: Readonly<GPTConfig>;
  step: number;
  valLoss: number | undefined;
  checkpoint: string;
}

/**
 * The final checkpoint of a finished run in `dir` (step >= `steps`), as non-trainable variables (the caller owns
 * them); undefined when the run has no checkpoint or is not finished (training resumes it).
 */
export function loadFinishedRun(dir: string, steps: number): LoadedRun | undefined {
  if (!fs.existsSync(dir)) return undefined;
  const latest = latestCheckpoint(dir);
  if (!latest) return undefined;
  const ck = readCheckpoint(latest);
  if (ck.state.step < steps) return undefined;
  const last = [...ck.state.history.evals].reverse().find((e) => e.valLoss !== undefined);
  return { params: tensorsToParams(ck.model, false), config: ck.modelConfig, step: ck.state.step, valLoss: last?.valLoss, checkpoint: latest };
}

export interface DownstreamModel extends DownstreamRun {
  params: Params;
  config: Readonly<GPTConfig>;
  /** Where it came from: a finished run's checkpoint, or trained now. */
  source: 'loaded' | 'trained';
  valLoss: number | undefined;
  dir: string;
}

/**
 * The reference, Inheritune L/2 and random L/2 models: each loaded from its finished run, else trained with the
 * recipe of notebook 04 (trainLabModel; Inheritune = wte + the first L/2 reference blocks via inheritModel).
 * The caller disposes them (disposeDownstreamModels).
 */
export async function ensureDownstreamModels(s: LabSetup, data: LabData, log: (line: string) => void = console.log): Promise<DownstreamModel[]> {
  const out: DownstreamModel[] = [];
  try {
    for (const r of downstreamRuns(s)) {
      const dir = runDir(s, r.run);
      const loaded = loadFinishedRun(dir, r.steps);
      if (loaded) {
        log(`${r.label}: loaded ${path.relative(repoRoot(), loaded.checkpoint)} (step ${loaded.step})`);
        out.push({ ...r, params: loaded.params, config: loaded.config, source: 'loaded', valLoss: loaded.valLoss, dir });
        continue;
      }
      log(`${r.label}: no finished run in ${path.relative(repoRoot(), dir)}; training it for ${r.steps} steps`);
      let trained: TrainedModel;
      if (r.role === 'reference') trained = await ensureReference(s, data);
      else if (r.role === 'random') trained = await trainRandomBaseline(s, data, out[0].config, r.layers, r.steps, downstreamSeed(s));
      else {
        // Notebook 04's round 1: wte (tied head) + the first L/2 reference blocks, the rest fresh.
        const built = inheritModel(out[0].params, out[0].config, { layers: r.layers, seed: downstreamSeed(s) });
        try {
          trained = await trainLabModel(s, data, r.run, built.params, built.config, r.steps, { seed: downstreamSeed(s) });
        } catch (e) {
          disposeParams(built.params);
          throw e;
        }
      }
      out.push({ ...r, params: trained.params, config: trained.config, source: 'trained', valLoss: trained.valLoss, dir });
    }
  } catch (e) {
    disposeDownstreamModels(out);
    throw e;
  }
  return out;
}

export function disposeDownstreamModels(models: DownstreamModel[]): void {
  for (const m of models) disposeParams(m.params);
}

// ---- task data: the user's files, else the format fixtures -----------------------------------------------------

export interface TaskSource {
  task: TaskName;
  kind: 'real' | 'format-fixture';
  /** The user's files (real) or the fixture file. */
  files: string[];
  /** For a missing task: the runner's message (paths searched, schema, how to export it). */
  missing?: string;
}

export interface DataPlan {
  dataDir: string;
  sources: TaskSource[];
  real: TaskName[];
  fixtures: TaskName[];
}

/** Where eval task files are looked for: $INHERITUNE_DATA/eval, else <repo>/data/eval. */
export function evalDataDir(): string {
  return path.join(defaultDataDir(), 'eval');
}

export function fixtureFile(task: TaskName): string {
  return path.join(repoRoot(), 'test', 'fixtures', 'eval', `${task}.fixture.jsonl`);
}

/** Which tasks have the user's files under dataDir; the others fall back to their format fixture. */
export async function planTaskData(dataDir: string = evalDataDir(), tasks: readonly TaskName[] = DOWNSTREAM_TASKS): Promise<DataPlan> {
  const sources: TaskSource[] = [];
  for (const task of tasks) {
    const spec = getTask(task);
    const files = findTaskFiles(spec, dataDir);
    if (files) {
      sources.push({ task, kind: 'real', files });
      continue;
    }
    let missing = `${task}: no data found under ${dataDir}`;
    try {
      await loadTaskData(spec, { dataDir }); // throws the runner's message for a missing task
    } catch (e) {
      missing = (e as Error).message;
    }
    const fx = fixtureFile(task);
    if (!fs.existsSync(fx)) throw new Error(`format fixture ${fx} is missing (it ships with the repository)`);
    sources.push({ task, kind: 'format-fixture', files: [fx], missing });
  }
  return {
    dataDir, sources,
    real: sources.filter((x) => x.kind === 'real').map((x) => x.task),
    fixtures: sources.filter((x) => x.kind === 'format-fixture').map((x) => x.task),
  };
}

/** Markdown for the notebook: what was found, and for missing tasks the exact files to bring. */
export function dataPlanMarkdown(plan: DataPlan): string {
  const lines: string[] = [];
  const real = plan.sources.filter((x) => x.kind === 'real');
  const missing = plan.sources.filter((x) => x.kind === 'format-fixture');
  if (real.length) lines.push(`**Benchmark task files found** under \`${plan.dataDir}\`: ${real.map((x) => `${x.task} (${x.files.map((f) => path.basename(f)).join(', ')})`).join('; ')}.`, '');
  if (!missing.length) return lines.join('\n');
  lines.push(
    `## ⚠ No benchmark data for ${real.length ? missing.map((x) => x.task).join(', ') : 'any task'}`,
    '',
    `The benchmark sets cannot be downloaded by this lab (no internet at run time; none is packaged for npm or Debian). ` +
      `Bring your own copies into \`${plan.dataDir}\` (see \`data/README.md\`). Until then, ${real.length ? 'these tasks' : 'every task'} ` +
      `runs through the same pipeline on the project's format fixtures, labelled **${FIXTURE_LABEL}**. No number from them is a result.`,
    '',
    '| task | bring this file | Hugging Face dataset, split (rows) |',
    '|---|---|---|',
    ...missing.map((x) => {
      const d = getTask(x.task).dataset;
      return `| ${x.task} | \`${path.join(plan.dataDir, `${x.task}.jsonl`)}\` | \`${d.path}\`${d.name ? ` (${d.name})` : ''}, ${d.split} (${d.size}) |`;
    }),
    '',
    '<details><summary>Every accepted path, the schema and an export command, per task</summary>',
    '',
    ...missing.flatMap((x) => ['```text', x.missing ?? x.task, '```', '']),
    '</details>',
  );
  return lines.join('\n');
}

// ---- evaluation --------------------------------------------------------------------------------------------------

export interface ModelEval {
  model: DownstreamRun;
  /** Tasks with the user's files. */
  real?: EvalResults;
  /** Tasks run on format fixtures (config.data_kind = 'format-fixtures'). */
  fixtures?: EvalResults;
  stats: ScorerStats;
}

export interface EvaluateModelOptions {
  plan: DataPlan;
  settings: DownstreamSettings;
  /** results.json per model under <outDir>/<run> (real) and <outDir>/format-fixtures/<run>. */
  outDir?: string;
  /** Request cache folder (keyed by the model's weights); undefined = no cache. */
  cacheDir?: string;
  log?: (line: string) => void;
  onProgress?: (done: number, total: number) => void;
}

/** Evaluates one model on the plan's real tasks and, separately, on its fixture tasks. */
export async function evaluateDownstreamModel(m: { params: Params; config: Readonly<GPTConfig> } & DownstreamRun, o: EvaluateModelOptions): Promise<ModelEval> {
  const fingerprint = await modelFingerprint(m.params, m.config);
  const cache = o.cacheDir ? new RequestCache(fingerprint.slice(0, 32), o.cacheDir) : undefined;
  const scorer = new ModelScorer(m.params, m.config, { batchSize: o.settings.batchSize, cache, onProgress: o.onProgress });
  const log = o.log ?? (() => {});
  const config = { model: m.label, model_args: m.run, model_fingerprint: fingerprint, batch_size: scorer.batchSize, max_length: scorer.maxLength, use_cache: cache?.file ?? null };
  const res: ModelEval = { model: { role: m.role, run: m.run, label: m.label, layers: m.layers, steps: m.steps }, stats: scorer.stats };
  if (o.plan.real.length) {
    res.real = await evaluate({
      scorer, tasks: [...o.plan.real], dataDir: o.plan.dataDir, limit: o.settings.limit, log,
      outDir: o.outDir ? path.join(o.outDir, m.run) : undefined, config: { ...config, data_kind: 'benchmark', data_dir: o.plan.dataDir },
    });
  }
  if (o.plan.fixtures.length) {
    const files: Record<string, string> = {};
    for (const s of o.plan.sources) if (s.kind === 'format-fixture') files[s.task] = s.files[0];
    res.fixtures = await evaluate({
      scorer, tasks: [...o.plan.fixtures], files, limit: o.settings.limit, log: (l) => log(`[fixture] ${l}`),
      outDir: o.outDir ? path.join(o.outDir, 'format-fixtures', m.run) : undefined,
      config: { ...config, model: `${m.label} [FORMAT FIXTURES]`, data_kind: 'format-fixtures', data_note: FIXTURE_LABEL },
    });
  }
  return res;
}

/** Throws unless r comes from benchmark files: fixture results are never put beside the paper. */
export function assertBenchmark(r: EvalResults): void {
  if (r.config.data_kind !== 'benchmark') {
    throw new Error(`${String(r.config.model)}: these results are not from benchmark files (${String(r.config.data_kind)}); ${FIXTURE_LABEL}, never shown beside the paper`);
  }
}

/** Rows of a pipeline check on fixtures: docs scored and metrics computed, no metric values. */
export function fixtureCheckRows(evals: ModelEval[]): Array<Record<string, string | number>> {
  const rows: Array<Record<string, string | number>> = [];
  for (const e of evals) {
    const r = e.fixtures;
    if (!r) continue;
    for (const [task, res] of Object.entries(r.results)) {
      const metrics = Object.keys(res).filter((k) => k.endsWith(',none') && !k.includes('_stderr'));
      rows.push({
        model: e.model.label, task, file: path.basename(r.data_files[task]?.[0] ?? ''), docs: r['n-samples'][task]?.effective ?? 0,
        'metrics computed': metrics.map((k) => k.slice(0, -5)).join(', '),
        'all finite': metrics.every((k) => Number.isFinite(res[k] as number)) ? 'yes' : 'NO',
      });
    }
  }
  return rows;
}
