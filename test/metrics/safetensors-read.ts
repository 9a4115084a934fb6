// A tiny safetensors reader for test fixtures (F64/F32 only): 8-byte little-endian u64 header length N, N bytes
// of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the raw data, offsets
// relative to the first byte after the header. Kept separate from lib/model's reader so the rank tests do not
// depend on it.
import * as fs from 'node:fs';

export interface StTensor {
  dtype: 'F64' | 'F32';
  shape: number[];
  data: Float64Array;
}

export function readSafetensors(file: string): { tensors: Map<string, StTensor>; metadata: Record<string, string> } {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, any>;
  const base = 8 + n;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors = new Map<string, StTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [b, e] = info.data_offsets as [number, number];
    const count = (info.shape as number[]).reduce((a, c) => a * c, 1);
    const size = info.dtype === 'F64' ? 8 : info.dtype === 'F32' ? 4 : 0;
    if (!size) throw new Error(`${name}: dtype ${info.dtype} not supported by this reader (F64, F32 only)`);
    if (e - b !== count * size) throw new Error(`${name}: offsets ${b}..${e} do not match shape [${info.shape}]`);
    const data = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      data[i] = size === 8 ? buf.readDoubleLE(base + b + 8 * i) : buf.readFloatLE(base + b + 4 * i);
    }
    tensors.set(name, { dtype: info.dtype, shape: info.shape, data });
  }
  return { tensors, metadata };
}
