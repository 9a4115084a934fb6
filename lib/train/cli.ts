// `npm run cli -- train [options]`: train a model from scratch (or from an HF folder) on a prepared dataset, with
// checkpoints, CSV logs and a progress line; `--resume` continues the run in --out from its latest checkpoint with
// the saved settings (options given again must agree with them, except --steps and the logging/eval cadence).
// Ctrl-C stops at the next step boundary and writes a checkpoint; a second Ctrl-C exits at once.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend, formatBackendReport } from '../backend';
import { GPTConfig, PRESETS, activationOf, countParams, isPresetName, makeConfig } from '../model/config';
import { Params, disposeParams, initParams } from '../model/params';
import { tensorsToParams } from '../model/hf';
import { ACTIVATION_OPTION, loadModelWithActivation, parseActivation } from '../model/activation-option';
import { ensureDataset, openDataset } from '../data/dataset';
import { WindowMode, describeAlignment, isAligned } from '../data/windows';
import { parseArgs, ArgSpec } from '../cli/args';
import { RUN_CONFIG } from './history';
import { RunConfig, TrainOptions } from './options';
import { CHECKPOINTS_DIR, LATEST_FILE, STATE_FILE, latestCheckpoint } from './checkpoint';
import { readJsonFile } from '../model/checksums';
import { quote } from '../util/errors';
import { train } from './trainer';

export const TRAIN_HELP = `train: train a GPT on a prepared dataset, nanoGPT style.

Usage: npm run cli -- train [options]

Model      --preset NAME (tiny-4L) [--n-layer N --n-head N --n-embd N --dropout P --bias --no-bias
           --vocab-size N (the preset's; a synthetic dataset's own) --attn-layer-scale on|off (1/(l+1) logits)
           --activation gelu_new|gelu (MLP GELU: GPT-2's tanh form (default) or the exact erf form of nanoGPT)]
           --init-from DIR|FILE (start from an HF folder or a nanoGPT .safetensors instead of a fresh init; --activation
           names the GELU of a nanoGPT file that does not record it, and must agree with one that does)
           --init-seed N (default: --seed)
Data       --data NAME (owt-mini; synth-iid, synth-backcopy) --sampler random|sequential --batch-size B (8)
           --block-size T (model's) --windows any|bos (where windows start; default the dataset's: bos for
           synthetic data, any for text, where bos starts every window at an EOT document boundary)
Optimizer  --steps N (100) --lr X (6e-4) --min-lr X (lr/10) --warmup N (0) --decay-iters N (steps)
           --warmup-rule nanogpt|authors --schedule cosine|constant --weight-decay X (0.1) --beta1 X (0.9)
           --beta2 X (0.95) --eps X (1e-8) --decay-rule rank>=2|linear-weights --grad-clip X (1; 0 = off)
           --grad-accum K (1) --accumulation mean|sum --seed N (1337) --path fast|plain --spike-z Z --spike-window N
Eval       --eval-interval N (steps/10) --eval-batches N (8 fixed) --eval-iters N (0 random) --train-iters N (0)
           --eval-batch-size B
Probe      --probe-interval N (off) --probe-windows N (16) --probe-t T (min(64, context)): rank and sink profile
           on fixed val windows every N steps -> <out>/emergence-*.arrow (lazy layers forming over training)
Output     --out DIR (results/train/<preset>) --log-interval N (10) --checkpoint-interval N (eval interval)
           --keep-checkpoints N (3) --resume --overwrite --quiet --backend NAME`;

const SPEC: ArgSpec = {
  preset: { type: 'string' }, 'n-layer': { type: 'number' }, 'n-head': { type: 'number' }, 'n-embd': { type: 'number' },
  dropout: { type: 'number' }, bias: { type: 'boolean' }, 'no-bias': { type: 'boolean' }, 'init-from': { type: 'string' },
  'init-seed': { type: 'number' }, data: { type: 'string' }, 'vocab-size': { type: 'number' },
  'attn-layer-scale': { type: 'string', choices: ['on', 'off'] }, activation: ACTIVATION_OPTION, windows: { type: 'string', choices: ['any', 'bos'] }, sampler: { type: 'string', choices: ['random', 'sequential'] },
  'batch-size': { type: 'number' }, 'block-size': { type: 'number' }, steps: { type: 'number' }, lr: { type: 'number' },
  'min-lr': { type: 'number' }, warmup: { type: 'number' }, 'decay-iters': { type: 'number' },
  'warmup-rule': { type: 'string', choices: ['nanogpt', 'authors'] }, schedule: { type: 'string', choices: ['cosine', 'constant'] },
  'weight-decay': { type: 'number' }, beta1: { type: 'number' }, beta2: { type: 'number' }, eps: { type: 'number' },
  'decay-rule': { type: 'string', choices: ['rank>=2', 'linear-weights'] }, 'grad-clip': { type: 'number' },
  'grad-accum': { type: 'number' }, accumulation: { type: 'string', choices: ['mean', 'sum'] }, seed: { type: 'number' },
  path: { type: 'string', choices: ['fast', 'plain'] }, 'spike-z': { type: 'number' }, 'spike-window': { type: 'number' },
  'eval-interval': { type: 'number' }, 'eval-batches': { type: 'number' }, 'eval-iters': { type: 'number' },
  'train-iters': { type: 'number' }, 'eval-batch-size': { type: 'number' }, 'probe-interval': { type: 'number' },
  'probe-windows': { type: 'number' }, 'probe-t': { type: 'number' }, out: { type: 'string' },
  'log-interval': { type: 'number' }, 'checkpoint-interval': { type: 'number' }, 'keep-checkpoints': { type: 'number' },
  resume: { type: 'boolean' }, overwrite: { type: 'boolean' }, quiet: { type: 'boolean' }, backend: { type: 'string' },
  help: { type: 'boolean' },
};

