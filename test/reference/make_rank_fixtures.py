#!/usr/bin/python3
"""Reference values for the attention-rank metric k*(tau) and the column-mass metric m*(eta)
(paper.md sections 1.5 and 1.7), computed in float64 with PyTorch.

Run from the repository root:  /usr/bin/python3 test/reference/make_rank_fixtures.py
Writes test/fixtures/rank/matrices.safetensors (F64 matrices) and test/fixtures/rank/rank.json.
Output is byte-deterministic.

Every matrix is checked so that no cumulative energy (or cumulative column mass) lies within
MARGIN of a threshold; random ones are redrawn until that holds, so a float32 implementation
cannot flip the answer.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import check_round_trip, save_safetensors  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT_DIR = os.path.join(REPO, "test", "fixtures", "rank")
GENERATOR = "test/reference/make_rank_fixtures.py"
TAUS = [0.8, 0.85, 0.9, 0.95]
ETA = 0.9
MARGIN = 1e-4  # far above float32 rounding of a cumulative sum of <= 40 terms (~1e-6)
DT = torch.float64


def k_star(s, tau):
    # Notebook rule: energy = s^2; cum = cumsum(energy / sum); searchsorted(left) + 1.
    energy = s ** 2
    total = energy.sum()
    if total == 0:
        return 0
    cum = torch.cumsum(energy / total, 0)
    return int(torch.searchsorted(cum, torch.tensor([tau], dtype=DT)).item()) + 1


def energy_cum(s):
    e = s ** 2
    return torch.cumsum(e / e.sum(), 0)


def mass_cum(A):
    col = (A ** 2).sum(0)  # squared column norms
    col_sorted = torch.sort(col, descending=True).values
    return torch.cumsum(col_sorted / col.sum(), 0), col / col.sum()


def m_star(A, eta):
    cum, _ = mass_cum(A)
    return int(torch.searchsorted(cum, torch.tensor([eta], dtype=DT)).item()) + 1


def min_margin(cum, thresholds):
    return min(float((cum - t).abs().min()) for t in thresholds)


def margins_ok(A):
    s = torch.linalg.svdvals(A)
    return min(min_margin(energy_cum(s), TAUS), min_margin(mass_cum(A)[0], [ETA])) > MARGIN


def causal_softmax(T, temp, gen):
    logits = torch.randn(T, T, generator=gen, dtype=DT) / temp
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    return torch.softmax(logits.masked_fill(~mask, float("-inf")), dim=-1)


def uniform_causal(T):
    return torch.ones(T, T, dtype=DT).tril() / torch.arange(1, T + 1, dtype=DT).unsqueeze(1)


def sink(T):
    A = torch.zeros(T, T, dtype=DT)
    A[:, 0] = 1.0  # every row puts all its mass on the first token: exactly 1 e_0^T
    return A


def redraw(make, gen, what):
    for _ in range(1000):
        A = make(gen)
        if margins_ok(A):
            return A
    raise RuntimeError(f"{what}: could not draw a matrix with threshold margin > {MARGIN}")


def build(gen):
    """Ordered list of (name, description, matrix)."""
    out = []
    for T, temp in [(10, 0.05), (16, 0.3), (24, 1.0), (32, 3.0), (40, 30.0)]:
        A = redraw(lambda g: causal_softmax(T, temp, g), gen, f"softmax T={T}")
        regime = "near one-hot" if temp < 0.1 else "near uniform" if temp > 10 else "intermediate"
        out.append((f"softmax_T{T}_temp{temp:g}", f"random causal softmax, logits N(0,1)/{temp:g} ({regime})", A))
    out.append(("sink_T20", "rank-1 first-token sink: A = 1 e_0^T", sink(20)))
    T = 25
    noisy = 0.9 * sink(T) + 0.1 * uniform_causal(T)
    out.append(("sink_eps0.1_T25", "eps-sink-collapsed: 0.9 * sink + 0.1 * uniform causal (row-stochastic)", noisy))
    out.append(("identity_T13", "identity (T chosen so k/T is not near any threshold)", torch.eye(13, dtype=DT)))
    out.append(("uniform_causal_T30", "uniform causal: row i = 1/(i+1) over j <= i", uniform_causal(30)))
    for T, r in [(20, 2), (36, 3)]:
        A = redraw(lambda g: torch.randn(T, r, generator=g, dtype=DT) @ torch.randn(r, T, generator=g, dtype=DT),
                   gen, f"lowrank T={T}")
        out.append((f"lowrank_T{T}_r{r}", f"random Gaussian product U (T x {r}) @ V ({r} x T)", A))

    def stoch(g, T=28, r=4):
        A = torch.rand(T, r, generator=g, dtype=DT) @ torch.rand(r, T, generator=g, dtype=DT)
        return A / A.sum(1, keepdim=True)

    out.append(("lowrank_stochastic_T28_r4", "nonnegative rank-4 product, rows normalised to sum 1", redraw(stoch, gen, "stoch")))
    for name, _, A in out:
        if not margins_ok(A):
            raise AssertionError(f"{name}: a cumulative value is within {MARGIN} of a threshold")
    return out


def main():
    torch.manual_seed(2024)
    gen = torch.Generator().manual_seed(2024)
    entries = build(gen)
    tensors, docs = {}, []
    for name, desc, A in entries:
        s = torch.linalg.svdvals(A)
        cum_e = energy_cum(s)
        cum_m, share = mass_cum(A)
        tensors[name] = A
        docs.append({
            "name": name,
            "description": desc,
            "shape": list(A.shape),
            "singular_values": s.tolist(),
            "energy_cumsum": cum_e.tolist(),
            "k_star": {f"{t:g}": k_star(s, t) for t in TAUS},
            "column_mass_share": share.tolist(),
            "m_star_eta0.9": m_star(A, ETA),
            "min_margin_to_thresholds": min(min_margin(cum_e, TAUS), min_margin(cum_m, [ETA])),
        })
    os.makedirs(OUT_DIR, exist_ok=True)
    meta = {"generator": GENERATOR, "torch_version": torch.__version__}
    path = os.path.join(OUT_DIR, "matrices.safetensors")
    save_safetensors(path, tensors, meta)
    check_round_trip(path, tensors, meta)
    doc = {
        "definitions": {
            "k_star": "s = torch.linalg.svdvals(A) (float64); energy = s**2; cum = cumsum(energy/energy.sum()); "
                      "k = torch.searchsorted(cum, tau) (left) + 1, i.e. the smallest k with cum[k-1] >= tau",
            "m_star": "col = squared column norms ||A[:,j]||^2; sort descending; cum = cumsum(col/||A||_F^2); "
                      "m = smallest m with cum[m-1] >= eta",
            "margin": f"every energy_cumsum entry is > {MARGIN:g} away from each tau, and every sorted column-mass "
                      f"cumsum entry is > {MARGIN:g} away from eta, so float32 rounding cannot change k* or m*",
        },
        "taus": TAUS,
        "eta": ETA,
        "matrices": docs,
        "torch_version": torch.__version__,
        "generator": GENERATOR,
    }
    with open(os.path.join(OUT_DIR, "rank.json"), "w") as f:
        f.write(json.dumps(doc, indent=1) + "\n")
    for d in docs:
        print(f"{d['name']:28s} k*={d['k_star']} m*={d['m_star_eta0.9']} margin={d['min_margin_to_thresholds']:.2e}")


if __name__ == "__main__":
    main()
