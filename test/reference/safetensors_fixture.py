"""Independent reference for lib/model/safetensors.ts: writes a small safetensors file with NumPy and Python's json
(no safetensors package needed) and the values NumPy decodes from it, for test/model/safetensors.test.ts.

    /usr/bin/python3 test/reference/safetensors_fixture.py   # writes test/fixtures/safetensors/numpy-mixed.*

The header is deliberately left unpadded (its length is not a multiple of 8) so tensor data sits at unaligned file
offsets, which readers must handle. Also records a SHA-256 over NumPy's float16 -> float32 conversion of all 65536
bit patterns (NaNs canonicalised), checked against our F16 decoder.
"""
import hashlib
import json
import os
import struct

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), '..', 'fixtures', 'safetensors')


def f32_bits(a):
    return [f'{int(x):08x}' for x in np.asarray(a, dtype=np.float32).view(np.uint32).ravel()]


def main():
    os.makedirs(OUT, exist_ok=True)
    f16 = np.array([[1.0, -2.5, 65504.0], [6.1035156e-05, 5.9604645e-08, -0.0]], dtype=np.float16)
    f16 = np.concatenate([f16.ravel(), np.array([np.inf, -np.inf], dtype=np.float16)]).reshape(2, 4)
    f32_for_bf16 = np.array([1.0, -3.140625, 1e-3, 3.0e38, -0.0, 2.0 ** -130], dtype=np.float32)
    bf16 = (f32_for_bf16.view(np.uint32) >> 16).astype('<u2')  # truncation: exactly what a BF16 file stores
    f64 = np.array([0.1, -1e-300, 1e300, 3.0], dtype=np.float64)
    i64 = np.array([[0, -1, 2147483647], [-2147483648, 7, 42]], dtype='<i8')
    u8 = np.arange(5, dtype=np.uint8)
    tensors = [('a.f16', 'F16', f16.astype('<f2')), ('b.bf16', 'BF16', bf16.reshape(2, 3)), ('c.f64', 'F64', f64.astype('<f8')),
               ('d.i64', 'I64', i64), ('e.u8', 'U8', u8)]
    header = {'__metadata__': {'made_by': 'numpy'}}
    blobs = []
    offset = 0
    for name, dtype, arr in tensors:
        b = arr.tobytes()
        header[name] = {'dtype': dtype, 'shape': list(arr.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    hjson = json.dumps(header).encode()
    if len(hjson) % 8 == 0:  # want an unaligned buffer start
        header['__metadata__']['made_by'] = 'numpy (unaligned)'
        hjson = json.dumps(header).encode()
    assert len(hjson) % 8 != 0
    with open(os.path.join(OUT, 'numpy-mixed.safetensors'), 'wb') as f:
        f.write(struct.pack('<Q', len(hjson)) + hjson + b''.join(blobs))

    allf = np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float32)
    bits = allf.view(np.uint32).copy()
    bits[np.isnan(allf)] = 0x7FC00000
    expected = {
        'a.f16': {'shape': list(f16.shape), 'f32_bits': f32_bits(f16.astype(np.float32))},
        'b.bf16': {'shape': [2, 3], 'f32_bits': f32_bits((bf16.astype(np.uint32) << 16).view(np.float32))},
        'c.f64': {'shape': [4], 'values': f64.tolist()},
        'd.i64': {'shape': [2, 3], 'values': i64.ravel().tolist()},
        'e.u8': {'shape': [5], 'values': u8.tolist()},
        'f16_all_patterns_sha256': hashlib.sha256(bits.astype('<u4').tobytes()).hexdigest(),
        'f16_nan_count': int(np.isnan(allf).sum()),
        'numpy': np.__version__,
    }
    with open(os.path.join(OUT, 'numpy-mixed.json'), 'w') as f:
        json.dump(expected, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
