// `rank --model <checkpoint> [--data owt-mini]`: the paper's attention-rank profile of any GPT-2 checkpoint (yours,
// a `train` run's, or Hugging Face weights), without a notebook: a per-layer table with the sink diagnostics and a
// verdict on the terminal, the tables (Arrow + CSV) and the figures of notebook 02 under --out.
// `rank --model <run dir>` profiles every kept checkpoint of a run the same way: emergence over training.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../backend';
import { parseArgs } from '../cli/args';
import { describeDataset, ensureDataset, openDataset } from '../data/dataset';
import { ACTIVATION_OPTION, parseActivation } from '../model/activation-option';
import { measureRankAndSinksOn, rankVerdict, tauSeries } from '../experiments/rank-profile';
import { openRankModel } from './rank-model';
import { SinkResult, sinkVerdict } from './sink-measure';
import { sinkProfileFigure, layerSkipFigure } from '../viz/sink-figures';
import { profileRunDir, isRunDir } from './cli-emergence';
import { WindowMode } from '../data/windows';
import { tableFromRows } from '../viz/table';
import { saveRankResult } from './io';
import { saveFigure } from '../viz/save';
import { maxRankProfileFigure, rankHeatmapFigure, tauSensitivityFigure } from '../viz/rank-figures';
import type { MeasureResult } from './measure';

const REPO = path.resolve(__dirname, '..', '..');

export const RANK_HELP = `usage: rank --model <checkpoint> [options]

The paper's attention-rank protocol: N random windows of T tokens from a validation split; for every head, k* = the
number of singular values of its attention matrix holding tau = 0.9 of the energy; MaxRank(l) = the largest over a
layer's heads of the mean k* over windows. Collapsed ("lazy") layers have MaxRank close to 1. Beside it, the sink
diagnostics on the same windows: per head the attention on position 0 (rows >= 5) and the entropy over the uniform
one; per layer the sink rate (heads above 0.3), the position-0 norm ratios of the residual stream and the values,
block influence, angular distance, and the loss increase when the layer's attention or whole block is skipped.

  --model PATH     Hugging Face folder (config.json + model.safetensors or sharded model-*.safetensors with
                   model.safetensors.index.json): GPT-2 (a \`train\` checkpoint folder is one), Llama / Mistral / Qwen2
                   or GPT-NeoX (Pythia), F32/F16/BF16; or a nanoGPT .safetensors export; or a \`train\` run
                   directory (with checkpoints/): every kept checkpoint is profiled (emergence over training:
                   heatmaps of MaxRank and sink rate by step)
  --data NAME|DIR  token dataset: a name under data/ (owt-mini and edu-mini are prepared on first use) or a folder
                   holding val.bin / val shards (default owt-mini)
  --n N            windows (default 100)
  --t T            tokens per window (default 100; at most the model's context)
  --seed S         window sampling seed (default 2024, as notebook 02)
  --windows MODE   any | bos: where windows start (default the dataset's: bos for synthetic data, any for text;
                   bos on text starts every window at an EOT document boundary)
  --causal-windows K  windows of the layer-skip losses (default 20; 0 = off; 2 forwards per layer each)
  --windows-per-batch B
                   windows per model forward (default 10); fewer need less memory (B x heads x T x T patterns per
                   layer), the result is the same
  --out DIR        tables and figures (default results/rank/<model name>-<data name>)
  --backend NAME   node-gpu | node | wasm | cpu
  --allow-non-finite  load weights with NaN/Inf values (refused by default; the protocol still refuses NaN patterns)
  --activation gelu_new|gelu
                   the MLP GELU of a nanoGPT file that does not record it (gelu_new: GPT-2's tanh form, assumed
                   otherwise; gelu: the exact erf form of current nanoGPT); must agree with a file that records it
  -h, --help       this help`;

