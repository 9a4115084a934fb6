// Half-precision numbers as 16-bit patterns in Uint16Arrays (tfjs has no float16 dtype):
//   F16  IEEE 754 binary16: 1 sign, 5 exponent, 10 mantissa bits;
//   BF16 bfloat16: the top 16 bits of a float32 (8 exponent bits, 7 mantissa bits).
// Widening to float32 is exact. Narrowing rounds to nearest, ties to even (as PyTorch's .half() / .bfloat16()),
// keeps infinities, and keeps NaN a NaN.

let f16Table: Uint32Array | undefined;

/** float32 bit patterns of all 65536 half-precision values (NaN payloads kept, shifted into the f32 mantissa). */
export function halfToFloatBitsTable(): Uint32Array {
  if (f16Table) return f16Table;
  const t = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    let mant = h & 0x3ff;
    if (exp === 0x1f) {
      t[h] = (sign | 0x7f800000 | (mant << 13)) >>> 0;
    } else if (exp !== 0) {
      t[h] = (sign | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0;
    } else if (mant === 0) {
      t[h] = sign >>> 0;
    } else {
      // Subnormal half: mant * 2^-24; normalise so the leading 1 becomes implicit.
      let e = -14;
      while ((mant & 0x400) === 0) {
        mant <<= 1;
        e--;
      }
      t[h] = (sign | ((e + 127) << 23) | ((mant & 0x3ff) << 13)) >>> 0;
    }
  }
  return (f16Table = t);
}

/** Exact float32 values of F16 or BF16 bit patterns. */
export function widenHalf(bits: Uint16Array, dtype: 'F16' | 'BF16'): Float32Array {
  const out = new Uint32Array(bits.length);
  if (dtype === 'F16') {
    const table = halfToFloatBitsTable();
    for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  } else {
    for (let i = 0; i < bits.length; i++) out[i] = bits[i] << 16;
  }
  return new Float32Array(out.buffer);
}

/** bfloat16 bit patterns of float32 values, rounded to nearest even. */
export function floatToBFloat16Bits(x: Float32Array): Uint16Array {
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const b = u[i];
    if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) out[i] = (b >>> 16) | 0x40; // NaN stays NaN
    else out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** IEEE half bit patterns of float32 values, rounded to nearest even (overflow to infinity, underflow to 0). */
export function floatToHalfBits(x: Float32Array): Uint16Array {
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const b = u[i];
    const sign = (b >>> 16) & 0x8000;
    const exp = (b >>> 23) & 0xff;
    const mant = b & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15; // the half's biased exponent
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
    } else if (e <= 0) {
      // Subnormal half (or 0): the value is m * 2^-24 with m = (24-bit significand) * 2^(e - 14)
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      const full = mant | 0x800000; // 24-bit significand
      const shift = 14 - e; // to the half's 10-bit subnormal field
      let m = full >>> shift;
      const rest = full & ((1 << shift) - 1);
      const halfway = 1 << (shift - 1);
      if (rest > halfway || (rest === halfway && (m & 1))) m++;
      out[i] = sign | m;
    } else {
      let h = (e << 10) | (mant >>> 13);
      const rest = mant & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // may carry into the exponent: still right
      out[i] = sign | h;
    }
  }
  return out;
}
