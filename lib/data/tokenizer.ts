// GPT-2 BPE with tiktoken `encode_ordinary` semantics: special-token text such as "<|endoftext|>" is encoded as
// ordinary bytes, never rejected. Ids match tiktoken's "gpt2" encoding (r50k_base ranks); EOT = 50256.
// The BPE itself comes from gpt-tokenizer (pure JS, memoised merges); this file fixes the options and adds a bulk
// path that writes documents straight into a growing Uint16Array (no number[] of the whole corpus).

// The BPE merges come from gpt-tokenizer, but not its pre-tokenizer: its r50k pattern uses JavaScript's `\s`, which
// counts U+FEFF (BOM) as whitespace and not U+0085 (NEL). tiktoken runs the same pattern in Rust's regex, whose `\s`
// is Unicode's White_Space property (U+0085 in, U+FEFF out). So the encoder is rebuilt from gpt-tokenizer's rank
// table with the pattern below, where `\s` is spelled out as White_Space. gpt-tokenizer's .d.ts files use syntax
// newer than our TypeScript parses, so its modules are required untyped; they load on first use (parsing the 50k
// ranks takes a moment).

import { TokenArray, TokenDType, allocTokens, dtypeIdLimit } from './token-array';

/**
 * Unicode's White_Space property (PropList.txt; unchanged since Unicode 6.3), the set Rust regex's `\s` matches:
 * U+0009..U+000D, U+0020, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
 */
export const WHITE_SPACE_CLASS = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

/**
 * tiktoken's GPT-2 pre-tokenizer (tiktoken_ext/openai_public.py, gpt2 / r50k_base: the original GPT-2 pattern
 * 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+) with `\s` = White_Space.
 */
export const R50K_TIKTOKEN_SPLIT = new RegExp(
  `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${WHITE_SPACE_CLASS}\\p{L}\\p{N}]+|[${WHITE_SPACE_CLASS}]+(?![^${WHITE_SPACE_CLASS}])|[${WHITE_SPACE_CLASS}]+`,
  'gu',
);

interface R50kApi {
  encode(text: string, opts?: { disallowedSpecial?: Set<string> }): number[];
}
let r50kApi: R50kApi | null = null;
function r50k(): R50kApi {
  if (!r50kApi) {
    const { GptEncoding } = require('gpt-tokenizer/cjs/GptEncoding') as { GptEncoding: new (p: Record<string, unknown>) => R50kApi };
    r50kApi = new GptEncoding({
      bytePairRankDecoder: r50kRanks(),
      specialTokensEncoder: new Map([['<|endoftext|>', EOT_TOKEN]]),
      expectedVocabularySize: GPT2_VOCAB_SIZE,
      tokenSplitRegex: R50K_TIKTOKEN_SPLIT,
    });
  }
  return r50kApi;
}

function r50kRanks(): Array<string | number[]> {
  return (require('gpt-tokenizer/cjs/bpeRanks/r50k_base') as { default: Array<string | number[]> }).default;
}

/** <|endoftext|>: the document separator (appended by nanoGPT's OWT prep, prepended by the FineWeb preps). */
export const EOT_TOKEN = 50256;
/** Number of token ids in GPT-2's vocabulary (0..50256). Models pad it to 50304. */
export const GPT2_VOCAB_SIZE = 50257;

export const tokenizerInfo = {
  name: 'gpt2',
  implementation: 'gpt-tokenizer 4.0.0 r50k_base ranks, tiktoken pre-tokenizer (Rust \\s = White_Space), encode_ordinary semantics',
  version: '4.0.0',
  vocabSize: GPT2_VOCAB_SIZE,
  eotToken: EOT_TOKEN,
} as const;

// An empty disallowed set turns off gpt-tokenizer's default throw on special-token text; with no allowedSpecial,
// nothing is matched as a special token, so "<|endoftext|>" splits like any other text (tiktoken encode_ordinary).
const ORDINARY = { disallowedSpecial: new Set<string>() };

/** Token ids of `text` exactly as tiktoken's `get_encoding("gpt2").encode_ordinary(text)`. Never throws. */
export function encodeOrdinary(text: string): number[] {
  if (text.length === 0) return [];
  return r50k().encode(text, ORDINARY);
}

// id -> bytes, built once from gpt-tokenizer's rank table (valid-UTF-8 tokens are stored as strings, the 344
// partial-character tokens as byte arrays) plus EOT. Decoding joins the bytes and decodes UTF-8 once, with U+FFFD
// for invalid sequences: tiktoken's decode (errors="replace"), also for a character cut between tokens.
let byteTable: Uint8Array[] | null = null;
function tokenBytesTable(): Uint8Array[] {
  if (byteTable) return byteTable;
  const ranks = r50kRanks();
  const utf8 = new TextEncoder();
  const table = ranks.map((v) => (typeof v === 'string' ? utf8.encode(v) : Uint8Array.from(v)));
  table[EOT_TOKEN] = utf8.encode('<|endoftext|>');
  if (table.length !== GPT2_VOCAB_SIZE) throw new Error(`GPT-2 rank table has ${table.length} entries; expected ${GPT2_VOCAB_SIZE}`);
  byteTable = table;
  return table;
}

