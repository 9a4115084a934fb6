#!/usr/bin/python3
"""Reference values for the sink diagnostics (lib/metrics/sinks.ts), computed in float64 with PyTorch from their
definitions: sink mass (mean attention on key 0 over query rows i >= 5), attention entropy over the uniform-causal
entropy, ||x_0|| / median_t ||x_t||, block influence 1 - mean_t cos(x_in, x_out) (ShortGPT) and the angular distance
arccos(cos) / pi at the last position (Gromov et al.).

Run from the repository root:  /usr/bin/python3 test/reference/make_sink_fixtures.py
Writes test/fixtures/sinks/sinks.json. Output is deterministic (seeded generator, values printed with repr).
T is odd, so the median of T norms is one element and torch.median's lower-middle rule does not matter.
"""
import json
import os

import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(REPO, "test", "fixtures", "sinks", "sinks.json")
DT = torch.float64
B, H, T, C = 3, 2, 17, 8
FIRST_ROW = 5

g = torch.Generator().manual_seed(20261206)

# Attention patterns: causal softmax of random logits; head 1 of every window gets a growing bonus on key 0.
logits = torch.randn(B, H, T, T, generator=g, dtype=DT) * 2.0
logits[:, 1, :, 0] += torch.linspace(0.0, 6.0, B, dtype=DT).view(B, 1)
mask = torch.ones(T, T, dtype=torch.bool).tril()
logits = logits.masked_fill(~mask, float("-inf"))
pattern = torch.softmax(logits, dim=-1)

sink_mass = pattern[:, :, FIRST_ROW:, 0].mean(dim=-1)  # (B, H)
p = pattern[:, :, 1:, :]
ent = -(torch.where(p > 0, p * torch.log(p), torch.zeros_like(p))).sum(dim=-1).sum(dim=-1)  # (B, H), rows 1..T-1
uniform = torch.log(torch.arange(2, T + 1, dtype=DT)).sum()
entropy_fraction = ent / uniform

# Residuals: random, with a massive activation on position 0 of window 2; the output is the input plus an update.
x_in = torch.randn(B, T, C, generator=g, dtype=DT)
x_in[2, 0] *= 25.0
x_out = x_in + 0.7 * torch.randn(B, T, C, generator=g, dtype=DT)
norms = x_in.norm(dim=-1)  # (B, T)
ratio = norms[:, 0] / norms.median(dim=-1).values
cos = torch.nn.functional.cosine_similarity(x_in, x_out, dim=-1)  # (B, T)
block_influence = 1.0 - cos.mean(dim=-1)
angular = torch.arccos(cos[:, -1].clamp(-1, 1)) / torch.pi


def flat(t):
    return [float(v) for v in t.reshape(-1).tolist()]


out = {
    "generator": "test/reference/make_sink_fixtures.py",
    "torch": torch.__version__,
    "shape": {"B": B, "H": H, "T": T, "C": C, "firstRow": FIRST_ROW},
    "pattern": flat(pattern),
    "x_in": flat(x_in),
    "x_out": flat(x_out),
    "expected": {
        "sinkMass": flat(sink_mass),
        "entropyFraction": flat(entropy_fraction),
        "normRatio": flat(ratio),
        "blockInfluence": flat(block_influence),
        "angularDistance": flat(angular),
    },
}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump(out, f, indent=0)
    f.write("\n")
print(f"wrote {OUT}")
