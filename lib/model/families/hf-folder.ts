// A Hugging Face model folder as a lazy tensor store: config.json plus either model.safetensors or the shards named
// by model.safetensors.index.json (model-00001-of-00004.safetensors, ...). Only headers are read when the folder is
// opened (every shard's header is validated, and the index is checked against them); tensor data is read on demand,
// one tensor at a time, at its file offset, so a 16 GB BF16 checkpoint never has to be in memory at once.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HeaderEntry, TensorEntry, decodeTensor, readSafetensorsHeader } from '../safetensors';
import { quote, quoteName, oneLine } from '../../util/errors';

export const INDEX_FILE = 'model.safetensors.index.json';
export const SINGLE_FILE = 'model.safetensors';

interface Located {
  file: string;
  entry: HeaderEntry;
  dataStart: number;
}

export class HFTensorStore {
  private readonly where = new Map<string, Located>();

  constructor(readonly dir: string, readonly files: string[], located: Map<string, Located>) {
    this.where = located;
  }

  names(): string[] {
    return [...this.where.keys()];
  }

  has(name: string): boolean {
    return this.where.has(name);
  }

  /** Stored dtype and shape (throws naming the folder when absent). */
  info(name: string): HeaderEntry {
    return this.locate(name).entry;
  }

  private locate(name: string): Located {
    const l = this.where.get(name);
    if (!l) throw new Error(`${this.dir}: no tensor ${quoteName(name)} in the checkpoint`);
    return l;
  }

  /** Reads one tensor from disk. F16/BF16 stay 16-bit patterns (half: 'keep') unless asked to widen; F64 -> F32. */
  read(name: string, half: 'keep' | 'float32' = 'keep'): TensorEntry {
    const { file, entry, dataStart } = this.locate(name);
    const len = entry.end - entry.begin;
    const raw = new Uint8Array(len);
    const fd = fs.openSync(file, 'r');
    try {
      let done = 0;
      while (done < len) {
        const n = fs.readSync(fd, raw, done, Math.min(256 * 1024 * 1024, len - done), dataStart + entry.begin + done);
        if (n === 0) throw new Error(`${file}: unexpected end of file reading ${quoteName(name)} (file changed while reading?)`);
        done += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    const t = decodeTensor(raw, entry.dtype, entry.shape, `${file}: tensor ${quoteName(name)}`, half);
    if (t.dtype === 'F64') return { dtype: 'F32', shape: t.shape, data: new Float32Array(t.data) };
    return t;
  }
}

/** Reads and parses a JSON file, naming it in the error. */
export function readJSONFile(file: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${oneLine((e as Error).message)})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${file}: expected a JSON object, got ${quote(v)}`);
  return v as Record<string, unknown>;
}

/** Opens the weights of an HF folder (single file or sharded with an index); headers only. */
export function openTensorStore(dir: string): HFTensorStore {
  const single = path.join(dir, SINGLE_FILE);
  const indexFile = path.join(dir, INDEX_FILE);
  const located = new Map<string, Located>();
  const add = (file: string, only?: Set<string>): void => {
    const h = readSafetensorsHeader(file);
    for (const [name, entry] of Object.entries(h.tensors)) {
      if (only && !only.has(name)) continue;
      located.set(name, { file, entry, dataStart: h.dataStart });
    }
  };
  if (fs.existsSync(indexFile)) {
    const index = readJSONFile(indexFile);
    const map = index.weight_map;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new Error(`${indexFile}: weight_map must be an object of tensor name -> shard file, got ${quote(map)}`);
    const byShard = new Map<string, Set<string>>();
    for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
      if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\') || shard.startsWith('.')) {
        throw new Error(`${indexFile}: tensor ${quoteName(name)} maps to ${quote(shard)}; expected a shard file name in the folder`);
      }
      if (!byShard.has(shard)) byShard.set(shard, new Set());
      byShard.get(shard)!.add(name);
    }
    if (byShard.size === 0) throw new Error(`${indexFile}: weight_map is empty`);
    const shards = [...byShard.keys()].sort();
    for (const shard of shards) {
      const file = path.join(dir, shard);
      if (!fs.existsSync(file)) throw new Error(`${dir}: missing shard ${quoteName(shard)} named by ${INDEX_FILE} (${byShard.get(shard)!.size} tensors)`);
      const header = readSafetensorsHeader(file);
      for (const name of byShard.get(shard)!) {
        if (!Object.prototype.hasOwnProperty.call(header.tensors, name)) throw new Error(`${file}: ${INDEX_FILE} names tensor ${quoteName(name)}, which this shard does not hold`);
      }
      add(file, byShard.get(shard));
    }
    return new HFTensorStore(dir, shards.map((s) => path.join(dir, s)), located);
  }
  if (fs.existsSync(single)) {
    add(single);
    return new HFTensorStore(dir, [single], located);
  }
  throw new Error(`${dir}: no ${SINGLE_FILE} and no ${INDEX_FILE} (pytorch_model.bin checkpoints are not supported: convert them to safetensors)`);
}
