import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend, availableBackends, parseBackendName, formatBackendReport } from '../../lib/backend';
import { assertNoLeak } from '../helpers';

test('picks a backend and reports why', async () => {
  const r = await initBackend();
  assert.ok(['node-gpu', 'node', 'wasm', 'cpu'].includes(r.name));
  assert.equal(tf.getBackend(), r.tfjsName);
  assert.match(formatBackendReport(r), /^backend: /);
  // On machines without the native bindings (this project's CI) the choice must be wasm, with the reasons recorded.
  if (!r.attempts.some((a) => a.name === 'node' && a.ok) && !r.attempts.some((a) => a.name === 'node-gpu' && a.ok)) {
    if (!process.env.INHERITUNE_BACKEND) assert.equal(r.name, 'wasm');
  }
});

test('an unknown backend name is refused with the valid choices', () => {
  assert.throws(() => parseBackendName('tpu'), /unknown backend 'tpu'; choose one of: node-gpu, node, wasm, cpu/);
});

test('forcing a backend that cannot load names the available ones, not a stack trace', async (t) => {
  const avail = await availableBackends();
  if (avail.includes('node')) return t.skip('tfjs-node is installed here');
  await assert.rejects(initBackend({ backend: 'node' }), (e: Error) => {
    assert.match(e.message, /^backend 'node' is not available: .*Available here: .*wasm/);
    return true;
  });
  await initBackend(); // restore
});

test('UnsortedSegmentSum works on the chosen backend (embedding gradient) and does not leak', async () => {
  await initBackend();
  const wte = tf.variable(tf.tensor2d([[1, 2], [3, 4], [5, 6]]));
  const idx = tf.tensor1d([2, 0, 2], 'int32');
  const grads = await assertNoLeak(() => {
    const g = tf.grads((w: tf.Tensor) => tf.gather(w, idx).sum())([wte]);
    const data = g[0].arraySync();
    tf.dispose(g);
    return data;
  });
  assert.deepEqual(grads, [[1, 1], [0, 0], [2, 2]]);
  const direct = tf.unsortedSegmentSum(tf.tensor2d([[1, 2], [3, 4], [5, 6]]), tf.tensor1d([1, 1, 0], 'int32'), 3);
  assert.deepEqual(direct.arraySync(), [[5, 6], [4, 6], [0, 0]]);
  tf.dispose([wte, idx, direct]);
});
