// Token ids in memory and on disk come in two widths: uint16 (GPT-2's 50257 ids, every format's default) and uint32
// (vocabularies over 65536, such as Llama 3's 128256). A TokenArray is the typed array of one width; readers index
// it (`t[i]`) and take `subarray`s without caring which width it is, and allocate buffers of the source's width.
export type TokenDType = 'uint16' | 'uint32';
export type TokenArray = Uint16Array | Uint32Array;

export const TOKEN_DTYPES: ReadonlyArray<TokenDType> = ['uint16', 'uint32'];

/** The largest vocabulary a uint16 token file can hold (ids 0..65535). */
export const UINT16_VOCAB_LIMIT = 65536;

/**
 * Batches are Int32Array (tfjs has no uint32 dtype), so a uint32 id must stay below 2^31 to survive the copy into a
 * batch; real vocabularies are far smaller, and the model checks ids against its own vocabulary downstream.
 */
export const UINT32_VOCAB_LIMIT = 2 ** 31;

export function bytesPerToken(dtype: TokenDType): 2 | 4 {
  return dtype === 'uint32' ? 4 : 2;
}

/** The exclusive upper bound of an id the width can store. */
export function dtypeIdLimit(dtype: TokenDType): number {
  return dtype === 'uint32' ? 2 ** 32 : 2 ** 16;
}

export function allocTokens(dtype: TokenDType, n: number): TokenArray {
  return dtype === 'uint32' ? new Uint32Array(n) : new Uint16Array(n);
}

export function dtypeOf(tokens: TokenArray): TokenDType {
  if (tokens instanceof Uint32Array) return 'uint32';
  if (tokens instanceof Uint16Array) return 'uint16';
  throw new Error(`token arrays are Uint16Array or Uint32Array, got ${Object.prototype.toString.call(tokens)}`);
}

/** The narrowest width that holds every id of a vocabulary of `vocabSize` ids. */
export function dtypeForVocab(vocabSize: number): TokenDType {
  return vocabSize > UINT16_VOCAB_LIMIT ? 'uint32' : 'uint16';
}

/** Parses a user-given width ('uint16' / 'uint32'); throws naming the allowed values. */
export function parseTokenDType(v: unknown, what = 'token dtype'): TokenDType {
  if (v === 'uint16' || v === 'uint32') return v;
  throw new Error(`${what} must be 'uint16' or 'uint32', got '${String(v)}'`);
}

/** The wider of two widths (uint32 if either is). */
export function widerDType(a: TokenDType, b: TokenDType): TokenDType {
  return a === 'uint32' || b === 'uint32' ? 'uint32' : 'uint16';
}

/**
 * `tokens` as an array of width `dtype`: itself when it already is, else a copy. Widening always fits; narrowing
 * checks every id and throws at the first one that does not fit uint16 (`label` names the destination).
 */
export function toDType(tokens: TokenArray, dtype: TokenDType, label: string): TokenArray {
  if (dtypeOf(tokens) === dtype) return tokens;
  if (dtype === 'uint32') return Uint32Array.from(tokens);
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] >= UINT16_VOCAB_LIMIT) throw new Error(`${label}: token id ${tokens[i]} at ${i} does not fit a uint16 token file (ids < 65536); write it as uint32`);
  }
  return Uint16Array.from(tokens);
}
