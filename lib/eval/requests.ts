// From (context, continuation) strings to the token requests lm-evaluation-harness scores (reference/data.md §3c):
// _encode_pair, the empty-context prefix token, left truncation to max_length, and the rolling windows of
// loglikelihood_rolling (get_rolling_token_windows with context_len 1, then make_disjoint_window). Pure JS.
import { pyRstrip } from './text';
import type { HarnessVersion } from './tasks';

/** A log-likelihood request in tokens: score `continuation` given `context`. Both non-empty. */
export interface TokenRequest {
  context: number[];
  continuation: number[];
}

/** Sum of log p(continuation tokens | everything before), and whether every continuation token is the argmax. */
export interface LoglikResult {
  ll: number;
  isGreedy: boolean;
}

/**
 * What the scorer needs from a tokenizer: the harness's tok_encode and its prefix token. For GPT-2 both are tiktoken
 * encode_ordinary and EOT; a Hugging Face folder's tokenizer (./hf-eval-tokenizer) differs by harness version.
 */
export interface EvalTokenizer {
  /** The harness's tok_encode(string) (for v0.4, with the tokenizer's default special tokens, e.g. Llama's BOS). */
  encode(text: string): number[];
  /** The harness's prefix_token_id: EOT (50256) for GPT-2. Used for empty contexts and rolling windows. */
  eot: number;
  /** tok_encode(string, add_special_tokens=False), for v0.4's empty-context continuation. Default: encode. */
  encodePlain?(text: string): number[];
  /** The harness version these rules are for, when they depend on it (a scorer refuses requests of another). */
  harness?: HarnessVersion;
}

/**
 * The harness's _encode_pair (lm_eval/api/model.py TemplateLM at 4e7e0d4): trailing whitespace of the context moves
 * to the front of the continuation; then whole = enc(context + continuation), ctx = enc(context),
 * cont = whole[len(ctx):]. An empty context (TemplateLM.loglikelihood checks context == "" before moving whitespace)
 * becomes [prefix] with the continuation encoded without special tokens; when that encoding itself starts with the
 * prefix token, its first token is the context instead (a no-op for GPT-2's encode_ordinary, which never yields EOT).
 */
export function encodePair(tok: EvalTokenizer, context: string, continuation: string): TokenRequest {
  if (context === '') {
    const cont = (tok.encodePlain ?? tok.encode)(continuation);
    return cont[0] === tok.eot ? { context: cont.slice(0, 1), continuation: cont.slice(1) } : { context: [tok.eot], continuation: cont };
  }
  const trimmed = pyRstrip(context);
  const nSpaces = context.length - trimmed.length;
  if (nSpaces > 0) {
    continuation = context.slice(trimmed.length) + continuation;
    context = trimmed;
  }
  const whole = tok.encode(context + continuation);
  const ctx = tok.encode(context);
  return { context: ctx, continuation: whole.slice(ctx.length) };
}

/**
 * v0.3's BaseLM.loglikelihood (lm_eval/base.py at v0.3.0): context and continuation encoded separately, nothing
 * moved between them; an empty context becomes [eot]. Differs from v0.4's encodePair when the context ends in
 * whitespace or when BPE merges across the boundary.
 */
export function encodePairV03(tok: EvalTokenizer, context: string, continuation: string): TokenRequest {
  return { context: context === '' ? [tok.eot] : tok.encode(context), continuation: tok.encode(continuation) };
}

/** The (context, continuation) tokens of a text request in harness version `h`. */
export function encodeRequest(tok: EvalTokenizer, context: string, continuation: string, h: HarnessVersion): TokenRequest {
  return h === '0.3' ? encodePairV03(tok, context, continuation) : encodePair(tok, context, continuation);
}

/**
 * The model input of a request, as the harness builds it: (context + continuation)[-(maxLength + 1):][:-1].
 * The continuation is read from the last `continuation.length` positions of the returned input's logits.
 */
export function requestInput(req: TokenRequest, maxLength: number): number[] {
  const whole = req.context.concat(req.continuation);
  return whole.slice(Math.max(0, whole.length - (maxLength + 1)), whole.length - 1);
}

