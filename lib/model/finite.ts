// Finite checks on loaded tensors: a checkpoint with NaN or Inf weights computes NaN everywhere, and every metric on
// it is garbage printed with exit code 0 unless the loader refuses it. One pass over the values, cheap next to
// reading the file. Users who study broken checkpoints opt out (LoadOptions.allowNonFinite, --allow-non-finite).
import type { TensorData, TensorMap } from './safetensors';

export interface NonFiniteCount {
  nan: number;
  inf: number;
  /** Index of the first non-finite value (-1 when there is none). */
  first: number;
}

/**
 * Counts NaN and +-Inf values. Integer arrays are always finite, except F16/BF16 weights kept as their 16-bit
 * patterns (LoadOptions.half 'keep'), whose exponent bits all set mean Inf (zero mantissa) or NaN.
 */
export function countNonFinite(data: TensorData, dtype?: string): NonFiniteCount {
  const out: NonFiniteCount = { nan: 0, inf: 0, first: -1 };
  if (data instanceof Uint16Array && (dtype === 'F16' || dtype === 'BF16')) {
    const [exp, man] = dtype === 'F16' ? [0x7c00, 0x03ff] : [0x7f80, 0x007f];
    for (let i = 0; i < data.length; i++) {
      const b = data[i];
      if ((b & exp) !== exp) continue;
      if (b & man) out.nan++;
      else out.inf++;
      if (out.first < 0) out.first = i;
    }
    return out;
  }
  if (!(data instanceof Float32Array || data instanceof Float64Array)) return out;
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (x - x !== 0) { // NaN and +-Inf, one comparison for the common finite case
      if (x !== x) out.nan++;
      else out.inf++;
      if (out.first < 0) out.first = i;
    }
  }
  return out;
}

/** The non-finite tensors of a map: [name, counts, size], in name order. */
export function nonFiniteTensors(tensors: TensorMap): Array<{ name: string; count: NonFiniteCount; size: number }> {
  const bad: Array<{ name: string; count: NonFiniteCount; size: number }> = [];
  for (const name of Object.keys(tensors).sort()) {
    const c = countNonFinite(tensors[name].data, tensors[name].dtype);
    if (c.first >= 0) bad.push({ name, count: c, size: tensors[name].data.length });
  }
  return bad;
}

/**
 * Throws naming the first non-finite tensor, its NaN/Inf counts, and how many tensors and values are affected in
 * total. `label` is the file; `hint` ends the message (how to opt out, where it came from).
 */
export function assertFiniteTensors(tensors: TensorMap, label: string, hint = ''): void {
  const bad = nonFiniteTensors(tensors);
  if (!bad.length) return;
  const b = bad[0];
  let values = 0;
  let total = 0;
  for (const t of Object.values(tensors)) total += t.data.length;
  for (const x of bad) values += x.count.nan + x.count.inf;
  throw new Error(
    `${label}: tensor '${b.name}' has ${b.count.nan} NaN and ${b.count.inf} infinite values of ${b.size} (first at index ${b.count.first}); ` +
      `${bad.length} tensor(s), ${values} of ${total} values are not finite${hint}`,
  );
}
