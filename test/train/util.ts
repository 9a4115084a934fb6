// Shared helpers of the training tests: tiny configs, in-memory token data, fixed-batch samplers, temp directories.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Batch, BatchSampler, SamplerState } from '../../lib/data/sampler';
import { MemoryTokenSource } from '../../lib/data/source';
import { GPTConfig, makeConfig } from '../../lib/model/config';
import { Rng } from '../../lib/util/rng';

/** The same batch every step (the PyTorch fixtures' protocol). State = number of batches drawn. */
export class FixedBatchSampler implements BatchSampler {
  private drawn = 0;
  private readonly batch: Batch;
  constructor(tokens: number[][], targets: number[][]) {
    const B = tokens.length;
    const T = tokens[0].length;
    this.batch = { x: Int32Array.from(tokens.flat()), y: Int32Array.from(targets.flat()), shape: [B, T] };
  }
  next(): Batch {
    this.drawn++;
    return { x: this.batch.x.slice(), y: this.batch.y.slice(), shape: [this.batch.shape[0], this.batch.shape[1]] };
  }
  getState(): SamplerState {
    return { kind: 'random', rng: { s: [0, 0, 0, 0], spareNormal: null }, batchesDrawn: this.drawn };
  }
  setState(s: SamplerState): void {
    this.drawn = s.batchesDrawn;
  }
}

/** A 2-layer model small enough for many steps per second (vocab 64, C 16, block 16). */
export function tinyConfig(over: Partial<GPTConfig> = {}): GPTConfig {
  return makeConfig({ nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 16, vocabSize: 64, bias: false, dropout: 0, scaleAttnByInverseLayerIdx: true, layerNormEps: 1e-5, ...over });
}

/** Token data with some structure (a noisy repeating pattern), so losses fall and differ between batches. */
export function tokenData(n: number, vocab: number, seed = 7): MemoryTokenSource {
  const rng = new Rng(seed);
  const a = new Uint16Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.next() < 0.8 ? (i * 7) % vocab : rng.int(vocab);
  return new MemoryTokenSource(a, 'test-data');
}

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

export function tmpDir(label = 'train'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `inheritune-${label}-`));
  made.push(d);
  return d;
}
