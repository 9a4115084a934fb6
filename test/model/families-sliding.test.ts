// Sliding-window attention (Mistral; Qwen2 per layer) against the float64 PyTorch fixtures of
// test/reference/make_family_fixtures.py (window 3, T = 8): the reference's band is i - 3 < j <= i (checked on its
// patterns), windows 2 and 4 miss it (the off-by-one guard), the Qwen2 layer rule is l >= max_window_layers (< would
// miss layer 0's full pattern, max_window_layers + 1 layer 1's band), our patterns have exact zeros outside the band
// and rows summing to 1; the pass without hooks (native softmax where it applies) and the layer-major pass
// (runLayerMajor, streamed) match too; `rank --model` reads the banded patterns; config.json parsing as transformers' MistralConfig / Qwen2Config. Tolerances
// as families.test.ts: logits 1e-4 relative with atol 1e-2 max|expected|, patterns 1e-5 absolute. No leaked tensors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setupBackend, assertClose, assertNoLeak } from '../helpers';
import { readSafetensors } from '../../lib/model/safetensors';
import { FamilyModel, WeightMode, loadFamilyFolder } from '../../lib/model/families/family-model';
import { parseFamilyConfig } from '../../lib/model/families/family-config';
import { SlidingWindow, slidingWindowMask } from '../../lib/model/families/sliding-window';
import { runHookedWithCache } from '../../lib/model/hooked-model';
import { actName } from '../../lib/model/hooks';
import { rankCommand } from '../../lib/metrics/cli';
import { measureAttentionRanks } from '../../lib/metrics/measure';
import { rankWindows } from '../../lib/experiments/rank-profile';
import { describeDataset, openDataset } from '../../lib/data/dataset';

const DIR = path.join(__dirname, '..', 'fixtures', 'families');
const MISTRAL = 'mistral_sliding_window';
const QWEN2 = 'qwen2_sliding_layers';
const W = 3;

type Expected = Record<string, { shape: number[]; data: Float64Array }>;
const expected = (name: string): Expected => readSafetensors(path.join(DIR, name, 'expected.safetensors')).tensors as unknown as Expected;

const maxAbs = (a: ArrayLike<number>): number => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Calls f(row offset, i, j) for every entry of a (B, nh, T, T) pattern. */
function forEachEntry(shape: number[], f: (off: number, i: number, j: number) => void): void {
  const T = shape[3];
  const rows = shape[0] * shape[1];
  for (let r = 0; r < rows; r++) for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) f((r * T + i) * T, i, j);
}

/** Patterns (one per layer) of a model on the fixture's tokens, through run() with hooks. */
function patternsOf(model: FamilyModel, want: Expected): Float32Array[] {
  const [B, T] = want.tokens.shape;
  const idx = tf.tensor2d(Int32Array.from(want.tokens.data), [B, T], 'int32');
  const names = Array.from({ length: model.cfg.nLayer }, (_, l) => actName('pattern', l));
  const res = runHookedWithCache(model, idx, names);
  try {
    return names.map((n) => res.cache.get(n).dataSync() as Float32Array);
  } finally {
    idx.dispose();
    res.logits?.dispose();
    res.cache.dispose();
  }
}

/** The same model with another sliding window. */
function withWindow(model: FamilyModel, sw: SlidingWindow): FamilyModel {
  return new FamilyModel({ ...model.cfg, slidingWindow: sw }, model.store, 'streamed');
}

