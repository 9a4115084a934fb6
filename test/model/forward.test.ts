// forward(): input validation, plain vs fast path agreement (forward 1e-5, gradients 1e-4), the loss against a
// float64 JS reference (with ignore_index -1), dropout determinism, and no leaks.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend, assertNoLeak, assertClose } from '../helpers';
import { makeConfig } from '../../lib/model/config';
import { initParams, disposeParams, Params } from '../../lib/model/params';
import { forward, lossFn, causalMask } from '../../lib/model/gpt';
import { Rng } from '../../lib/util/rng';

before(async () => {
  await setupBackend();
});

const cfg = makeConfig('tiny-4L', { nLayer: 2, nHead: 4, nEmbd: 64, vocabSize: 200, bias: true, blockSize: 32 });

function randomTokens(B: number, T: number, V: number, seed: number, ignoreEvery = 0): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: B }, (_, b) =>
    Array.from({ length: T }, (_, t) => (ignoreEvery && (b * T + t) % ignoreEvery === 0 ? -1 : rng.int(V))),
  );
}

/** Init then perturb LayerNorm and bias values, so every parameter matters for the gradient check. */
function perturbedParams(seed: number): Params {
  const p = initParams(cfg, { seed });
  const rng = new Rng(seed + 1);
  for (const [name, v] of Object.entries(p)) {
    if (!name.includes('ln_') && !name.endsWith('.bias')) continue;
    const base = v.dataSync();
    const vals = Float32Array.from(base, (x) => x + 0.1 * rng.normal());
    const t = tf.tensor(vals, v.shape);
    v.assign(t);
    t.dispose();
  }
  return p;
}

