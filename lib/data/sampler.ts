// Batch samplers over a TokenSource. Both return plain int32 arrays (the trainer makes tensors):
//   x = tokens[o : o+T], y = tokens[o+1 : o+T+1] per row, row-major [B, T].
//  - RandomWindowSampler: nanoGPT get_batch (OWT runs): o = randint(len - T), with replacement, seeded.
//  - SequentialLoader: build-nanogpt DataLoaderLite (FineWeb runs): buf = tokens[pos : pos+B*T+1], pos += B*T,
//    next shard when the current one cannot fill a batch; after the last shard it wraps and counts an epoch.
// Both save and restore their exact position (getState / setState) for resume.
// A source with a window alignment (lib/data/windows) makes the random sampler and validationBatches start every
// window at its boundary token (BOS at position 0) instead of at any offset.
// Window buffers have the source's width (uint16 or uint32 ids); batches are int32 either way.
import { Rng, RngState } from '../util/rng';
import { ShardSpan, TokenSource } from './source';
import { isAligned, windowStarts } from './windows';
import { TokenArray, allocTokens } from './token-array';

export interface Batch {
  x: Int32Array;
  y: Int32Array;
  shape: [number, number];
}

export interface BatchSampler {
  next(): Batch;
  getState(): SamplerState;
  setState(state: SamplerState): void;
}

export type SamplerState =
  | { kind: 'random'; rng: RngState; batchesDrawn: number }
  | { kind: 'sequential'; shard: number; pos: number; epoch: number; batchesDrawn: number };

