#!/usr/bin/env python3
"""Sentence-embedding goldens from sentence-transformers' encode(), for the
Go package embed/sentence (embed/sentence/testdata/<case>/).

Each case is a sentence-transformers folder assembled in a temporary
directory from
  - an encoder: the real all-MiniLM-L6-v2 (--minilm DIR, as
    fetch_minilm.sh writes it) or one of the random-weight QA checkpoints of
    qa/testdata (their task head is dropped, as AutoModel does);
  - its tokenizer files from ../shared/data/tokenizers (copied first, so
    the checkpoint's own tokenizer_config.json wins);
  - the module files this script writes into embed/sentence/testdata/<case>/
    (modules.json, 1_Pooling/config.json, sentence_bert_config.json,
    config_sentence_transformers.json), which the Go test copies the same
    way.
and reference.json.gz holds, per call, the texts, the prompt name, the
embeddings (float32 values as Python floats) and the token counts the
tokenizer gives for prompt+text under the same truncation.

Usage: gen_embed_goldens.py --minilm DIR [--shared ../shared/data] [--out embed/sentence/testdata]
Pinned: transformers 5.2.0, sentence-transformers (versions recorded).
"""
import argparse
import gzip
import json
import os
import shutil
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import sentence_transformers
import torch
import transformers
from sentence_transformers import SentenceTransformer

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def squad_sentences(shared, n, long_n):
    with open(os.path.join(shared, "squad", "dev-v1.1-public.json")) as f:
        data = json.load(f)["data"]
    sents, longs = [], []
    for art in data:
        for para in art["paragraphs"]:
            ctx = para["context"]
            if len(longs) < long_n and len(ctx) > 1500:
                longs.append(ctx)
            for s in ctx.split(". "):
                if 20 < len(s) < 300 and len(sents) < n:
                    sents.append(s.strip() + ".")
            if len(sents) >= n and len(longs) >= long_n:
                return sents, longs
    return sents, longs


def cmrc_sentences(shared, n):
    with open(os.path.join(shared, "qa-zh", "cmrc2018_trial.squad-style.json")) as f:
        data = json.load(f)["data"]
    out = []
    for art in data:
        for para in art["paragraphs"]:
            for s in para["context"].split("。"):
                if 8 < len(s) < 120 and len(out) < n:
                    out.append(s + "。")
    return out


EDGE = ["", " ", "  leading and trailing spaces  ", "tabs\tand\nnewlines\n", "ÉCOLE naïve café",
        "emoji 🙂 and symbols ∑ ≠ ∞", "a"]


def write_modules(dst, pooling, normalize, max_seq, prompts=None, lower=False):
    mods = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if normalize:
        mods.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    os.makedirs(os.path.join(dst, "1_Pooling"), exist_ok=True)
    with open(os.path.join(dst, "modules.json"), "w") as f:
        json.dump(mods, f, indent=2)
    with open(os.path.join(dst, "1_Pooling", "config.json"), "w") as f:
        json.dump(pooling, f, indent=2)
    with open(os.path.join(dst, "sentence_bert_config.json"), "w") as f:
        json.dump({"max_seq_length": max_seq, "do_lower_case": lower}, f, indent=2)
    cfg = {"similarity_fn_name": "cosine"}
    if prompts:
        cfg["prompts"] = prompts
        cfg["default_prompt_name"] = None
    with open(os.path.join(dst, "config_sentence_transformers.json"), "w") as f:
        json.dump(cfg, f, indent=2)


def copy_tree(src, dst):
    for root, _, files in os.walk(src):
        rel = os.path.relpath(root, src)
        os.makedirs(os.path.join(dst, rel), exist_ok=True)
        for fn in files:
            if fn in ("tokenizer_source.txt", "reference.json.gz"):
                continue
            shutil.copy(os.path.join(root, fn), os.path.join(dst, rel, fn))


