// One entry point for training data: ensureDataset(name) returns the token files of data/<name>, preparing the
// embedded corpora on first use, and openDataset() opens its splits as memory-light TokenSources. The same code path
// serves owt-mini / edu-mini and the real OpenWebText / FineWeb-Edu files a user drops into data/<name>/.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DatasetMeta, loadDatasetMeta, metaTokenDType } from './prepare';
import { EMBEDDED_DATASETS, isEmbeddedDataset, prepareEmbedded } from './corpora';
import { SplitFiles, TokenSource, ValidateMode, findSplitFiles, looksLikeUint32, openTokenFiles } from './source';
import { inspectTokenFile } from './formats';
import { isSyntheticDataset, prepareSynthetic, SYNTHETIC_DATASETS } from './synthetic';
import { WindowMode, alignmentFor, withAlignment } from './windows';
import { TokenDType } from './token-array';

/** <repo>/data, or $INHERITUNE_DATA when set. */
export function defaultDataDir(): string {
  const env = process.env.INHERITUNE_DATA;
  if (env && env.trim().length > 0) return path.resolve(env);
  return path.resolve(__dirname, '..', '..', 'data');
}

export interface DatasetInfo {
  name: string;
  dir: string;
  /** meta.json of a dataset made by prepare; null for files brought by the user as they are. */
  meta: DatasetMeta | null;
  layout: SplitFiles['layout'];
  trainFiles: string[];
  valFiles: string[];
  /** Tokens per split (from the file headers / sizes). */
  tokens: { train: number; val: number };
  /** Width of the token ids: from the headers (llm.c, .npy), else meta.json's format, else uint16. */
  tokenDType: TokenDType;
  /** EOT convention: from meta.json, else guessed from the format (raw .bin: append; shards: prepend). */
  eot: 'append' | 'prepend';
}

export interface EnsureOptions {
  dataDir?: string;
  quiet?: boolean;
  /** Rebuild an embedded dataset even if it is up to date. */
  force?: boolean;
}

/**
 * Returns data/<name> ready to train on. Embedded names (owt-mini, edu-mini) are prepared on first use (seconds);
 * any other name must already hold train.bin / val.bin (nanoGPT) or shards (llm.c .bin, .npy), or a prepared dataset.
 */
export async function ensureDataset(name: string, opts: EnsureOptions = {}): Promise<DatasetInfo> {
  const dataDir = opts.dataDir ?? defaultDataDir();
  const dir = path.join(dataDir, name);
  if (isEmbeddedDataset(name)) {
    await prepareEmbedded(name, { dataDir, quiet: opts.quiet, force: opts.force });
  } else if (isSyntheticDataset(name)) {
    await prepareSynthetic(name, { dataDir, quiet: opts.quiet, force: opts.force });
  } else if (!fs.existsSync(dir)) {
    throw new Error(
      `dataset '${name}' not found: ${dir} does not exist. Embedded datasets: ${[...Object.keys(EMBEDDED_DATASETS), ...Object.keys(SYNTHETIC_DATASETS)].join(', ')}; ` +
        `for real data put train.bin/val.bin or shards in that folder, or run 'prepare <source> --name ${name}' (see data/README.md)`,
    );
  }
  return describeDataset(dir);
}

/** Describes a dataset directory without preparing anything. */
export function describeDataset(dir: string): DatasetInfo {
  const meta = loadDatasetMeta(dir);
  const files = findSplitFiles(dir);
  // A raw .bin has no header: its width is the one meta.json records (uint16 for datasets without the field).
  const rawDType = metaTokenDType(meta);
  const layouts = [...files.train, ...files.val].map((f) => inspectTokenFile(f, rawDType));
  const count = (fs_: string[]): number => fs_.reduce((a, f) => a + layouts.find((l) => l.path === f)!.numTokens, 0);
  const first = layouts[0];
  const guessed = first && first.format === 'nanogpt' ? 'append' : 'prepend';
  const dtypes = new Set(layouts.map((l) => l.dtype));
  if (dtypes.size > 1) throw new Error(`${dir}: the token files mix uint16 and uint32 ids (${layouts.map((l) => `${path.basename(l.path)} ${l.dtype}`).join(', ')}); a dataset has one width`);
  return {
    name: path.basename(dir),
    dir,
    meta,
    layout: files.layout,
    trainFiles: files.train,
    valFiles: files.val,
    tokens: { train: count(files.train), val: count(files.val) },
    tokenDType: first?.dtype ?? rawDType,
    eot: meta?.eot ?? guessed,
  };
}

/**
 * Opens a split of a dataset as one TokenSource (shards concatenated in sorted order). Close it when done.
 * `windows`: where samplers start windows; default the dataset's own (meta.json `windows`: 'bos' for the synthetic
 * datasets), else 'any'. 'bos' on text data starts every window at an EOT document boundary.
 */
export function openDataset(info: DatasetInfo, split: 'train' | 'val', validate: ValidateMode | 'auto' = 'auto', windows?: WindowMode): TokenSource {
  const files = split === 'train' ? info.trainFiles : info.valFiles;
  if (files.length === 0) throw new Error(`${info.dir}: no ${split} token files`);
  // A headerless .bin without meta.json is read as uint16; uint32 ids read that way would be wrong numbers (checked
  // before the GPT-2 id check, whose message would not say why).
  if (!info.meta && info.layout === 'nanogpt') {
    const raw = openTokenFiles(files, 'none');
    const wide = looksLikeUint32(raw);
    raw.close();
    if (wide) throw new Error(`${files[0]}: these raw ids look like uint32 read as uint16 (every second 16-bit half is 0 or 1), and no meta.json says ` +
      `their width; copy them into a dataset that records it: prepare ${info.dir} --token-dtype uint32 --vocab-size V --name NAME`);
  }
  // Prepared datasets were validated when written; user files get the 'auto' check (full, or sampled when huge).
  // uint32 files without meta.json are checked only against the int32 limit of batches: the model checks its own
  // vocabulary before the forward (lib/model), since the files do not say which tokenizer made them.
  const src = openTokenFiles(files, info.meta ? 'none' : validate, info.meta?.vocabSize, metaTokenDType(info.meta));
  // 'bos' windows start at the dataset's own boundary token: meta.windows (synthetic), a folder tokenizer's
  // separator (prepare --tokenizer) or the one given with token files, else GPT-2's EOT (GPT-2 data only).
  const tok = info.meta?.tokenizer;
  const sep = tok && (tok.name === 'tokenizer.json' || tok.name === 'unknown') ? tok.separator : undefined;
  const separator = sep !== undefined ? { start: 'bos' as const, token: sep } : undefined;
  const mode = windows ?? datasetWindowMode(info);
  const own = info.meta?.windows ?? separator;
  if (mode === 'bos' && !own && (src.dtype === 'uint32' || tok?.name === 'unknown')) {
    src.close();
    throw new Error(`${info.dir}: window mode 'bos' needs the document separator of these ${src.dtype} ids, and the dataset records none ` +
      `(GPT-2's EOT 50256 is not theirs); prepare it with --tokenizer DIR or --separator ID, or use window mode 'any'`);
  }
  const align = alignmentFor(mode, own);
  return align ? withAlignment(src, align) : src;
}

/** The dataset's default window mode: 'bos' when its meta.json says so (synthetic data), else 'any'. */
export function datasetWindowMode(info: DatasetInfo): WindowMode {
  return info.meta?.windows ? 'bos' : 'any';
}
