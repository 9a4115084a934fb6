#!/usr/bin/python3
"""PyTorch and CPython references for lib/eval (the lm-evaluation-harness port), written from the behaviour
described in /work/shared/reference/data.md section 3(c); nothing is copied from lm-eval.

Run from the repository root:  /usr/bin/python3 test/reference/make_eval_fixtures.py
Writes test/fixtures/eval/loglik.json (byte-deterministic: fixed seeds, one thread, sorted output).

1. Log-likelihood requests on the GPT-2 fixture models (test/fixtures/gpt2/<case>/params.safetensors, run by the
   reference model in make_gpt2_fixtures.py). Requests are token lists (the models have 64-128 token vocabularies):
   input = (context + continuation)[-(max_length+1):][:-1]; ll = sum of log_softmax(logits) at the continuation
   positions; is_greedy = every continuation token is the argmax. Some requests are longer than max_length, some
   continuations are the model's greedy continuation.
2. Rolling log-likelihoods: token windows as get_rolling_token_windows(context_len=1) + make_disjoint_window, with
   the prefix token V-1 standing in for EOT (50256 is outside these vocabularies) and a small max_length.
3. CPython string semantics the prompts rely on: str.capitalize/strip/lstrip/rstrip, len, UTF-8 length,
   len(re.split(r"\\s+", s)), the HellaSwag preprocess and the WikiText detokenizer.
"""
import json
import os
import re
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_gpt2_fixtures as ref  # noqa: E402
from safetensors_io import load_safetensors  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(REPO, "test", "fixtures", "eval", "loglik.json")
GENERATOR = "test/reference/make_eval_fixtures.py"
CASES = ["gpt2_bias_plain", "paper_nobias_scaled"]
MIN_MARGIN = 2e-4  # |logit[target] - best other logit| at every scored position, so float32 noise cannot flip is_greedy


def load_case(name):
    d = os.path.join(REPO, "test", "fixtures", "gpt2", name)
    with open(os.path.join(d, "case.json")) as f:
        c = json.load(f)["config"]
    arrays, _ = load_safetensors(os.path.join(d, "params.safetensors"))
    params = {k: torch.from_numpy(v) for k, v in arrays.items()}
    cfg = dict(n_layer=c["n_layer"], n_head=c["n_head"], n_embd=c["n_embd"], vocab_size=c["vocab_size"],
               bias=c["bias"], scale=c["scale_attn_by_inverse_layer_idx"])
    assert c["block_size"] == ref.BLOCK_SIZE
    return params, cfg


# ------------------------------------------------------------------------------------------------------------
# 1. Log-likelihood of one request, one sequence at a time (no batching, no padding).


@torch.no_grad()
def score(params, cfg, context, continuation, max_length, dtype=torch.float32):
    whole = context + continuation
    inp = whole[-(max_length + 1):][:-1]
    p = {k: v.to(dtype) for k, v in params.items()}
    logits = ref.forward(p, torch.tensor([inp]), cfg)[0]  # (T, V)
    n = len(continuation)
    sel = logits[len(inp) - n:]  # (n, V): position t predicts token t+1
    logp = F.log_softmax(sel, dim=-1)
    tgt = torch.tensor(continuation)
    picked = logp.gather(1, tgt.view(-1, 1)).view(-1)
    greedy = bool((sel.argmax(dim=-1) == tgt).all())
    # Distance of each target's logit from the best other logit.
    other = sel.clone()
    other[torch.arange(n), tgt] = float("-inf")
    margin = float((sel[torch.arange(n), tgt] - other.max(dim=-1).values).abs().min())
    return float(picked.double().sum()), greedy, margin, len(inp)


@torch.no_grad()
def greedy_continuation(params, cfg, context, n):
    toks = list(context)
    for _ in range(n):
        logits = ref.forward(params, torch.tensor([toks]), cfg)[0, -1]
        toks.append(int(logits.argmax()))
    return toks[len(context):]


