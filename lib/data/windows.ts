// Where windows start. nanoGPT draws a window at any offset; Gu et al. (arXiv 2410.10781) measured that a fixed
// token at position 0 is the strongest lever for attention sinks. A source with an alignment gives every sampler
// (training, evaluation, the rank protocol) windows that start at a boundary token: BOS of the synthetic datasets,
// or EOT, the document boundary of GPT-2 text (appended after a document or prepended before it).
//
// The alignment travels with the TokenSource, so code that builds a sampler over a source needs no new argument:
// openDataset() attaches the dataset's default (meta.json `windows`) or what the user asked for.
import { TokenSource } from './source';
import { WindowAlignment } from './prepare';
import { EOT_TOKEN } from './tokenizer';
import { TokenArray, allocTokens, dtypeIdLimit } from './token-array';

export type WindowMode = 'any' | 'bos';

export interface AlignedTokenSource extends TokenSource {
  readonly align: WindowAlignment;
  /** Sorted offsets of the boundary token (computed on first use by one pass over the source). */
  boundaryOffsets(): Float64Array;
}

export function isAligned(src: TokenSource): src is AlignedTokenSource {
  return (src as AlignedTokenSource).align !== undefined && typeof (src as AlignedTokenSource).boundaryOffsets === 'function';
}

/** The alignment of a mode: 'bos' on a text dataset means EOT (50256); a synthetic dataset names its own BOS. */
export function alignmentFor(mode: WindowMode, datasetDefault?: WindowAlignment): WindowAlignment | undefined {
  if (mode === 'any') return undefined;
  if (mode === 'bos') return datasetDefault ?? { start: 'bos', token: EOT_TOKEN };
  throw new Error(`window mode must be 'any' or 'bos', got '${String(mode)}'`);
}

export function describeAlignment(a: WindowAlignment | undefined): string {
  return a ? `bos (every window starts at token ${a.token})` : 'any (nanoGPT random offsets)';
}

/** Wraps `src` so that samplers start windows at `align.token`; the wrapper reads through to `src`. */
export function withAlignment(src: TokenSource, align: WindowAlignment): AlignedTokenSource {
  const limit = dtypeIdLimit(src.dtype);
  if (!Number.isInteger(align.token) || align.token < 0 || align.token >= limit) {
    throw new Error(`window alignment token must be a ${src.dtype} id (0..${limit - 1}) of this source, got ${align.token}`);
  }
  return new AlignedSource(isAligned(src) && src instanceof AlignedSource ? src.inner : src, align);
}

class AlignedSource implements AlignedTokenSource {
  private offsets: Float64Array | null = null;
  constructor(readonly inner: TokenSource, readonly align: WindowAlignment) {}
  get length(): number {
    return this.inner.length;
  }
  get shards(): TokenSource['shards'] {
    return this.inner.shards;
  }
  get dtype(): TokenSource['dtype'] {
    return this.inner.dtype;
  }
  read(offset: number, count: number, into?: TokenArray): TokenArray {
    return this.inner.read(offset, count, into);
  }
  close(): void {
    this.inner.close();
  }
  boundaryOffsets(): Float64Array {
    if (!this.offsets) this.offsets = scanBoundaries(this.inner, this.align.token);
    return this.offsets;
  }
}

function scanBoundaries(src: TokenSource, token: number): Float64Array {
  const chunk = allocTokens(src.dtype, 1 << 20);
  let out = new Float64Array(1024);
  let n = 0;
  for (let off = 0; off < src.length; off += chunk.length) {
    const c = Math.min(chunk.length, src.length - off);
    const t = src.read(off, c, chunk);
    for (let i = 0; i < c; i++) {
      if (t[i] !== token) continue;
      if (n === out.length) {
        const grown = new Float64Array(out.length * 2);
        grown.set(out);
        out = grown;
      }
      out[n++] = off + i;
    }
  }
  return out.slice(0, n);
}

/**
 * The window starts usable for windows of T tokens (+1 target): boundary offsets p with p + T + 1 <= length.
 * Null for an unaligned source (any offset is a start). An aligned source with no usable start is an error.
 */
export function windowStarts(src: TokenSource, T: number, what: string): Float64Array | null {
  if (!isAligned(src)) return null;
  const all = src.boundaryOffsets();
  let lo = 0;
  let hi = all.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (all[mid] + T + 1 <= src.length) lo = mid + 1;
    else hi = mid;
  }
  if (lo === 0) {
    throw new Error(
      `${what}: windows must start at token ${src.align.token} (window mode 'bos'), but no such token leaves room for ` +
        `${T + 1} tokens in a source of ${src.length}; use window mode 'any' for this data`,
    );
  }
  return all.subarray(0, lo);
}