type Opts = Record<string, string | number | boolean | undefined>;

/** The saved run config of a run directory, if it has a checkpoint to resume. */
function savedRun(out: string): RunConfig | undefined {
  const latest = latestCheckpoint(out);
  if (!latest) return undefined;
  // The run config of the checkpoint itself (state.json), else the run directory's config.json.
  const stateFile = path.join(latest, STATE_FILE);
  let file = fs.existsSync(stateFile) ? stateFile : path.join(out, RUN_CONFIG);
  if (!fs.existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = readJsonFile(file, 'the run config');
  } catch (e) {
    // The newest checkpoint may be the corrupt one the trainer skips (a lost `latest`): the run's config.json then.
    const runFile = path.join(out, RUN_CONFIG);
    if (file !== stateFile || !fs.existsSync(runFile) || fs.existsSync(path.join(out, CHECKPOINTS_DIR, LATEST_FILE))) throw e;
    file = runFile;
    json = readJsonFile(file, 'the run config');
  }
  const run = file === stateFile && typeof json === 'object' && json !== null ? (json as { run?: unknown }).run : json;
  const r = run as Partial<RunConfig> | null;
  if (typeof r !== 'object' || r === null || typeof r.model !== 'object' || r.model === null || typeof r.data !== 'object' || r.data === null) {
    throw new Error(`${file}: not a run config (expected an object with model, data, schedule, ...), got ${quote(run)}`);
  }
  return r as RunConfig;
}

function modelConfig(a: Opts, saved: RunConfig | undefined): { config: Readonly<GPTConfig>; preset: string | undefined } {
  const touched = ['preset', 'n-layer', 'n-head', 'n-embd', 'dropout', 'bias', 'no-bias', 'block-size', 'vocab-size', 'attn-layer-scale'].some((k) => a[k] !== undefined);
  const activation = parseActivation(a.activation);
  if (saved && activation !== undefined && activation !== activationOf(saved.model)) {
    throw new Error(`--activation ${activation} disagrees with the run being resumed: its saved config has activation ${activationOf(saved.model)}`);
  }
  if (saved && !touched) return { config: makeConfig(saved.model), preset: saved.preset ?? undefined };
  const preset = (a.preset as string | undefined) ?? saved?.preset ?? 'tiny-4L';
  if (!isPresetName(preset)) throw new Error(`unknown --preset '${preset}'; choose one of: ${Object.keys(PRESETS).join(', ')}`);
  if (a.bias && a['no-bias']) throw new Error('--bias and --no-bias contradict each other');
  const over: Partial<GPTConfig> = {};
  if (a['n-layer'] !== undefined) over.nLayer = a['n-layer'] as number;
  if (a['n-head'] !== undefined) over.nHead = a['n-head'] as number;
  if (a['n-embd'] !== undefined) over.nEmbd = a['n-embd'] as number;
  if (a.dropout !== undefined) over.dropout = a.dropout as number;
  if (a.bias) over.bias = true;
  if (a['no-bias']) over.bias = false;
  if (a['vocab-size'] !== undefined) over.vocabSize = a['vocab-size'] as number;
  if (a['attn-layer-scale'] !== undefined) over.scaleAttnByInverseLayerIdx = a['attn-layer-scale'] === 'on';
  if (activation !== undefined) over.activation = activation;
  // As in nanoGPT, block_size is both the model's context and the training window.
  if (a['block-size'] !== undefined) over.blockSize = a['block-size'] as number;
  return { config: makeConfig(preset, over), preset };
}

