// Already tokenized files (llm.c shards of either header, .npy '<u2' / '<u4', raw .bin) copied into a nanoGPT-layout
// dataset, data/<name>/train.bin and val.bin, every id checked on the way (lib/data/prepare: the shared frame).
// uint16 files are GPT-2 ids unless told otherwise; uint32 files do not say which tokenizer made them, so their
// vocabulary must be given, and their document separator may be (it counts documents and places 'bos' windows).
import * as path from 'node:path';
import { TokenFileWriter } from './formats';
import { EOT_TOKEN, GPT2_VOCAB_SIZE } from './tokenizer';
import { TokenSource, openTokenFiles } from './source';
import { Progress } from './progress';
import { BuiltMeta, PrepareCommon, PrepareResult, datasetFormat, fileStamps, withDatasetDir } from './prepare';
import { TokenDType, UINT16_VOCAB_LIMIT, UINT32_VOCAB_LIMIT, allocTokens, widerDType } from './token-array';

export interface PrepareTokensOptions extends PrepareCommon {
  trainFiles: string[];
  valFiles: string[];
  /** EOT convention of the source; detected from the first / last val token when omitted. */
  eot?: 'append' | 'prepend';
  /** Width of headerless nanoGPT .bin inputs and of the output; default: the inputs' width (raw .bin: uint16). */
  dtype?: TokenDType;
  /** Vocabulary the ids are checked against and meta.json records. Default GPT-2's for uint16 inputs; uint32 inputs
   *  (llm.c llama-3 shards, '<u4' .npy) do not say which tokenizer made them, so it must be given. */
  vocabSize?: number;
  /** Document separator id (counts documents, detects the EOT convention); default GPT-2's EOT with GPT-2's vocabulary. */
  separator?: number;
}

/** The EOT convention a token stream appears to follow: a leading separator means prepend, a trailing one append. */
export function detectEot(src: TokenSource, separator = EOT_TOKEN): 'append' | 'prepend' | null {
  if (src.length === 0) return null;
  if (src.read(0, 1)[0] === separator) return 'prepend';
  if (src.read(src.length - 1, 1)[0] === separator) return 'append';
  return null;
}

/**
 * Copies already tokenized files (llm.c shards, .npy shards, raw .bin) into a nanoGPT-layout dataset, checking every
 * id on the way; val files become val.bin and train files train.bin (each concatenated in the order given).
 */
export async function prepareFromTokenFiles(opts: PrepareTokensOptions): Promise<PrepareResult> {
  if (opts.trainFiles.length === 0) throw new Error(`${opts.source}: no train token files`);
  if (opts.valFiles.length === 0) throw new Error(`${opts.source}: no val token files (expected a name containing 'val', or shard 0)`);
  const extra = {
    ...(opts.dtype ? { tokenDType: opts.dtype } : {}), ...(opts.vocabSize !== undefined ? { vocabSize: opts.vocabSize } : {}),
    ...(opts.separator !== undefined ? { separator: opts.separator } : {}),
  };
  const recipe = { kind: 'tokens', source: opts.source, files: fileStamps([...opts.valFiles, ...opts.trainFiles]), eot: opts.eot ?? 'detect', ...extra, ...opts.recipeExtra };
  return withDatasetDir(opts, recipe, async (tmpDir) => {
    // Headers, sizes and ids are checked while copying (validate 'none' here: the copy loop reads every token).
    const valSrc = openTokenFiles(opts.valFiles, 'none', undefined, opts.dtype);
    const trainSrc = openTokenFiles(opts.trainFiles, 'none', undefined, opts.dtype);
    try {
      return await copyTokens(opts, tmpDir, valSrc, trainSrc);
    } finally {
      valSrc.close();
      trainSrc.close();
    }
  });
}