/** Runs the command; resolves to the exit code. `log` receives progress and the report. */
export async function rankCommand(argv: string[], log: (s: string) => void = (s) => console.log(s)): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    log(RANK_HELP);
    return 0;
  }
  const a = parseArgs(argv, {
    model: { type: 'string' }, data: { type: 'string' }, n: { type: 'number' }, t: { type: 'number' },
    seed: { type: 'number' }, out: { type: 'string' }, backend: { type: 'string' }, 'allow-non-finite': { type: 'boolean' },
    windows: { type: 'string', choices: ['any', 'bos'] }, 'causal-windows': { type: 'number' }, 'windows-per-batch': { type: 'number' },
    activation: ACTIVATION_OPTION,
  });
  const o = a.options;
  if (a.positionals.length) throw new Error(`unexpected argument '${a.positionals[0]}'\n${RANK_HELP}`);
  if (!o.model) throw new Error(`--model is required\n${RANK_HELP}`);
  const modelPath = path.resolve(String(o.model));
  const allowNonFinite = o['allow-non-finite'] === true;
  const activation = parseActivation(o.activation);
  const N = (o.n as number | undefined) ?? 100;
  const T = (o.t as number | undefined) ?? 100;
  const seed = (o.seed as number | undefined) ?? 2024;
  const causalWindows = (o['causal-windows'] as number | undefined) ?? Math.min(N, 20);
  if (!Number.isInteger(causalWindows) || causalWindows < 0 || causalWindows > N) throw new Error(`--causal-windows must be an integer in [0, --n = ${N}], got ${causalWindows}`);
  const batchSize = (o['windows-per-batch'] as number | undefined) ?? 10;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--windows-per-batch must be a positive integer, got ${batchSize}`);
  const dataArg = String(o.data ?? 'owt-mini');
  // A folder path (absolute, or with a separator) is used as it is; a bare name is a dataset under data/.
  const info = dataArg.includes('/') || path.isAbsolute(dataArg) ? describeDataset(path.resolve(dataArg)) : await ensureDataset(dataArg, { quiet: true });
  const windowMode = o.windows as WindowMode | undefined;
  if (isRunDir(modelPath)) {
    const outDir = path.resolve(o.out ? String(o.out) : path.join(REPO, 'results', 'rank', `${path.basename(modelPath)}-${info.name}-emergence`));
    return profileRunDir({ runDir: modelPath, info, N, T, seed, windows: windowMode, outDir, backend: o.backend as string | undefined, log, allowNonFinite, activation });
  }
  // The weights do not need the backend: a bad path fails before anything starts (GPT-2, Llama or NeoX: ./rank-model).
  const opened = openRankModel(modelPath, { allowNonFinite, activation });
  const cfg = opened.dims;
  if (T > cfg.blockSize) throw new Error(`--t ${T} exceeds the model's context (${cfg.blockSize})`);
  const modelName = path.basename(modelPath).replace(/\.safetensors$/, '');
  const outDir = path.resolve(o.out ? String(o.out) : path.join(REPO, 'results', 'rank', `${modelName}-${info.name}`));

  const backend = await initBackend({ backend: o.backend as string | undefined });
  for (const n of opened.notes) log(`  note: ${n}`);
  const val = openDataset(info, 'val', 'auto', windowMode);
  try {
    const model = opened.load();
    const aligned = windowMode ?? (info.meta?.windows ? 'bos' : 'any');
    const family = opened.modelType === 'gpt2' ? '' : `${opened.modelType}, `;
    log(`rank: ${modelName} (${family}${cfg.nLayer} layers x ${cfg.nHead} heads, width ${cfg.nEmbd}) on ${backend.name}; ` +
      `${N} windows of ${T} tokens from ${info.name} val (${info.tokens.val.toLocaleString()} tokens, windows ${aligned}), seed ${seed}`);
    const { rank: res, sinks } = await measureRankAndSinksOn(model, val, {
      N, T, seed, batchSize, model: modelName, data: `${info.name} val`, onProgress: progressPrinter(), causalWindows,
      onBlock: ({ done, total, elapsedMs }) => log(`  block ${done}/${total} on all ${N} windows: ${(elapsedMs / 60000).toFixed(1)} min, ` +
        `about ${((elapsedMs / done) * (total - done) / 60000).toFixed(1)} min of the forward left`),
    });
    const t = res.timings;
    log(`${t.matrices} attention matrices: forward with patterns, residuals and values ${(t.forwardMs / 1000).toFixed(1)} s, SVD ${(t.svdMs / 1000).toFixed(1)} s; ` +
      `layer skips on ${causalWindows} windows ${(sinks.timings.causalMs / 1000).toFixed(1)} s; peak memory ${(process.resourceUsage().maxRSS / 1024 / 1024).toFixed(2)} GB RSS`);
    for (const line of layerReport(res, sinks)) log(line);
    for (const line of rankVerdict(res, cfg.nLayer)) log(`- ${line}`);
    for (const line of sinkVerdict(sinks)) log(`- ${line}`);
    const written = [...saveOutputs(outDir, res), ...saveSinkOutputs(outDir, sinks, res)];
    log(`wrote ${path.relative(process.cwd(), outDir) || '.'}/: ${written.map((f) => path.basename(f)).join(', ')}`);
    return 0;
  } finally {
    opened.dispose();
    val.close();
  }
}

