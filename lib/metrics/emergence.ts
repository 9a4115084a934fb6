// Emergence of lazy layers over training: the rank and sink profile of a model measured on fixed windows at many
// steps, as a (step x layer x head) table. The trainer probes every N steps (TrainOptions.probe); the `rank`
// command probes every kept checkpoint of a run directory the same way. One probe = the rank protocol (k* per head)
// and the sink diagnostics (without the layer-skip losses) on the same windows.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as aq from 'arquero';
import { GPTConfig } from '../model/config';
import { Params } from '../model/params';
import { TokenSource } from '../data/source';
import { RandomWindowSampler } from '../data/sampler';
import { drawWindows, measureAttentionRanks } from './measure';
import { SinkAccumulator, finishSinkDiagnostics, sinkPatternSource } from './sink-measure';

export interface ProbeOptions {
  /** Probe every `interval` steps (and at step 0 and the last step). */
  interval: number;
  /** Windows (default 16) of T tokens (default min(64, the model's context)), drawn once from the val split. */
  N?: number;
  T?: number;
  seed?: number;
}

export interface EmergenceHeadRow {
  step: number;
  layer: number;
  head: number;
  /** Rank(h,l): mean k* (tau = 0.9) over the windows. */
  rank: number;
  sinkMass: number;
  entropyFraction: number;
}

export interface EmergenceLayerRow {
  step: number;
  layer: number;
  maxRank: number;
  sinkRate: number;
  meanSinkMass: number;
  meanEntropyFraction: number;
  residRatio: number;
  valueRatio: number;
  blockInfluence: number;
}

export interface ProbeResult {
  heads: EmergenceHeadRow[];
  layers: EmergenceLayerRow[];
  ms: number;
}

/** The fixed probe windows: N windows of T tokens from `val` (aligned like the source), drawn with `seed`. */
export function probeWindows(val: TokenSource, N: number, T: number, seed: number): Int32Array[] {
  return drawWindows(new RandomWindowSampler(val, { batchSize: N, blockSize: T, seed }), N, T);
}

/** Rank and sink profile of one model at one step on fixed windows. */
export async function probeModel(params: Params, cfg: GPTConfig, windows: Int32Array[], step: number): Promise<ProbeResult> {
  const t0 = performance.now();
  const N = windows.length;
  const T = windows[0].length;
  // One forward per batch feeds both the rank protocol (patterns) and the sink diagnostics (patterns, residuals, values).
  const acc = new SinkAccumulator(cfg);
  const rank = await measureAttentionRanks(sinkPatternSource(params, cfg, acc), windows, {
    N, T, batchSize: Math.min(10, N), meanMatrix: false, contextLength: cfg.blockSize,
  });
  const sinks = await finishSinkDiagnostics(params, cfg, acc, windows, { batchSize: Math.min(10, N), causalWindows: 0 });
  const H = cfg.nHead;
  const heads: EmergenceHeadRow[] = rank.aggregated.heads.map((h) => {
    const s = sinks.heads[h.layer * H + h.head];
    return { step, layer: h.layer, head: h.head, rank: h.rank, sinkMass: s.sinkMass, entropyFraction: s.entropyFraction };
  });
  const layers: EmergenceLayerRow[] = rank.aggregated.layers.map((r) => {
    const s = sinks.layers[r.layer];
    return {
      step, layer: r.layer, maxRank: r.maxRank, sinkRate: s.sinkRate, meanSinkMass: s.meanSinkMass,
      meanEntropyFraction: s.meanEntropyFraction, residRatio: s.residRatio, valueRatio: s.valueRatio, blockInfluence: s.blockInfluence,
    };
  });
  return { heads, layers, ms: performance.now() - t0 };
}

export const EMERGENCE_FILES = { log: 'emergence.jsonl', heads: 'emergence-heads.arrow', layers: 'emergence-layers.arrow', csv: 'emergence-layers.csv' };

/**
 * The probe log of a run directory: one JSON line per probe (crash-safe appends), rewritten as Arrow tables after
 * each probe. On resume, probes after the resumed step (made by the killed run past its last checkpoint) are dropped.
 */
export class EmergenceLog {
  private rows: ProbeResult[] = [];
  constructor(private readonly dir: string | undefined) {}

  /** Starts the log: keeps earlier probes up to `step` (a resumed run) or none (a fresh run). */
  start(resumedStep: number | null): void {
    this.rows = resumedStep === null ? [] : readEmergenceLog(this.dir).filter((r) => r.heads[0]?.step <= resumedStep);
    if (this.dir) this.rewrite();
  }

  append(p: ProbeResult): void {
    this.rows.push(p);
    if (!this.dir) return;
    fs.appendFileSync(path.join(this.dir, EMERGENCE_FILES.log), JSON.stringify(p) + '\n');
    this.writeTables();
  }

  get probes(): readonly ProbeResult[] {
    return this.rows;
  }

  private rewrite(): void {
    const file = path.join(this.dir as string, EMERGENCE_FILES.log);
    fs.writeFileSync(file, this.rows.map((r) => JSON.stringify(r) + '\n').join(''));
    if (this.rows.length) this.writeTables();
  }

  private writeTables(): void {
    writeEmergenceTables(this.dir as string, this.rows);
  }
}

/** Reads a run directory's probe log (empty when absent); a torn last line from a crash is skipped. */
export function readEmergenceLog(dir: string | undefined): ProbeResult[] {
  if (!dir) return [];
  const file = path.join(dir, EMERGENCE_FILES.log);
  if (!fs.existsSync(file)) return [];
  const out: ProbeResult[] = [];
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim().length);
  lines.forEach((line, i) => {
    try {
      const p = JSON.parse(line) as ProbeResult;
      if (!Array.isArray(p.heads) || !Array.isArray(p.layers) || p.heads.length === 0) throw new Error('not a probe record');
      out.push(p);
    } catch (e) {
      if (i < lines.length - 1) throw new Error(`${file}, line ${i + 1}: ${(e as Error).message}`);
    }
  });
  return out;
}

/** Writes emergence-heads.arrow (step x layer x head), emergence-layers.arrow and a CSV of the layer rows. */
export function writeEmergenceTables(dir: string, probes: readonly ProbeResult[]): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const heads = aq.from(probes.flatMap((p) => p.heads) as unknown as Array<Record<string, unknown>>);
  const layers = aq.from(probes.flatMap((p) => p.layers) as unknown as Array<Record<string, unknown>>);
  const files = [path.join(dir, EMERGENCE_FILES.heads), path.join(dir, EMERGENCE_FILES.layers), path.join(dir, EMERGENCE_FILES.csv)];
  fs.writeFileSync(files[0], heads.toArrowIPC({ format: 'file' }));
  fs.writeFileSync(files[1], layers.toArrowIPC({ format: 'file' }));
  fs.writeFileSync(files[2], layers.toCSV());
  return files;
}

/** The step at which each layer first reached MaxRank <= threshold and stayed there (null: never, or not stably). */
export function lazyOnsetSteps(probes: readonly ProbeResult[], threshold: number): Array<number | null> {
  if (probes.length === 0) return [];
  const L = probes[0].layers.length;
  const sorted = [...probes].sort((a, b) => a.layers[0].step - b.layers[0].step);
  return Array.from({ length: L }, (_, l) => {
    let onset: number | null = null;
    for (const p of sorted) {
      if (p.layers[l].maxRank <= threshold) onset = onset ?? p.layers[l].step;
      else onset = null;
    }
    return onset;
  });
}