/** Checks every id against the vocabulary while copying val then train into tmpDir; counts separators. */
async function copyTokens(opts: PrepareTokensOptions, tmpDir: string, valSrc: TokenSource, trainSrc: TokenSource): Promise<BuiltMeta> {
  const inputDType = widerDType(valSrc.dtype, trainSrc.dtype);
  const dtype = opts.dtype ?? inputDType;
  if (inputDType === 'uint32' && opts.vocabSize === undefined) {
    throw new Error(`${opts.source}: the token files hold uint32 ids, and their vocabulary is not recorded in them; give it (--vocab-size, e.g. 128256 for Llama 3)`);
  }
  const vocabSize = opts.vocabSize ?? GPT2_VOCAB_SIZE;
  if (!(Number.isInteger(vocabSize) && vocabSize >= 2 && vocabSize <= UINT32_VOCAB_LIMIT)) throw new Error(`vocabSize must be an integer in [2, 2^31], got ${vocabSize}`);
  if (dtype === 'uint16' && vocabSize > UINT16_VOCAB_LIMIT) throw new Error(`${opts.source}: a vocabulary of ${vocabSize} ids does not fit uint16 token files; write uint32`);
  // Document boundaries: the given separator, else GPT-2's EOT when the ids are GPT-2's; otherwise unknown.
  const separator = opts.separator ?? (vocabSize === GPT2_VOCAB_SIZE ? EOT_TOKEN : undefined);
  if (separator !== undefined && !(Number.isInteger(separator) && separator >= 0 && separator < vocabSize)) {
    throw new Error(`separator ${separator} is not a token id in [0, ${vocabSize})`);
  }
  const eot = opts.eot ?? (separator !== undefined ? detectEot(valSrc, separator) : null) ?? 'append';
  const total = valSrc.length + trainSrc.length;
  const bar = new Progress(`prepare ${opts.name}`, { total, unit: 'tokens', quiet: opts.quiet });
  const writers: TokenFileWriter[] = [];
  try {
    const counts: number[] = [];
    const eots: number[] = [];
    let done = 0;
    for (const [src, file] of [[valSrc, 'val.bin'], [trainSrc, 'train.bin']] as const) {
      const w = new TokenFileWriter(path.join(tmpDir, file), 'nanogpt', undefined, dtype);
      writers.push(w);
      if (src.length === 0) throw new Error(`${opts.source}: the ${file.replace('.bin', '')} files hold no tokens`);
      const chunk = allocTokens(src.dtype, 1 << 20);
      let nEot = 0;
      for (let off = 0; off < src.length; off += chunk.length) {
        const n = Math.min(chunk.length, src.length - off);
        const t = src.read(off, n, chunk);
        for (let i = 0; i < n; i++) {
          if (t[i] === separator) nEot++;
          else if (t[i] >= vocabSize) {
            const shard = src.shards.find((s) => off + i >= s.start && off + i < s.start + s.length);
            throw new Error(`${shard?.path ?? file}: token id ${t[i]} at token ${off + i - (shard?.start ?? 0)} is >= the vocabulary size ${vocabSize}`);
          }
        }
        w.write(t);
        done += n;
        bar.update(done);
      }
      counts.push(w.finish().tokens);
      eots.push(nEot);
    }
    bar.finish();
    const files = `val = ${opts.valFiles.map((f) => path.basename(f)).join(', ')}; train = the other ${opts.trainFiles.length} file(s)`;
    return {
      tokens: { val: counts[0], train: counts[1] },
      // Separator count: documents up to a partial one at each end (0 when no separator is known).
      documents: { val: eots[0], train: eots[1] },
      split: { kind: 'source', description: separator === undefined ? `${files}; document separator unknown (not counted)` : files },
      seed: 0,
      eot,
      format: datasetFormat(dtype),
      // GPT-2 ids keep the default tokenizer entry; any other vocabulary was given by the user, not read from a tokenizer.
      ...(opts.vocabSize === undefined ? {} : { vocabSize, tokenizer: { name: 'unknown' as const, vocabSize, ...(separator !== undefined ? { separator } : {}) } }),
    };
  } catch (e) {
    bar.abort();
    for (const w of writers) w.abort();
    throw e;
  }
}

