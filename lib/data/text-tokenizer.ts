// The tokenizer interface that `prepare` and the evaluations use: GPT-2's BPE (./tokenizer, the lab's default) or a
// model folder's tokenizer.json (./hf-tokenizer). Both encode without adding BOS/EOS and decode to text.
import { EOT_TOKEN, GPT2_VOCAB_SIZE, decode, encodeOrdinary, tokenizerInfo } from './tokenizer';

export interface TextTokenizer {
  /** What it is, for metadata and messages ('gpt2', or 'tokenizer.json of <folder>'). */
  readonly name: string;
  /** Implementation and version, recorded in a prepared dataset's meta.json. */
  readonly implementation: string;
  /** Every id encode or decode handles is in [0, vocabSize) (added tokens included). */
  readonly vocabSize: number;
  /** End-of-sequence / document separator id, when the tokenizer has one. */
  readonly eosId?: number;
  /** Beginning-of-sequence id, when the tokenizer has one. */
  readonly bosId?: number;
  /** Token ids of `text`, with no BOS/EOS added. */
  encode(text: string): number[];
  /** Text of `ids`. */
  decode(ids: ArrayLike<number>): string;
}

/** GPT-2's BPE (tiktoken encode_ordinary semantics; <|endoftext|> = 50256 ends and begins documents). */
export const gpt2Tokenizer: TextTokenizer = {
  name: 'gpt2',
  implementation: tokenizerInfo.implementation,
  vocabSize: GPT2_VOCAB_SIZE,
  eosId: EOT_TOKEN,
  bosId: EOT_TOKEN,
  encode: encodeOrdinary,
  decode,
};