function checkDims(src: TokenSource, batchSize: number, blockSize: number, what: string): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`${what}: batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new Error(`${what}: blockSize must be a positive integer, got ${blockSize}`);
  if (src.length < blockSize + 1) throw new Error(`${what}: the source has ${src.length} tokens, fewer than blockSize + 1 = ${blockSize + 1}`);
}

/** Copies a (T+1)-token window into row `row` of x and y. */
function fillRow(win: TokenArray, x: Int32Array, y: Int32Array, row: number, T: number): void {
  const base = row * T;
  for (let t = 0; t < T; t++) {
    x[base + t] = win[t];
    y[base + t] = win[t + 1];
  }
}

export interface RandomSamplerOptions {
  batchSize: number;
  blockSize: number;
  seed: number;
}

/** nanoGPT's random windows: each row starts at rng.int(len - blockSize), independently (with replacement). */
export class RandomWindowSampler implements BatchSampler {
  private rng: Rng;
  private batchesDrawn = 0;
  private readonly win: TokenArray;
  /** Allowed window starts of an aligned source; null: any offset. */
  private readonly starts: Float64Array | null;
  constructor(private readonly src: TokenSource, private readonly opts: RandomSamplerOptions) {
    checkDims(src, opts.batchSize, opts.blockSize, 'RandomWindowSampler');
    this.rng = new Rng(opts.seed);
    this.win = allocTokens(src.dtype, opts.blockSize + 1);
    this.starts = windowStarts(src, opts.blockSize, 'RandomWindowSampler');
  }

  next(): Batch {
    const { batchSize: B, blockSize: T } = this.opts;
    const x = new Int32Array(B * T);
    const y = new Int32Array(B * T);
    // Offsets are drawn first (as torch.randint draws ix), then read; reads never consume randomness.
    const offs: number[] = [];
    const st = this.starts;
    for (let b = 0; b < B; b++) offs.push(st ? st[this.rng.int(st.length)] : this.rng.int(this.src.length - T));
    for (let b = 0; b < B; b++) fillRow(this.src.read(offs[b], T + 1, this.win), x, y, b, T);
    this.batchesDrawn++;
    return { x, y, shape: [B, T] };
  }

  getState(): SamplerState {
    return { kind: 'random', rng: this.rng.getState(), batchesDrawn: this.batchesDrawn };
  }

  setState(state: SamplerState): void {
    if (state.kind !== 'random') throw new Error(`RandomWindowSampler.setState: expected a 'random' state, got '${state.kind}'`);
    this.rng = Rng.fromState(state.rng);
    this.batchesDrawn = state.batchesDrawn;
  }
}

export interface SequentialLoaderOptions {
  batchSize: number;
  blockSize: number;
  /** Data-parallel rank and world size (DataLoaderLite's process_rank / num_processes); default 0 of 1. */
  rank?: number;
  worldSize?: number;
}

/** The FineWeb runs' sequential loader, walking the source's shards in order without repetition until exhausted. */
export class SequentialLoader implements BatchSampler {
  private shard = 0;
  private pos: number;
  private epoch = 0;
  private batchesDrawn = 0;
  private readonly shards: ReadonlyArray<ShardSpan>;
  private readonly rank: number;
  private readonly world: number;
  private readonly buf: TokenArray;

  constructor(private readonly src: TokenSource, private readonly opts: SequentialLoaderOptions) {
    checkDims(src, opts.batchSize, opts.blockSize, 'SequentialLoader');
    if (isAligned(src)) {
      throw new Error(`SequentialLoader reads contiguous B*T blocks, so its windows cannot start at token ${src.align.token}; use the random sampler with window mode 'bos', or window mode 'any'`);
    }
    this.rank = opts.rank ?? 0;
    this.world = opts.worldSize ?? 1;
    if (!(this.rank >= 0 && this.rank < this.world)) throw new Error(`SequentialLoader: rank ${this.rank} must be in [0, worldSize ${this.world})`);
    const need = opts.batchSize * opts.blockSize * this.world + 1;
    // Shards too short for one step of all ranks are skipped (DataLoaderLite would read past their end).
    this.shards = src.shards.filter((s) => s.length >= need);
    if (this.shards.length === 0) {
      throw new Error(`SequentialLoader: no shard holds B*T*worldSize+1 = ${need} tokens (batch ${opts.batchSize} x ${opts.blockSize}, world ${this.world})`);
    }
    this.buf = allocTokens(src.dtype, opts.batchSize * opts.blockSize + 1);
    this.pos = this.startPos();
  }

  private startPos(): number {
    return this.opts.batchSize * this.opts.blockSize * this.rank;
  }

  /** Back to the start of the first shard (DataLoaderLite.reset); the epoch counter is kept. */
  reset(): void {
    this.shard = 0;
    this.pos = this.startPos();
  }

  get currentEpoch(): number {
    return this.epoch;
  }

  next(): Batch {
    const { batchSize: B, blockSize: T } = this.opts;
    const n = B * T;
    const s = this.shards[this.shard];
    const win = this.src.read(s.start + this.pos, n + 1, this.buf);
    const x = new Int32Array(n);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = win[i];
      y[i] = win[i + 1];
    }
    this.pos += n * this.world;
    // DataLoaderLite's test, verbatim: if the next step (all ranks, +1 target token) would run past the shard, move on.
    if (this.pos + n * this.world + 1 > s.length) {
      this.shard++;
      if (this.shard >= this.shards.length) {
        this.shard = 0;
        this.epoch++;
      }
      this.pos = this.startPos();
    }
    this.batchesDrawn++;
    return { x, y, shape: [B, T] };
  }

  getState(): SamplerState {
    return { kind: 'sequential', shard: this.shard, pos: this.pos, epoch: this.epoch, batchesDrawn: this.batchesDrawn };
  }

  setState(state: SamplerState): void {
    if (state.kind !== 'sequential') throw new Error(`SequentialLoader.setState: expected a 'sequential' state, got '${state.kind}'`);
    if (state.shard < 0 || state.shard >= this.shards.length) throw new Error(`SequentialLoader.setState: shard ${state.shard} outside [0, ${this.shards.length})`);
    if (state.pos < 0 || state.pos + this.opts.batchSize * this.opts.blockSize + 1 > this.shards[state.shard].length) {
      throw new Error(`SequentialLoader.setState: position ${state.pos} does not fit a batch in shard ${state.shard} (${this.shards[state.shard].length} tokens)`);
    }
    this.shard = state.shard;
    this.pos = state.pos;
    this.epoch = state.epoch;
    this.batchesDrawn = state.batchesDrawn;
  }
}

export interface ValidationBatchOptions {
  batchSize: number;
  blockSize: number;
  numBatches: number;
  /** 'spaced' (default): B*numBatches windows evenly spaced over the whole source. 'head': consecutive windows
   *  from token 0, like the FineWeb runs' loader.reset() before each eval. */
  mode?: 'spaced' | 'head';
}

/** A fixed, deterministic list of validation batches (the same every call, for comparable eval losses). */
export function validationBatches(src: TokenSource, opts: ValidationBatchOptions): Batch[] {
  const { batchSize: B, blockSize: T, numBatches } = opts;
  checkDims(src, B, T, 'validationBatches');
  if (!Number.isInteger(numBatches) || numBatches < 1) throw new Error(`validationBatches: numBatches must be a positive integer, got ${numBatches}`);
  const windows = B * numBatches;
  const maxStart = src.length - T - 1; // last start whose target token exists
  const starts = windowStarts(src, T, 'validationBatches');
  const head = (opts.mode ?? 'spaced') === 'head';
  if (head && !starts && windows * T + 1 > src.length) {
    throw new Error(`validationBatches: 'head' needs ${windows * T + 1} tokens, the source has ${src.length}`);
  }
  // Aligned: the w-th window starts at the w-th boundary ('head') or at evenly spaced boundaries ('spaced').
  const start = (w: number): number => {
    if (starts) return head ? starts[w % starts.length] : starts[windows === 1 ? 0 : Math.floor((w * (starts.length - 1)) / (windows - 1))];
    return head ? w * T : windows === 1 ? 0 : Math.floor((w * maxStart) / (windows - 1));
  };
  const win = allocTokens(src.dtype, T + 1);
  const out: Batch[] = [];
  for (let k = 0; k < numBatches; k++) {
    const x = new Int32Array(B * T);
    const y = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const w = k * B + b;
      fillRow(src.read(start(w), T + 1, win), x, y, b, T);
    }
    out.push({ x, y, shape: [B, T] });
  }
  return out;
}
