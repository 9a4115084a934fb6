// TransformerLens-named activations: names, shapes, internal consistency of the cache, stopAtLayer, editing hooks,
// zero cost when no hook is registered, and no leaks.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { disableNativeKernels, enableNativeKernels, nativeStatus } from '../../lib/backend/native';
import { setupBackend, assertNoLeak, assertClose } from '../helpers';
import { makeConfig } from '../../lib/model/config';
import { initParams, disposeParams } from '../../lib/model/params';
import { forward } from '../../lib/model/gpt';
import { actName, hookNames, runWithCache, runWithHooks } from '../../lib/model/hooks';

before(async () => {
  await setupBackend();
});

const cfg = makeConfig('tiny-4L', { nLayer: 3, nHead: 2, nEmbd: 32, vocabSize: 50, blockSize: 16 });
const B = 2;
const T = 10;
const C = cfg.nEmbd;
const nh = cfg.nHead;
const hs = C / nh;

function setup() {
  const params = initParams(cfg, { seed: 21 });
  const idx = tf.tensor2d(Array.from({ length: B * T }, (_, i) => (i * 7) % cfg.vocabSize), [B, T], 'int32');
  return { params, idx, done: () => (idx.dispose(), disposeParams(params)) };
}

test('actName follows TransformerLens get_act_name', () => {
  assert.equal(actName('pattern', 3), 'blocks.3.attn.hook_pattern');
  assert.equal(actName('attn', 3), 'blocks.3.attn.hook_pattern');
  assert.equal(actName('attn_logits', 0), 'blocks.0.attn.hook_attn_scores');
  assert.equal(actName('q', 1), 'blocks.1.attn.hook_q');
  assert.equal(actName('z', 1), 'blocks.1.attn.hook_z');
  assert.equal(actName('resid_pre', 2), 'blocks.2.hook_resid_pre');
  assert.equal(actName('mlp_out', 2), 'blocks.2.hook_mlp_out');
  assert.equal(actName('post', 0), 'blocks.0.mlp.hook_post');
  assert.equal(actName('embed'), 'hook_embed');
  assert.equal(actName('pos_embed'), 'hook_pos_embed');
  assert.equal(actName('normalized', 1, 'ln1'), 'blocks.1.ln1.hook_normalized');
  assert.equal(actName('normalized', undefined, 'ln_final'), 'ln_final.hook_normalized');
  assert.throws(() => actName('pattern'), /needs a non-negative integer layer/);
  assert.throws(() => actName('nope', 1), /unknown activation kind 'nope'/);
  assert.equal(hookNames(cfg).length, 2 + 15 * cfg.nLayer + 1);
});