/** The per-layer table as aligned text (1-based layers and heads, as the paper counts them), with sink columns. */
export function layerReport(res: MeasureResult, sinks?: SinkResult): string[] {
  const sinkHead = sinks ? `${'sinks'.padStart(7)}${'pos0'.padStart(6)}${'ent'.padStart(6)}${'|x0|'.padStart(7)}${'|v0|'.padStart(6)}${'BI'.padStart(6)}${'dL attn'.padStart(9)}${'dL block'.padStart(9)}` : '';
  const lines = [`${'layer'.padStart(5)}${'MaxRank'.padStart(9)}${'head'.padStart(6)}   ${'k* over windows'.padEnd(15)}${'AvgMass'.padStart(9)}${sinkHead}  lazy`];
  for (const r of res.aggregated.layers) {
    const band = `${r.maxRankMeanOverSeq.toFixed(2)} ± ${r.maxRankStdOverSeq.toFixed(2)}`;
    const s = sinks?.layers[r.layer];
    const sinkCols = s
      ? `${s.sinkRate.toFixed(2).padStart(7)}${s.meanSinkMass.toFixed(2).padStart(6)}${s.meanEntropyFraction.toFixed(2).padStart(6)}${s.residRatio.toFixed(1).padStart(7)}` +
        `${s.valueRatio.toFixed(2).padStart(6)}${s.blockInfluence.toFixed(3).padStart(6)}${fmtDelta(s.attnSkipDeltaLoss).padStart(9)}${fmtDelta(s.blockSkipDeltaLoss).padStart(9)}`
      : '';
    lines.push(`${String(r.layer + 1).padStart(5)}${r.maxRank.toFixed(2).padStart(9)}${String(r.maxRankHead + 1).padStart(6)}   ${band.padEnd(15)}${r.avgMass.toFixed(2).padStart(9)}${sinkCols}  ${r.lazy ? 'yes' : ''}`);
  }
  if (sinks) {
    lines.push(`(sinks: fraction of heads with attention on position 0 > ${sinks.meta.threshold}; pos0: mean attention on position 0, rows >= ${sinks.meta.firstRow}; ` +
      `ent: entropy / uniform; |x0|, |v0|: position-0 norm / median; BI: block influence; dL: loss increase when skipped, ${Number.isFinite(sinks.baseLoss) ? `base loss ${sinks.baseLoss.toFixed(4)}` : 'not measured (--causal-windows 0)'})`);
  }
  return lines;
}

function fmtDelta(v: number): string {
  return Number.isNaN(v) ? '-' : `${v >= 0 ? '+' : ''}${v.toFixed(3)}`;
}

function saveSinkOutputs(outDir: string, s: SinkResult, res: MeasureResult): string[] {
  const files = [path.join(outDir, 'sinks-layers.arrow'), path.join(outDir, 'sinks-heads.arrow'), path.join(outDir, 'sinks-layers.csv'), path.join(outDir, 'sinks-meta.json')];
  const layers = tableFromRows(s.layers);
  fs.writeFileSync(files[0], layers.toArrowIPC({ format: 'file' }));
  fs.writeFileSync(files[1], tableFromRows(s.heads).toArrowIPC({ format: 'file' }));
  fs.writeFileSync(files[2], layers.toCSV());
  fs.writeFileSync(files[3], JSON.stringify({ ...s.meta, baseLoss: s.baseLoss, timings: s.timings }, null, 2) + '\n');
  const figs = [
    saveFigure(sinkProfileFigure(s.layers, { title: `Sink diagnostics: ${res.meta.model}`, maxRank: res.aggregated.layers.map((r) => r.maxRank) }), path.join(outDir, 'sink-profile'), { png: false }),
  ];
  if (s.meta.causalWindows > 0) figs.push(saveFigure(layerSkipFigure(s.layers, { title: `Skipping one layer: ${res.meta.model}` }), path.join(outDir, 'layer-skip'), { png: false }));
  return [...files, ...figs.map((f) => f.html)];
}

function saveOutputs(outDir: string, res: MeasureResult): string[] {
  const written = saveRankResult(outDir, res);
  const csv = path.join(outDir, 'layers.csv');
  fs.writeFileSync(csv, res.tables.layers.toCSV());
  written.push(csv);
  const figs = [
    saveFigure(maxRankProfileFigure(res.aggregated.layers, { title: `MaxRank(l), τ = 0.9, N = ${res.meta.N}, T = ${res.meta.T}: ${res.meta.model}` }), path.join(outDir, 'maxrank-profile'), { png: false }),
    saveFigure(rankHeatmapFigure(res.aggregated.heads, { title: 'Rank(h,l), mean over windows' }), path.join(outDir, 'rank-heatmap'), { png: false }),
    saveFigure(tauSensitivityFigure(tauSeries(res), { title: 'MaxRank(l) for τ = 0.80 … 0.95' }), path.join(outDir, 'tau-sensitivity'), { png: false }),
  ];
  return [...written, ...figs.map((f) => f.html)];
}

/** A one-line window counter on a terminal; silent otherwise. */
function progressPrinter(): ((p: { done: number; N: number }) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (p) => process.stderr.write(`\r  ${p.done}/${p.N} windows${p.done === p.N ? '\n' : ''}`);
}
