#!/usr/bin/python3
"""F16 and BF16 safetensors fixtures made by PyTorch, for lib/model/half.ts and the loader (issue 16).

Run from the repository root:  /usr/bin/python3 test/reference/make_half_fixtures.py
Writes test/fixtures/half/:
  values.safetensors   x (F32): special and random values; x_f16 = x.half() and x_bf16 = x.bfloat16() as PyTorch
                       stores them (F16 / BF16); x_f16_widened = x.half().float(), x_bf16_widened = x.bfloat16().float()
  gpt2-bf16/, gpt2-f16/  a Hugging Face folder (config.json + model.safetensors) of the test/fixtures/gpt2 case
                       gpt2_bias_plain with every weight cast by PyTorch to bfloat16 / float16, and expected.safetensors:
                       the logits of make_gpt2_fixtures.forward on those weights widened back to float32, for the
                       case's tokens.
The bytes of every half tensor are PyTorch's own (tensor.view(torch.int16)), not recomputed here.
Deterministic: fixed seed, single thread, sorted keys.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_gpt2_fixtures import forward  # noqa: E402
from safetensors_io import load_safetensors  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT_DIR = os.path.join(REPO, "test", "fixtures", "half")
GPT2_CASE = os.path.join(REPO, "test", "fixtures", "gpt2", "gpt2_bias_plain")


def raw_bytes(t):
    """(safetensors dtype, little-endian bytes) of a float32 / float16 / bfloat16 tensor, as PyTorch holds it."""
    t = t.detach().contiguous()
    if t.dtype == torch.float32:
        return "F32", t.numpy().astype("<f4").tobytes()
    if t.dtype in (torch.float16, torch.bfloat16):
        return ("F16" if t.dtype == torch.float16 else "BF16"), t.view(torch.int16).numpy().astype("<i2").tobytes()
    raise TypeError(f"unsupported dtype {t.dtype}")


def save(path, tensors, metadata=None):
    """safetensors writer for F32/F16/BF16 (sorted keys, header padded with spaces to 8 bytes)."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: metadata[k] for k in sorted(metadata)}
    for name in sorted(tensors):
        dtype, b = raw_bytes(tensors[name])
        header[name] = {"dtype": dtype, "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def special_values():
    f32 = np.float32
    tiny16 = 2.0**-24  # smallest F16 subnormal
    vals = [
        0.0, -0.0, 1.0, -1.0, 0.5, 1 / 3, -2 / 3, 3.14159265,
        65504.0, 65519.0, 65520.0, 70000.0, -1e6, 1e30, -3e38,  # F16 max, rounding to max or overflowing to inf
        tiny16, tiny16 * 0.5, tiny16 * 0.51, tiny16 * 1.5, tiny16 * 2.5, 2.0**-14, 2.0**-14 * 0.999, 1e-9, 1e-40,
        1.0 + 2.0**-11, 1.0 + 3 * 2.0**-11, 1.0 + 2.0**-8, 1.0 + 3 * 2.0**-8, 1.0 + 2.0**-9,  # ties for F16 and BF16
        float("inf"), float("-inf"), float("nan"),
    ]
    return np.array(vals, dtype=f32)


def main():
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(1616)
    os.makedirs(OUT_DIR, exist_ok=True)
    x = torch.cat([
        torch.from_numpy(special_values()),
        torch.randn(4000, generator=gen) * 0.02,  # weight-like
        torch.randn(4000, generator=gen) * 30.0,
        torch.randn(2000, generator=gen) * 1e-5,  # F16 subnormals
        torch.randn(2000, generator=gen) * 1e4,
    ]).float()
    h, bf = x.half(), x.bfloat16()
    save(os.path.join(OUT_DIR, "values.safetensors"), {
        "x": x, "x_f16": h, "x_bf16": bf, "x_f16_widened": h.float(), "x_bf16_widened": bf.float(),
    }, {"generator": "test/reference/make_half_fixtures.py", "torch": torch.__version__})

    # The tiny GPT-2 of a parity case, stored in 16 bits.
    params, _ = load_safetensors(os.path.join(GPT2_CASE, "params.safetensors"))
    case = json.load(open(os.path.join(GPT2_CASE, "case.json")))
    cfg = case["config"] if "config" in case else case
    tokens = torch.tensor(case["tokens"], dtype=torch.int64)
    for dtype, name in ((torch.bfloat16, "gpt2-bf16"), (torch.float16, "gpt2-f16")):
        d = os.path.join(OUT_DIR, name)
        os.makedirs(d, exist_ok=True)
        half = {k: torch.from_numpy(v).to(dtype) for k, v in params.items()}
        save(os.path.join(d, "model.safetensors"), half, {"format": "pt"})
        hf_cfg = {
            "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new",
            "n_layer": cfg["n_layer"], "n_head": cfg["n_head"], "n_embd": cfg["n_embd"], "vocab_size": cfg["vocab_size"],
            "n_positions": 32, "n_ctx": 32, "layer_norm_epsilon": 1e-5, "scale_attn_by_inverse_layer_idx": False,
            "attn_pdrop": 0.0, "embd_pdrop": 0.0, "resid_pdrop": 0.0,
            "torch_dtype": "bfloat16" if dtype == torch.bfloat16 else "float16",
        }
        with open(os.path.join(d, "config.json"), "w") as f:
            f.write(json.dumps(hf_cfg, indent=2, sort_keys=True) + "\n")
        with torch.no_grad():
            logits = forward({k: v.float() for k, v in half.items()}, tokens, dict(cfg, scale=False))
        save(os.path.join(OUT_DIR, f"{name}-expected.safetensors"), {"logits": logits.float()}, {"tokens": json.dumps(case["tokens"])})
    print(f"wrote {OUT_DIR}")


if __name__ == "__main__":
    main()