def make_requests(params, cfg, gen):
    V = cfg["vocab_size"]
    rand = lambda n: torch.randint(0, V, (n,), generator=gen).tolist()  # noqa: E731
    # (context length, continuation length, max_length, kind)
    plan = [
        (5, 1, 32, "random"),
        (10, 4, 32, "random"),
        (1, 8, 32, "random"),
        (20, 15, 16, "random"),  # 35 tokens > max_length + 1: left-truncated
        (40, 3, 32, "random"),  # context alone longer than the block size
        (4, 16, 16, "random"),  # continuation exactly max_length: one context token survives
        (6, 3, 32, "greedy"),
        (9, 1, 32, "greedy"),
        (7, 4, 32, "greedy_but_last"),
        (12, 2, 8, "random"),
    ]
    out = []
    for ctx_len, cont_len, max_length, kind in plan:
        for attempt in range(200):
            ctx = rand(ctx_len)
            if kind == "random":
                cont = rand(cont_len)
            else:
                cont = greedy_continuation(params, cfg, ctx, cont_len)
                if kind == "greedy_but_last":
                    cont[-1] = (cont[-1] + 1 + int(torch.randint(0, V - 1, (1,), generator=gen))) % V
            ll, greedy, margin, inplen = score(params, cfg, ctx, cont, max_length)
            if margin >= MIN_MARGIN and (kind != "random" or not greedy):
                break
        else:
            raise RuntimeError(f"no request with margin >= {MIN_MARGIN} for {kind}")
        ll64, greedy64, _, _ = score(params, cfg, ctx, cont, max_length, torch.float64)
        assert greedy == greedy64
        assert greedy == (kind == "greedy"), (kind, greedy)
        out.append(dict(kind=kind, max_length=max_length, context=ctx, continuation=cont, ll=ll, ll_float64=ll64,
                        is_greedy=greedy, min_margin=margin, input_len=inplen,
                        truncated=len(ctx) + len(cont) > max_length + 1))
    return out


# ------------------------------------------------------------------------------------------------------------
# 2. Rolling windows.


def rolling_windows(tokens, prefix, max_seq_len):
    """Every token predicted once: first window [prefix] + t[:n-1] -> t[:n]; later windows predict the next
    max_seq_len tokens (context_len = 1) from the max_seq_len tokens before their last target; then the context is
    cut to what the targets do not already cover (make_disjoint_window)."""
    if not tokens:
        return []
    wins = []
    n = min(max_seq_len, len(tokens))
    wins.append(([prefix] + tokens[: n - 1], tokens[:n]))
    done = n
    while done < len(tokens):
        k = min(len(tokens) - done, max_seq_len)
        end = done + k
        wins.append((tokens[end - max_seq_len - 1: end - 1], tokens[end - k: end]))
        done = end
    # every token predicted exactly once, in order
    assert sum((w[1] for w in wins), []) == tokens
    return [(a[: len(a) - (len(b) - 1)], b) for a, b in wins]


def make_rolling(params, cfg, gen):
    V = cfg["vocab_size"]
    prefix = V - 1
    out = []
    for n_tokens, max_length in [(45, 16), (16, 16), (5, 16), (33, 16), (70, 32)]:
        tokens = torch.randint(0, V - 1, (n_tokens,), generator=gen).tolist()
        wins = rolling_windows(tokens, prefix, max_length)
        lls = [score(params, cfg, a, b, max_length)[0] for a, b in wins]
        out.append(dict(max_length=max_length, prefix_token=prefix, tokens=tokens,
                        windows=[[a, b] for a, b in wins], window_ll=lls, ll=sum(lls)))
    return out


# ------------------------------------------------------------------------------------------------------------
# 3. CPython string semantics.


def hellaswag_preprocess(text):
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    return text.replace("  ", " ")


def wikitext_detokenize(s):
    s = s.replace("s '", "s'")
    s = re.sub(r"/' [0-9]/", r"/'[0-9]/", s)
    for a, b in [(" @-@ ", "-"), (" @,@ ", ","), (" @.@ ", ".")]:
        s = s.replace(a, b)
    for p in [":", ";", ".", "!", "?", ","]:
        s = s.replace(" " + p + " ", p + " ")
    s = re.sub(r"\(\s*([^\)]*?)\s*\)", r"(\1)", s)
    s = re.sub(r"\[\s*([^\]]*?)\s*\]", r"[\1]", s)
    s = re.sub(r"{\s*([^}]*?)\s*}", r"{\1}", s)
    s = re.sub(r"\"\s*([^\"]*?)\s*\"", r'"\1"', s)
    s = re.sub(r"'\s*([^']*?)\s*'", r"'\1'", s)
    for a, b in [("= = = =", "===="), ("= = =", "==="), ("= =", "=="), (" \u00b0 ", "\u00b0"),
                 (" \n", "\n"), ("\n ", "\n"), (" N ", " 1 "), (" 's", "'s")]:
        s = s.replace(a, b)
    return s


