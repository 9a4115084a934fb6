// Seeded mutators for the fuzz suite: byte-level (bit flips, hostile byte patterns, NaN/Inf float32 and float16
// patterns, truncation, insertion, deletion, duplication) and structure-aware JSON mutations (hostile values at a
// random path: huge and negative numbers, strings for booleans and numbers, deep nesting, nulls; deleted,
// renamed and duplicated keys). Every mutant is reproducible from (seed, index).
import { Rng } from '../../lib/util/rng';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const F32_SPECIAL = [0x7fc00000, 0xffc00000, 0x7f800000, 0xff800000, 0x7f7fffff, 0x00000001]; // NaN, -NaN, Inf, -Inf, max, denormal
const F16_SPECIAL = [0x7e00, 0x7c00, 0xfc00, 0x7bff];

export function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)];
}

/** One byte-level mutation of `b` (a new buffer). `region` limits where it applies ([start, end) of b). */
export function mutateBytes(rng: Rng, b: Buffer, region: [number, number] = [0, b.length]): { bytes: Buffer; op: string } {
  const [lo, hi] = region;
  const span = Math.max(1, hi - lo);
  const at = () => lo + rng.int(span);
  const out = Buffer.from(b);
  const op = rng.int(10);
  switch (op) {
    case 0: {
      const i = at();
      if (i < out.length) out[i] ^= 1 << rng.int(8);
      return { bytes: out, op: `flip bit at ${i}` };
    }
    case 1: {
      const i = at();
      if (i < out.length) out[i] = pick(rng, [0, 0xff, 0x7f, 0x80, 0x22, 0x5c, 0x7b, 0x7d, 0xc3, 0xed]);
      return { bytes: out, op: `set byte at ${i}` };
    }
    case 2: {
      const i = at() & ~3;
      if (i + 4 <= out.length) out.writeUInt32LE(pick(rng, F32_SPECIAL) >>> 0, i);
      return { bytes: out, op: `float32 special at ${i}` };
    }
    case 3: {
      const i = at() & ~1;
      if (i + 2 <= out.length) out.writeUInt16LE(pick(rng, F16_SPECIAL), i);
      return { bytes: out, op: `float16 special at ${i}` };
    }
    case 4: {
      const n = at();
      return { bytes: out.subarray(0, n), op: `truncate to ${n}` };
    }
    case 5: {
      const i = at();
      const ins = Buffer.alloc(1 + rng.int(16)).map(() => rng.int(256));
      return { bytes: Buffer.concat([out.subarray(0, i), ins, out.subarray(i)]), op: `insert ${ins.length} at ${i}` };
    }
    case 6: {
      const i = at();
      const n = 1 + rng.int(16);
      return { bytes: Buffer.concat([out.subarray(0, i), out.subarray(i + n)]), op: `delete ${n} at ${i}` };
    }
    case 7: {
      const i = at();
      const n = 1 + rng.int(64);
      return { bytes: Buffer.concat([out.subarray(0, i + n), out.subarray(i, i + n), out.subarray(i + n)]), op: `duplicate ${n} at ${i}` };
    }
    case 8: {
      const i = at() & ~3;
      if (i + 4 <= out.length) out.writeUInt32LE(pick(rng, [0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 1024, 20240520]) >>> 0, i);
      return { bytes: out, op: `int32 special at ${i}` };
    }
    default: {
      // Several flips at once.
      for (let k = 0; k < 8; k++) {
        const i = at();
        if (i < out.length) out[i] = rng.int(256);
      }
      return { bytes: out, op: 'scramble 8 bytes' };
    }
  }
}

/** Hostile JSON values (no huge allocations: the deepest nests 1,000 levels, the longest string is 100 kB). */
export function hostileValue(rng: Rng): Json {
  switch (rng.int(16)) {
    case 0: return 10_000_000;
    case 1: return -5;
    case 2: return 0;
    case 3: return 1e308;
    case 4: return 2.5;
    case 5: return 'true';
    case 6: return '12';
    case 7: return null;
    case 8: return [];
    case 9: return {};
    case 10: return JSON.parse('['.repeat(1000) + ']'.repeat(1000)) as Json;
    case 11: return 'x'.repeat(100_000);
    case 12: return false;
    case 13: return 2 ** 53 + 2;
    case 14: return [1, 2, 3];
    default: return -1e308;
  }
}

/** All paths (key lists) to values in a JSON tree, at most `max`. */
function paths(v: Json, max = 2000): (string | number)[][] {
  const out: (string | number)[][] = [];
  const walk = (x: Json, p: (string | number)[]) => {
    if (out.length >= max) return;
    out.push(p);
    if (Array.isArray(x)) x.forEach((y, i) => walk(y, [...p, i]));
    else if (x !== null && typeof x === 'object') for (const [k, y] of Object.entries(x)) walk(y, [...p, k]);
  };
  walk(v, []);
  return out;
}

function getAt(v: Json, p: (string | number)[]): Json {
  let x: Json = v;
  for (const k of p) x = (x as Record<string, Json>)[k as string];
  return x;
}

/** One structure-aware mutation of a JSON text (falls back to a byte mutation when the text is not JSON). */
export function mutateJsonText(rng: Rng, text: string): { text: string; op: string } {
  let v: Json;
  try {
    v = JSON.parse(text) as Json;
  } catch {
    const m = mutateBytes(rng, Buffer.from(text, 'utf8'));
    return { text: m.bytes.toString('latin1'), op: m.op };
  }
  const all = paths(v);
  const p = pick(rng, all);
  const op = rng.int(5);
  if (p.length === 0 || op === 4) {
    // Text-level: a duplicated key or a byte mutation of the serialised JSON.
    const t = JSON.stringify(v);
    if (rng.int(2) === 0 && t.startsWith('{"')) {
      const end = t.indexOf(',"');
      if (end > 0) return { text: `${t.slice(0, end)},${t.slice(1, end)},${t.slice(end + 1)}`, op: 'duplicate the first key' };
    }
    const m = mutateBytes(rng, Buffer.from(t, 'utf8'));
    return { text: m.bytes.toString('utf8'), op: `text ${m.op}` };
  }
  const parent = getAt(v, p.slice(0, -1));
  const key = p[p.length - 1];
  const where = p.join('.');
  if (op === 0 || op === 1) {
    (parent as Record<string, Json>)[key as string] = hostileValue(rng);
    return { text: JSON.stringify(v), op: `set ${where}` };
  }
  if (op === 2) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete (parent as Record<string, Json>)[key as string];
    return { text: JSON.stringify(v), op: `delete ${where}` };
  }
  // op 3: rename a key / change an array into an object
  if (!Array.isArray(parent)) {
    const val = (parent as Record<string, Json>)[key as string];
    delete (parent as Record<string, Json>)[key as string];
    (parent as Record<string, Json>)[`${key}_x`] = val;
    return { text: JSON.stringify(v), op: `rename ${where}` };
  }
  (parent as Json[]).push(hostileValue(rng));
  return { text: JSON.stringify(v), op: `append to ${p.slice(0, -1).join('.')}` };
}