/** TrainOptions (without params/data sources) from the arguments, on top of a saved run's settings when resuming. */
export function optionsFromArgs(a: Opts, saved?: RunConfig): { base: Omit<TrainOptions, 'params' | 'data'>; dataName: string; batchSize: number; blockSize: number; sampler: 'random' | 'sequential' } {
  const num = (k: string, dflt: number): number => (a[k] !== undefined ? (a[k] as number) : dflt);
  const { config, preset } = modelConfig(a, saved);
  const steps = num('steps', saved?.maxSteps ?? 100);
  const s = saved?.schedule;
  const lr = num('lr', s?.lr ?? 6e-4);
  const evalInterval = num('eval-interval', saved?.eval?.interval ?? Math.max(1, Math.floor(steps / 10)));
  const o = saved?.optimizer;
  const spikeZ = a['spike-z'] !== undefined ? (a['spike-z'] as number) : saved?.spike?.zThreshold;
  const samplerSaved = saved?.data.sampler === 'sequential' ? 'sequential' : 'random';
  const base: Omit<TrainOptions, 'params' | 'data'> = {
    config,
    preset,
    maxSteps: steps,
    schedule: {
      lr,
      minLr: num('min-lr', s && a.lr === undefined ? s.minLr : lr / 10),
      warmupIters: num('warmup', s?.warmupIters ?? 0),
      decayIters: num('decay-iters', s?.decayIters ?? Math.max(steps, num('warmup', s?.warmupIters ?? 0) + 1)),
      warmup: (a['warmup-rule'] as 'nanogpt' | 'authors' | undefined) ?? s?.warmup ?? 'nanogpt',
      decay: (a.schedule as 'cosine' | 'constant' | undefined) ?? s?.decay ?? 'cosine',
    },
    optimizer: {
      beta1: num('beta1', o?.beta1 ?? 0.9),
      beta2: num('beta2', o?.beta2 ?? 0.95),
      eps: num('eps', o?.eps ?? 1e-8),
      weightDecay: num('weight-decay', o?.weightDecay ?? 0.1),
      decayRule: (a['decay-rule'] as 'rank>=2' | 'linear-weights' | undefined) ?? o?.decayRule ?? 'rank>=2',
    },
    gradClip: num('grad-clip', saved?.gradClip ?? 1),
    gradAccumSteps: num('grad-accum', saved?.gradAccumSteps ?? 1),
    accumulation: (a.accumulation as 'mean' | 'sum' | undefined) ?? saved?.accumulation ?? 'mean',
    seed: num('seed', saved?.seed ?? 1337),
    fast: a.path !== undefined ? a.path === 'fast' : undefined,
    logInterval: num('log-interval', saved?.logInterval ?? 10),
    eval: {
      interval: evalInterval,
      fixedBatches: num('eval-batches', saved?.eval?.fixedBatches ?? 8),
      randomIters: num('eval-iters', saved?.eval?.randomIters ?? 0),
      trainIters: num('train-iters', saved?.eval?.trainIters ?? 0),
      batchSize: a['eval-batch-size'] !== undefined ? (a['eval-batch-size'] as number) : saved?.eval?.batchSize,
    },
    probe: a['probe-interval'] !== undefined
      ? { interval: a['probe-interval'] as number, N: a['probe-windows'] as number | undefined, T: a['probe-t'] as number | undefined }
      : undefined,
    spike: spikeZ !== undefined ? { zThreshold: spikeZ, window: num('spike-window', saved?.spike?.window ?? 128) } : undefined,
    checkpointInterval: num('checkpoint-interval', saved?.checkpointInterval ?? evalInterval),
    keepCheckpoints: num('keep-checkpoints', 3),
  };
  return {
    base,
    dataName: (a.data as string | undefined) ?? saved?.data.name ?? 'owt-mini',
    batchSize: num('batch-size', saved?.data.batchSize ?? 8),
    blockSize: config.blockSize,
    sampler: (a.sampler as 'random' | 'sequential' | undefined) ?? samplerSaved,
  };
}

/** The step of the checkpoint a run directory would resume (its folder name), or -1. */
function latestStep(out: string): number {
  const dir = latestCheckpoint(out);
  const m = dir ? /step-(\d+)$/.exec(dir) : null;
  return m ? Number(m[1]) : -1;
}

