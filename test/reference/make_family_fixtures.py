#!/usr/bin/python3
"""Llama-family and GPT-NeoX fixtures for lib/model/families (issue 18): small random-init Hugging Face folders and
the outputs of an independent float64 PyTorch forward written from the published modeling equations of
transformers' LlamaForCausalLM (Llama / Mistral / Qwen2) and GPTNeoXForCausalLM (Pythia). transformers is not
installed here; the equations below follow modeling_llama.py / modeling_gpt_neox.py (RMSNorm, rotate_half RoPE with
rope_theta and rope_scaling default / linear / llama3, repeat_kv, SwiGLU; fused per-head query_key_value, partial
rotary, parallel or sequential residual, GELU).

Run from the repository root:  /usr/bin/python3 test/reference/make_family_fixtures.py [case ...]
(with case names, only those folders are rewritten). Sliding-window cases (Mistral; Qwen2 with use_sliding_window and
max_window_layers) use T_WINDOWED tokens, more than their window.
Writes test/fixtures/families/<case>/: config.json, model.safetensors (or model-0000k-of-00002.safetensors +
model.safetensors.index.json for the sharded case), expected.safetensors (F64): tokens (B, T), logits (B, T, V),
loss (next-token cross-entropy over positions 0..T-2), and per layer l: pattern_l (B, nh, T, T), resid_pre_l and
resid_post_l (B, T, C). Half-precision cases store weights as PyTorch rounds them (.half() / .bfloat16()) and the
reference runs on those rounded values widened to float64.
Deterministic: fixed seeds, sorted keys.
"""
import json
import math
import os
import shutil
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_half_fixtures import save  # noqa: E402  (F32/F16/BF16 safetensors writer)
from safetensors_io import save_safetensors  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(REPO, "test", "fixtures", "families")
B, T = 2, 7


# ---- RoPE (modeling_rope_utils: _compute_default / _linear / _llama3_parameters) --------------------------------
def inv_freq(d, theta, scaling):
    inv = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    if not scaling or scaling.get("rope_type", scaling.get("type")) == "default":
        return inv
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind == "linear":
        return inv / scaling["factor"]
    assert kind == "llama3"
    factor, lo, hi, old = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"], scaling["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old / lo, old / hi
    wavelen = 2 * math.pi / inv
    inv_l = torch.where(wavelen > low_wavelen, inv / factor, inv)
    smooth = (old / wavelen - lo) / (hi - lo)
    smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
    medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
    return torch.where(medium, smoothed, inv_l)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope(x, d, theta, scaling):
    """x (B, n, T, hd): rotate the first d dims of each head."""
    pos = torch.arange(x.shape[2], dtype=torch.float64)
    freqs = torch.outer(pos, inv_freq(d, theta, scaling))
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    xr, xp = x[..., :d], x[..., d:]
    return torch.cat((xr * cos + rotate_half(xr) * sin, xp), dim=-1)


def layer_window(cfg, l):
    """Sliding window of layer l, or None (plainly causal). Mistral: every layer, sliding_window defaults to 4096
    and null disables it (MistralConfig). Qwen2: only with use_sliding_window, then layer_types if given, else the
    layers l >= max_window_layers (default 28) (Qwen2Config; Qwen2Attention in transformers 4.4x)."""
    if cfg["model_type"] == "mistral":
        return cfg.get("sliding_window", 4096)
    if cfg["model_type"] == "qwen2" and cfg.get("use_sliding_window", False) and cfg.get("sliding_window", 4096) is not None:
        if cfg.get("layer_types") is not None:
            return cfg.get("sliding_window", 4096) if cfg["layer_types"][l] == "sliding_attention" else None
        return cfg.get("sliding_window", 4096) if l >= cfg.get("max_window_layers", 28) else None
    return None


