// Writes a prepared dataset in the layouts other trainers read unchanged:
//  'llmc': llm.c / modded-nanogpt shards <prefix>_val_000000.bin, <prefix>_train_000001.bin, ... (header + tokens:
//          llm.c's gpt-2 header for uint16, its llama-3 header for uint32);
//  'npy' : build-nanogpt / Inheritune shards <prefix>_val_000000.npy, <prefix>_train_000001.npy, ... ('<u2' / '<u4');
//  'bin' : nanoGPT train.bin / val.bin (raw; a uint32 export also gets the meta.json that records its width).
// As in llm.c's fineweb.py, shard 0 is val and the shard index runs on through train; documents may span shards.
// The width is the dataset's (meta.json format) unless `dtype` asks otherwise (narrowing checks every id).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TokenFileWriter, TokenFormat } from './formats';
import { TokenSource, openTokenFile } from './source';
import { Progress } from './progress';
import { datasetFormat, loadDatasetMeta, metaTokenDType } from './prepare';
import { TokenDType, allocTokens } from './token-array';

export interface ExportOptions {
  /** Directory holding train.bin / val.bin (a prepared dataset). */
  from: string;
  outDir: string;
  format: 'llmc' | 'npy' | 'bin';
  /** Shard file prefix (default 'fineweb' for llmc, 'edufineweb' for npy, as the reference preps name them). */
  prefix?: string;
  /** Tokens per shard (default 1e8, the reference preps' shard_size). */
  shardTokens?: number;
  /** Width of the written ids (default: the dataset's, from its meta.json; uint16 without one). */
  dtype?: TokenDType;
  quiet?: boolean;
}

/** Exports train/val; returns the written file paths in order (val first). */
export function exportDataset(opts: ExportOptions): string[] {
  const shardTokens = opts.shardTokens ?? 100_000_000;
  if (!Number.isInteger(shardTokens) || shardTokens < 1) throw new Error(`shardTokens must be a positive integer, got ${shardTokens}`);
  if (opts.format === 'llmc' && shardTokens > 0x7fffffff) throw new Error(`llm.c shards hold at most 2^31-1 tokens, got shardTokens ${shardTokens}`);
  const meta = loadDatasetMeta(opts.from);
  const inDType = metaTokenDType(meta);
  const dtype = opts.dtype ?? inDType;
  if (opts.format === 'bin' && dtype === 'uint32' && !meta) throw new Error(`${opts.from}: no meta.json; a uint32 nanoGPT export copies it to record its width`);
  const val = openTokenFile(path.join(opts.from, 'val.bin'), 'none', inDType);
  const train = openTokenFile(path.join(opts.from, 'train.bin'), 'none', inDType);
  fs.mkdirSync(opts.outDir, { recursive: true });
  const bar = new Progress(`export ${opts.format}`, { total: val.length + train.length, unit: 'tokens', quiet: opts.quiet });
  const written: string[] = [];
  let done = 0;
  const copy = (src: TokenSource, start: number, count: number, file: string, fmt: TokenFormat): void => {
    const w = new TokenFileWriter(file, fmt, count, dtype);
    try {
      const chunk = allocTokens(src.dtype, 1 << 20);
      for (let off = 0; off < count; off += chunk.length) {
        const n = Math.min(chunk.length, count - off);
        w.write(src.read(start + off, n, chunk));
        done += n;
        bar.update(done);
      }
      w.finish();
      written.push(file);
    } catch (e) {
      w.abort();
      throw e;
    }
  };
  try {
    if (opts.format === 'bin') {
      copy(val, 0, val.length, path.join(opts.outDir, 'val.bin'), 'nanogpt');
      copy(train, 0, train.length, path.join(opts.outDir, 'train.bin'), 'nanogpt');
      // A raw .bin has no header and is read as uint16 by default: a uint32 export carries the meta.json saying so.
      if (dtype === 'uint32') {
        const out = { ...meta!, format: datasetFormat(dtype), source: `export of ${opts.from}` };
        fs.writeFileSync(path.join(opts.outDir, 'meta.json'), JSON.stringify(out, null, 2) + '\n');
        written.push(path.join(opts.outDir, 'meta.json'));
      }
    } else {
      const prefix = opts.prefix ?? (opts.format === 'llmc' ? 'fineweb' : 'edufineweb');
      const ext = opts.format === 'llmc' ? 'bin' : 'npy';
      let index = 0;
      for (const [split, src] of [['val', val], ['train', train]] as const) {
        for (let s = 0; s < src.length; s += shardTokens) {
          const file = path.join(opts.outDir, `${prefix}_${split}_${String(index++).padStart(6, '0')}.${ext}`);
          copy(src, s, Math.min(shardTokens, src.length - s), file, opts.format);
        }
      }
    }
    bar.finish();
    return written;
  } catch (e) {
    bar.abort();
    throw e;
  } finally {
    val.close();
    train.close();
  }
}
