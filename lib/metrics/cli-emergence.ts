// `rank --model <run dir>`: the rank and sink profile of every kept checkpoint of a training run, on one set of
// windows, as the emergence table (step x layer x head) and its figures. A run trained elsewhere works the same
// way when its checkpoints are laid out as checkpoints/step-NNNNNNNN/ Hugging Face folders (config.json +
// model.safetensors), e.g. nanoGPT checkpoints exported to safetensors.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../backend';
import { DatasetInfo, openDataset } from '../data/dataset';
import { WindowMode } from '../data/windows';
import { tensorsToParams } from '../model/hf';
import { Activation } from '../model/config';
import { loadModelWithActivation } from '../model/activation-option';
import { disposeParams } from '../model/params';
import { rankWindows } from '../experiments/rank-profile';
import { ProbeResult, lazyOnsetSteps, probeModel, writeEmergenceTables } from './emergence';
import { saveFigure } from '../viz/save';
import { emergenceCurvesFigure, emergenceHeatmapFigure } from '../viz/sink-figures';

/** A run directory: a checkpoints/ folder and no model file of its own. */
export function isRunDir(p: string): boolean {
  return fs.existsSync(path.join(p, 'checkpoints')) && fs.statSync(path.join(p, 'checkpoints')).isDirectory() && !fs.existsSync(path.join(p, 'model.safetensors'));
}

/** The run's checkpoints/step-N folders, in step order. */
export function runCheckpoints(runDir: string): Array<{ step: number; dir: string }> {
  const dir = path.join(runDir, 'checkpoints');
  const out = fs.readdirSync(dir)
    .map((n) => ({ m: /^step-(\d+)$/.exec(n), n }))
    .filter((x) => x.m && fs.statSync(path.join(dir, x.n)).isDirectory())
    .map((x) => ({ step: Number(x.m![1]), dir: path.join(dir, x.n) }))
    .sort((a, b) => a.step - b.step);
  if (out.length === 0) throw new Error(`${dir} holds no step-N checkpoint folders`);
  return out;
}

export interface RunDirOptions {
  runDir: string;
  info: DatasetInfo;
  N: number;
  T: number;
  seed: number;
  windows?: WindowMode;
  outDir: string;
  backend?: string;
  log: (s: string) => void;
  /** Load checkpoints whose weights hold NaN/Inf (refused by default). */
  allowNonFinite?: boolean;
  /** --activation: checked against each checkpoint's config.json (which records it). */
  activation?: Activation;
}

/** Profiles every checkpoint; prints MaxRank and sink rate by step, and when each layer turned lazy. */
export async function profileRunDir(o: RunDirOptions): Promise<number> {
  const cks = runCheckpoints(o.runDir);
  const load = (dir: string) => loadModelWithActivation(dir, '--model', o.activation, { allowNonFinite: o.allowNonFinite });
  const first = load(cks[0].dir);
  if (o.T > first.config.blockSize) throw new Error(`--t ${o.T} exceeds the model's context (${first.config.blockSize})`);
  const backend = await initBackend({ backend: o.backend });
  const val = openDataset(o.info, 'val', 'auto', o.windows);
  const probes: ProbeResult[] = [];
  try {
    const windows = rankWindows(val, o.N, o.T, o.seed);
    o.log(`rank: ${cks.length} checkpoints of ${o.runDir} (steps ${cks[0].step}..${cks[cks.length - 1].step}) on ${backend.name}; ` +
      `${o.N} windows of ${o.T} tokens from ${o.info.name} val, seed ${o.seed}`);
    for (const ck of cks) {
      const loaded = ck === cks[0] ? first : load(ck.dir);
      const params = tensorsToParams(loaded.tensors, false);
      try {
        const p = await probeModel(params, loaded.config, windows, ck.step);
        probes.push(p);
        o.log(`  step ${String(ck.step).padStart(7)}: MaxRank ${p.layers.map((l) => l.maxRank.toFixed(1)).join(' ')} | sink rate ${p.layers.map((l) => l.sinkRate.toFixed(2)).join(' ')}`);
      } finally {
        disposeParams(params);
      }
    }
  } finally {
    val.close();
  }
  const onset = lazyOnsetSteps(probes, 1.5);
  o.log(`Lazy from step (MaxRank <= 1.5 from then on): ${onset.map((s, l) => `L${l + 1} ${s ?? '-'}`).join(', ')}`);
  const rows = probes.flatMap((p) => p.layers);
  const name = path.basename(o.runDir);
  const written = [
    ...writeEmergenceTables(o.outDir, probes),
    saveFigure(emergenceHeatmapFigure(rows, 'maxRank', { title: `MaxRank by layer and step: ${name}` }), path.join(o.outDir, 'emergence-maxrank'), { png: false }).html,
    saveFigure(emergenceHeatmapFigure(rows, 'sinkRate', { title: `Sink rate by layer and step: ${name}` }), path.join(o.outDir, 'emergence-sink-rate'), { png: false }).html,
    saveFigure(emergenceCurvesFigure(rows, 'maxRank', { title: `MaxRank of each layer over training: ${name}` }), path.join(o.outDir, 'emergence-curves'), { png: false }).html,
  ];
  o.log(`wrote ${path.relative(process.cwd(), o.outDir) || '.'}/: ${written.map((f) => path.basename(f)).join(', ')}`);
  return 0;
}
