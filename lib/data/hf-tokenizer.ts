// A model folder's tokenizer (Llama 3 / Llama 2 / GPT-NeoX-Pythia style tokenizer.json) as a TextTokenizer, read
// offline by @huggingface/tokenizers (pure JavaScript, no dependencies, nothing downloaded: it is given the parsed
// files). Files of the folder:
//   tokenizer.json         required: normalizer, pre-tokenizer, BPE model, decoder, added tokens
//   tokenizer_config.json  optional: bos_token / eos_token (strings or {content}), clean_up_tokenization_spaces
//   config.json            optional: bos_token_id / eos_token_id, used where tokenizer_config.json names none
// encode = transformers' tokenizer.encode(text, add_special_tokens=False): no BOS/EOS added, but the text of an
// added token (e.g. "<s>", "<|begin_of_text|>") is that token, as in transformers (split_special_tokens=False).
// decode = tokenizer.decode(ids) with the folder's clean_up_tokenization_spaces and special tokens kept.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { TextTokenizer } from './text-tokenizer';
import type { DocumentTokenizer } from './prepare';
import { oneLine, quote } from '../util/errors';

export const HF_TOKENIZER_FILE = 'tokenizer.json';
export const HF_TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';
/** The package and version read from package.json at load (pinned in the lockfile). */
const PACKAGE = '@huggingface/tokenizers';

export interface HFTokenizer extends TextTokenizer {
  /** Where eosId / bosId came from ('tokenizer_config.json eos_token "</s>"', 'config.json eos_token_id', ...). */
  readonly specialSources: string[];
  /** The underlying tokenizer, for what the interface does not cover. */
  readonly tokenizer: Tokenizer;
}

function readJson(file: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read the ${what} (${oneLine((e as Error).message)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: the ${what} is not valid JSON (${oneLine((e as Error).message)})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${file}: the ${what} must be a JSON object, got ${quote(json)}`);
  return json as Record<string, unknown>;
}

function packageVersion(): string {
  try {
    const pkg = require.resolve(`${PACKAGE}/package.json`);
    return String((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version?: unknown }).version);
  } catch {
    // The package's exports map may hide package.json; the lockfile pins the version anyway.
    return 'pinned';
  }
}

/** A special token's text from tokenizer_config.json: a string or an AddedToken object {content: ...}. */
function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/** Loads the tokenizer of a model folder. Throws, naming the file, on a missing or malformed file. */
export function loadHFTokenizer(dir: string): HFTokenizer {
  const tjFile = path.join(dir, HF_TOKENIZER_FILE);
  if (!fs.existsSync(tjFile)) {
    const spm = fs.existsSync(path.join(dir, 'tokenizer.model')) ? ' (it has a SentencePiece tokenizer.model: save it as tokenizer.json with transformers\' fast tokenizer first)' : '';
    throw new Error(`${dir}: no ${HF_TOKENIZER_FILE}${spm}`);
  }
  const tj = readJson(tjFile, 'tokenizer');
  const tcFile = path.join(dir, HF_TOKENIZER_CONFIG_FILE);
  const tc = fs.existsSync(tcFile) ? readJson(tcFile, 'tokenizer config') : {};
  const cFile = path.join(dir, 'config.json');
  const mc = fs.existsSync(cFile) ? readJson(cFile, 'model config') : {};
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(tj, tc);
  } catch (e) {
    throw new Error(`${tjFile}: ${PACKAGE} cannot build this tokenizer (${oneLine((e as Error).message)})`);
  }
  let maxId = -1;
  for (const id of tok.get_vocab(true).values()) if (id > maxId) maxId = id;
  if (maxId < 0) throw new Error(`${tjFile}: the vocabulary is empty`);
  const vocabSize = maxId + 1;
  const sources: string[] = [];
  const special = (kind: 'bos' | 'eos'): number | undefined => {
    const text = tokenText(tc[`${kind}_token`]);
    if (text !== undefined) {
      const id = tok.token_to_id(text);
      if (id === undefined) throw new Error(`${tcFile}: ${kind}_token ${quote(text)} is not in ${HF_TOKENIZER_FILE}'s vocabulary`);
      sources.push(`${HF_TOKENIZER_CONFIG_FILE} ${kind}_token ${quote(text)} = ${id}`);
      return id;
    }
    const raw = mc[`${kind}_token_id`];
    const id = Array.isArray(raw) ? raw[0] : raw; // Llama 3.1 lists several eos ids; the first is the document end
    if (id === undefined || id === null) return undefined;
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= vocabSize) {
      throw new Error(`${cFile}: ${kind}_token_id ${quote(raw)} is not a token id in [0, ${vocabSize})`);
    }
    sources.push(`config.json ${kind}_token_id = ${id as number}`);
    return id as number;
  };
  const eosId = special('eos');
  const bosId = special('bos');
  return {
    name: `${HF_TOKENIZER_FILE} of ${dir}`,
    implementation: `${PACKAGE} ${packageVersion()}`,
    vocabSize,
    eosId,
    bosId,
    specialSources: sources,
    tokenizer: tok,
    encode: (text: string): number[] => (text.length === 0 ? [] : tok.encode(text, { add_special_tokens: false }).ids),
    decode: (ids: ArrayLike<number>): string => {
      const list = Array.from(ids);
      list.forEach((t, i) => {
        if (!Number.isInteger(t) || t < 0 || t >= vocabSize) throw new Error(`decode: token id ${t} at position ${i} is outside [0, ${vocabSize}) of ${tjFile}`);
      });
      return list.length === 0 ? '' : tok.decode(list); // the package refuses an empty list
    },
  };
}

/**
 * A folder's tokenizer for `prepare --tokenizer`: documents separated by eos when appended ('append'), by bos (else
 * eos) when prepended ('prepend', as llm.c's Llama 3 preparation prepends <|begin_of_text|>).
 */
export function folderDocumentTokenizer(dir: string, eot: 'append' | 'prepend'): DocumentTokenizer {
  const folder = path.resolve(dir);
  const tokenizer = loadHFTokenizer(folder);
  const separator = eot === 'prepend' ? tokenizer.bosId ?? tokenizer.eosId : tokenizer.eosId;
  if (separator === undefined) {
    throw new Error(`${folder}: the tokenizer names no ${eot === 'prepend' ? 'bos or eos' : 'eos'} token to separate documents ` +
      `(tokenizer_config.json ${eot === 'prepend' ? 'bos_token / ' : ''}eos_token or config.json ${eot === 'prepend' ? 'bos_token_id / ' : ''}eos_token_id)`);
  }
  const sha256 = createHash('sha256').update(fs.readFileSync(path.join(folder, HF_TOKENIZER_FILE))).digest('hex');
  return {
    tokenizer,
    info: { name: 'tokenizer.json', folder, implementation: tokenizer.implementation, sha256, vocabSize: tokenizer.vocabSize, separator },
  };
}
