// Writing the safetensors format (layout and validation rules: ./safetensors.ts): tensors contiguous in sorted-name
// order after the JSON header, written to a temporary file that is fsynced and renamed over the target, so a crash
// never leaves a half-written file under the final name.
import { writeAll, writeFileAtomic } from '../util/fs';
import { ARRAY_TYPE, DTYPE_SIZE, HOST_LITTLE_ENDIAN, Metadata, TensorEntry, TensorMap, product, swapBytes } from './safetensors';

function planLayout(tensors: TensorMap, metadata: Metadata): { header: Uint8Array; names: string[]; sizes: number[] } {
  const names = Object.keys(tensors).sort();
  const json: Record<string, unknown> = {};
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`metadata value '${k}' must be a string, got ${typeof v}`);
    }
    // Sorted keys, as the fixture writer in test/reference/safetensors_io.py does: byte-identical files.
    json.__metadata__ = Object.fromEntries(Object.keys(metadata).sort().map((k) => [k, metadata[k]]));
  }
  let offset = 0;
  const sizes: number[] = [];
  for (const name of names) {
    if (name === '__metadata__' || name === '' || name === '__proto__') throw new Error(`invalid tensor name '${name}'`);
    const t = tensors[name];
    if (!Object.prototype.hasOwnProperty.call(ARRAY_TYPE, t.dtype)) {
      throw new Error(`tensor '${name}': cannot write dtype ${String(t.dtype)}; expected one of ${Object.keys(ARRAY_TYPE).join(', ')}`);
    }
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new Error(`tensor '${name}': shape must be non-negative integers, got ${JSON.stringify(t.shape)}`);
    }
    const size = product(t.shape) * DTYPE_SIZE[t.dtype];
    json[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    sizes.push(size);
    offset += size;
  }
  let text = JSON.stringify(json);
  // Pad with spaces so the byte buffer starts 8-byte aligned (8 + N ≡ 0 mod 8).
  let header = new TextEncoder().encode(text);
  if (header.length % 8 !== 0) {
    text += ' '.repeat(8 - (header.length % 8));
    header = new TextEncoder().encode(text);
  }
  return { header, names, sizes };
}

/** The little-endian bytes of a tensor's data, checked against its dtype and shape. */
function tensorBytes(name: string, t: TensorEntry, size: number): Uint8Array {
  const data = t.data; // may be a getter: read it only now
  const Ctor = ARRAY_TYPE[t.dtype];
  if (!(data instanceof Ctor)) {
    throw new Error(`tensor '${name}': dtype ${t.dtype} needs a ${Ctor.name}, got ${(data as object)?.constructor?.name ?? typeof data}`);
  }
  if (data.byteLength !== size) {
    throw new Error(`tensor '${name}': data has ${data.length} elements but shape [${t.shape.join(', ')}] needs ${product(t.shape)}`);
  }
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (HOST_LITTLE_ENDIAN) return bytes;
  const copy = bytes.slice();
  swapBytes(copy, DTYPE_SIZE[t.dtype]);
  return copy;
}

/** Writes tensors (contiguous, in sorted-name order) and string metadata to a safetensors file, atomically. */
export function writeSafetensors(file: string, tensors: TensorMap, metadata: Metadata = {}): void {
  const plan = planLayout(tensors, metadata);
  writeFileAtomic(file, (fd) => {
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(plan.header.length), true);
    writeAll(fd, len);
    writeAll(fd, plan.header);
    plan.names.forEach((name, i) => writeAll(fd, tensorBytes(name, tensors[name], plan.sizes[i])));
  });
}