test('runWithCache keeps every activation with TransformerLens shapes, and they are consistent', async () => {
  const { params, idx, done } = setup();
  try {
    const names = hookNames(cfg);
    const { logits, cache } = await assertNoLeak(() => runWithCache(params, cfg, idx), 1 + names.length, 'runWithCache');
    assert.deepEqual(cache.names(), names, 'all names, in forward order');
    const shape = (n: string) => cache.get(n).shape;
    assert.deepEqual(shape('hook_embed'), [B, T, C]);
    assert.deepEqual(shape('hook_pos_embed'), [B, T, C]);
    assert.deepEqual(shape(actName('q', 0)), [B, T, nh, hs]);
    assert.deepEqual(shape(actName('z', 2)), [B, T, nh, hs]);
    assert.deepEqual(shape(actName('attn_scores', 1)), [B, nh, T, T]);
    assert.deepEqual(shape(actName('pattern', 1)), [B, nh, T, T]);
    assert.deepEqual(shape(actName('pre', 1)), [B, T, 4 * C]);
    assert.deepEqual(shape(actName('resid_post', 2)), [B, T, C]);
    assert.deepEqual(shape('ln_final.hook_normalized'), [B, T, C]);
    assert.equal(cache.get('pattern', 1), cache.get('blocks.1.attn.hook_pattern'));

    const d = (n: string) => cache.get(n).dataSync();
    const sum = (a: ArrayLike<number>, b: ArrayLike<number>) => Float32Array.from(a, (x, i) => x + b[i]);
    for (let l = 0; l < cfg.nLayer; l++) {
      const pre = d(`blocks.${l}.hook_resid_pre`);
      const mid = d(`blocks.${l}.hook_resid_mid`);
      assert.deepEqual(mid, sum(pre, d(`blocks.${l}.hook_attn_out`)), 'resid_mid = resid_pre + attn_out');
      assert.deepEqual(d(`blocks.${l}.hook_resid_post`), sum(mid, d(`blocks.${l}.hook_mlp_out`)), 'resid_post = resid_mid + mlp_out');
      if (l + 1 < cfg.nLayer) assert.deepEqual(d(`blocks.${l + 1}.hook_resid_pre`), d(`blocks.${l}.hook_resid_post`));
      // z = pattern @ v, per head; attention scores are -Infinity exactly where the pattern is 0 (above the diagonal).
      const z = tf.tidy(() => {
        const v = tf.transpose(cache.get('v', l), [0, 2, 1, 3]); // (B, nh, T, hs)
        return tf.transpose(tf.matMul(cache.get('pattern', l) as tf.Tensor4D, v as tf.Tensor4D), [0, 2, 1, 3]).dataSync();
      });
      assertClose(d(actName('z', l)), z, 1e-6, `z.${l}`, 1e-6);
      const sc = d(actName('attn_scores', l));
      const pat = d(actName('pattern', l));
      for (let i = 0; i < sc.length; i++) {
        const [q, k] = [Math.floor(i / T) % T, i % T];
        assert.equal(sc[i] === -Infinity, k > q);
        if (k > q) assert.equal(pat[i], 0);
      }
    }
    assert.deepEqual(d('blocks.0.hook_resid_pre'), sum(d('hook_embed'), d('hook_pos_embed')));
    const headLogits = tf.tidy(() =>
      tf.matMul(tf.reshape(cache.get('ln_final.hook_normalized'), [B * T, C]) as tf.Tensor2D, params['transformer.wte.weight'], false, true).dataSync(),
    );
    // float32 sums in another order (e.g. a BLAS head matMul) move near-zero logits by ~1e-8; a wrong head is off by O(1).
    assertClose(logits!.dataSync(), headLogits, 1e-4, 'logits = ln_final @ wte^T', 1e-3);
    await assertNoLeak(() => cache.dispose(), -names.length, 'cache.dispose');
    assert.equal(cache.size, 0);
    logits!.dispose();
  } finally {
    done();
  }
});

test('namesFilter and stopAtLayer: only what is asked, and the run stops before that block', async () => {
  const { params, idx, done } = setup();
  try {
    const out = await assertNoLeak(
      () => runWithCache(params, cfg, idx, { namesFilter: [actName('pattern', 0), actName('resid_pre', 1)], stopAtLayer: 1 }),
      2, // resid + one cached pattern: blocks.1.hook_resid_pre is inside block 1, which does not run (as TransformerLens)
      'runWithCache(stopAtLayer)',
    );
    assert.equal(out.logits, undefined);
    assert.deepEqual(out.cache.names(), ['blocks.0.attn.hook_pattern']);
    assert.throws(() => out.cache.get('pattern', 2), /activation 'blocks\.2\.attn\.hook_pattern' is not in the cache; cached: blocks\.0\.attn\.hook_pattern/);
    // The returned residual stream is the input of block 1.
    const full = runWithCache(params, cfg, idx, { namesFilter: [actName('resid_pre', 1)] });
    assert.deepEqual(out.resid!.dataSync(), full.cache.get('resid_pre', 1).dataSync());
    [out, full].forEach((o) => (o.cache.dispose(), tf.dispose([o.logits, o.resid])));
    const neg = runWithCache(params, cfg, idx, { namesFilter: (n) => n.includes('hook_pattern'), stopAtLayer: -1 });
    assert.deepEqual(neg.cache.names(), ['blocks.0.attn.hook_pattern', 'blocks.1.attn.hook_pattern']);
    neg.cache.dispose();
    neg.resid!.dispose();
    assert.throws(() => runWithCache(params, cfg, idx, { namesFilter: ['blocks.9.attn.hook_pattern'] }), /unknown hook names: blocks\.9/);
    assert.throws(() => runWithCache(params, cfg, idx, { stopAtLayer: 4 }), /stopAtLayer must be an integer in \[-3, 3\]/);
  } finally {
    done();
  }
});