STRINGS = [
    "the USA then", "ΣΣ", "ΑΣ Σ", "ǆemal", "ßa", "ﬁne", "ﬃx", "İSTANBUL", "ǰa", "éCOLE", "1st PLACE", "", " ",
    "\x1c lead\x1f", "a\x85b", "\ufeffx ", "\u00a0 mixed \u3000", "\t\ntabs\r\n", "ᾳ word", "ა Georgian", "x\u2028y ",
    " a b ", "emoji 😀 done ", "e\u0301t\u00e9",
]
HELLASWAG = [
    "  e0 [title] x.  ", "a [b] c [d]", "x [header] Step 1 [title] t", "a   b", "[a\nb] c", "[a\rb] c", "tab\t[ ]",
    "Fixture label: Fixture context a. Then", "[title] start", "no brackets  here",
]
HELLASWAG_QUERY = [
    ["Fixture label", "Fixture context a.", "then"],
    ["Label", "Context with the USA.", "the USA then"],
    ["L [title] x", "a [tag] b", "ΑΣ ΣΣ"],
]
WIKITEXT = [
    " = Fixture Title = \n Fixture text 1 @,@ 000 words @-@ long . \n",
    "the cats ' toys /' 5/ and ( a b ) [ x ] { y } \" q \" ' s ' done",
    " = = = = H = = = = \n = = S = = \n 10 ° C , N and it 's 3 @.@ 5 ! ok ? yes : no ; end \n",
    "( a ( b ) c ) ( unclosed \" open",
    "  lead  \n  trail  \n",
]


def python_text():
    return {
        "strings": [dict(s=s, capitalize=s.capitalize(), strip=s.strip(), lstrip=s.lstrip(), rstrip=s.rstrip(),
                         len=len(s), utf8=len(s.encode("utf-8")), split_ws=len(re.split(r"\s+", s)))
                    for s in STRINGS],
        "hellaswag_preprocess": [[s, hellaswag_preprocess(s)] for s in HELLASWAG],
        "hellaswag_query": [q + [hellaswag_preprocess(q[0] + ": " + q[1] + " " + q[2].capitalize())] for q in HELLASWAG_QUERY],
        "wikitext": [dict(page=s, detok=wikitext_detokenize(s), words=len(re.split(r"\s+", s)),
                          bytes=len(s.encode("utf-8"))) for s in WIKITEXT],
    }


def dump(obj, indent=0):
    """Readable, deterministic JSON: objects and lists of objects one item per line, flat lists on one line."""
    pad, pad1 = " " * indent, " " * (indent + 1)
    if isinstance(obj, dict):
        items = [f"{pad1}{json.dumps(k)}: {dump(obj[k], indent + 1)}" for k in sorted(obj)]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and obj and isinstance(obj[0], (dict, list)):
        return "[\n" + ",\n".join(pad1 + dump(v, indent + 1) for v in obj) + "\n" + pad + "]"
    return json.dumps(obj, ensure_ascii=True)


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    doc = {"generator": GENERATOR, "torch_version": torch.__version__, "python_version": sys.version.split()[0],
           "tolerance": {"ll_abs": 1e-4}, "cases": {}}
    for i, name in enumerate(CASES):
        params, cfg = load_case(name)
        gen = torch.Generator().manual_seed(7000 + i)
        doc["cases"][name] = {"vocab_size": cfg["vocab_size"], "requests": make_requests(params, cfg, gen),
                              "rolling": make_rolling(params, cfg, gen)}
        reqs = doc["cases"][name]["requests"]
        drift = max(abs(r["ll"] - r["ll_float64"]) for r in reqs)
        print(f"{name}: {len(reqs)} requests, {len(doc['cases'][name]['rolling'])} rolling docs, "
              f"float32 vs float64 ll max |diff| {drift:.2e}")
    doc["python_text"] = python_text()
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(dump(doc) + "\n")
    print(f"wrote {os.path.relpath(OUT, REPO)}")


if __name__ == "__main__":
    main()
