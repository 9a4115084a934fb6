// A Hugging Face model folder's own tokenizer (tokenizer.json, read by lib/data/hf-tokenizer) as the EvalTokenizer of
// one lm-evaluation-harness version, for `eval --model <Llama / Mistral / Qwen2 / GPT-NeoX folder>`.
//
// harness 0.4 = EleutherAI/lm-evaluation-harness@4e7e0d4 (the commit lib/eval/tasks.ts reproduces):
//   HFLM.tok_encode (lm_eval/models/huggingface.py): add_bos_token defaults to None, so _add_special_kwargs gives {}
//     and the string goes through tokenizer.encode(string) with transformers' default add_special_tokens=True: what
//     the tokenizer's post-processor adds (Llama 2 / 3, Mistral: BOS first; GPT-NeoX / Pythia, Qwen2: nothing). If the
//     string starts with tokenizer.decode(prefix_token_id) (has_bos_prefix), add_special_tokens=False instead.
//   HFLM.prefix_token_id: bos_token_id, else eos_token_id (empty contexts and rolling windows).
//   TemplateLM._encode_pair / loglikelihood (lm_eval/api/model.py): whole and context both go through tok_encode,
//     so both start with BOS and cont = whole[len(ctx):]; an empty context is [prefix_token_id] before
//     tok_encode(continuation, add_special_tokens=False) (./requests encodePair).
//   HFLM.loglikelihood_rolling: windows of tok_encode(string) with prefix_token_id; for a BOS-adding tokenizer the
//     first scored token is the string's BOS after the prefix BOS (log p(BOS | BOS) counts), as in the harness.
//   HFLM(add_bos_token=...) (eval --add_bos_token): false passes add_special_tokens=False to every tok_encode (no BOS;
//     the default of releases v0.4.0 to v0.4.9.1, before #3347 made it None); true is the default encoding, accepted
//     only when that already adds [bos] (transformers would rebuild some tokenizers' post-processors: not emulated).
// harness 0.3 = v0.3.0's BaseLM (lm_eval/base.py) with the tok_encode of v0.3.0's HFLM (lm_eval/models/gpt2.py:
//   encode(string, add_special_tokens=False)) and of the paper's lit-gpt wrapper (encode(string, bos=False, eos=False)):
//   no BOS anywhere; eot_token_id = eos_token_id for empty contexts and rolling windows. (v0.3.0's HFLM itself asserts
//   a GPT-2 or T5 tokenizer and so cannot load these folders; wrappers such as lit-gpt's subclass BaseLM as here.)
// Refused, where the harness would run but mis-align tokens or depend on the transformers version (our deviation):
//   a tokenizer whose default encoding appends tokens (add_eos_token: ctx and whole both end with EOS, so
//   cont = whole[len(ctx):] is shifted), and a tokenizer_config.json add_bos_token / add_eos_token that contradicts
//   tokenizer.json's post-processor (transformers rebuilds the post-processor from those flags for some classes).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HF_TOKENIZER_CONFIG_FILE, HF_TOKENIZER_FILE, HFTokenizer, loadHFTokenizer } from '../data/hf-tokenizer';
import { quote } from '../util/errors';
import type { EvalTokenizer } from './requests';
import type { HarnessVersion } from './tasks';

export interface HarnessHFTokenizer extends EvalTokenizer {
  harness: HarnessVersion;
  /** The folder holding tokenizer.json. */
  folder: string;
  /** sha256 over tokenizer.json and tokenizer_config.json (when present): the tokenizer's identity for the cache. */
  sha256: string;
  /** Ids are below this (the largest id of the vocabulary and added tokens, plus one). */
  vocabSize: number;
  /** Tokens the v0.4 default encoding puts before the text ([] for NeoX / Qwen2, [BOS] for Llama). */
  defaultPrefix: number[];
  /** One line for the log: the rules in force and where the special tokens came from. */
  description: string;
}

/** The position of `needle` in `hay` as a contiguous run, or -1. */
function findRun(hay: number[], needle: number[]): number {
  for (let i = 0; i + needle.length <= hay.length; i++) if (needle.every((t, j) => hay[i + j] === t)) return i;
  return -1;
}

/** The tokenizer's bos / eos as transformers sees them: tokenizer_config.json's entry wins, and there an explicit null
 * means none (Qwen2's bos_token); without an entry, lib/data/hf-tokenizer's fallback to config.json's *_token_id. */
function specialId(tok: HFTokenizer, tc: Record<string, unknown>, kind: 'bos' | 'eos'): number | undefined {
  if (`${kind}_token` in tc && tc[`${kind}_token`] === null) return undefined;
  return kind === 'bos' ? tok.bosId : tok.eosId;
}

