"""Minimal safetensors reader/writer (F32 / F64 only), shared by the fixture generators.

Format: 8-byte little-endian u64 header length N, then N bytes of UTF-8 JSON
{"name": {"dtype", "shape", "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}},
padded with spaces so that 8 + N is a multiple of 8, then the raw little-endian tensor bytes.
Offsets are relative to the first byte after the header. Tensors are stored contiguously in
sorted key order, and the JSON key order is fixed, so the output is byte-deterministic (and matches
lib/model/safetensors.ts's writer byte for byte).
"""
import json
import struct

import numpy as np

_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}
_NAMES = {np.dtype("<f4"): "F32", np.dtype("<f8"): "F64"}


def _to_numpy(t):
    # Accepts torch tensors or numpy arrays; torch is optional here.
    if hasattr(t, "detach"):
        t = t.detach().cpu().contiguous().numpy()
    a = np.asarray(t)
    dt = a.dtype.newbyteorder("<")
    if dt not in _NAMES:
        raise TypeError(f"unsupported dtype {a.dtype}: expected float32 or float64")
    return np.ascontiguousarray(a, dtype=dt)


def save_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> tensor/array; metadata: dict str -> str (stored under __metadata__)."""
    # Key order (as in the HF library and lib/model/safetensors.ts): "__metadata__" first, then tensors sorted
    # by name, each entry as {dtype, shape, data_offsets}.
    header = {}
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError(f"metadata must map str to str, got {k!r}: {type(v).__name__}")
        header["__metadata__"] = {k: metadata[k] for k in sorted(metadata)}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved and cannot be a tensor name")
        a = _to_numpy(tensors[name])
        raw = a.tobytes(order="C")
        header[name] = {
            "dtype": _NAMES[a.dtype],
            "shape": list(a.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        blobs.append(raw)
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    pad = (8 - (8 + len(hjson)) % 8) % 8
    hjson += b" " * pad
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for raw in blobs:
            f.write(raw)


def load_safetensors(path):
    """Returns (dict name -> numpy array, metadata dict). Checks that the byte buffer is fully covered."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    buf = data[8 + n :]
    metadata = header.pop("__metadata__", {})
    out = {}
    spans = []
    for name, info in header.items():
        dt = _DTYPES[info["dtype"]]
        b, e = info["data_offsets"]
        shape = tuple(info["shape"])
        count = int(np.prod(shape)) if shape else 1
        if e - b != count * dt.itemsize:
            raise ValueError(f"{name}: data_offsets {b}..{e} do not match shape {shape} x {dt.itemsize} bytes")
        out[name] = np.frombuffer(buf[b:e], dtype=dt).reshape(shape).copy()
        spans.append((b, e))
    spans.sort()
    pos = 0
    for b, e in spans:
        if b != pos:
            raise ValueError(f"gap or overlap in tensor data at byte {pos} (next tensor starts at {b})")
        pos = e
    if pos != len(buf):
        raise ValueError(f"tensor data covers {pos} bytes but the buffer has {len(buf)}")
    return out, metadata


def check_round_trip(path, tensors, metadata=None):
    """Re-reads path and asserts every tensor is bit-identical to the one written."""
    back, meta = load_safetensors(path)
    if set(back) != set(tensors):
        raise AssertionError(f"{path}: keys differ after round trip")
    for name, t in tensors.items():
        a = _to_numpy(t)
        if back[name].shape != a.shape or back[name].tobytes() != a.tobytes():
            raise AssertionError(f"{path}: tensor {name} differs after round trip")
    if (metadata or {}) != meta:
        raise AssertionError(f"{path}: metadata differs after round trip")