def attend(q, k, v, nh, nkv, hd, rec, l, window=None):
    """q (B, nh, T, hd), k/v (B, nkv, T, hd) after RoPE -> (B, T, nh*hd); records the pattern. With a window W, query
    i sees keys i - W < j <= i (transformers masking_utils: sliding_window_overlay `kv_idx > q_idx - sliding_window`
    and causal `kv_idx <= q_idx`)."""
    B, _, T, _ = q.shape
    rep = nh // nkv
    k = k[:, :, None].expand(B, nkv, rep, T, hd).reshape(B, nh, T, hd)  # repeat_kv
    v = v[:, :, None].expand(B, nkv, rep, T, hd).reshape(B, nh, T, hd)
    s = q @ k.transpose(-1, -2) / math.sqrt(hd)
    masked = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)  # the future: j > i
    if window is not None:
        masked = masked | torch.tril(torch.ones(T, T, dtype=torch.bool), -window)  # too far back: j <= i - W
    s = s.masked_fill(masked, float("-inf"))
    p = torch.softmax(s, dim=-1)
    rec[f"pattern_{l}"] = p
    return (p @ v).transpose(1, 2).reshape(B, T, nh * hd)


def lin(x, W, b=None):
    y = x @ W.T
    return y if b is None else y + b


# ---- Llama (LlamaDecoderLayer) -------------------------------------------------------------------------------------
def llama_forward(cfg, W, ids):
    C, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    hd = C // nh
    eps = cfg["rms_norm_eps"]

    def rms(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    B, T = ids.shape
    rec = {}
    x = W["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        g = lambda n: W.get(p + n)  # noqa: E731
        rec[f"resid_pre_{l}"] = x
        h = rms(x, g("input_layernorm.weight"))
        q = lin(h, g("self_attn.q_proj.weight"), g("self_attn.q_proj.bias")).view(B, T, nh, hd).transpose(1, 2)
        k = lin(h, g("self_attn.k_proj.weight"), g("self_attn.k_proj.bias")).view(B, T, nkv, hd).transpose(1, 2)
        v = lin(h, g("self_attn.v_proj.weight"), g("self_attn.v_proj.bias")).view(B, T, nkv, hd).transpose(1, 2)
        q = rope(q, hd, cfg["rope_theta"], cfg.get("rope_scaling"))
        k = rope(k, hd, cfg["rope_theta"], cfg.get("rope_scaling"))
        x = x + lin(attend(q, k, v, nh, nkv, hd, rec, l, layer_window(cfg, l)), g("self_attn.o_proj.weight"), g("self_attn.o_proj.bias"))
        h = rms(x, g("post_attention_layernorm.weight"))
        gate = lin(h, g("mlp.gate_proj.weight"))
        x = x + lin(torch.nn.functional.silu(gate) * lin(h, g("mlp.up_proj.weight")), g("mlp.down_proj.weight"))
        rec[f"resid_post_{l}"] = x
    x = rms(x, W["model.norm.weight"])
    head = W.get("lm_head.weight", W["model.embed_tokens.weight"])
    return x @ head.T, rec


# ---- GPT-NeoX (GPTNeoXLayer) -----------------------------------------------------------------------------------------
def neox_forward(cfg, W, ids):
    C, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = C // nh
    rd = int(hd * cfg["rotary_pct"])
    eps = cfg["layer_norm_eps"]
    act = {"gelu": lambda t: torch.nn.functional.gelu(t), "gelu_new": lambda t: torch.nn.functional.gelu(t, approximate="tanh")}[cfg["hidden_act"]]

    def ln(x, n):
        return torch.nn.functional.layer_norm(x, (C,), W[n + ".weight"], W[n + ".bias"], eps)

    B, T = ids.shape
    rec = {}
    x = W["gpt_neox.embed_in.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = f"gpt_neox.layers.{l}."
        rec[f"resid_pre_{l}"] = x
        qkv = lin(ln(x, p + "input_layernorm"), W[p + "attention.query_key_value.weight"], W[p + "attention.query_key_value.bias"])
        qkv = qkv.view(B, T, nh, 3 * hd).transpose(1, 2)  # per head [q | k | v]
        q, k, v = qkv[..., :hd], qkv[..., hd:2 * hd], qkv[..., 2 * hd:]
        q = rope(q, rd, cfg["rotary_emb_base"], cfg.get("rope_scaling"))
        k = rope(k, rd, cfg["rotary_emb_base"], cfg.get("rope_scaling"))
        a = lin(attend(q, k, v, nh, nh, hd, rec, l), W[p + "attention.dense.weight"], W[p + "attention.dense.bias"])

        def mlp(y):
            u = lin(ln(y, p + "post_attention_layernorm"), W[p + "mlp.dense_h_to_4h.weight"], W[p + "mlp.dense_h_to_4h.bias"])
            return lin(act(u), W[p + "mlp.dense_4h_to_h.weight"], W[p + "mlp.dense_4h_to_h.bias"])

        if cfg["use_parallel_residual"]:
            x = mlp(x) + a + x
        else:
            y = a + x
            x = mlp(y) + y
        rec[f"resid_post_{l}"] = x
    x = ln(x, "gpt_neox.final_layer_norm")
    return x @ W["embed_out.weight"].T, rec


# ---- random weights -----------------------------------------------------------------------------------------------
def llama_weights(cfg, g):
    C, nh, V, M = cfg["hidden_size"], cfg["num_attention_heads"], cfg["vocab_size"], cfg["intermediate_size"]
    nkv = cfg.get("num_key_value_heads", nh)
    hd = C // nh
    r = lambda *s, sd=0.2: torch.randn(*s, generator=g, dtype=torch.float32) * sd  # noqa: E731
    W = {"model.embed_tokens.weight": r(V, C, sd=1.0), "model.norm.weight": 1 + r(C, sd=0.1)}
    if not cfg["tie_word_embeddings"]:
        W["lm_head.weight"] = r(V, C)
    bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        W.update({p + "input_layernorm.weight": 1 + r(C, sd=0.1), p + "post_attention_layernorm.weight": 1 + r(C, sd=0.1),
                  p + "self_attn.q_proj.weight": r(nh * hd, C, sd=0.4), p + "self_attn.k_proj.weight": r(nkv * hd, C, sd=0.4),
                  p + "self_attn.v_proj.weight": r(nkv * hd, C), p + "self_attn.o_proj.weight": r(C, nh * hd),
                  p + "mlp.gate_proj.weight": r(M, C), p + "mlp.up_proj.weight": r(M, C), p + "mlp.down_proj.weight": r(C, M)})
        if bias:
            W.update({p + "self_attn.q_proj.bias": r(nh * hd), p + "self_attn.k_proj.bias": r(nkv * hd), p + "self_attn.v_proj.bias": r(nkv * hd)})
    return W


def neox_weights(cfg, g):
    C, V, M = cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
    r = lambda *s, sd=0.2: torch.randn(*s, generator=g, dtype=torch.float32) * sd  # noqa: E731
    W = {"gpt_neox.embed_in.weight": r(V, C, sd=1.0), "embed_out.weight": r(V, C),
         "gpt_neox.final_layer_norm.weight": 1 + r(C, sd=0.1), "gpt_neox.final_layer_norm.bias": r(C, sd=0.1)}
    for l in range(cfg["num_hidden_layers"]):
        p = f"gpt_neox.layers.{l}."
        for n in ("input_layernorm", "post_attention_layernorm"):
            W[p + n + ".weight"] = 1 + r(C, sd=0.1)
            W[p + n + ".bias"] = r(C, sd=0.1)
        W.update({p + "attention.query_key_value.weight": r(3 * C, C, sd=0.4), p + "attention.query_key_value.bias": r(3 * C),
                  p + "attention.dense.weight": r(C, C), p + "attention.dense.bias": r(C),
                  p + "mlp.dense_h_to_4h.weight": r(M, C), p + "mlp.dense_h_to_4h.bias": r(M),
                  p + "mlp.dense_4h_to_h.weight": r(C, M), p + "mlp.dense_4h_to_h.bias": r(C)})
    return W


LLAMA_BASE = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 32, "num_attention_heads": 4,
              "num_key_value_heads": 2, "num_hidden_layers": 2, "intermediate_size": 48, "vocab_size": 64,
              "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "hidden_act": "silu",
              "tie_word_embeddings": False, "attention_bias": False, "torch_dtype": "float32",
              # llama3 scaling with a short original context, so that all three frequency bands occur at head size 8
              "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                               "original_max_position_embeddings": 256}}
QWEN2 = {**LLAMA_BASE, "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "num_key_value_heads": 4,
         "tie_word_embeddings": True, "rope_theta": 10000.0, "rms_norm_eps": 1e-6, "use_sliding_window": False,
         "rope_scaling": {"type": "linear", "factor": 2.0}}
NEOX_BASE = {"architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox", "hidden_size": 32, "num_attention_heads": 4,
             "num_hidden_layers": 2, "intermediate_size": 128, "vocab_size": 64, "max_position_embeddings": 64,
             "layer_norm_eps": 1e-5, "rotary_pct": 0.25, "rotary_emb_base": 10000, "hidden_act": "gelu",
             "use_parallel_residual": True, "tie_word_embeddings": False, "torch_dtype": "float32"}
NEOX_SEQ = {**NEOX_BASE, "use_parallel_residual": False, "rotary_pct": 0.5, "hidden_act": "gelu_new"}
# Sliding windows shorter than the sequence (T_WINDOWED tokens), so that the band cuts the causal triangle.
MISTRAL_SWA = {**LLAMA_BASE, "architectures": ["MistralForCausalLM"], "model_type": "mistral", "rope_theta": 10000.0,
               "rope_scaling": None, "sliding_window": 3}
QWEN2_SWA = {**QWEN2, "num_hidden_layers": 3, "use_sliding_window": True, "sliding_window": 3, "max_window_layers": 1}
T_WINDOWED = 8

# (case, config, weight maker, forward, dtype, sharded)
CASES = [
    ("llama_gqa_llama3", LLAMA_BASE, llama_weights, llama_forward, torch.float32, False),
    ("llama_gqa_llama3_bf16", LLAMA_BASE, llama_weights, llama_forward, torch.bfloat16, True),
    ("llama_gqa_llama3_f16", LLAMA_BASE, llama_weights, llama_forward, torch.float16, False),
    ("qwen2_tied_linear", QWEN2, llama_weights, llama_forward, torch.float32, False),
    ("neox_parallel", NEOX_BASE, neox_weights, neox_forward, torch.float32, False),
    ("neox_parallel_bf16", NEOX_BASE, neox_weights, neox_forward, torch.bfloat16, True),
    ("neox_parallel_f16", NEOX_BASE, neox_weights, neox_forward, torch.float16, False),
    ("neox_sequential", NEOX_SEQ, neox_weights, neox_forward, torch.float32, False),
    # appended, so that the seeds (from each case's index) of the cases above stay as they were
    ("mistral_sliding_window", MISTRAL_SWA, llama_weights, llama_forward, torch.float32, False),
    ("qwen2_sliding_layers", QWEN2_SWA, llama_weights, llama_forward, torch.float32, False),
]
WINDOWED = {"mistral_sliding_window", "qwen2_sliding_layers"}


def write_sharded(d, W):
    names = sorted(W)
    halves = [names[: len(names) // 2], names[len(names) // 2:]]
    weight_map, total = {}, 0
    for i, part in enumerate(halves):
        fname = f"model-{i + 1:05d}-of-{len(halves):05d}.safetensors"
        save(os.path.join(d, fname), {n: W[n] for n in part}, {"format": "pt"})
        for n in part:
            weight_map[n] = fname
            total += W[n].numel() * W[n].element_size()
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)


def main(only):
    """only: case names to (re)write, the others untouched; empty: every case, from an empty folder."""
    torch.set_num_threads(1)
    unknown = set(only) - {c[0] for c in CASES}
    if unknown:
        sys.exit(f"unknown case(s) {sorted(unknown)}; cases: {[c[0] for c in CASES]}")
    if not only and os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for i, (name, cfg, make, fwd, dtype, sharded) in enumerate(CASES):
        if only and name not in only:
            continue
        base = name.replace("_bf16", "").replace("_f16", "")  # half cases round the weights of their float32 case
        g = torch.Generator().manual_seed(1000 + [c[0] for c in CASES].index(base))
        W = {k: v.to(dtype) for k, v in make(cfg, g).items()}  # the stored (rounded) weights
        d = os.path.join(OUT, name)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        cfg = {**cfg, "torch_dtype": {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}[dtype]}
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
        if sharded:
            write_sharded(d, W)
        else:
            save(os.path.join(d, "model.safetensors"), W, {"format": "pt"})
        W64 = {k: v.to(torch.float64) for k, v in W.items()}
        ids = torch.randint(0, cfg["vocab_size"], (B, T_WINDOWED if name in WINDOWED else T), generator=torch.Generator().manual_seed(7 + i))
        logits, rec = fwd(cfg, W64, ids)
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, cfg["vocab_size"]), ids[:, 1:].reshape(-1))
        out = {"tokens": ids.to(torch.float64), "logits": logits, "loss": loss.reshape(1), **rec}
        save_safetensors(os.path.join(d, "expected.safetensors"), out)
        print(f"{name}: loss {loss.item():.6f}, {sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