/** Loads `dir`'s tokenizer.json with harness `h`'s encoding rules (see the file comment); `addBosToken` is HFLM's. */
export function harnessHFTokenizer(dir: string, h: HarnessVersion, addBosToken?: boolean): HarnessHFTokenizer {
  const folder = path.resolve(dir);
  const tjFile = path.join(folder, HF_TOKENIZER_FILE);
  const tcFile = path.join(folder, HF_TOKENIZER_CONFIG_FILE);
  const tok = loadHFTokenizer(folder); // throws, naming the folder, without tokenizer.json
  const tc = fs.existsSync(tcFile) ? (JSON.parse(fs.readFileSync(tcFile, 'utf8')) as Record<string, unknown>) : {};
  const hash = createHash('sha256').update(fs.readFileSync(tjFile));
  if (fs.existsSync(tcFile)) hash.update('\n--tokenizer_config--\n').update(fs.readFileSync(tcFile));
  const sha256 = hash.digest('hex');
  const bos = specialId(tok, tc, 'bos');
  const eos = specialId(tok, tc, 'eos');
  const plain = (text: string): number[] => tok.encode(text);
  const base = { harness: h, folder, sha256, vocabSize: tok.vocabSize, encodePlain: plain };
  const sources = tok.specialSources.length ? `; special tokens from ${tok.specialSources.join(', ')}` : '';

  if (h === '0.3') {
    if (addBosToken !== undefined) throw new Error('add_bos_token is an argument of harness 0.4\'s HFLM; harness 0.3 adds no special tokens');
    if (eos === undefined) throw new Error(`${folder}: the tokenizer names no eos token, which harness 0.3 uses as the prefix (eot_token_id) of empty contexts and rolling windows`);
    return {
      ...base, encode: plain, eot: eos, defaultPrefix: [],
      description: `${tok.name}: harness 0.3 rules (no special tokens added; prefix token eos ${eos})${sources}`,
    };
  }

  const prefixId = bos ?? eos;
  if (prefixId === undefined) throw new Error(`${folder}: the tokenizer names neither a bos nor an eos token; harness 0.4's prefix_token_id needs one`);
  // What encode(text) adds by default: compare a probe with and without special tokens. (1, V) ids each.
  const probe = 'a';
  const withSpecial = tok.tokenizer.encode(probe).ids;
  const without = plain(probe);
  const at = findRun(withSpecial, without);
  if (at < 0) throw new Error(`${tjFile}: encode(${quote(probe)}) with special tokens [${withSpecial}] does not contain its encoding without them [${without}]`);
  const added = { before: withSpecial.slice(0, at), after: withSpecial.slice(at + without.length) };
  if (added.after.length || tc.add_eos_token === true) {
    throw new Error(`${folder}: the tokenizer appends [${added.after}] (add_eos_token) by default; harness 0.4 would then split context and ` +
      'continuation at the wrong token (cont = whole[len(ctx):] with both ending in EOS), so eval refuses it');
  }
  if (tc.add_bos_token === true && !(added.before.length === 1 && added.before[0] === bos)) {
    throw new Error(`${tcFile}: add_bos_token is true but ${HF_TOKENIZER_FILE}'s post-processor adds [${added.before}], not [bos ${bos}]; make them agree`);
  }
  if (tc.add_bos_token === false && added.before.length) {
    throw new Error(`${tcFile}: add_bos_token is false but ${HF_TOKENIZER_FILE}'s post-processor adds [${added.before}]; make them agree`);
  }
  if (addBosToken === true && !(bos !== undefined && added.before.length === 1 && added.before[0] === bos)) {
    throw new Error(`${folder}: add_bos_token true asks for a BOS that this tokenizer's default encoding does not add ([${added.before}] before the text); ` +
      'transformers would rebuild the post-processor for some tokenizer classes, which eval does not emulate');
  }
  // has_bos_prefix: transformers' decode(prefix_token_id) keeps special tokens ("<s>", "<|begin_of_text|>").
  const prefixText = tok.tokenizer.decode([prefixId], { skip_special_tokens: false });
  const withDefaults = (text: string): number[] => tok.tokenizer.encode(text).ids;
  const before = addBosToken === false ? [] : added.before;
  return {
    ...base,
    eot: prefixId,
    defaultPrefix: before,
    encode: addBosToken === false ? plain : (text: string) => (text.startsWith(prefixText) ? plain(text) : withDefaults(text)),
    description: `${tok.name}: harness 0.4 rules (add_bos_token ${addBosToken === undefined ? 'None' : addBosToken ? 'True' : 'False'}: ` +
      `[${before}] before the text; prefix token ${bos !== undefined ? 'bos' : 'eos'} ${prefixId} ${quote(prefixText)})${sources}`,
  };
}