test('hooks: reading hooks change nothing; returning a tensor edits the forward; bad hooks are clear errors', async () => {
  const { params, idx, done } = setup();
  try {
    const base = forward(params, cfg, idx);
    const seen: string[] = [];
    const read = await assertNoLeak(
      () => runWithHooks(params, cfg, idx, [[(n) => n.startsWith('blocks.1.'), (t, n) => void seen.push(`${n}:${t.shape}`)]]),
      1,
      'runWithHooks',
    );
    assert.deepEqual(read.logits.dataSync(), base.logits.dataSync());
    assert.equal(seen.length, 15);
    assert.ok(seen.includes(`blocks.1.attn.hook_k:${[B, T, nh, hs]}`));
    // Zero-ablate block 2's MLP output: logits change, and equal a run where mlp_out is edited the same way twice.
    const ablate = (t: tf.Tensor) => tf.zerosLike(t);
    const ab = await assertNoLeak(() => runWithHooks(params, cfg, idx, [[actName('mlp_out', 2), ablate]]), 1, 'ablation');
    assert.notDeepEqual(ab.logits.dataSync(), base.logits.dataSync());
    // Uniform attention in every layer, via the pattern hook (edits flow into z and beyond).
    const uniform = (t: tf.Tensor) => tf.tidy(() => {
      const mask = tf.linalg.bandPart(tf.ones([T, T]), -1, 0); // (T, T) lower triangle
      return tf.broadcastTo(tf.div(mask, tf.sum(mask, -1, true)), t.shape);
    });
    const un = runWithCache(params, cfg, idx, { hooks: [[(n) => n.endsWith('hook_pattern'), uniform]], namesFilter: [actName('pattern', 0)] });
    assertClose(un.cache.get('pattern', 0).dataSync().slice(T, 2 * T), [0.5, 0.5, 0, 0, 0, 0, 0, 0, 0, 0], 1e-6, 'uniform row 1');
    assert.notDeepEqual(un.logits!.dataSync(), base.logits.dataSync());
    un.cache.dispose();
    tf.dispose([base.logits, read.logits, ab.logits, un.logits]);
    assert.throws(() => runWithHooks(params, cfg, idx, [['blocks.0.attn.hook_nope', () => undefined]]), /unknown hook point 'blocks\.0\.attn\.hook_nope'/);
    await assertNoLeak(() => {
      assert.throws(() => runWithHooks(params, cfg, idx, [[actName('q', 0), () => tf.zeros([1])]]), /hook at blocks\.0\.attn\.hook_q returned shape \[1\], expected \[2,10,2,16\]/);
    }, 0, 'failed hooked forward');
  } finally {
    done();
  }
});

test('zero cost when unused: no extra tensors without hooks, and a reading hook on a natural activation adds none', () => {
  const { params, idx, done } = setup();
  // Tensor ids increase by one per tf.Tensor object created, so their difference counts allocations.
  const nextId = () => {
    const t = tf.scalar(0);
    const id = t.id;
    t.dispose();
    return id;
  };
  const created = (f: () => { logits: tf.Tensor }) => {
    const a = nextId();
    f().logits.dispose();
    return nextId() - a - 1;
  };
  // On the step-by-step attention path: with native kernels on, an unhooked forward takes the fused attention op
  // (fewer tensors by design) and hooking q or the pattern switches to the step path, so the counts differ.
  const nativeWasOn = nativeStatus().enabled;
  disableNativeKernels();
  try {
    for (const fast of [false, true]) {
      const plain = created(() => forward(params, cfg, idx, { fast }));
      assert.equal(created(() => forward(params, cfg, idx, { fast, hooks: [] })), plain, 'empty hook list');
      const patternHook = created(() =>
        runWithHooks(params, cfg, idx, [[(n) => n.endsWith('hook_pattern') || n.endsWith('hook_q'), () => undefined]], { fast }),
      );
      assert.equal(patternHook, plain, 'hooks at activations the forward already has allocate nothing');
      const residHook = created(() => runWithHooks(params, cfg, idx, [[actName('resid_pre', 0), () => undefined]], { fast }));
      assert.equal(residHook, plain + 2, 'a (B*T, C) activation is reshaped to [batch, pos, d_model] and back only when hooked');
    }
  } finally {
    if (nativeWasOn) enableNativeKernels();
    done();
  }
});