let tmp: string;
before(async () => {
  await setupBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fam-swa-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('the reference band: pattern zero exactly where j <= i - 3 (and j > i), positive inside; Qwen2 layer 0 is full', () => {
  for (const [name, windowed] of [[MISTRAL, [true, true]], [QWEN2, [false, true, true]]] as const) {
    const want = expected(name);
    assert.equal(want.tokens.shape[1], 8, 'T longer than the window');
    windowed.forEach((isWindowed, l) => {
      const p = want[`pattern_${l}`];
      let outsideBand = 0;
      forEachEntry(p.shape, (off, i, j) => {
        const v = p.data[off + j];
        if (j > i) assert.equal(v, 0, `${name} layer ${l} [${i}, ${j}]: the future`);
        else if (j > i - W) assert.ok(v > 0, `${name} layer ${l} [${i}, ${j}] in the band`);
        else if (isWindowed) assert.equal(v, 0, `${name} layer ${l} [${i}, ${j}]: outside the window`);
        else if (v > 0) outsideBand++;
      });
      if (!isWindowed) assert.ok(outsideBand > 0, `${name} layer ${l} is plainly causal: attends beyond the window`);
    });
  }
});

test('our patterns: exact zeros outside the band, rows sum to 1, within 1e-5 of the reference', async () => {
  for (const name of [MISTRAL, QWEN2]) {
    const want = expected(name);
    const model = loadFamilyFolder(path.join(DIR, name));
    try {
      const got = await assertNoLeak(() => patternsOf(model, want));
      got.forEach((p, l) => {
        const shape = want[`pattern_${l}`].shape;
        const windowed = model.cfg.slidingWindow!.layers[l];
        const rowSum = new Map<number, number>();
        forEachEntry(shape, (off, i, j) => {
          if (j > i || (windowed && j <= i - W)) assert.equal(p[off + j], 0, `${name} layer ${l} [${i}, ${j}]`);
          rowSum.set(off, (rowSum.get(off) ?? 0) + p[off + j]);
        });
        for (const s of rowSum.values()) assert.ok(Math.abs(s - 1) < 1e-5, `${name} layer ${l}: a row sums to ${s}`);
        const d = maxAbsDiff(p, want[`pattern_${l}`].data);
        assert.ok(d <= 1e-5, `${name} pattern ${l}: max |diff| ${d} > 1e-5`);
      });
    } finally {
      model.dispose();
    }
  }
});

test('off by one either way misses the reference: windows 2 and 4 give other patterns', () => {
  const want = expected(MISTRAL);
  const model = loadFamilyFolder(path.join(DIR, MISTRAL));
  try {
    const sw = model.cfg.slidingWindow!;
    assert.deepEqual(sw, { size: W, layers: [true, true] });
    for (const size of [W - 1, W + 1]) {
      const other = withWindow(model, { ...sw, size });
      const p = patternsOf(other, want)[0];
      other.dispose();
      // The entry the inequality decides: j = i - 2 (kept by 3, dropped by 2) or j = i - 3 (dropped by 3, kept by 4).
      const edge = size < W ? W - 1 : W;
      forEachEntry(want.pattern_0.shape, (off, i, j) => {
        if (i - j === edge) assert.equal(p[off + j] > 0, size > W, `window ${size} [${i}, ${j}]`);
      });
      const d = maxAbsDiff(p, want.pattern_0.data);
      assert.ok(d > 1e-2, `window ${size} is within ${d} of the window-${W} reference`);
    }
  } finally {
    model.dispose();
  }
});

test('Qwen2 windows the layers l >= max_window_layers: l > max_window_layers or every layer misses the reference', () => {
  const want = expected(QWEN2);
  const model = loadFamilyFolder(path.join(DIR, QWEN2));
  try {
    assert.deepEqual(model.cfg.slidingWindow, { size: W, layers: [false, true, true] });
    for (const layers of [[true, true, true], [false, false, true]]) {
      const other = withWindow(model, { size: W, layers });
      const ps = patternsOf(other, want);
      other.dispose();
      const wrong = layers.findIndex((b, l) => b !== model.cfg.slidingWindow!.layers[l]);
      const d = maxAbsDiff(ps[wrong], want[`pattern_${wrong}`].data);
      assert.ok(d > 1e-2, `layers [${layers}]: layer ${wrong} within ${d} of the reference`);
    }
  } finally {
    model.dispose();
  }
});

test('without hooks (resident and streamed), logits match the reference', async () => {
  for (const name of [MISTRAL, QWEN2]) {
    for (const mode of ['resident', 'streamed'] as WeightMode[]) {
      const want = expected(name);
      const model = loadFamilyFolder(path.join(DIR, name), { mode });
      const [B, T] = want.tokens.shape;
      try {
        await assertNoLeak(() => {
          const idx = tf.tensor2d(Int32Array.from(want.tokens.data), [B, T], 'int32');
          const out = model.run(idx);
          try {
            assertClose(out.logits!.dataSync(), want.logits.data, 1e-4, `${name} ${mode} logits`, 1e-2 * maxAbs(want.logits.data));
          } finally {
            idx.dispose();
            out.logits!.dispose();
          }
        });
      } finally {
        model.dispose();
      }
    }
  }
});

test('layer-major pass (runLayerMajor, one window per batch): patterns and residuals match the reference', async () => {
  for (const name of [MISTRAL, QWEN2]) {
    const want = expected(name);
    const model = loadFamilyFolder(path.join(DIR, name), { mode: 'streamed' });
    const [B, T] = want.tokens.shape;
    const L = model.cfg.nLayer;
    const ids = Int32Array.from(want.tokens.data);
    const batches = Array.from({ length: B }, (_, b) => ids.slice(b * T, (b + 1) * T));
    const got = new Map<string, Float32Array>();
    try {
      await assertNoLeak(() =>
        model.runLayerMajor(batches, T, (n) => /hook_pattern$|hook_resid_post$/.test(n), (b, n, t) => {
          got.set(`${b}:${n}`, t.dataSync() as Float32Array);
        }),
      );
    } finally {
      model.dispose();
    }
    for (let l = 0; l < L; l++) {
      for (const [kind, w] of [['pattern', want[`pattern_${l}`].data], ['resid_post', want[`resid_post_${l}`].data]] as const) {
        const per = w.length / B;
        for (let b = 0; b < B; b++) {
          const g = got.get(`${b}:${actName(kind, l)}`)!;
          const ref = w.subarray(b * per, (b + 1) * per);
          if (kind === 'pattern') {
            const d = maxAbsDiff(g, ref);
            assert.ok(d <= 1e-5, `${name} batch ${b} pattern ${l}: max |diff| ${d}`);
          } else assertClose(g, ref, 1e-4, `${name} batch ${b} resid_post ${l}`, 1e-2 * maxAbs(w));
        }
      }
    }
  }
});

test('rank --model on windowed folders (T 16 > window 3): MaxRank as the protocol on the banded patterns, no leaks', async () => {
  // raw uint16 token ids below the fixtures' vocabulary of 64 (a format fixture, not a corpus)
  const dataDir = path.join(tmp, 'toks');
  fs.mkdirSync(dataDir);
  const ids = Uint16Array.from({ length: 3000 }, (_, i) => (i * 37 + ((i * i) % 11)) % 64);
  fs.writeFileSync(path.join(dataDir, 'train.bin'), Buffer.from(ids.buffer));
  fs.writeFileSync(path.join(dataDir, 'val.bin'), Buffer.from(ids.buffer));
  for (const name of [MISTRAL, QWEN2]) {
    const lines: string[] = [];
    const before = tf.memory().numTensors;
    const code = await rankCommand(['--model', path.join(DIR, name), '--data', dataDir, '--n', '4', '--t', '16', '--seed', '3', '--causal-windows', '0', '--out', path.join(tmp, name)], (s) => lines.push(s));
    assert.equal(code, 0);
    assert.equal(tf.memory().numTensors, before, 'the command leaves no tensors behind');
    // the command says which layers are banded and what that does to position 0 and the rank
    const note = lines.find((l) => l.includes('sliding window of 3 keys'));
    assert.ok(note, `${name}: a note about the window`);
    assert.match(note, name === MISTRAL ? /all 2 layers/ : /layers 2, 3 of 3/);
    const header = lines.findIndex((l) => l.trim().startsWith('layer'));
    const model = loadFamilyFolder(path.join(DIR, name));
    const L = model.cfg.nLayer;
    const rows = lines.slice(header + 1, header + 1 + L).map((l) => l.trim().split(/\s+/));
    const val = openDataset(describeDataset(dataDir), 'val');
    const windows = rankWindows(val, 4, 16, 3);
    val.close();
    const names = Array.from({ length: L }, (_, l) => actName('pattern', l));
    const direct = await measureAttentionRanks(async (tokens, B, T) => {
      const idx = tf.tensor2d(tokens, [B, T], 'int32');
      const res = runHookedWithCache(model, idx, names, { stopAtLayer: L });
      idx.dispose();
      res.resid?.dispose();
      const pats = names.map((n) => res.cache.get(n) as tf.Tensor4D);
      for (const [l, p] of pats.entries()) {
        // what the protocol reads: nothing outside the band of a windowed layer
        if (!model.cfg.slidingWindow!.layers[l]) continue;
        const v = p.dataSync();
        forEachEntry(p.shape, (off, i, j) => assert.ok(j > i - W || v[off + j] === 0, `${name} layer ${l} [${i}, ${j}]`));
      }
      return pats;
    }, windows, { N: 4, T: 16 });
    model.dispose();
    direct.aggregated.layers.forEach((r, i) => assert.equal(rows[i][1], r.maxRank.toFixed(2), `${name} layer ${i + 1} MaxRank`));
  }
});

test('slidingWindowMask: 0 on i - size < j <= i, -Infinity elsewhere; a window >= T is the causal mask', async () => {
  const m = await assertNoLeak(() => tf.tidy(() => slidingWindowMask(5, 2).arraySync()), 0);
  assert.deepEqual(m, [
    [0, -Infinity, -Infinity, -Infinity, -Infinity],
    [0, 0, -Infinity, -Infinity, -Infinity],
    [-Infinity, 0, 0, -Infinity, -Infinity],
    [-Infinity, -Infinity, 0, 0, -Infinity],
    [-Infinity, -Infinity, -Infinity, 0, 0],
  ]);
  const full = tf.tidy(() => slidingWindowMask(3, 3).arraySync());
  assert.deepEqual(full, [[0, -Infinity, -Infinity], [0, 0, -Infinity], [0, 0, 0]]);
  assert.throws(() => slidingWindowMask(3, 0), /sliding window must be a positive integer, got 0/);
});

const BASE = { hidden_size: 32, num_attention_heads: 4, num_hidden_layers: 4, intermediate_size: 48, vocab_size: 64 };
const parse = (json: Record<string, unknown>) => parseFamilyConfig({ ...BASE, ...json }, 'config.json').slidingWindow;

test('config.json: which layers are windowed, as MistralConfig and Qwen2Config', () => {
  const all = [true, true, true, true];
  assert.deepEqual(parse({ model_type: 'mistral', sliding_window: 4096 }), { size: 4096, layers: all });
  assert.deepEqual(parse({ model_type: 'mistral' }), { size: 4096, layers: all }, 'MistralConfig default');
  assert.equal(parse({ model_type: 'mistral', sliding_window: null }), undefined, 'null: no window (Mistral v0.2+)');
  assert.deepEqual(parse({ model_type: 'mistral', sliding_window: 16, layer_types: ['full_attention'] }), { size: 16, layers: all }, 'MistralModel ignores layer_types');
  assert.equal(parse({ model_type: 'llama', sliding_window: 16 }), undefined, 'Llama has no window');
  // Qwen2.5 ships sliding_window and max_window_layers with use_sliding_window false: no window.
  assert.equal(parse({ model_type: 'qwen2', sliding_window: 32768, max_window_layers: 2, use_sliding_window: false }), undefined);
  assert.equal(parse({ model_type: 'qwen2', sliding_window: 32768 }), undefined, 'use_sliding_window defaults to false');
  assert.deepEqual(parse({ model_type: 'qwen2', use_sliding_window: true, sliding_window: 8, max_window_layers: 2 }), { size: 8, layers: [false, false, true, true] });
  assert.deepEqual(parse({ model_type: 'qwen2', use_sliding_window: true, max_window_layers: 0 }), { size: 4096, layers: all }, 'Qwen2Config default window');
  assert.equal(parse({ model_type: 'qwen2', use_sliding_window: true, sliding_window: 8 }), undefined, 'max_window_layers defaults to 28 >= 4 layers');
  assert.equal(parse({ model_type: 'qwen2', use_sliding_window: true, sliding_window: null }), undefined);
  const types = ['sliding_attention', 'full_attention', 'sliding_attention', 'full_attention'];
  assert.deepEqual(parse({ model_type: 'qwen2', use_sliding_window: true, sliding_window: 8, max_window_layers: 3, layer_types: types }), { size: 8, layers: [true, false, true, false] }, 'layer_types win');
  assert.equal(parse({ model_type: 'qwen2', use_sliding_window: false, layer_types: types.map(() => 'full_attention') }), undefined);
});

test('config.json: malformed sliding-window fields are refused in one line', () => {
  const refused = (json: Record<string, unknown>, re: RegExp) =>
    assert.throws(() => parse(json), (e: Error) => re.test(e.message) && !e.message.includes('\n'));
  refused({ model_type: 'mistral', sliding_window: 0 }, /sliding_window must be a positive integer or null, got 0/);
  refused({ model_type: 'mistral', sliding_window: '4096' }, /sliding_window must be a positive integer or null, got "4096"/);
  refused({ model_type: 'qwen2', use_sliding_window: 'yes' }, /use_sliding_window must be true or false, got "yes"/);
  refused({ model_type: 'qwen2', use_sliding_window: true, max_window_layers: -1 }, /max_window_layers must be a non-negative integer, got -1/);
  refused({ model_type: 'qwen2', use_sliding_window: true, layer_types: ['full_attention'] }, /layer_types must list 4 entries/);
  refused({ model_type: 'qwen2', use_sliding_window: true, layer_types: ['full_attention', 'full_attention', 'chunked_attention', 'full_attention'] }, /layer_types must list 4 entries/);
  refused({ model_type: 'qwen2', use_sliding_window: false, layer_types: ['sliding_attention', 'full_attention', 'full_attention', 'full_attention'] }, /layer_types names sliding_attention layers but use_sliding_window is false/);
});

test('describes the window', () => {
  const m = loadFamilyFolder(path.join(DIR, QWEN2), { mode: 'streamed' });
  assert.match(m.description, /qwen2 \(3 layers x 4 heads, sliding window 3 in layers 1, 2, width 32/);
  m.dispose();
  const k = loadFamilyFolder(path.join(DIR, MISTRAL), { mode: 'streamed' });
  assert.match(k.description, /mistral \(2 layers x 4 heads, GQA 4\/2 heads, sliding window 3, width 32/);
  k.dispose();
});
