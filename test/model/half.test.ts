// F16 and BF16 against PyTorch (test/reference/make_half_fixtures.py, fixtures in test/fixtures/half/):
//   - the reader widens PyTorch's F16/BF16 bytes to exactly x.half().float() / x.bfloat16().float() (bit for bit),
//     also when it keeps the 16-bit patterns and lib/model/half widens them later;
//   - floatToHalfBits / floatToBFloat16Bits round exactly as PyTorch's .half() / .bfloat16() (NaN stays NaN);
//   - a tiny GPT-2 saved by PyTorch in bfloat16 and in float16 loads from its Hugging Face folder (widened on load,
//     or kept in 16 bits and widened per tensor) and gives PyTorch's logits (max |a-b| / (|b| + atol) <= 1e-4 with
//     atol = 1e-2 max|expected|, as test/model/parity.test.ts).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setupBackend, assertClose, assertNoLeak } from '../helpers';
import { readSafetensors } from '../../lib/model/safetensors';
import { floatToBFloat16Bits, floatToHalfBits, widenHalf } from '../../lib/model/half';
import { loadHFFolder, tensorsToParams } from '../../lib/model/hf';
import { disposeParams } from '../../lib/model/params';
import { forward } from '../../lib/model/gpt';

const DIR = path.join(__dirname, '..', 'fixtures', 'half');
const VALUES = path.join(DIR, 'values.safetensors');

before(async () => {
  await setupBackend();
});

function sameFloats(a: Float32Array, b: Float32Array, label: string): void {
  assert.equal(a.length, b.length, label);
  for (let i = 0; i < a.length; i++) {
    const ok = Number.isNaN(b[i]) ? Number.isNaN(a[i]) : Object.is(a[i], b[i]);
    if (!ok) assert.fail(`${label}: [${i}] ${a[i]} vs PyTorch ${b[i]}`);
  }
}

function sameBits(ours: Uint16Array, torch: Uint16Array, label: string, isNaN: (h: number) => boolean): void {
  assert.equal(ours.length, torch.length, label);
  for (let i = 0; i < ours.length; i++) {
    const ok = isNaN(torch[i]) ? isNaN(ours[i]) : ours[i] === torch[i];
    if (!ok) assert.fail(`${label}: [${i}] 0x${ours[i].toString(16)} vs PyTorch 0x${torch[i].toString(16)}`);
  }
}
const f16NaN = (h: number): boolean => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
const bf16NaN = (h: number): boolean => (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;

test('F16 and BF16 tensors written by PyTorch read as PyTorch widens them, bit for bit', () => {
  const { tensors, storedDtypes } = readSafetensors(VALUES);
  assert.equal(storedDtypes.x_f16, 'F16');
  assert.equal(storedDtypes.x_bf16, 'BF16');
  assert.equal(tensors.x_f16.dtype, 'F32');
  sameFloats(tensors.x_f16.data as Float32Array, tensors.x_f16_widened.data as Float32Array, 'F16 -> float32');
  sameFloats(tensors.x_bf16.data as Float32Array, tensors.x_bf16_widened.data as Float32Array, 'BF16 -> float32');

  const kept = readSafetensors(VALUES, { half: 'keep' }).tensors;
  assert.equal(kept.x_f16.dtype, 'F16');
  assert.ok(kept.x_bf16.data instanceof Uint16Array);
  sameFloats(widenHalf(kept.x_f16.data as Uint16Array, 'F16'), tensors.x_f16_widened.data as Float32Array, 'kept F16, widened');
  sameFloats(widenHalf(kept.x_bf16.data as Uint16Array, 'BF16'), tensors.x_bf16_widened.data as Float32Array, 'kept BF16, widened');
});

test('narrowing float32 to F16 and BF16 rounds as PyTorch (ties to even, overflow, subnormals, NaN)', () => {
  const kept = readSafetensors(VALUES, { half: 'keep' }).tensors;
  const x = kept.x.data as Float32Array;
  sameBits(floatToHalfBits(x), kept.x_f16.data as Uint16Array, 'x.half()', f16NaN);
  sameBits(floatToBFloat16Bits(x), kept.x_bf16.data as Uint16Array, 'x.bfloat16()', bf16NaN);
});

for (const [name, dtype] of [['gpt2-bf16', 'BF16'], ['gpt2-f16', 'F16']] as const) {
  for (const half of ['float32', 'keep'] as const) {
    test(`${name} (PyTorch's ${dtype} weights, ${half === 'keep' ? 'kept in 16 bits' : 'widened on load'}): PyTorch's logits`, async () => {
      const ck = loadHFFolder(path.join(DIR, name), { half });
      assert.equal(ck.config.nLayer, 2);
      const wte = ck.tensors['transformer.wte.weight'];
      assert.equal(wte.dtype, half === 'keep' ? dtype : 'F32');
      assert.ok(ck.notes.some((n) => n.includes(dtype)), ck.notes.join('; '));
      const exp = readSafetensors(path.join(DIR, `${name}-expected.safetensors`));
      const tokens = JSON.parse(exp.metadata.tokens) as number[][];
      const params = tensorsToParams(ck.tensors, false);
      await assertNoLeak(() => {
        const idx = tf.tensor2d(tokens, [tokens.length, tokens[0].length], 'int32');
        const { logits } = forward(params, ck.config, idx);
        const want = exp.tensors.logits.data as Float32Array;
        const atol = 1e-2 * want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        assertClose(logits.dataSync(), want, 1e-4, `${name} logits`, atol);
        tf.dispose([idx, logits]);
      });
      disposeParams(params);
    });
  }
}
