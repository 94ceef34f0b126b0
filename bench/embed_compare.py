#!/usr/bin/env python3
"""Sentence-embedding throughput, side by side in one run: ask vs ONNX
Runtime vs sentence-transformers (PyTorch), on the same all-MiniLM-L6-v2
weights and the same 1,000 SQuAD sentences, batch 32, the same threads.

    ~/.venvs/askref/bin/python bench/embed_compare.py --minilm DIR [--ask /tmp/ask] [--rounds 3] [--threads 2] [--json out.json]

DIR is what tools/reference/fetch_minilm.sh writes (a sentence-transformers
folder). Every engine runs in its own subprocess per round, engines
interleaved (ORT, sentence-transformers, ask, again), because this VM drifts
over minutes; each round reports texts/s and the ratios ask/ORT and ask/ST,
and the summary the medians.

What each engine's time covers, from texts in to normalised vectors out,
after a warm-up pass over the same texts:
  - ask: `ask embed --stats`, embed_ms = tokenization + forward + pooling
    inside the model (the built-in float16 copy or --model DIR); sorts by
    length and batches 32.
  - sentence-transformers: SentenceTransformer.encode(batch_size=32), which
    sorts by length itself; torch.set_num_threads(T).
  - ONNX Runtime: the model exported with torch.onnx (opset 17, dynamic
    axes), all graph optimisations, intra_op_num_threads=T; the fast
    tokenizer, texts sorted by length and padded per batch of 32 (as the
    other two do), mean pooling and normalisation in numpy.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sentences(n):
    with open(os.path.join(REPO, "..", "shared", "data", "squad", "dev-v1.1-public.json")) as f:
        data = json.load(f)["data"]
    out = []
    for art in data:
        for para in art["paragraphs"]:
            for s in para["context"].split(". "):
                s = s.strip()
                if len(s) > 10:
                    out.append(s)
                if len(out) == n:
                    return out
    return out


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    fl = set(line.split(":")[1].split())
                    return sorted(x for x in fl if x.startswith("avx") or x in ("fma", "f16c", "amx_int8"))
    except OSError:
        pass
    return []


def worker_st(minilm, texts, threads, batch):
    import torch
    from sentence_transformers import SentenceTransformer
    torch.set_num_threads(threads)
    m = SentenceTransformer(minilm, device="cpu")
    m.encode(texts, batch_size=batch)
    t = time.perf_counter()
    m.encode(texts, batch_size=batch)
    return {"texts_per_s": len(texts) / (time.perf_counter() - t), "version": __import__("sentence_transformers").__version__}


def export_onnx(minilm, path):
    import torch
    from transformers import AutoModel
    import warnings
    bert = AutoModel.from_pretrained(minilm, dtype=torch.float32).eval()

    class Hidden(torch.nn.Module):
        # Keyword arguments in, the last hidden state out: what the exporter
        # traces cleanly.
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    model = Hidden().eval()
    ids = torch.ones((2, 8), dtype=torch.int64)
    axes = {n: {0: "batch", 1: "sequence"} for n in ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (ids, ids, torch.zeros_like(ids)), path + ".tmp",
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17,
                          do_constant_folding=True, dynamo=False)
    os.replace(path + ".tmp", path)


def worker_ort(minilm, onnx_path, texts, threads, batch):
    import numpy as np
    import onnxruntime as ort
    from transformers import AutoTokenizer
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    tok = AutoTokenizer.from_pretrained(minilm)

    def run():
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = [None] * len(texts)
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            enc = tok([texts[i] for i in idx], padding=True, truncation=True, max_length=256, return_tensors="np")
            h = sess.run(None, {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
                                "token_type_ids": enc["token_type_ids"]})[0]
            m = enc["attention_mask"][..., None].astype(np.float32)
            v = (h * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
            v /= np.clip(np.linalg.norm(v, axis=1, keepdims=True), 1e-12, None)
            for j, i in enumerate(idx):
                out[i] = v[j]
        return out
    run()
    t = time.perf_counter()
    run()
    return {"texts_per_s": len(texts) / (time.perf_counter() - t), "version": ort.__version__}


def run_ask(ask, model, texts_file, threads, batch):
    args = [ask, "embed", "--stats", "--threads", str(threads), "--batch", str(batch)]
    if model:
        args += ["--model", model]
    best = None
    for _ in range(2):  # the first run warms the page cache and the CPU
        with open(texts_file) as f:
            p = subprocess.run(args, stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
        best = json.loads(p.stderr.strip().splitlines()[-1])
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minilm", required=True)
    ap.add_argument("--ask", default="/tmp/ask")
    ap.add_argument("--ask-model", default="", help="--model for ask embed (default: the built-in float16 copy)")
    ap.add_argument("--texts", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json")
    ap.add_argument("--worker")
    ap.add_argument("--onnx", default="/tmp/ask-bench-models/minilm-embed.onnx")
    a = ap.parse_args()
    texts = sentences(a.texts)
    if a.worker == "st":
        print(json.dumps(worker_st(a.minilm, texts, a.threads, a.batch)))
        return
    if a.worker == "ort":
        print(json.dumps(worker_ort(a.minilm, a.onnx, texts, a.threads, a.batch)))
        return
    if not os.path.exists(a.ask):
        subprocess.run(["go", "build", "-o", a.ask, "./cmd/ask"], cwd=REPO, check=True)
    os.makedirs(os.path.dirname(a.onnx), exist_ok=True)
    if not os.path.exists(a.onnx):
        export_onnx(a.minilm, a.onnx)
    texts_file = "/tmp/ask-bench-models/embed-texts.jsonl"
    with open(texts_file, "w") as f:
        for t in texts:
            f.write(json.dumps({"text": t}) + "\n")
    env = dict(os.environ)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, flags: {' '.join(cpu_flags())}")
    print(f"# {len(texts)} SQuAD sentences, batch {a.batch}, {a.threads} threads, all-MiniLM-L6-v2")
    rounds = []
    for r in range(a.rounds):
        row = {}
        for kind in ("ort", "st"):
            p = subprocess.run([sys.executable, __file__, "--worker", kind, "--minilm", a.minilm, "--onnx", a.onnx,
                                "--texts", str(a.texts), "--threads", str(a.threads), "--batch", str(a.batch)],
                               capture_output=True, text=True, env=env)
            if p.returncode != 0:
                sys.exit(p.stderr)
            row[kind] = json.loads(p.stdout.strip().splitlines()[-1])
        row["ask"] = run_ask(a.ask, a.ask_model, texts_file, a.threads, a.batch)
        row["ask/ort"] = row["ask"]["texts_per_s"] / row["ort"]["texts_per_s"]
        row["ask/st"] = row["ask"]["texts_per_s"] / row["st"]["texts_per_s"]
        rounds.append(row)
        print(f"round {r + 1}: ask {row['ask']['texts_per_s']:.0f}/s, ORT {row['ort']['texts_per_s']:.0f}/s, "
              f"ST {row['st']['texts_per_s']:.0f}/s; ask/ORT {row['ask/ort']:.2f}, ask/ST {row['ask/st']:.2f}")
    med = lambda k, f=None: statistics.median([(x[k][f] if f else x[k]) for x in rounds])
    summary = {"ask_texts_per_s": med("ask", "texts_per_s"), "ort_texts_per_s": med("ort", "texts_per_s"),
               "st_texts_per_s": med("st", "texts_per_s"), "ask/ort": med("ask/ort"), "ask/st": med("ask/st"),
               "ask/ort_range": [min(x["ask/ort"] for x in rounds), max(x["ask/ort"] for x in rounds)],
               "ask/st_range": [min(x["ask/st"] for x in rounds), max(x["ask/st"] for x in rounds)],
               "versions": {"onnxruntime": rounds[0]["ort"]["version"], "sentence_transformers": rounds[0]["st"]["version"]},
               "cpu_flags": cpu_flags(), "threads": a.threads, "batch": a.batch, "texts": len(texts)}
    print("median: ask {ask_texts_per_s:.0f}/s, ORT {ort_texts_per_s:.0f}/s, ST {st_texts_per_s:.0f}/s; "
          "ask/ORT {ask/ort:.2f} ({ask/ort_range}), ask/ST {ask/st:.2f} ({ask/st_range})".format(**summary))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"summary": summary, "rounds": rounds}, f, indent=1)


if __name__ == "__main__":
    main()