/** Checks a token request can be scored as the harness does (its asserts), with a message that says which. */
export function checkTokenRequest(req: TokenRequest, maxLength: number, vocabSize: number, label: string): void {
  if (!req || !Array.isArray(req.context) || !Array.isArray(req.continuation)) {
    throw new Error(`${label}: expected {context: number[], continuation: number[]}`);
  }
  if (req.context.length === 0) throw new Error(`${label}: empty context (text requests use [EOT]; token requests must give one)`);
  if (req.continuation.length === 0) throw new Error(`${label}: empty continuation: nothing to score`);
  if (req.continuation.length > maxLength) {
    throw new Error(`${label}: continuation has ${req.continuation.length} tokens, more than max_length ${maxLength}`);
  }
  for (const [part, ids] of [['context', req.context], ['continuation', req.continuation]] as const) {
    for (let i = 0; i < ids.length; i++) {
      const t = ids[i];
      if (!Number.isInteger(t) || t < 0 || t >= vocabSize) {
        throw new Error(`${label}: ${part}[${i}] = ${t} is not a token id in [0, ${vocabSize})`);
      }
    }
  }
}

/** One rolling window: `context` tokens (input) and the `continuation` tokens it predicts. */
export type Window = [number[], number[]];

/**
 * get_rolling_token_windows: the first window is [prefix] + t[0 : n-1] predicting t[0 : n] with n = min(maxSeqLen,
 * len); each later window predicts the next <= maxSeqLen - contextLen + 1 tokens from the maxSeqLen tokens ending
 * just before its last target. Every token is predicted exactly once. Empty input gives no windows.
 */
export function rollingTokenWindows(tokens: number[], prefixToken: number, maxSeqLen: number, contextLen = 1): Window[] {
  if (!(Number.isInteger(contextLen) && Number.isInteger(maxSeqLen) && contextLen >= 1 && contextLen <= maxSeqLen)) {
    throw new Error(`rolling windows need 1 <= context_len (${contextLen}) <= max_seq_len (${maxSeqLen})`);
  }
  const out: Window[] = [];
  if (tokens.length === 0) return out;
  const predLen = maxSeqLen - contextLen + 1;
  const first = Math.min(maxSeqLen, tokens.length);
  out.push([[prefixToken, ...tokens.slice(0, first - 1)], tokens.slice(0, first)]);
  let predicted = first;
  while (predicted < tokens.length) {
    const windowPredLen = Math.min(tokens.length - predicted, predLen);
    const windowEnd = predicted + windowPredLen;
    // windowEnd > maxSeqLen here, so the start is never negative (no Python wrap-around to emulate).
    out.push([tokens.slice(windowEnd - maxSeqLen - 1, windowEnd - 1), tokens.slice(windowEnd - windowPredLen, windowEnd)]);
    predicted += windowPredLen;
  }
  return out;
}

/** make_disjoint_window: drop from the context the tokens the continuation repeats, a[:len(a) - (len(b) - 1)]. */
export function makeDisjointWindow([a, b]: Window): TokenRequest {
  return { context: a.slice(0, a.length - (b.length - 1)), continuation: b };
}

/** The token requests whose log-likelihoods sum to a document's rolling log-likelihood. */
export function rollingRequests(tokens: number[], prefixToken: number, maxLength: number): TokenRequest[] {
  return rollingTokenWindows(tokens, prefixToken, maxLength, 1).map(makeDisjointWindow);
}

/**
 * What the tasks need from a language model, at the text level (the harness's LM.loglikelihood and
 * LM.loglikelihood_rolling). ModelScorer (./score) implements it for our GPT; tests use fakes.
 */
export interface Scorer {
  /**
   * For each (context, continuation): log p(continuation | context) and is_greedy, with the text-to-token encoding
   * of harness version `harness` (the scorer's default when omitted).
   */
  loglikelihood(requests: Array<[string, string]>, harness?: HarnessVersion): Promise<LoglikResult[]>;
  /** For each text: the sum of log p over all its tokens (rolling windows, EOT prefix). */
  loglikelihoodRolling(texts: string[]): Promise<number[]>;
}