def run_case(name, folder, calls, out_dir):
    model = SentenceTransformer(folder, device="cpu",
                                model_kwargs={"dtype": torch.float32, "attn_implementation": "eager"})
    model.eval()
    tok = model.tokenizer
    results = []
    for prompt_name, texts in calls:
        emb = model.encode(texts, prompt_name=prompt_name, batch_size=8, convert_to_numpy=True)
        prompt = model.prompts.get(prompt_name, "") if prompt_name else ""
        enc = tok([prompt + t for t in texts], truncation=True, max_length=model.max_seq_length)
        full = tok([prompt + t for t in texts], truncation=False)
        results.append({
            "prompt_name": prompt_name,
            "texts": texts,
            "tokens": [len(ids) for ids in enc["input_ids"]],
            "truncated": [len(ids) > model.max_seq_length for ids in full["input_ids"]],
            "embeddings": [[float(np.float32(v)) for v in row] for row in emb],
        })
    ref = {"versions": {"sentence_transformers": sentence_transformers.__version__,
                        "transformers": transformers.__version__, "torch": torch.__version__},
           "max_seq_length": model.max_seq_length,
           "calls": results}
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "reference.json.gz"), "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
            f.write(json.dumps(ref).encode())
    print(f"{name}: {sum(len(c[1]) for c in calls)} embeddings, dim {len(results[0]['embeddings'][0])}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minilm", required=True)
    ap.add_argument("--shared", default=os.path.join(REPO, "..", "shared", "data"))
    ap.add_argument("--out", default=os.path.join(REPO, "embed", "sentence", "testdata"))
    a = ap.parse_args()
    torch.manual_seed(0)
    sq, longs = squad_sentences(a.shared, 40, 3)
    zh = cmrc_sentences(a.shared, 16)

    # The real all-MiniLM-L6-v2: SQuAD and CMRC sentences, paragraphs longer
    # than its 256-token limit, edge cases.
    run_case("minilm", a.minilm, [(None, sq + zh + longs + EDGE)], os.path.join(a.out, "minilm"))

    cases = [
        # BGE-style: CLS pooling, normalised, a query instruction, short limit.
        ("bge", "bert", "bert-base-cased",
         {"word_embedding_dimension": 32, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False},
         True, 48, {"query": "Represent this sentence for searching relevant passages: "}, False,
         [(None, sq[:12] + longs[:1] + EDGE), ("query", sq[12:20])]),
        # E5-style: mean pooling, normalised, query:/passage: prompts; Chinese.
        ("e5", "bert-chinese", "bert-base-chinese",
         {"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True},
         True, 64, {"query": "query: ", "passage": "passage: "}, False,
         [("query", zh[:8]), ("passage", zh[8:16] + sq[:4]), (None, EDGE)]),
        # XLM-R encoder, several modes concatenated, prompt excluded from pooling.
        ("xlmr", "xlm-roberta", "roberta-base",
         {"embedding_dimension": 32, "pooling_mode": ["max", "lasttoken", "weightedmean", "mean_sqrt_len_tokens", "cls"],
          "include_prompt": False},
         False, 40, {"query": "Instruct: find the passage\nQuery: "}, False,
         [("query", sq[:10] + longs[1:2]), (None, sq[10:16] + EDGE)]),
        # do_lower_case on a cased vocabulary, legacy max pooling.
        ("lower", "distilbert", "bert-base-cased",
         {"word_embedding_dimension": 32, "pooling_mode_max_tokens": True, "pooling_mode_mean_tokens": False},
         False, 32, None, True, [(None, sq[20:30] + EDGE)]),
    ]
    for name, model_dir, tok_name, pooling, normalize, max_seq, prompts, lower, calls in cases:
        case_dir = os.path.join(a.out, name)
        shutil.rmtree(case_dir, ignore_errors=True)
        write_modules(case_dir, pooling, normalize, max_seq, prompts, lower)
        with open(os.path.join(case_dir, "source.txt"), "w") as f:
            f.write(f"encoder qa/testdata/{model_dir}\ntokenizer {tok_name}\n")
        with tempfile.TemporaryDirectory() as tmp:
            # The order of qa's parity tests: the checkpoint's own
            # tokenizer_config.json wins over the shared one.
            copy_tree(os.path.join(a.shared, "tokenizers", tok_name), tmp)
            copy_tree(os.path.join(REPO, "qa", "testdata", model_dir), tmp)
            copy_tree(case_dir, tmp)
            run_case(name, tmp, calls, case_dir)

    # A plain encoder folder (no modules.json): sentence-transformers pools
    # by mean and does not normalise.
    case_dir = os.path.join(a.out, "plain")
    shutil.rmtree(case_dir, ignore_errors=True)
    os.makedirs(case_dir)
    with open(os.path.join(case_dir, "source.txt"), "w") as f:
        f.write("encoder qa/testdata/roberta\ntokenizer roberta-base\n")
    with tempfile.TemporaryDirectory() as tmp:
        copy_tree(os.path.join(a.shared, "tokenizers", "roberta-base"), tmp)
        copy_tree(os.path.join(REPO, "qa", "testdata", "roberta"), tmp)
        run_case("plain", tmp, [(None, sq[:8] + EDGE)], case_dir)


if __name__ == "__main__":
    main()
