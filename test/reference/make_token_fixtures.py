#!/usr/bin/python3
"""Token files written by NumPy, for the uint16 / uint32 readers of lib/data/formats.ts (test/data/token-width.test.ts).

Run from the repository root:  /usr/bin/python3 test/reference/make_token_fixtures.py
Writes test/fixtures/tokens/:
  ids.json                     the ids every file below holds, in order (ids above 65535, Llama 3's 128000 BOS,
                               and 2^31 - 1, the largest id an int32 batch holds)
  u4.npy                       np.save of a 1-D np.uint32 array (NumPy writes descr '<u4' on little-endian machines)
  u2.npy                       np.save of the ids that fit uint16 (the first 8), as np.uint16 ('<u2')
  llama3_val_000000.bin        llm.c's "llama-3" shard layout: 256 x int32 header {20240801, 7, n, 0...}, then n x
                               uint32 (magic and version as in llm.c dev/data/data_common.py HEADERS_INFO)
  raw_u4.bin                   the ids as raw little-endian uint32 (np.ndarray.tofile), no header
The header is built here with NumPy from that description; no llm.c code is copied. Deterministic (fixed ids).
"""
import json
import os

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT_DIR = os.path.join(REPO, "test", "fixtures", "tokens")

IDS = [0, 1, 50256, 65535, 7, 300, 11, 12, 65536, 70000, 128000, 128255, 128000, 5, 99999, 2**31 - 1, 3, 128001]


def main() -> None:
    os.makedirs(OUT_DIR, exist_ok=True)
    ids = np.array(IDS, dtype=np.uint32)
    assert ids.dtype.str == "<u4", ids.dtype.str
    np.save(os.path.join(OUT_DIR, "u4.npy"), ids)
    np.save(os.path.join(OUT_DIR, "u2.npy"), ids[:8].astype(np.uint16))
    header = np.zeros(256, dtype=np.int32)
    header[0] = 20240801
    header[1] = 7
    header[2] = len(ids)
    with open(os.path.join(OUT_DIR, "llama3_val_000000.bin"), "wb") as f:
        f.write(header.astype("<i4").tobytes())
        f.write(ids.astype("<u4").tobytes())
    ids.astype("<u4").tofile(os.path.join(OUT_DIR, "raw_u4.bin"))
    with open(os.path.join(OUT_DIR, "ids.json"), "w") as f:
        json.dump({"ids": IDS, "u2": IDS[:8]}, f)
        f.write("\n")
    # Read back with NumPy: what the TypeScript readers must agree with.
    assert np.load(os.path.join(OUT_DIR, "u4.npy")).tolist() == IDS
    assert np.load(os.path.join(OUT_DIR, "u2.npy")).tolist() == IDS[:8]
    assert np.fromfile(os.path.join(OUT_DIR, "llama3_val_000000.bin"), dtype="<u4", offset=1024).tolist() == IDS
    assert np.fromfile(os.path.join(OUT_DIR, "raw_u4.bin"), dtype="<u4").tolist() == IDS
    print(f"wrote {OUT_DIR}")


if __name__ == "__main__":
    main()
