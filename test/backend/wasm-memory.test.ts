// Out of memory is an error, never a number (issue 16). With the wasm heap capped (the real malloc then fails, as
// it does at the 4 GB limit), a kernel whose output does not fit throws WasmOutOfMemoryError naming the shape and
// the bytes, on native kernels and on wasm's own; no tensor leaks; the heap is not corrupted (later results are
// right); and the `rank` command exits non-zero without printing a table, with native kernels on and off.
// Without the guard, tfjs-backend-wasm places such an output at heap offset 0 (over other tensors' bytes).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/backend';
import { enableNativeKernels, disableNativeKernels, loadAddon } from '../../lib/backend/native';
import { capWasmHeap, WasmOutOfMemoryError } from '../../lib/backend/wasm-memory';
import { makeConfig } from '../../lib/model/config';
import { initParams, disposeParams } from '../../lib/model/params';
import { paramsToTensors, writeHFFolder } from '../../lib/model/hf';

const ROOT = path.resolve(__dirname, '..', '..');
const MB = 1024 * 1024;
let tmp: string;
let modelDir: string;
let dataDir: string;
let native = false;

before(async () => {
  await initBackend({ backend: 'wasm' });
  native = enableNativeKernels({ threads: 2 }).enabled;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-oom-'));
  // For the rank command: 4 layers x 4 heads at T = 128, so each batch of 10 windows needs ~2.6 MB of patterns per
  // layer, more than the 1 MB left to it. Written before this process caps its own heap.
  const cfg = makeConfig('gpt2', { nLayer: 4, nHead: 4, nEmbd: 32, blockSize: 128, vocabSize: 512 });
  const params = initParams(cfg, { seed: 3, trainable: false });
  modelDir = path.join(tmp, 'model');
  writeHFFolder(modelDir, cfg, await paramsToTensors(params));
  disposeParams(params);
  dataDir = path.join(tmp, 'toks');
  fs.mkdirSync(dataDir, { recursive: true });
  const ids = Uint16Array.from({ length: 8000 }, (_, i) => (i * 7919) % 512);
  for (const f of ['train.bin', 'val.bin']) fs.writeFileSync(path.join(dataDir, f), Buffer.from(ids.buffer));
  capWasmHeap(16 * MB);
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** (1024, 16) @ (16, 32768): a 128 MB output, far above the room left. */
function hugeProduct(): tf.Tensor {
  return tf.tidy(() => tf.matMul(tf.ones([1024, 16]), tf.ones([16, 32768])));
}

function expectOOM(f: () => unknown, shape: RegExp): void {
  const before = tf.memory().numTensors;
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof WasmOutOfMemoryError, `expected WasmOutOfMemoryError, got ${String(e)}`);
    assert.match(e.message, shape);
    assert.match(e.message, /128\.0 MB asked/);
    assert.match(e.message, /--windows-per-batch|--batch/);
    return true;
  });
  assert.equal(tf.memory().numTensors, before, 'no tensor is left behind');
}

/** A small product computed after the failure must still be right (nothing was written over the heap's start). */
async function stillRight(): Promise<void> {
  const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = tf.tensor2d([1, 0, 0, 1, 1, 1], [3, 2]);
  const y = tf.matMul(a, b);
  assert.deepEqual(Array.from(await y.data()), [4, 5, 10, 11]);
  tf.dispose([a, b, y]);
}

test('native kernels on: a matMul output that does not fit is an error naming its shape', async (t) => {
  if (!native) return t.skip(`native kernels unavailable: ${loadAddon().reason}`);
  expectOOM(hugeProduct, /shape \[1024, 32768\]/);
  expectOOM(() => tf.tidy(() => tf.add(tf.ones([1024, 1]), tf.ones([1, 32768]))), /shape \[1024, 32768\]/);
  await stillRight();
});

test('native kernels off (wasm kernels): the same allocation fails the same way', async () => {
  disableNativeKernels();
  try {
    expectOOM(hugeProduct, /shape \[1, 1024, 32768\]/); // wasm's BatchMatMul allocates its output as 3-D
    expectOOM(() => tf.tidy(() => tf.add(tf.ones([1024, 1]), tf.ones([1, 32768]))), /shape \[1024, 32768\]/);
    await stillRight();
  } finally {
    if (native) enableNativeKernels({ threads: 2 });
  }
});

test('the addon refuses a view detached by heap growth instead of computing on it', (t) => {
  const { addon } = loadAddon();
  if (!addon) return t.skip(`native kernels unavailable: ${loadAddon().reason}`);
  const x = new Float32Array(1024).fill(1);
  const ab = new ArrayBuffer(4096);
  const stale = new Float32Array(ab);
  structuredClone(ab, { transfer: [ab] }); // detaches ab, as memory.grow() detaches the old wasm heap buffer
  assert.equal(stale.length, 0);
  assert.throws(() => addon.unary(0, x, stale), /unary y is a detached view \(the wasm heap grew/);
  assert.throws(() => addon.unary(0, stale, x), /unary x is a detached view/);
});

test('rank command under a heap cap: non-zero exit, a clear message, no table (native on and off)', () => {
  for (const nativeFlag of ['1', '0']) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'lib/cli/main.ts'), 'rank', '--model', modelDir,
      '--data', dataDir, '--n', '20', '--t', '128', '--out', path.join(tmp, 'out')], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, INHERITUNE_WASM_HEAP_MB: '1', INHERITUNE_NATIVE: nativeFlag, INHERITUNE_BACKEND: 'wasm' },
    });
    const label = `INHERITUNE_NATIVE=${nativeFlag}: stdout\n${r.stdout}\nstderr\n${r.stderr}`;
    assert.notEqual(r.status, 0, label);
    assert.match(r.stderr, /out of memory: the wasm heap cannot hold a float32 tensor of shape \[/, label);
    assert.doesNotMatch(r.stdout, /MaxRank/, label);
    assert.ok(!fs.existsSync(path.join(tmp, 'out', 'layers.csv')), 'no table was written');
  }
});
