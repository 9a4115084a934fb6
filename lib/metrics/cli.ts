// `rank --model <checkpoint> [--data owt-mini]`: the paper's attention-rank profile of any GPT-2 checkpoint (yours,
// a `train` run's, or Hugging Face weights), without a notebook: a per-layer table and verdict on the terminal, the
// tables (Arrow + CSV) and the figures of notebook 02 under --out.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../backend';
import { parseArgs } from '../cli/args';
import { describeDataset, ensureDataset, openDataset } from '../data/dataset';
import { loadModelPath, tensorsToParams } from '../model/hf';
import { disposeParams } from '../model/params';
import { measureRankProfile, rankVerdict, tauSeries } from '../experiments/rank-profile';
import { saveRankResult } from './io';
import { saveFigure } from '../viz/save';
import { maxRankProfileFigure, rankHeatmapFigure, tauSensitivityFigure } from '../viz/rank-figures';
import type { MeasureResult } from './measure';

const REPO = path.resolve(__dirname, '..', '..');

export const RANK_HELP = `usage: rank --model <checkpoint> [options]

The paper's attention-rank protocol: N random windows of T tokens from a validation split; for every head, k* = the
number of singular values of its attention matrix holding tau = 0.9 of the energy; MaxRank(l) = the largest over a
layer's heads of the mean k* over windows. Collapsed ("lazy") layers have MaxRank close to 1.

  --model PATH     Hugging Face GPT-2 folder (config.json + model.safetensors; a \`train\` checkpoint folder is one)
                   or a nanoGPT .safetensors export
  --data NAME|DIR  token dataset: a name under data/ (owt-mini and edu-mini are prepared on first use) or a folder
                   holding val.bin / val shards (default owt-mini)
  --n N            windows (default 100)
  --t T            tokens per window (default 100; at most the model's context)
  --seed S         window sampling seed (default 2024, as notebook 02)
  --windows-per-batch B
                   windows per model forward (default 10); fewer need less memory (B x heads x T x T patterns per
                   layer), the result is the same
  --out DIR        tables and figures (default results/rank/<model name>-<data name>)
  --backend NAME   node-gpu | node | wasm | cpu
  -h, --help       this help`;

/** Runs the command; resolves to the exit code. `log` receives progress and the report. */
export async function rankCommand(argv: string[], log: (s: string) => void = (s) => console.log(s)): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    log(RANK_HELP);
    return 0;
  }
  const a = parseArgs(argv, {
    model: { type: 'string' }, data: { type: 'string' }, n: { type: 'number' }, t: { type: 'number' },
    seed: { type: 'number' }, out: { type: 'string' }, backend: { type: 'string' }, 'windows-per-batch': { type: 'number' },
  });
  const o = a.options;
  if (a.positionals.length) throw new Error(`unexpected argument '${a.positionals[0]}'\n${RANK_HELP}`);
  if (!o.model) throw new Error(`--model is required\n${RANK_HELP}`);
  const modelPath = path.resolve(String(o.model));
  // The weights do not need the backend: a bad path fails before anything starts. F16/BF16 stay 16-bit until
  // tensorsToParams widens them one at a time (and drops each host copy): peak host memory ~ one float32 model.
  const ckpt = loadModelPath(modelPath, '--model', { half: 'keep' });
  const cfg = ckpt.config;
  const N = (o.n as number | undefined) ?? 100;
  const T = (o.t as number | undefined) ?? 100;
  const seed = (o.seed as number | undefined) ?? 2024;
  const batchSize = (o['windows-per-batch'] as number | undefined) ?? 10;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--windows-per-batch must be a positive integer, got ${batchSize}`);
  const dataArg = String(o.data ?? 'owt-mini');
  // A folder path (absolute, or with a separator) is used as it is; a bare name is a dataset under data/.
  const info = dataArg.includes('/') || path.isAbsolute(dataArg) ? describeDataset(path.resolve(dataArg)) : await ensureDataset(dataArg, { quiet: true });
  if (T > cfg.blockSize) throw new Error(`--t ${T} exceeds the model's context (${cfg.blockSize})`);
  const modelName = path.basename(modelPath).replace(/\.safetensors$/, '');
  const outDir = path.resolve(o.out ? String(o.out) : path.join(REPO, 'results', 'rank', `${modelName}-${info.name}`));

  const backend = await initBackend({ backend: o.backend as string | undefined });
  for (const n of ckpt.notes) log(`  note: ${n}`);
  const val = openDataset(info, 'val');
  const params = tensorsToParams(ckpt.tensors, false, { consume: true });
  try {
    log(`rank: ${modelName} (${cfg.nLayer} layers x ${cfg.nHead} heads, width ${cfg.nEmbd}) on ${backend.name}; ` +
      `${N} windows of ${T} tokens from ${info.name} val (${info.tokens.val.toLocaleString()} tokens), seed ${seed}`);
    const res = await measureRankProfile(params, cfg, val, {
      N, T, seed, batchSize, model: modelName, data: `${info.name} val`, onProgress: progressPrinter(),
    });
    const t = res.timings;
    log(`${t.matrices} attention matrices: forward ${(t.forwardMs / 1000).toFixed(1)} s, SVD ${(t.svdMs / 1000).toFixed(1)} s; ` +
      `peak memory ${(process.resourceUsage().maxRSS / 1024 / 1024).toFixed(2)} GB RSS`);
    for (const line of layerReport(res)) log(line);
    for (const line of rankVerdict(res, cfg.nLayer)) log(`- ${line}`);
    const written = saveOutputs(outDir, res);
    log(`wrote ${path.relative(process.cwd(), outDir) || '.'}/: ${written.map((f) => path.basename(f)).join(', ')}`);
    return 0;
  } finally {
    disposeParams(params);
    val.close();
  }
}

/** The per-layer table as aligned text (1-based layers and heads, as the paper counts them). */
export function layerReport(res: MeasureResult): string[] {
  const lines = [`${'layer'.padStart(5)}${'MaxRank'.padStart(9)}${'head'.padStart(6)}   ${'k* over windows'.padEnd(15)}${'AvgMass'.padStart(9)}  lazy`];
  for (const r of res.aggregated.layers) {
    const band = `${r.maxRankMeanOverSeq.toFixed(2)} ± ${r.maxRankStdOverSeq.toFixed(2)}`;
    lines.push(`${String(r.layer + 1).padStart(5)}${r.maxRank.toFixed(2).padStart(9)}${String(r.maxRankHead + 1).padStart(6)}   ${band.padEnd(15)}${r.avgMass.toFixed(2).padStart(9)}  ${r.lazy ? 'yes' : ''}`);
  }
  return lines;
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
