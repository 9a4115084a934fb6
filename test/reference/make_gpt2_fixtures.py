#!/usr/bin/python3
"""Reference GPT-2 (nanoGPT / Hugging Face semantics) in PyTorch, written from the spec in
/work/shared/reference/paper.md section 7.3, and fixture writer for the TypeScript parity tests.

Run from the repository root:  /usr/bin/python3 test/reference/make_gpt2_fixtures.py
Writes test/fixtures/gpt2/<case>/{case.json, params.safetensors, expected.safetensors}.
Output is byte-deterministic (single thread, fixed seeds, sorted keys).

Parameters live directly in Hugging Face GPT2LMHeadModel layout (Conv1D weights are [in, out], so a
linear layer is x @ W + b); no transposes are needed on export. lm_head is tied to wte and not stored.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import check_round_trip, save_safetensors  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT_DIR = os.path.join(REPO, "test", "fixtures", "gpt2")
GENERATOR = "test/reference/make_gpt2_fixtures.py"

LN_EPS = 1e-5
B, T, BLOCK_SIZE = 2, 16, 32
ADAMW = dict(lr=1e-3, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1, grad_clip=1.0, steps=10)
GEN_PROMPT_LEN, GEN_NEW = 4, 8
GREEDY_MIN_MARGIN = 2e-4  # top-1 minus top-2 logit at every greedy step, so float32 noise cannot flip argmax

CASES = [
    dict(name="gpt2_bias_plain", seed=1001, n_layer=2, n_head=4, n_embd=32, vocab_size=128, bias=True, scale=False),
    dict(name="paper_nobias_scaled", seed=1002, n_layer=3, n_head=4, n_embd=32, vocab_size=96, bias=False, scale=True),
    dict(name="bias_scaled", seed=1003, n_layer=2, n_head=2, n_embd=16, vocab_size=64, bias=True, scale=True),
    dict(name="nobias_plain", seed=1004, n_layer=2, n_head=4, n_embd=32, vocab_size=128, bias=False, scale=False),
    # Current nanoGPT: nn.GELU(), the exact erf GELU (HF activation_function "gelu"), biases off.
    # mlp.c_fc weights x40 so the GELU inputs are O(1): there the exact and tanh GELUs differ by up to ~3e-4
    # (near 0 they agree to ~1e-7, and a small-init fixture could not tell them apart).
    dict(name="nanogpt_exact_gelu", seed=1005, n_layer=2, n_head=4, n_embd=32, vocab_size=128, bias=False, scale=False,
         activation="gelu", fc_scale=40.0),
]

INIT_DESCRIPTION = (
    "nanoGPT init: Linear (Conv1D) weights and wte/wpe ~ N(0, 0.02), biases 0, LayerNorm weight 1 / bias 0; "
    "then every attn.c_proj.weight and mlp.c_proj.weight ~ N(0, 0.02/sqrt(2*n_layer)). "
    "Then perturbed so every parameter matters: Linear biases += N(0, 0.02), LayerNorm weights = 1 + N(0, 0.1), "
    "LayerNorm biases = N(0, 0.02) (bias keys only exist when bias=true). "
    "All draws from one torch.Generator seeded with `seed`, in parameter creation order."
)


# ----------------------------------------------------------------------------------------------------------
# Parameters


def param_shapes(cfg):
    """Ordered (name, shape, kind) in HF layout. kind drives init: emb / w / proj / b / lnw / lnb."""
    C, V, L = cfg["n_embd"], cfg["vocab_size"], cfg["n_layer"]
    out = [("transformer.wte.weight", (V, C), "emb"), ("transformer.wpe.weight", (BLOCK_SIZE, C), "emb")]

    def ln(prefix):
        out.append((prefix + ".weight", (C,), "lnw"))
        if cfg["bias"]:
            out.append((prefix + ".bias", (C,), "lnb"))

    def linear(prefix, n_in, n_out, kind):
        out.append((prefix + ".weight", (n_in, n_out), kind))
        if cfg["bias"]:
            out.append((prefix + ".bias", (n_out,), "b"))

    for l in range(L):
        h = f"transformer.h.{l}"
        ln(h + ".ln_1")
        linear(h + ".attn.c_attn", C, 3 * C, "w")
        linear(h + ".attn.c_proj", C, C, "proj")
        ln(h + ".ln_2")
        linear(h + ".mlp.c_fc", C, 4 * C, "w")
        linear(h + ".mlp.c_proj", 4 * C, C, "proj")
    ln("transformer.ln_f")
    return out


def init_params(cfg, gen):
    shapes = param_shapes(cfg)
    proj_std = 0.02 / math.sqrt(2 * cfg["n_layer"])
    params = {}
    # Pass 1: nanoGPT _init_weights (every Linear / Embedding N(0, 0.02), biases 0, LN weight 1).
    for name, shape, kind in shapes:
        if kind in ("emb", "w", "proj"):
            params[name] = torch.randn(shape, generator=gen) * 0.02
        elif kind == "lnw":
            params[name] = torch.ones(shape)
        else:
            params[name] = torch.zeros(shape)
    # Pass 2: nanoGPT's special scaled init of the residual projections.
    for name, shape, kind in shapes:
        if kind == "proj":
            params[name] = torch.randn(shape, generator=gen) * proj_std
    # Pass 3: perturbation, so biases and LayerNorm affine parameters are exercised by the forward test.
    for name, shape, kind in shapes:
        if kind == "b":
            params[name] = params[name] + torch.randn(shape, generator=gen) * 0.02
        elif kind == "lnw":
            params[name] = 1.0 + torch.randn(shape, generator=gen) * 0.1
        elif kind == "lnb":
            params[name] = torch.randn(shape, generator=gen) * 0.02
    return {k: v.float().contiguous() for k, v in params.items()}


# ----------------------------------------------------------------------------------------------------------
# Model (vectorised)


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


def gelu_exact(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def activation(cfg):
    """The MLP nonlinearity: tanh GELU (GPT-2's gelu_new, the default) or exact erf GELU (nn.GELU())."""
    return gelu_exact if cfg.get("activation", "gelu_new") == "gelu" else gelu_tanh


def layer_norm(x, p, prefix):
    C = x.shape[-1]
    return F.layer_norm(x, (C,), p[prefix + ".weight"], p.get(prefix + ".bias"), LN_EPS)


def linear(x, p, prefix):
    y = x @ p[prefix + ".weight"]  # HF Conv1D: weight is [in, out]
    b = p.get(prefix + ".bias")
    return y if b is None else y + b


def forward(p, idx, cfg, record=None):
    """idx (B, T) int64 -> logits (B, T, V). record: dict filled with pattern.{l} and resid_post.{l}."""
    Bn, Tn = idx.shape
    C, nh = cfg["n_embd"], cfg["n_head"]
    hs = C // nh
    if Tn > BLOCK_SIZE:
        raise ValueError(f"sequence length {Tn} exceeds block_size {BLOCK_SIZE}")
    wte = p["transformer.wte.weight"]
    x = wte[idx] + p["transformer.wpe.weight"][:Tn]  # (B, T, C)
    causal = torch.ones(Tn, Tn, dtype=torch.bool).tril()
    for l in range(cfg["n_layer"]):
        h = f"transformer.h.{l}"
        a_in = layer_norm(x, p, h + ".ln_1")
        qkv = linear(a_in, p, h + ".attn.c_attn")  # (B, T, 3C)
        q, k, v = qkv.split(C, dim=2)
        q = q.view(Bn, Tn, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(Bn, Tn, nh, hs).transpose(1, 2)
        v = v.view(Bn, Tn, nh, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))  # (B, nh, T, T)
        if cfg["scale"]:
            att = att / float(l + 1)
        att = att.masked_fill(~causal, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(Bn, Tn, C)
        x = x + linear(y, p, h + ".attn.c_proj")
        m = activation(cfg)(linear(layer_norm(x, p, h + ".ln_2"), p, h + ".mlp.c_fc"))
        x = x + linear(m, p, h + ".mlp.c_proj")
        if record is not None:
            record[f"pattern.{l}"] = att.detach().clone()
            record[f"resid_post.{l}"] = x.detach().clone()
    x = layer_norm(x, p, "transformer.ln_f")
    return x @ wte.t()  # tied lm_head


def loss_fn(logits, targets):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


# ----------------------------------------------------------------------------------------------------------
# Independent naive implementation (float64, explicit loops) used only to check the vectorised one.


def naive_forward(p, idx, cfg):
    p = {k: v.double() for k, v in p.items()}
    C, nh = cfg["n_embd"], cfg["n_head"]
    hs = C // nh
    Bn, Tn = idx.shape

    def ln(vec, prefix):
        mu = vec.mean()
        var = ((vec - mu) ** 2).mean()
        out = (vec - mu) / math.sqrt(var.item() + LN_EPS) * p[prefix + ".weight"]
        return out + p[prefix + ".bias"] if prefix + ".bias" in p else out

    def lin(vec, prefix):
        out = torch.einsum("i,io->o", vec, p[prefix + ".weight"])
        return out + p[prefix + ".bias"] if prefix + ".bias" in p else out

    logits = torch.zeros(Bn, Tn, cfg["vocab_size"], dtype=torch.float64)
    for b in range(Bn):
        xs = [p["transformer.wte.weight"][idx[b, t]] + p["transformer.wpe.weight"][t] for t in range(Tn)]
        for l in range(cfg["n_layer"]):
            h = f"transformer.h.{l}"
            qkv = [lin(ln(xt, h + ".ln_1"), h + ".attn.c_attn") for xt in xs]
            new = []
            for t in range(Tn):
                heads = []
                for hd in range(nh):
                    sl = slice(hd * hs, (hd + 1) * hs)
                    q = qkv[t][sl]
                    scores = [float((q * qkv[j][C:][sl]).sum()) / math.sqrt(hs) / (l + 1 if cfg["scale"] else 1)
                              for j in range(t + 1)]  # keys only up to t: causal by construction
                    mx = max(scores)
                    w = [math.exp(s - mx) for s in scores]
                    z = sum(w)
                    heads.append(sum((w[j] / z) * qkv[j][2 * C:][sl] for j in range(t + 1)))
                xt = xs[t] + lin(torch.cat(heads), h + ".attn.c_proj")
                u = lin(ln(xt, h + ".ln_2"), h + ".mlp.c_fc")
                if cfg.get("activation", "gelu_new") == "gelu":
                    u = 0.5 * u * (1 + torch.erf(u / math.sqrt(2)))
                else:
                    u = 0.5 * u * (1 + torch.tanh(math.sqrt(2 / math.pi) * (u + 0.044715 * u ** 3)))
                new.append(xt + lin(u, h + ".mlp.c_proj"))
            xs = new
        for t in range(Tn):
            logits[b, t] = p["transformer.wte.weight"] @ ln(xs[t], "transformer.ln_f")
    return logits


# ----------------------------------------------------------------------------------------------------------
# Training and generation


def decay_groups(params):
    decay = [n for n, v in params.items() if v.dim() >= 2]
    no_decay = [n for n, v in params.items() if v.dim() < 2]
    return decay, no_decay


def train(params0, tokens, targets, cfg, dtype=torch.float32):
    """10 AdamW steps on one fixed batch. Returns (losses, grad_norms, first-step grads, final params)."""
    p = {k: v.clone().to(dtype).requires_grad_(True) for k, v in params0.items()}
    decay, no_decay = decay_groups(p)
    opt = torch.optim.AdamW(
        [
            {"params": [p[n] for n in decay], "weight_decay": ADAMW["weight_decay"]},
            {"params": [p[n] for n in no_decay], "weight_decay": 0.0},
        ],
        lr=ADAMW["lr"], betas=(ADAMW["beta1"], ADAMW["beta2"]), eps=ADAMW["eps"], foreach=False,
    )
    losses, norms, grads0 = [], [], None
    for step in range(ADAMW["steps"]):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(forward(p, tokens, cfg), targets)
        loss.backward()
        if step == 0:
            grads0 = {k: v.grad.detach().clone() for k, v in p.items()}
        norm = torch.nn.utils.clip_grad_norm_(list(p.values()), ADAMW["grad_clip"])
        losses.append(float(loss.item()))
        norms.append(float(norm.item()))
        opt.step()
    final = {k: v.detach().clone() for k, v in p.items()}
    return losses, norms, grads0, final


@torch.no_grad()
def greedy(params, prompt, cfg):
    idx = torch.tensor([prompt], dtype=torch.long)
    margins = []
    for _ in range(GEN_NEW):
        ctx = idx[:, -BLOCK_SIZE:]  # crop to block_size (never triggers here: 4 + 8 < 32)
        last = forward(params, ctx, cfg)[0, -1]
        top2 = torch.topk(last, 2).values
        margins.append(float(top2[0] - top2[1]))
        idx = torch.cat([idx, last.argmax().view(1, 1)], dim=1)
    return idx[0].tolist(), min(margins)


# ----------------------------------------------------------------------------------------------------------
# Output


def dump_json(obj, indent=0):
    """Readable JSON: dicts one key per line, lists of scalars (and lists of such lists) on one line each."""
    pad, pad1 = "  " * indent, "  " * (indent + 1)
    if isinstance(obj, dict):
        items = [f"{pad1}{json.dumps(k)}: {dump_json(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and obj and isinstance(obj[0], list):
        return "[\n" + ",\n".join(pad1 + json.dumps(r) for r in obj) + "\n" + pad + "]"
    return json.dumps(obj)


def max_rel(a, b):
    return float(((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item())


def make_case(case):
    seed = case["seed"]
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    cfg = dict(case)
    V = cfg["vocab_size"]
    if cfg["n_embd"] % cfg["n_head"]:
        raise ValueError(f"n_embd ({cfg['n_embd']}) must be divisible by n_head ({cfg['n_head']})")

    params = init_params(cfg, gen)
    if "fc_scale" in cfg:
        for k in params:
            if k.endswith("mlp.c_fc.weight"):
                params[k] = (params[k] * cfg["fc_scale"]).contiguous()
    tokens = torch.randint(0, V, (B, T), generator=gen)
    targets = torch.randint(0, V, (B, T), generator=gen)

    # Forward with activation records.
    rec = {}
    with torch.no_grad():
        logits = forward(params, tokens, cfg, record=rec)
        loss0 = float(loss_fn(logits, targets).item())

    # Self-checks of the reference itself.
    gelu_err = (gelu_tanh(torch.linspace(-6, 6, 1001)) - F.gelu(torch.linspace(-6, 6, 1001), approximate="tanh")).abs().max()
    assert gelu_err < 1e-6, f"gelu mismatch {gelu_err}"
    erf_err = (gelu_exact(torch.linspace(-6, 6, 1001)) - F.gelu(torch.linspace(-6, 6, 1001))).abs().max()
    assert erf_err < 1e-6, f"exact gelu mismatch {erf_err}"
    naive = naive_forward(params, tokens, cfg)
    vec64 = forward({k: v.double() for k, v in params.items()}, tokens, cfg)
    naive_err = max_rel(vec64, naive)
    assert naive_err < 1e-10, f"vectorised vs naive float64 forward differ: {naive_err}"
    f32_vs_f64 = max_rel(logits.double(), naive)

    losses, norms, grads, final = train(params, tokens, targets, cfg)
    assert abs(losses[0] - loss0) < 1e-6, (losses[0], loss0)
    # Same trajectory in float64: shows how far an exact float32 implementation can legitimately drift.
    losses64, norms64, grads64, final64 = train(params, tokens, targets, cfg, dtype=torch.float64)
    drift = {
        "logits_max_rel": f32_vs_f64,
        "grads_max_rel": max(max_rel(grads[k].double(), grads64[k]) for k in grads),
        "losses_max_abs": max(abs(a - b) for a, b in zip(losses, losses64)),
        "grad_norms_max_rel": max(abs(a - b) / b for a, b in zip(norms, norms64)),
        "final_params_max_abs": max(float((final[k].double() - final64[k]).abs().max()) for k in final),
    }

    # Greedy generation from the initial parameters; pick a prompt whose argmaxes are not near-ties.
    for attempt in range(100):
        prompt = torch.randint(0, V, (GEN_PROMPT_LEN,), generator=gen).tolist()
        greedy_tokens, margin = greedy(params, prompt, cfg)
        if margin >= GREEDY_MIN_MARGIN:
            break
    else:
        raise RuntimeError(f"{case['name']}: no prompt with greedy margin >= {GREEDY_MIN_MARGIN}")

    decay, no_decay = decay_groups(params)
    out = os.path.join(OUT_DIR, case["name"])
    os.makedirs(out, exist_ok=True)
    meta = {"case": case["name"], "generator": GENERATOR, "torch_version": torch.__version__}

    save_safetensors(os.path.join(out, "params.safetensors"), params, meta)
    check_round_trip(os.path.join(out, "params.safetensors"), params, meta)

    expected = {"logits": logits}
    expected.update(rec)
    expected.update({"grad." + k: v for k, v in grads.items()})
    expected.update({"final." + k: v for k, v in final.items()})
    save_safetensors(os.path.join(out, "expected.safetensors"), expected, meta)
    check_round_trip(os.path.join(out, "expected.safetensors"), expected, meta)

    doc = {
        "config": {
            "n_layer": cfg["n_layer"], "n_head": cfg["n_head"], "n_embd": cfg["n_embd"], "block_size": BLOCK_SIZE,
            "vocab_size": V, "bias": cfg["bias"], "scale_attn_by_inverse_layer_idx": cfg["scale"], "dropout": 0,
            "layer_norm_eps": LN_EPS, **({"activation_function": cfg["activation"]} if "activation" in cfg else {}),
        },
        "B": B, "T": T, "seed": seed,
        "init": INIT_DESCRIPTION + (f" Then every mlp.c_fc.weight x {cfg['fc_scale']}." if "fc_scale" in cfg else ""),
        "tokens": tokens.tolist(),
        "targets": targets.tolist(),
        "loss": loss0,
        "adamw": {
            "lr": ADAMW["lr"], "beta1": ADAMW["beta1"], "beta2": ADAMW["beta2"], "eps": ADAMW["eps"],
            "weight_decay": ADAMW["weight_decay"], "grad_clip": ADAMW["grad_clip"],
            "decay_rule": "params with dim >= 2 decay (nanoGPT configure_optimizers), others not; wte counts once (tied)",
            "decay_params": decay, "no_decay_params": no_decay,
            "update": "torch.optim.AdamW (torch 1.13, foreach=False), constant lr, no schedule: p *= 1 - lr*wd; "
                      "m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps); "
                      "g is the gradient after clip_grad_norm_(all params, grad_clip)",
            "steps": ADAMW["steps"],
            "losses": losses,
            "grad_norms": norms,
        },
        "generate": {
            "prompt": prompt, "max_new_tokens": GEN_NEW, "greedy_tokens": greedy_tokens,
            "params": "initial (params.safetensors)", "min_top2_logit_margin": margin,
        },
        "expected_keys": {
            "logits": "[B,T,V] from params.safetensors and tokens",
            "pattern.{l}": "[B,n_head,T,T] post-softmax attention of layer l (masked entries are exactly 0)",
            "resid_post.{l}": "[B,T,C] residual stream after block l",
            "grad.{param}": "d(mean CE loss)/d(param) at params.safetensors, before clipping, HF layout; "
                            "wte gradient is embedding + tied-head contribution",
            "final.{param}": "parameters after the 10 AdamW steps",
        },
        "float32_vs_float64_drift": drift,
        "self_checks": {"vectorised_vs_naive_loop_float64_logits_max_rel": naive_err, "gelu_vs_torch_tanh_gelu": float(gelu_err)},
        "torch_version": torch.__version__,
        "generator": GENERATOR,
    }
    with open(os.path.join(out, "case.json"), "w") as f:
        f.write(dump_json(doc) + "\n")
    return doc


def main():
    torch.set_num_threads(1)  # reproducible reductions
    torch.use_deterministic_algorithms(True)
    for case in CASES:
        doc = make_case(case)
        a = doc["adamw"]
        print(f"{case['name']}: loss {doc['loss']:.6f} -> {a['losses'][-1]:.6f} after {a['steps']} steps; "
              f"drift {json.dumps(doc['float32_vs_float64_drift'])}")


if __name__ == "__main__":
    main()
