#!/usr/bin/env python3
"""Times Hugging Face tokenizers (Rust, via its Python bindings) on the unique
SQuAD v1.1 dev contexts, single-threaded, to compare with

    go test -run XXX -bench 'Encode' ./tokenizer/

which encodes the same contexts with the same tokenizers. Usage:

    TOKENIZERS_PARALLELISM=false python bench/tokenize_bench.py [--repeat N]
"""
import argparse
import json
import os
import sys
import time

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ.setdefault("RAYON_NUM_THREADS", "1")

from tokenizers import Tokenizer  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DATA = os.path.abspath(os.path.join(ROOT, "..", "shared", "data"))


def contexts():
    with open(os.path.join(DATA, "squad", "dev-v1.1-public.json"), encoding="utf-8") as f:
        data = json.load(f)["data"]
    seen, out = set(), []
    for art in data:
        for p in art["paragraphs"]:
            if p["context"] not in seen:
                seen.add(p["context"])
                out.append(p["context"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    ctxs = contexts()
    nbytes = sum(len(c.encode("utf-8")) for c in ctxs)
    print(f"{len(ctxs)} contexts, {nbytes / 1e6:.2f} MB")
    for name in ("bert-base-cased", "roberta-base", "t5-small"):
        tk = Tokenizer.from_file(os.path.join(DATA, "tokenizers", name, "tokenizer.json"))
        tk.no_truncation()
        tk.no_padding()
        for mode in ("encode", "encode_batch"):
            best = cpu_best = None
            ntok = 0
            for _ in range(args.repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                if mode == "encode":
                    encs = [tk.encode(c) for c in ctxs]
                else:
                    encs = tk.encode_batch(ctxs)
                dt, dc = time.perf_counter() - t0, time.process_time() - c0
                ntok = sum(len(e.ids) for e in encs)
                best = dt if best is None else min(best, dt)
                cpu_best = dc if cpu_best is None else min(cpu_best, dc)
            # Wall time suffers on a shared machine; CPU time (process_time,
            # all threads) is the steadier comparison with the Go benchmark's
            # tokens/cpu-s and MB/cpu-s.
            print(f"{name:18s} {mode:12s} wall {ntok / best:10,.0f} tokens/s {nbytes / best / 1e6:6.2f} MB/s | "
                  f"cpu {ntok / cpu_best:10,.0f} tokens/cpu-s {nbytes / cpu_best / 1e6:6.2f} MB/cpu-s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
