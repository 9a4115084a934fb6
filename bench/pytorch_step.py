#!/usr/bin/python3
"""PyTorch's time for the same training step as bench/train-step.ts, on this machine, now.

    /usr/bin/python3 bench/pytorch_step.py --config D --threads 2 --steps 30 --warmup 3

Started by bench/run.ts when Debian's python3-torch is installed, so that PyTorch and our kernels are timed on the
same CPU under the same load, instead of against numbers written down once. Prints one `RESULT {json}` line.

The step mirrors bench/common.ts: a nanoGPT-shaped GPT-2 (pre-LN blocks, no Linear biases (LayerNorm keeps
its bias: torch 1.13 has no bias=False, and a (C,) add is noise in the time), tanh GELU, tied head, causal
attention through masked_fill + softmax, as nanoGPT does without flash attention), float32, cross-entropy over
the whole vocabulary, loss.backward(), then torch.optim.AdamW (lr 6e-4, betas 0.9/0.95, weight decay 0.1 on the
2-D weights), no gradient clipping (our bench step has none). Config C runs in micro-batches like ours does, so
the same tokens go through the same update.
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# layers, heads, width, block, batch, vocab, micro-batches: bench/common.ts BENCH_CONFIGS
CONFIGS = {
    "A": (4, 4, 128, 128, 8, 50304, 1),
    "B": (6, 6, 384, 256, 8, 50304, 2),
    "C": (12, 12, 768, 256, 4, 50304, 4),
    "D": (4, 4, 128, 128, 8, 512, 1),
    "E": (24, 16, 1024, 256, 4, 50304, 1),  # GPT-2 Medium (issue 16)
}


class Block(nn.Module):
    def __init__(self, n_head, n_embd, block):
        super().__init__()
        self.n_head = n_head
        self.ln_1 = nn.LayerNorm(n_embd)
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=False)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=False)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.fc = nn.Linear(n_embd, 4 * n_embd, bias=False)
        self.proj = nn.Linear(4 * n_embd, n_embd, bias=False)
        self.register_buffer("mask", torch.tril(torch.ones(block, block, dtype=torch.bool)).view(1, 1, block, block))

    def attention(self, x):
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))  # (B, nh, T, T)
        att = att.masked_fill(~self.mask[:, :, :T, :T], float("-inf"))
        y = F.softmax(att, dim=-1) @ v  # (B, nh, T, hs)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    def forward(self, x):
        x = x + self.attention(self.ln_1(x))
        return x + self.proj(F.gelu(self.fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, n_layer, n_head, n_embd, block, vocab):
        super().__init__()
        self.wte = nn.Embedding(vocab, n_embd)
        self.wpe = nn.Embedding(block, n_embd)
        self.blocks = nn.ModuleList(Block(n_head, n_embd, block) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, 0.0, 0.02)

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for blk in self.blocks:
            x = blk(x)
        logits = self.ln_f(x) @ self.wte.weight.t()  # tied head, (B, T, V)
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="D", choices=sorted(CONFIGS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--budget-s", type=float, default=600.0)
    ap.add_argument("--micro", type=int, default=0, help="micro-batches per step (default: as our bench, see CONFIGS)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    L, H, C, T, B, V, micro = CONFIGS[a.config]
    micro = a.micro or micro
    if B % micro:
        raise SystemExit(f"--micro {micro} does not divide the batch {B}")
    model = GPT(L, H, C, T, V)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=6e-4, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(7)
    steps_ms, losses = [], []
    t_start = time.perf_counter()
    for s in range(a.warmup + a.steps):
        idx = torch.randint(V, (B, T), generator=gen)
        tgt = torch.randint(V, (B, T), generator=gen)
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        rows = B // micro
        total = 0.0
        for m in range(micro):
            loss = model(idx[m * rows:(m + 1) * rows], tgt[m * rows:(m + 1) * rows]) / micro
            loss.backward()
            total += loss.item()
        opt.step()
        ms = (time.perf_counter() - t0) * 1000
        if s >= a.warmup:
            steps_ms.append(ms)
            losses.append(total)
            if (time.perf_counter() - t_start) > a.budget_s:
                break
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps({"config": a.config, "threads": a.threads, "microBatches": micro, "torch": torch.__version__,
                                  "stepsMs": steps_ms, "losses": losses, "peakRssMB": peak_mb}))


if __name__ == "__main__":
    main()
