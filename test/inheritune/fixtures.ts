// Shared fixtures of the inheritune tests: a "trained-looking" reference (every tensor distinct and unlike any
// init, LayerNorm weights around 1, non-zero biases), bit-level comparisons, and a minimal local training loop
// (tf.variableGrads + AdamW) for the end-to-end tests, so they do not depend on lib/train's trainer.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { GPTConfig } from '../../lib/model/config';
import { Params, paramSpecs } from '../../lib/model/params';
import { lossFn } from '../../lib/model/gpt';
import { AdamW } from '../../lib/train/adamw';
import { Rng } from '../../lib/util/rng';

/** Deterministic values for every parameter: uniform(-0.05, 0.05), plus 1 for LayerNorm weights. */
export function fakeReference(cfg: GPTConfig, seed = 7): Params {
  const rng = new Rng(seed);
  const out: Params = {};
  for (const spec of paramSpecs(cfg)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = (rng.next() - 0.5) * 0.1 + (spec.role === 'layernorm.weight' ? 1 : 0);
    out[spec.name] = tf.tidy(() => tf.variable(tf.tensor(data, spec.shape, 'float32')));
  }
  return out;
}

/** The raw bytes of a tensor's values. */
export function bytes(t: tf.Tensor): Uint8Array {
  const d = t.dataSync() as Float32Array;
  return new Uint8Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength));
}

/** Asserts two tensors hold the same shape and bit-identical float32 values. */
export function assertBitEqual(a: tf.Tensor, b: tf.Tensor, label: string): void {
  assert.deepEqual(a.shape, b.shape, `${label}: shape`);
  assert.deepEqual(bytes(a), bytes(b), `${label}: values differ`);
}

export function assertBitEqualArray(a: tf.Tensor, b: Float32Array, label: string): void {
  assert.deepEqual(bytes(a), new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)), `${label}: values differ`);
}

export function valuesDiffer(a: tf.Tensor, b: tf.Tensor): boolean {
  const x = a.dataSync();
  const y = b.dataSync();
  if (x.length !== y.length) return true;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return true;
  return false;
}

/** A learnable toy language: t[i+1] = (t[i] + step) mod V, one random start and step per row. */
export function patternBatch(cfg: GPTConfig, B: number, T: number, rng: Rng): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const xs = new Int32Array(B * T);
  const ys = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let t = rng.int(cfg.vocabSize);
    const step = 1 + rng.int(2);
    for (let i = 0; i < T; i++) {
      xs[b * T + i] = t;
      t = (t + step) % cfg.vocabSize;
      ys[b * T + i] = t;
    }
  }
  return { x: tf.tensor2d(xs, [B, T], 'int32'), y: tf.tensor2d(ys, [B, T], 'int32') };
}

/** Mean loss on fixed validation batches (seeded). */
export function evalLoss(params: Params, cfg: GPTConfig, seed = 999, batches = 2): number {
  const rng = new Rng(seed);
  let sum = 0;
  for (let i = 0; i < batches; i++) {
    const { x, y } = patternBatch(cfg, 8, Math.min(16, cfg.blockSize), rng);
    const l = lossFn(params, cfg, x, y);
    sum += l.dataSync()[0];
    tf.dispose([x, y, l]);
  }
  return sum / batches;
}

/** `steps` AdamW steps (fresh optimizer, constant LR) on pattern batches; trains the variables in place. */
export function trainSteps(params: Params, cfg: GPTConfig, steps: number, opts: { lr?: number; seed?: number } = {}): void {
  const opt = new AdamW({ weightDecay: 0.1 });
  const rng = new Rng(opts.seed ?? 1);
  const keys = Object.keys(params);
  const vars = keys.map((k) => params[k]);
  const byVarName = new Map(keys.map((k) => [params[k].name, k]));
  for (let s = 0; s < steps; s++) {
    const { x, y } = patternBatch(cfg, 8, Math.min(16, cfg.blockSize), rng);
    const { value, grads } = tf.variableGrads(() => lossFn(params, cfg, x, y), vars);
    const named: Record<string, tf.Tensor> = {};
    for (const [vn, g] of Object.entries(grads)) named[byVarName.get(vn) as string] = g;
    opt.apply(params, named, opts.lr ?? 1e-2);
    tf.dispose([x, y, value, ...Object.values(grads)]);
  }
  opt.dispose();
}
