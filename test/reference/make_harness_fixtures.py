#!/usr/bin/python3
"""CPython references for lib/eval/pyrandom.ts and the harness's bootstrap stderr (lib/eval/stats.ts).

Run from the repository root:  python3 test/reference/make_harness_fixtures.py   (CPython 3.11; no packages)
Writes test/fixtures/eval/pyrandom.json (deterministic).

1. random.Random: the first draws of genrand (getrandbits(32)) and random() for several seeds, shuffle of a range,
   sample (both of its methods: the pool for small populations, set rejection for large ones), choices.
2. Bootstrap stderr as lm-evaluation-harness describes it (lm_eval/api/metrics.py bootstrap_stderr and
   _bootstrap_internal at HEAD, lm_eval/metrics.py at v0.3.0): chunks of min(1000, iters) resamples, chunk i drawn
   with random.Random(i).choices(xs, k=len(xs)); the statistic (perplexity = exp(-mean)) of each resample; then the
   sample standard deviation (n - 1) of all replicates. Written here from that description; the harness is not
   imported. Also mean_stderr = sample_stddev / sqrt(n).
3. What the harness's sample logs hold (lm_eval/evaluator.py, lm_eval/loggers/evaluation_tracker.py): str() of
   floats and booleans, json.dumps(doc, indent=2, ensure_ascii=False) (hashed into doc_hash) and
   json.dumps(sample, ensure_ascii=False) of nested lists, dicts, floats, ints and control characters.
"""
import json
import math
import os
import random

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(REPO, "test", "fixtures", "eval", "pyrandom.json")


def mean(arr):
    return sum(arr) / len(arr)


def sample_stddev(arr):
    mu = mean(arr)
    return math.sqrt(sum([(x - mu) ** 2 for x in arr]) / (len(arr) - 1))


def perplexity(items):
    return math.exp(-mean(items))


def bootstrap(f, xs, iters):
    res = []
    chunk = min(1000, iters)
    for i in range(iters // chunk):
        rnd = random.Random()
        rnd.seed(i)
        for _ in range(chunk):
            res.append(f(rnd.choices(xs, k=len(xs))))
    return sample_stddev(res)


def main():
    out = {"generator": "test/reference/make_harness_fixtures.py", "python": ".".join(map(str, __import__("sys").version_info[:3]))}
    seeds = []
    for s in [0, 1, 42, 1234, 2**32 + 5, 2**40 + 3]:
        r = random.Random(s)
        bits = [r.getrandbits(32) for _ in range(700 if s in (0, 1234) else 20)]  # 700 crosses a regeneration of the state
        floats = [r.random() for _ in range(5)]
        seeds.append({"seed": s, "uint32": bits, "random": floats})
    out["seeds"] = seeds
    shuffles = []
    for s, n in [(42, 10), (42, 37), (7, 1)]:
        x = list(range(n))
        random.Random(s).shuffle(x)
        shuffles.append({"seed": s, "n": n, "result": x})
    out["shuffle"] = shuffles
    samples = []
    for s, n, k in [(1234, 10, 6), (1234, 1000, 6), (1234, 30, 3), (42, 200, 26), (1234, 5, 5), (3, 22, 1)]:
        r = random.Random(s)
        samples.append({"seed": s, "n": n, "k": k, "first": r.sample(range(n), k), "second": r.sample(range(n), k)})
    out["sample"] = samples
    out["choices"] = [{"seed": s, "n": n, "k": k, "result": random.Random(s).choices(range(n), k=k)} for s, n, k in [(0, 7, 20), (5, 1000, 10)]]
    # Log-likelihoods with a spread like LAMBADA's (a fixed list written out, not model outputs).
    lls = [-0.5 - 0.37 * ((i * 7919) % 23) - (1.9 if i % 5 == 0 else 0.0) for i in range(57)]
    out["bootstrap"] = {
        "lls": lls,
        "perplexity": perplexity(lls),
        "stderr_iters_100000": bootstrap(perplexity, lls, 100000),
        "stderr_iters_2500": bootstrap(perplexity, lls, 2500),  # 2 chunks of 1000 (the 500 left over are dropped)
        "mean_stderr_of_acc": sample_stddev([float(i % 3 == 0) for i in range(57)]) / math.sqrt(57),
    }
    floats = [0.0, -0.0, 1.0, -2.0, 0.1, -1.2345678901234567, 1e-05, 0.0001, 1.5e-07, 123456.789, 1e16, 9999999999999998.0,
              1.2345e+20, -3.0000000000000004, 5e-324, 1.7976931348623157e308, 2.5, 100.0, 0.00012345]
    out["py_str"] = {"floats": floats, "float_str": [str(x) for x in floats], "bools": [str(True), str(False)]}
    # The docs travel as JSON text: the fixture file is written with sorted keys, which would reorder them.
    docs = [
        {"goal": "fixture \"goal\"\n\ttab \u00e9 \u4e2d \u2028 \x01 end", "sol1": "a", "label": 1, "n": None, "ok": True,
         "nested": {"list": [1, 2.5, "x"], "empty": [], "obj": {}}},
        {"query": "q", "choices": ["one", "two"], "gold": 0, "label": "0", "ppl": -12.75},
    ]
    out["json"] = [{"doc_json": json.dumps(d), "indent2": json.dumps(d, indent=2, ensure_ascii=False), "flat": json.dumps(d, ensure_ascii=False)} for d in docs]
    with open(OUT, "w") as f:
        json.dump(out, f, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
