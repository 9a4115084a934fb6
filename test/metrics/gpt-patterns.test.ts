// The GPT adapter end to end: a random tiny GPT through the full protocol, checked against one direct
// runWithCache forward, with no tensor leaks.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { makeConfig } from '../../lib/model/config';
import { disposeParams, initParams } from '../../lib/model/params';
import { runWithCache } from '../../lib/model/hooks';
import { gptPatternSource } from '../../lib/metrics/gpt-patterns';
import { measureAttentionRanks } from '../../lib/metrics/measure';
import { approxRank } from '../../lib/metrics/rank';
import { assertNoLeak, setupBackend } from '../helpers';

before(async () => {
  await setupBackend();
});

test('gptPatternSource: protocol on a random tiny GPT equals k* of runWithCache patterns; no leaks', async () => {
  const cfg = makeConfig('tiny-4L', { vocabSize: 64 });
  const params = initParams(cfg, { seed: 11 });
  try {
    const T = 12;
    const N = 3;
    const wins = Array.from({ length: N }, (_, n) => Int32Array.from({ length: T }, (_, i) => (n * 7 + i * 5) % 64));
    const r = await assertNoLeak(
      () => measureAttentionRanks(gptPatternSource(params, cfg), wins, { N, T, batchSize: 2, contextLength: cfg.blockSize }),
      0,
      'protocol on GPT',
    );
    assert.deepEqual(r.meta.layers, [0, 1, 2, 3]);
    assert.equal(r.meta.heads, cfg.nHead);
    // Direct: sequence 2, layer 3, head 1.
    const idx = tf.tensor2d(wins[2], [1, T], 'int32');
    const { logits, cache } = runWithCache(params, cfg, idx, { namesFilter: ['blocks.3.attn.hook_pattern'] });
    const pat = await cache.get('blocks.3.attn.hook_pattern').data(); // (1, nh, T, T)
    const A = Float64Array.from(pat.subarray(T * T, 2 * T * T));
    tf.dispose([idx, logits as tf.Tensor]);
    cache.dispose();
    const row = (r.tables.perSequence.objects() as { n: number; layer: number; head: number; kstar: number }[]).find(
      (o) => o.n === 2 && o.layer === 3 && o.head === 1,
    );
    assert.equal(row?.kstar, approxRank(A, T, 0.9));

    // Only the first two blocks: the forward stops early, and the protocol measures what it got.
    const r2 = await assertNoLeak(() => measureAttentionRanks(gptPatternSource(params, cfg, 1), wins, { N, T }), 0, 'stopAtLayer');
    assert.deepEqual(r2.meta.layers, [0, 1]);
    await assert.rejects(measureAttentionRanks(gptPatternSource(params, cfg), [new Int32Array(100)], { N: 1, T: 100 }), /T \(100\) exceeds the model's context length \(block size 64\)/);
    assert.throws(() => gptPatternSource(params, cfg, 4), /lastLayer \(4\) must be a block index in 0..3/);
  } finally {
    disposeParams(params);
  }
});
