// Saving and loading rank results: one Arrow IPC file per table plus meta.json, in one directory
// (e.g. results/rank/<model>-<data>/). Arrow keeps the column types (Int32 indices, Float64 ranks) and loads
// zero-copy; the JSON sidecar keeps the metadata human-readable.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as aq from 'arquero';
import type { RankMetadata, RankTables } from './measure';

const TABLE_FILES: Record<keyof RankTables, string> = {
  perSequence: 'per-sequence.arrow',
  layers: 'layers.arrow',
  heads: 'heads.arrow',
  layersMeanMatrix: 'layers-mean-matrix.arrow',
  headsMeanMatrix: 'heads-mean-matrix.arrow',
};
const META_FILE = 'meta.json';

/** Writes every table present as `<name>.arrow` (Arrow IPC file format) and the metadata as meta.json. */
export function saveRankResult(dir: string, result: { meta: RankMetadata; tables: RankTables }): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const key of Object.keys(TABLE_FILES) as (keyof RankTables)[]) {
    const t = result.tables[key];
    if (!t) continue;
    const file = path.join(dir, TABLE_FILES[key]);
    fs.writeFileSync(file, t.toArrowIPC({ format: 'file' }));
    written.push(file);
  }
  const metaFile = path.join(dir, META_FILE);
  fs.writeFileSync(metaFile, JSON.stringify(result.meta, null, 2) + '\n');
  written.push(metaFile);
  return written;
}

/** Reads a directory written by saveRankResult. Missing optional tables stay undefined. */
export function loadRankResult(dir: string): { meta: RankMetadata; tables: RankTables } {
  const metaFile = path.join(dir, META_FILE);
  if (!fs.existsSync(metaFile)) throw new Error(`${metaFile} not found: not a saved rank result directory`);
  const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as RankMetadata;
  const tables: Partial<RankTables> = {};
  for (const key of Object.keys(TABLE_FILES) as (keyof RankTables)[]) {
    const file = path.join(dir, TABLE_FILES[key]);
    if (fs.existsSync(file)) tables[key] = aq.fromArrow(fs.readFileSync(file));
  }
  for (const key of ['perSequence', 'layers', 'heads'] as const) {
    if (!tables[key]) throw new Error(`${path.join(dir, TABLE_FILES[key])} is missing`);
  }
  return { meta, tables: tables as RankTables };
}