export async function trainCommand(argv: string[]): Promise<number> {
  const a = parseArgs(argv.map((x) => (x === '-h' ? '--help' : x)), SPEC);
  if (a.options.help) {
    console.log(TRAIN_HELP);
    return 0;
  }
  if (a.positionals.length) throw new Error(`train takes no positional arguments, got '${a.positionals.join(' ')}' (options start with --)`);
  const opts = a.options;
  const preset = (opts.preset as string | undefined) ?? 'tiny-4L';
  const out = path.resolve((opts.out as string | undefined) ?? path.join('results', 'train', preset));
  const saved = opts.resume ? savedRun(out) : undefined;
  if (opts.resume && !saved) console.error(`note: ${out} has no checkpoint to resume; starting a fresh run`);
  if (opts.resume && saved && opts.steps !== undefined && latestStep(out) > (opts.steps as number)) {
    throw new Error(`--steps ${opts.steps as number} is below step ${latestStep(out)} of the checkpoint in ${out}: that run is already past it; ` +
      `pass --steps >= ${latestStep(out)} to continue it`);
  }
  const { base, dataName, batchSize, blockSize, sampler } = optionsFromArgs(opts, saved);
  const report = await initBackend({ backend: opts.backend as string | undefined });
  const info = await ensureDataset(dataName, { quiet: !!opts.quiet });
  // A synthetic dataset's ids are few: its vocabulary is the model's unless --vocab-size says otherwise (a resumed run
  // keeps the vocabulary it was started with).
  if (info.meta?.synthetic && opts['vocab-size'] === undefined && !opts['init-from']) {
    base.config = makeConfig({ ...base.config, vocabSize: saved ? saved.model.vocabSize : info.meta.vocabSize });
  }
  const windows = (opts.windows as WindowMode | undefined) ?? (saved ? (saved.data.windows ? 'bos' : 'any') : undefined);
  const trainSrc = openDataset(info, 'train', 'auto', windows);
  const valSrc = info.valFiles.length ? openDataset(info, 'val', 'auto', windows) : undefined;
  const cfg = base.config;
  let params: Params | undefined;
  const abort = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) process.exit(130);
    console.error('\ninterrupted: stopping after this step and writing a checkpoint (Ctrl-C again to quit now)');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    if (opts['init-from']) {
      const ck = loadModelWithActivation(path.resolve(opts['init-from'] as string), '--init-from', parseActivation(opts.activation));
      for (const n of ck.notes) if (!opts.quiet) console.error(`note: --init-from: ${n}`);
      // Over the keys of both: activation is absent from a config with the default (tanh) GELU.
      const keys = [...new Set([...Object.keys(cfg), ...Object.keys(ck.config)])] as (keyof GPTConfig)[];
      const shown = (c: GPTConfig, k: keyof GPTConfig): string => (k === 'activation' ? activationOf(c) : String(c[k]));
      const mism = keys.filter((k) => shown(ck.config, k) !== shown(cfg, k));
      if (mism.length) throw new Error(`--init-from ${opts['init-from']}: its config differs in ${mism.map((k) => `${k} (${shown(ck.config, k)} vs ${shown(cfg, k)})`).join(', ')}`);
      params = tensorsToParams(ck.tensors);
    } else {
      params = initParams(cfg, { seed: (opts['init-seed'] as number | undefined) ?? (base.seed as number) });
    }
    if (!opts.quiet) {
      console.error(formatBackendReport(report));
      const tokensPerStep = (base.gradAccumSteps ?? 1) * batchSize * blockSize;
      console.error(`model ${base.preset ?? 'custom'}: ${cfg.nLayer}L ${cfg.nHead}H ${cfg.nEmbd}C, ${(countParams(cfg) / 1e6).toFixed(2)}M params; ` +
        `data ${dataName} (${info.tokens.train} train tokens, windows ${describeAlignment(isAligned(trainSrc) ? trainSrc.align : undefined)}); ` +
        `${tokensPerStep} tokens/step; run dir ${out}`);
    }
    const res = await train({
      ...base,
      params,
      data: { train: trainSrc, val: valSrc, batchSize, blockSize, sampler, name: dataName },
      outDir: out,
      resume: opts.resume ? 'auto' : undefined,
      overwrite: !!opts.overwrite,
      progress: !opts.quiet,
      signal: abort.signal,
    });
    const last = res.history.steps[res.history.steps.length - 1];
    const parts = [`${res.stopped === 'aborted' ? 'stopped' : 'finished'} at step ${res.steps}`];
    if (last) parts.push(`loss ${last.loss.toFixed(4)}`);
    if (res.bestVal) parts.push(`best val ${res.bestVal.loss.toFixed(4)} at step ${res.bestVal.step}`);
    if (res.checkpoint) {
      const rel = path.relative(process.cwd(), res.checkpoint);
      parts.push(`checkpoint ${rel.startsWith('..') ? res.checkpoint : rel}`);
    }
    console.error(parts.join('; '));
    return res.stopped === 'aborted' ? 130 : 0;
  } finally {
    process.off('SIGINT', onSigint);
    if (params) disposeParams(params);
    trainSrc.close();
    valSrc?.close();
  }
}