test('input errors say what was wrong and what was expected', () => {
  const p = initParams(cfg, { seed: 0 });
  const run = (idx: tf.Tensor, targets?: tf.Tensor) => () => forward(p, cfg, idx, { targets });
  const long = tf.zeros([1, 33], 'int32');
  const bad = tf.tensor2d([[1, 2, 200]], [1, 3], 'int32');
  const neg = tf.tensor2d([[1, -1, 3]], [1, 3], 'int32');
  const flt = tf.zeros([1, 3]);
  const r1 = tf.zeros([3], 'int32');
  const ok = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
  const tgtShape = tf.zeros([1, 2], 'int32');
  const tgtRange = tf.tensor2d([[1, -2, 3]], [1, 3], 'int32');
  try {
    assert.throws(run(long), /sequence length 33 exceeds the model's blockSize 32/);
    assert.throws(run(bad), /idx\[0, 2\] = 200 is out of range; token ids must be in \[0, 200\)/);
    assert.throws(run(neg), /idx\[0, 1\] = -1 is out of range/);
    assert.throws(run(flt), /idx must be int32 token ids, got float32/);
    assert.throws(run(r1), /idx must have shape \[B, T\], got \[3\]/);
    assert.throws(run(ok, tgtShape), /targets shape \[1,2\] must equal idx shape \[1,3\]/);
    assert.throws(run(ok, tgtRange), /targets\[0, 1\] = -2 is out of range; token ids must be in \[0, 200\) or -1/);
    // With checkIds: false the range check is skipped (no read-back), the shape checks stay.
    assert.throws(() => forward(p, cfg, long, { checkIds: false }), /exceeds the model's blockSize/);
    const { [`transformer.h.1.ln_2.bias`]: _dropped, ...missing } = p;
    assert.throws(() => forward(missing as Params, cfg, ok), /missing 1: transformer\.h\.1\.ln_2\.bias/);
  } finally {
    tf.dispose([long, bad, neg, flt, r1, ok, tgtShape, tgtRange]);
    disposeParams(p);
  }
});

test('logits are (B, T, V) at every position; the loss matches a float64 reference, ignoring -1 targets', async () => {
  const p = perturbedParams(5);
  const B = 3;
  const T = 20;
  const idx = tf.tensor2d(randomTokens(B, T, cfg.vocabSize, 1), [B, T], 'int32');
  const tg = randomTokens(B, T, cfg.vocabSize, 2, 7);
  const targets = tf.tensor2d(tg, [B, T], 'int32');
  try {
    for (const fast of [false, true]) {
      const { logits, loss } = await assertNoLeak(() => forward(p, cfg, idx, { targets, fast }), 2, 'forward');
      assert.deepEqual(logits.shape, [B, T, cfg.vocabSize]);
      const lg = logits.arraySync();
      let sum = 0;
      let n = 0;
      tg.forEach((row, b) =>
        row.forEach((t, i) => {
          if (t < 0) return;
          const r = lg[b][i];
          const m = Math.max(...r);
          const lse = m + Math.log(r.reduce((s, x) => s + Math.exp(x - m), 0));
          sum += lse - r[t];
          n++;
        }),
      );
      assertClose([loss!.dataSync()[0]], [sum / n], 1e-6, `loss (${fast ? 'fast' : 'plain'})`);
      tf.dispose([logits, loss]);
    }
  } finally {
    tf.dispose([idx, targets]);
    disposeParams(p);
  }
});

test('fast path equals the plain path: forward 1e-5, every gradient 1e-4 (with ignored targets)', async () => {
  const p = perturbedParams(9);
  const B = 4;
  const T = 32;
  const idx = tf.tensor2d(randomTokens(B, T, cfg.vocabSize, 3), [B, T], 'int32');
  const targets = tf.tensor2d(randomTokens(B, T, cfg.vocabSize, 4, 11), [B, T], 'int32');
  const names = Object.keys(p);
  const vars = names.map((n) => p[n]);
  try {
    const plain = forward(p, cfg, idx, { targets, fast: false });
    const fast = forward(p, cfg, idx, { targets, fast: true });
    // Only the head's summation order differs (explicit transpose + matMul vs transposeB): compare on the logits' scale.
    const pl = plain.logits.dataSync() as Float32Array;
    const lscale = pl.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    const le = assertClose(fast.logits.dataSync(), pl, 1e-5, 'logits fast vs plain', 1e-2 * lscale);
    console.log(`# fast vs plain: max |logit| ${lscale.toExponential(2)}, max rel err ${le.toExponential(2)}`);
    assertClose(fast.loss!.dataSync(), plain.loss!.dataSync(), 1e-5, 'loss fast vs plain');
    tf.dispose([plain.logits, plain.loss, fast.logits, fast.loss]);

    const grads = (f: boolean) => tf.variableGrads(() => lossFn(p, cfg, idx, targets, { fast: f }), vars);
    const gp = grads(false);
    const gf = await assertNoLeak(() => grads(true), names.length + 1, 'variableGrads(fast)');
    for (const n of names) {
      const a = gf.grads[p[n].name].dataSync();
      const b = gp.grads[p[n].name].dataSync() as Float32Array;
      const scale = b.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      assertClose(a, b, 1e-4, `grad ${n} fast vs plain`, 1e-2 * scale + 1e-12);
    }
    tf.dispose([gp.value, gf.value, ...Object.values(gp.grads), ...Object.values(gf.grads)]);
  } finally {
    tf.dispose([idx, targets]);
    disposeParams(p);
  }
});

test('lossFn and tf.variableGrads over it do not leak, on both paths', async () => {
  const p = initParams(cfg, { seed: 2 });
  const idx = tf.tensor2d(randomTokens(2, 8, cfg.vocabSize, 5), [2, 8], 'int32');
  const targets = tf.tensor2d(randomTokens(2, 8, cfg.vocabSize, 6), [2, 8], 'int32');
  try {
    for (const fast of [false, true]) {
      const l = await assertNoLeak(() => lossFn(p, cfg, idx, targets, { fast }), 1, 'lossFn');
      l.dispose();
      await assertNoLeak(() => {
        const { value, grads } = tf.variableGrads(() => lossFn(p, cfg, idx, targets, { fast }));
        tf.dispose([value, ...Object.values(grads)]);
      }, 0, 'train step');
    }
    const m = await assertNoLeak(() => causalMask(4), 1, 'causalMask');
    assert.deepEqual(Array.from(m.dataSync().slice(0, 4)), [0, -Infinity, -Infinity, -Infinity]);
    m.dispose();
  } finally {
    tf.dispose([idx, targets]);
    disposeParams(p);
  }
});

test('dropout: only when training, seeded and reproducible', async () => {
  const dcfg = makeConfig(cfg, { dropout: 0.2 });
  const p = initParams(dcfg, { seed: 3 });
  const idx = tf.tensor2d(randomTokens(2, 16, cfg.vocabSize, 7), [2, 16], 'int32');
  const targets = tf.tensor2d(randomTokens(2, 16, cfg.vocabSize, 8), [2, 16], 'int32');
  const loss = (opts: { training?: boolean; seed?: number }) => {
    const l = lossFn(p, dcfg, idx, targets, opts);
    const v = l.dataSync()[0];
    l.dispose();
    return v;
  };
  try {
    const evalLoss = loss({});
    const noDrop = lossFn(p, makeConfig(dcfg, { dropout: 0 }), idx, targets, { training: true });
    assert.equal(evalLoss, noDrop.dataSync()[0], 'training=false means no dropout');
    noDrop.dispose();
    const a = loss({ training: true, seed: 11 });
    const b = loss({ training: true, seed: 11 });
    const c = loss({ training: true, seed: 12 });
    assert.equal(a, b, 'same seed, same masks');
    assert.notEqual(a, c, 'different seed, different masks');
    assert.notEqual(a, evalLoss);
    await assertNoLeak(() => loss({ training: true, seed: 1 }), 0, 'dropout forward');
  } finally {
    tf.dispose([idx, targets]);
    disposeParams(p);
  }
});
