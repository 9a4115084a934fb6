// The host backend (lib/backend/host-backend): tensors in Node memory, native kernels over them, tfjs-backend-cpu's
// kernels for the rest. Checked here: the report; native kernels on host against the plain cpu backend on the same
// inputs (max rel err 1e-5 against the result's scale, as test/backend/native.test.ts); a training step that leaks
// nothing and equals the wasm + native one (same kernels, so 1e-5); an allocation that cannot be made is a clear
// error; and the PyTorch parity tests (GPT-2 forward, gradients, 10 AdamW steps, F16/BF16 checkpoints, eval scores)
// run on this backend in a child process and pass.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, formatBackendReport } from '../../lib/backend';
import { loadAddon } from '../../lib/backend/native';
import { nativeOpsActive } from '../../lib/backend/native-ops';
import { HostOutOfMemoryError, HostView } from '../../lib/backend/host-backend';
import { makeConfig } from '../../lib/model/config';
import { initParams, disposeParams } from '../../lib/model/params';
import { lossFn } from '../../lib/model/gpt';
import { geluExact, geluTanh, layerNorm } from '../../lib/model/ops';
import { assertClose, randomTensor } from '../helpers';
import { Rng } from '../../lib/util/rng';

const ROOT = path.resolve(__dirname, '..', '..');
let native = false;

before(async () => {
  const r = await initBackend({ backend: 'host' });
  native = r.native.enabled;
});

const skipWithoutAddon = (t: { skip: (m: string) => void }): boolean => {
  if (!native) t.skip(`native kernels unavailable: ${loadAddon().reason}`);
  return !native;
};

/** f's result on host and on the cpu backend (its kernels are the reference here). */
async function hostAndCpu(f: () => tf.Tensor): Promise<{ host: Float32Array; cpu: Float32Array }> {
  const run = (): Float32Array => {
    const y = f();
    const v = Float32Array.from(y.dataSync());
    y.dispose();
    return v;
  };
  const host = run();
  await tf.setBackend('cpu');
  try {
    return { host, cpu: run() };
  } finally {
    await tf.setBackend('host');
  }
}

test('initBackend({ backend: "host" }) says where tensors live and what computes', () => {
  const line = formatBackendReport(
    { name: 'host', tfjsName: 'host', why: 'forced', attempts: [], prefersPlain2DMatMul: true, tfjsVersion: tf.version.tfjs, native: { enabled: native, detail: '', kernels: [] } },
  );
  assert.match(line, /backend: host \(tensors in Node memory; tfjs-backend-cpu kernels where no native one exists\)/);
  assert.equal(tf.getBackend(), 'host');
  assert.equal(nativeOpsActive(), native);
});

test('native kernels on host match the cpu backend (matMul, broadcasts, reductions, softmax, copies, GELU, LayerNorm)', async (t) => {
  if (skipWithoutAddon(t)) return;
  const rng = new Rng(7);
  const x = randomTensor(rng, [3, 37, 64]);
  const w = randomTensor(rng, [64, 96], 0.1);
  const g = randomTensor(rng, [64], 0.1);
  const cases: Array<[string, () => tf.Tensor, number]> = [
    ['matMul', () => tf.matMul(tf.reshape(x, [111, 64]), w), 8],
    ['matMul transposed', () => tf.matMul(w, tf.reshape(x, [111, 64]), true, true), 8],
    ['batched matMul', () => tf.matMul(x, x, false, true), 8],
    ['add broadcast', () => tf.add(x, g), 1],
    ['mul, sub', () => tf.sub(tf.mul(x, x), g), 1],
    ['sum last axis', () => tf.sum(x, -1), 8],
    ['mean first axis', () => tf.mean(x, 0), 1],
    ['softmax', () => tf.softmax(x), 1],
    ['transpose', () => tf.transpose(x, [2, 0, 1]), 1],
    ['slice + concat', () => tf.concat([tf.slice(x, [0, 3, 0], [3, 10, 64]), tf.slice(x, [0, 0, 0], [3, 5, 64])], 1), 1],
    ['gather', () => tf.gather(w, tf.tensor1d([5, 0, 63, 5], 'int32')), 1],
    ['gelu', () => geluTanh(x), 1],
    ['gelu exact', () => geluExact(x), 1],
    ['layerNorm', () => layerNorm(x, tf.add(g, 1), g, 1e-5), 1],
  ];
  for (const [name, f, scale] of cases) {
    const { host, cpu } = await hostAndCpu(() => tf.tidy(f));
    assertClose(host, cpu, 1e-5, `${name} host vs cpu`, scale);
  }
  tf.dispose([x, w, g]);
});

