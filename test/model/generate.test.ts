// generate(): greedy = argmax of the full forward, seeded sampling is reproducible, top-k, context cropping,
// vocabLimit, input errors, the text wrapper, and no leaks. (Greedy parity with PyTorch is in parity.test.ts.)
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend, assertNoLeak } from '../helpers';
import { makeConfig } from '../../lib/model/config';
import { initParams, disposeParams } from '../../lib/model/params';
import { forward } from '../../lib/model/gpt';
import { generate, generateText, sample, argmax } from '../../lib/model/generate';
import { Rng } from '../../lib/util/rng';
import { encodeOrdinary } from '../../lib/data/tokenizer';

before(async () => {
  await setupBackend();
});

const cfg = makeConfig('tiny-4L', { nLayer: 2, vocabSize: 64, blockSize: 8 });

test('greedy decoding is the argmax of the full forward at the last position, with context cropped to blockSize', async () => {
  const p = initParams(cfg, { seed: 5 });
  try {
    const prompt = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]; // longer than blockSize: only the last 8 tokens are seen
    const out = await assertNoLeak(() => generate(p, cfg, prompt, { maxNewTokens: 6, greedy: true }), 0, 'generate');
    assert.equal(out.length, prompt.length + 6);
    assert.deepEqual(out.slice(0, prompt.length), prompt);
    // Reference: the same loop written with forward() and full logits.
    const ids = prompt.slice();
    for (let i = 0; i < 6; i++) {
      const ctx = ids.slice(-cfg.blockSize);
      const idx = tf.tensor2d([ctx], [1, ctx.length], 'int32');
      const { logits } = forward(p, cfg, idx);
      const last = logits.dataSync().slice((ctx.length - 1) * cfg.vocabSize);
      ids.push(argmax(last));
      tf.dispose([idx, logits]);
    }
    assert.deepEqual(out, ids);
    assert.deepEqual(generate(p, cfg, prompt, { maxNewTokens: 6, temperature: 0 }), ids, 'temperature 0 is greedy');
    assert.deepEqual(generate(p, cfg, prompt, { maxNewTokens: 6, topK: 1, seed: 3 }), ids, 'top-1 sampling is greedy');
    assert.deepEqual(generate(p, cfg, prompt, { maxNewTokens: 6, greedy: true, fast: true }), ids, 'fast path');
  } finally {
    disposeParams(p);
  }
});

test('sampling is reproducible per seed, and vocabLimit is honoured', () => {
  const p = initParams(cfg, { seed: 6 });
  try {
    const run = (seed: number, extra = {}) => generate(p, cfg, [3], { maxNewTokens: 12, temperature: 1.5, seed, ...extra });
    assert.deepEqual(run(1), run(1));
    assert.notDeepEqual(run(1), run(2));
    assert.ok(run(4, { vocabLimit: 5 }).every((t) => t < 5));
    assert.ok(run(4, { topK: 3 }).length === 13);
  } finally {
    disposeParams(p);
  }
});

test('sample() draws from softmax(logits / T) restricted to the top k', () => {
  const logits = [0, Math.log(2), Math.log(3), -Infinity, Math.log(4)]; // probs 1:2:3:0:4
  const rng = new Rng(9);
  const n = 20000;
  const counts = [0, 0, 0, 0, 0];
  for (let i = 0; i < n; i++) counts[sample(logits, 1, undefined, rng)]++;
  [0.1, 0.2, 0.3, 0, 0.4].forEach((p, i) => assert.ok(Math.abs(counts[i] / n - p) < 0.015, `token ${i}: ${counts[i] / n} vs ${p}`));
  const top2 = [0, 0, 0, 0, 0];
  for (let i = 0; i < 5000; i++) top2[sample(logits, 1, 2, rng)]++;
  assert.equal(top2[0] + top2[1] + top2[3], 0);
  assert.ok(Math.abs(top2[4] / 5000 - 4 / 7) < 0.03);
  // Ties with the k-th value are kept, as nanoGPT's `logits < v[:, [-1]]`.
  const tied = new Set<number>();
  for (let i = 0; i < 200; i++) tied.add(sample([1, 1, 1, 0], 1, 1, rng));
  assert.deepEqual([...tied].sort(), [0, 1, 2]);
  assert.equal(argmax([1, 3, 3, 2]), 1, 'first maximum, as torch.argmax');
});

test('generate input errors are clear', () => {
  const p = initParams(cfg, { seed: 7 });
  try {
    assert.throws(() => generate(p, cfg, [], { maxNewTokens: 1 }), /non-empty prompt/);
    assert.throws(() => generate(p, cfg, [1, 64], { maxNewTokens: 1 }), /prompt token 1 = 64 is out of range; ids must be integers in \[0, 64\)/);
    assert.throws(() => generate(p, cfg, [1], { maxNewTokens: -1 }), /maxNewTokens must be a non-negative integer/);
    assert.throws(() => generate(p, cfg, [1], { maxNewTokens: 1, topK: 0 }), /topK must be a positive integer/);
    assert.throws(() => generate(p, cfg, [1], { maxNewTokens: 1, temperature: -1 }), /temperature must be >= 0/);
  } finally {
    disposeParams(p);
  }
});

test('generateText: GPT-2 tokenizer in and out, never emitting padded ids', async () => {
  const tcfg = makeConfig('tiny-4L', { nLayer: 1, vocabSize: 50304, blockSize: 16 });
  const p = initParams(tcfg, { seed: 8 });
  try {
    const prompt = 'The attention';
    const text = await assertNoLeak(() => generateText(p, tcfg, prompt, { maxNewTokens: 5, seed: 1 }), 0, 'generateText');
    assert.ok(text.startsWith(prompt));
    assert.equal(text, generateText(p, tcfg, prompt, { maxNewTokens: 5, seed: 1 }));
    assert.ok(encodeOrdinary(text).length >= encodeOrdinary(prompt).length);
  } finally {
    disposeParams(p);
  }
});