/** The UTF-8 bytes of `ids` (what tiktoken's decode_bytes returns). */
export function decodeBytes(ids: ArrayLike<number>): Uint8Array {
  const table = tokenBytesTable();
  let n = 0;
  for (let i = 0; i < ids.length; i++) {
    const t = ids[i];
    if (!Number.isInteger(t) || t < 0 || t >= GPT2_VOCAB_SIZE) {
      throw new Error(`decode: token id ${t} at position ${i} is outside the GPT-2 vocabulary [0, ${GPT2_VOCAB_SIZE})`);
    }
    n += table[t].length;
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (let i = 0; i < ids.length; i++) {
    out.set(table[ids[i]], o);
    o += table[ids[i]].length;
  }
  return out;
}

// ignoreBOM: a leading U+FEFF is text, kept as tiktoken's decode (bytes.decode("utf-8", errors="replace")) keeps it;
// TextDecoder's default would drop it.
const UTF8_DECODER = new TextDecoder('utf-8', { ignoreBOM: true });

/** Text of `ids`; invalid UTF-8 (e.g. a multi-byte character cut between tokens) becomes U+FFFD, as in tiktoken. */
export function decode(ids: ArrayLike<number>): string {
  return UTF8_DECODER.decode(decodeBytes(ids));
}

export type EotMode = 'append' | 'prepend' | 'none';

/**
 * A token array of one width (uint16 by default, uint32 for big vocabularies) that grows by doubling; `view()` is
 * the filled prefix (no copy). An id that does not fit the width is an error, not a silent wrap-around.
 */
export class TokenBuffer {
  private buf: TokenArray;
  private readonly limit: number;
  length = 0;
  constructor(initialCapacity = 1 << 16, readonly dtype: TokenDType = 'uint16') {
    this.buf = allocTokens(dtype, Math.max(16, initialCapacity));
    this.limit = dtypeIdLimit(dtype);
  }
  private reserve(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + extra) cap *= 2;
    const next = allocTokens(this.dtype, cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  private bad(t: number): never {
    throw new Error(`TokenBuffer: token id ${t} is not a ${this.dtype} id (0..${this.limit - 1})`);
  }
  push(t: number): void {
    if (!(t >= 0 && t < this.limit)) this.bad(t);
    this.reserve(1);
    this.buf[this.length++] = t;
  }
  pushAll(ids: ArrayLike<number>): void {
    this.reserve(ids.length);
    const b = this.buf;
    const limit = this.limit;
    let n = this.length;
    for (let i = 0; i < ids.length; i++) {
      const t = ids[i];
      if (!(t >= 0 && t < limit)) this.bad(t);
      b[n++] = t;
    }
    this.length = n;
  }
  view(): TokenArray {
    return this.buf.subarray(0, this.length);
  }
  clear(): void {
    this.length = 0;
  }
}

/**
 * Bulk path: tokenizes one document into `out` with its EOT ('append': ids..., EOT as nanoGPT's OWT prep;
 * 'prepend': EOT, ids... as llm.c / build-nanogpt FineWeb preps). Returns the number of tokens written.
 */
export function encodeDocumentInto(out: TokenBuffer, text: string, eot: EotMode): number {
  const before = out.length;
  if (eot === 'prepend') out.push(EOT_TOKEN);
  // Long documents are encoded in pieces cut at safe boundaries so that no giant number[] is built at once.
  for (const piece of splitAtPretokenBoundaries(text, 1 << 16)) out.pushAll(encodeOrdinary(piece));
  if (eot === 'append') out.push(EOT_TOKEN);
  return out.length - before;
}

/** Tokenizes many documents into one Uint16Array (EOT per document as `eot`). */
export function encodeDocuments(docs: Iterable<string>, eot: EotMode): Uint16Array {
  const out = new TokenBuffer(1 << 16, 'uint16');
  for (const d of docs) encodeDocumentInto(out, d, eot);
  return out.view().slice() as Uint16Array; // a uint16 buffer's view is a Uint16Array
}

/**
 * Cuts `text` into pieces of about `target` UTF-16 units such that encoding the pieces separately gives exactly the
 * ids of encoding the whole. GPT-2's pre-tokenizer (R50K_TIKTOKEN_SPLIT, with `\s` = White_Space) has no
 * look-behind, and no piece can hold a non-space followed by a space, so every position where a non-space character
 * is followed by whitespace ends a pre-token: matching after it depends only on the text after it.
 */
export function* splitAtPretokenBoundaries(text: string, target: number): Generator<string> {
  let start = 0;
  while (text.length - start > target) {
    let cut = -1;
    for (let i = start + target; i < text.length; i++) {
      if (isSpace(text.charCodeAt(i)) && !isSpace(text.charCodeAt(i - 1))) {
        cut = i;
        break;
      }
    }
    if (cut < 0) break;
    yield text.slice(start, cut);
    start = cut;
  }
  if (start < text.length) yield start === 0 ? text : text.slice(start);
}

// Exactly the `\s` of the pre-tokenizer (White_Space), so a cut is placed only where the pattern itself must end a
// pre-token.
const WHITE_SPACE = new RegExp(`[${WHITE_SPACE_CLASS}]`);
function isSpace(c: number): boolean {
  if (c < 0x80) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  return WHITE_SPACE.test(String.fromCharCode(c));
}
