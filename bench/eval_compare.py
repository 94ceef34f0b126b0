#!/usr/bin/env python3
"""Throughput of `ask eval` against transformers' question-answering pipeline
on the same checkpoint and the same SQuAD v1.1 questions, in one run.

    ~/.venvs/askref/bin/python bench/eval_compare.py MODEL_DIR [--limit N] [--threads T]

Both sides answer the first N questions (default 500) with the pipeline's
default parameters; Python runs fp32 eager with torch.set_num_threads(T) and
batch_size 1 (the pipeline's default), ask with its default batching. Prints
questions/s for both and their ratio, and the EM/F1 each reached (they must
agree, as the answers do).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--limit", type=int, default=500)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "squad", "dev-v1.1-public.json"))
    ap.add_argument("--ask", default=None, help="ask binary (default: build one)")
    args = ap.parse_args()

    ask = args.ask
    if ask is None:
        ask = os.path.join(tempfile.mkdtemp(), "ask")
        subprocess.run(["go", "build", "-o", ask, "./cmd/ask"], cwd=ROOT, check=True)

    # ask
    t0 = time.time()
    out = subprocess.run([ask, "eval", "--model", args.model, "--limit", str(args.limit), "--threads", str(args.threads),
                          "--json", args.data], check=True, capture_output=True, text=True)
    ask_wall = time.time() - t0
    ask_res = json.loads(out.stdout)

    # Python pipeline
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer, pipeline
    from transformers.data.metrics import squad_metrics

    torch.set_num_threads(args.threads)
    t0 = time.time()
    model = AutoModelForQuestionAnswering.from_pretrained(args.model, dtype=torch.float32, attn_implementation="eager").eval()
    tok = AutoTokenizer.from_pretrained(args.model)
    pipe = pipeline("question-answering", model=model, tokenizer=tok)
    load = time.time() - t0
    data = json.load(open(args.data))["data"]
    qs = [(q["id"], q["question"], p["context"], [a["text"] for a in q["answers"]])
          for a in data for p in a["paragraphs"] for q in p["qas"]][: args.limit]
    t0 = time.time()
    em = f1 = 0.0
    for _, q, c, golds in qs:
        r = pipe(question=q, context=c)
        pred = r["answer"] if isinstance(r, dict) else (r[0]["answer"] if r else "")
        em += max(squad_metrics.compute_exact(g, pred) for g in golds)
        f1 += max(squad_metrics.compute_f1(g, pred) for g in golds)
    py_s = time.time() - t0
    n = len(qs)
    py_qps = n / py_s
    ask_qps = ask_res["questions_per_second"]
    print(f"model {args.model}, {n} questions of {os.path.basename(args.data)}, {args.threads} threads")
    print(f"ask eval:        {ask_qps:7.1f} questions/s  (EM {ask_res['metrics']['exact_match']:.2f}, F1 {ask_res['metrics']['f1']:.2f}; whole command {ask_wall:.1f} s)")
    print(f"python pipeline: {py_qps:7.1f} questions/s  (EM {100*em/n:.2f}, F1 {100*f1/n:.2f}; load {load:.1f} s)")
    print(f"ask / python throughput: {ask_qps/py_qps:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