test('a training step on host: gradients equal wasm + native ones, and no tensor leaks', async (t) => {
  if (skipWithoutAddon(t)) return;
  const cfg = makeConfig('tiny-4L', { vocabSize: 300, blockSize: 32 });
  const rng = new Rng(3);
  const idxVals = Int32Array.from({ length: 2 * 32 }, () => rng.int(300));
  const tgtVals = Int32Array.from({ length: 2 * 32 }, () => rng.int(300));
  const grads = async (): Promise<Record<string, Float32Array>> => {
    const params = initParams(cfg, { seed: 11 });
    const before = tf.memory().numTensors;
    const idx = tf.tensor2d(idxVals, [2, 32], 'int32');
    const tgt = tf.tensor2d(tgtVals, [2, 32], 'int32');
    const { grads: gs, value } = tf.variableGrads(() => lossFn(params, cfg, idx, tgt));
    const out: Record<string, Float32Array> = {};
    for (const [n, v] of Object.entries(params)) out[n] = Float32Array.from(await gs[v.name].data()); // by parameter name
    tf.dispose([idx, tgt, value, ...Object.values(gs)]);
    assert.equal(tf.memory().numTensors, before, `no leak on ${tf.getBackend()}`);
    disposeParams(params);
    return out;
  };
  const onHost = await grads();
  await initBackend({ backend: 'wasm' });
  try {
    const onWasm = await grads();
    for (const n of Object.keys(onWasm)) assertClose(onHost[n], onWasm[n], 1e-5, `grad ${n}`, 1e-3);
  } finally {
    await initBackend({ backend: 'host' });
  }
});

test('an allocation that cannot be made is an error naming the shape, never a number', () => {
  const view = new HostView(tf.backend() as unknown as ConstructorParameters<typeof HostView>[0]);
  assert.throws(() => view.makeOutput([1 << 20, 1 << 14], 'float32'), (e: unknown) => {
    assert.ok(e instanceof HostOutOfMemoryError, String(e));
    assert.match(e.message, /out of memory: cannot allocate a float32 tensor of shape \[1048576, 16384\] \(65536\.0 MB\)/);
    return true;
  });
});

test('the PyTorch parity tests pass on the host backend (child process)', () => {
  const files = ['test/model/parity.test.ts', 'test/model/half.test.ts', 'test/train/fixtures.test.ts', 'test/eval/score.test.ts'];
  const env: NodeJS.ProcessEnv = { ...process.env, INHERITUNE_BACKEND: 'host' };
  delete env.NODE_TEST_CONTEXT; // else the child reports to this runner instead of printing TAP
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', ...files], {
    cwd: ROOT, encoding: 'utf8', env, maxBuffer: 64 << 20,
  });
  const summary = (r.stdout.match(/^# (pass|fail) \d+$/gm) ?? []).join(', ');
  assert.equal(r.status, 0, `${summary}\n${r.stdout.split('\n').filter((l) => /^not ok|error:/.test(l)).join('\n')}\n${r.stderr.slice(-2000)}`);
  assert.match(summary, /# fail 0/);
  assert.doesNotMatch(summary, /# pass 0/);
});
