// Finite checks on F16/BF16 weights kept as 16-bit patterns (LoadOptions.half 'keep', what `rank` loads): a NaN
// or Inf there must be refused like one in float32. Bit patterns are IEEE 754 half and bfloat16.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertFiniteTensors, countNonFinite } from '../../lib/model/finite';

test('countNonFinite reads F16 and BF16 bit patterns: exponent all ones is Inf (zero mantissa) or NaN', () => {
  // F16: 1.0 = 0x3c00, +Inf = 0x7c00, -Inf = 0xfc00, NaN = 0x7e00, max finite 65504 = 0x7bff.
  assert.deepEqual(countNonFinite(Uint16Array.from([0x3c00, 0x7bff, 0x7c00, 0x7e00, 0xfc00]), 'F16'), { nan: 1, inf: 2, first: 2 });
  // BF16: 1.0 = 0x3f80, +Inf = 0x7f80, NaN = 0x7fc0, max finite = 0x7f7f.
  assert.deepEqual(countNonFinite(Uint16Array.from([0x3f80, 0x7f7f, 0x7fc0, 0x7f80]), 'BF16'), { nan: 1, inf: 1, first: 2 });
  // The same bits as F16 differ: 0x7f80 has the F16 exponent all ones with a nonzero mantissa, a NaN.
  assert.deepEqual(countNonFinite(Uint16Array.from([0x7f80]), 'F16'), { nan: 1, inf: 0, first: 0 });
  // Plain integers are never non-finite.
  assert.deepEqual(countNonFinite(Uint16Array.from([0xffff])), { nan: 0, inf: 0, first: -1 });
});

test('assertFiniteTensors refuses a kept BF16 tensor with a NaN, naming it', () => {
  const tensors = {
    'transformer.wte.weight': { dtype: 'BF16' as const, shape: [2], data: Uint16Array.from([0x3f80, 0x7fc0]) },
    'transformer.wpe.weight': { dtype: 'F16' as const, shape: [1], data: Uint16Array.from([0x3c00]) },
  };
  assert.throws(() => assertFiniteTensors(tensors as never, 'model.safetensors'), /transformer\.wte\.weight/);
  assert.doesNotThrow(() => assertFiniteTensors({ w: tensors['transformer.wpe.weight'] } as never, 'model.safetensors'));
});
