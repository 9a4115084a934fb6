// Shared test helpers: backend setup once per test file, tensor-leak checks, tolerant comparisons.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { initBackend, BackendReport } from '../lib/backend';
import { Rng } from '../lib/util/rng';

/** Initialises the backend the tests run on (INHERITUNE_BACKEND, else the best available). */
export function setupBackend(): Promise<BackendReport> {
  return initBackend();
}

/**
 * Runs fn and asserts that the number of live tensors afterwards equals the number before, plus `expectNew`
 * (tensors the caller intentionally keeps, e.g. a returned result). Returns fn's result.
 */
export async function assertNoLeak<T>(fn: () => T | Promise<T>, expectNew = 0, label = 'function'): Promise<T> {
  const before = tf.memory().numTensors;
  const out = await fn();
  const after = tf.memory().numTensors;
  assert.equal(after - before, expectNew, `${label} leaked ${after - before - expectNew} tensor(s)`);
  return out;
}

/**
 * llm.c-style comparison: max |a-b| / (|b| + atol) must be <= rtol. On failure prints the first values side by side.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol: number,
  label: string,
  atol = 1e-6,
): number {
  assert.equal(actual.length, expected.length, `${label}: length ${actual.length} vs ${expected.length}`);
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / (Math.abs(expected[i]) + atol);
    if (!(err <= worst)) {
      worst = err;
      worstAt = i;
    }
  }
  if (!(worst <= rtol)) {
    const head = Array.from({ length: Math.min(5, actual.length) }, (_, i) => `  [${i}] ${actual[i]} vs ${expected[i]}`);
    assert.fail(`${label}: max rel err ${worst} at [${worstAt}] (${actual[worstAt]} vs ${expected[worstAt]}) > ${rtol}\n${head.join('\n')}`);
  }
  return worst;
}

/** A float32 tensor of N(0, scale²) values drawn from `rng` (reproducible across backends). */
export function randomTensor(rng: Rng, shape: number[], scale = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal() * scale;
  return tf.tensor(v, shape, 'float32');
}
