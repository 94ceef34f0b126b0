#!/usr/bin/env python3
"""Golden answers of the built-in multilingual QA model, from transformers'
pipeline("question-answering") (5.2.0, float32, one thread), for
qa/builtin_test.go.

    ~/.venvs/askref/bin/python tools/train/gen_multi_golden.py [REFERENCE_DIR]

REFERENCE_DIR is the exact float32 dequantisation of builtin/multilingual
that tools/train/export_multi.py --int8 --deq writes (transformers cannot
read the int8 file itself; ask runs it with --quantize none in float32 on
the same numbers). Without it the script assembles the shipped folder the
way builtin.unpack does (shared.json: the tokenizer and int8 word embeddings
of builtin/embedder) and dequantises it with
tools/quantize/builtin_goldens.py's dequantize: the same numbers.

Questions: the issue's Chinese example, then the first 25 questions of each
held-out file (tools/train/heldout-{v1.1,cmrc,drcd}.json)
with the pipeline's defaults, the example and the 25 CMRC questions again with
the parameters ask's router reads Chinese with (align_to_words=False,
max_answer_len=64: reader.CJKMaxAnswerLen), and 15 of heldout-v2.0.json with
handle_impossible_answer. Last, with the router's parameters and ask's
skip_echoes (qa.Params.SkipEchoes, which transformers does not have): the
example, two contexts made of the question's words, the 25 CMRC
questions and the CMRC training questions the model answers with words of
the question (ECHO_IDS). The reference for those is
transformers' pipeline with one change, made here and not taken from ask:
decode_spans clears, before ranking, the score of every span whose text the
question holds (letters, marks and digits lower-cased, the rest dropped;
see echo_key). Writes qa/testdata/multilingual/golden.jsonl.gz
(gzip mtime 0) in gen_qa_goldens.py's line format with question, context and
params on every line.
"""

import gzip
import io
import json
import os
import shutil
import sys
import tempfile
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "qa", "testdata", "multilingual", "golden.jsonl.gz")

ZH_Q = "什么是人工智能？"
ZH_C = "人工智能是一种模拟人类智能的技术，通过计算机程序实现智能行为。"


# CMRC 2018 training questions (not held out) that the fifth run answers
# with words of the question when nothing stops it (ask eval --predictions
# on the training articles, int8, before skip_echoes).
ECHO_IDS = ["TRIAL_656_QUERY_0", "TRIAL_575_QUERY_2", "TRIAL_546_QUERY_0", "TRIAL_327_QUERY_2",
            "TRIAL_929_QUERY_0", "TRIAL_582_QUERY_1", "TRIAL_713_QUERY_3"]


def echo_key(s):
    """s's letters, marks and digits (Unicode categories L, M, N), lower-cased."""
    return "".join(c.lower() for c in s if unicodedata.category(c)[0] in "LMN")


def masked_decode_spans(windows):
    """decode_spans for top_k 1 that first clears the score of every span
    whose text the question holds. windows yields, per call, the window's
    tokenizers Encoding, its context and its question, in the order
    postprocess decodes the windows."""
    import numpy as np

    def decode_spans(start, end, topk, max_answer_len, undesired_tokens):
        enc, context, question = next(windows)
        q = echo_key(question)
        assert topk == 1, "skip_echoes golden cases use top_k 1 without align_to_words"
        start = start[None] if start.ndim == 1 else start
        end = end[None] if end.ndim == 1 else end
        outer = np.matmul(np.expand_dims(start, -1), np.expand_dims(end, 1))
        cand = np.tril(np.triu(outer), max_answer_len - 1)
        n = cand.shape[-1]
        # argmax of the cleared grid: the first cell, best first (ties in
        # flat order, as argmax takes them), that is not an echo; the first
        # cell of all if every positive one is.
        flat = cand.flatten()
        best = 0
        for i in np.argsort(-flat, kind="stable"):
            if flat[i] <= 0:
                break
            s, e = divmod(int(i), n)
            a = echo_key(context[enc.offsets[s][0]:enc.offsets[e][1]])
            if not (a and a in q):
                best = int(i)
                break
        s, e = np.unravel_index([best], cand.shape)[1:]
        keep = np.isin(s, undesired_tokens.nonzero()) & np.isin(e, undesired_tokens.nonzero())
        s, e = s[keep], e[keep]
        return s, e, cand[0, s, e]
    return decode_spans


def skip_echoes(qa):
    """Wraps the pipeline qa so that a call with skip_echoes=True decodes
    with masked_decode_spans."""
    import transformers.pipelines.question_answering as mod
    original_post, original_decode = qa.postprocess, mod.decode_spans

    def postprocess(model_outputs, **kw):
        assert qa.tokenizer.padding_side == "right" and not kw.get("align_to_words", True)
        outs = list(model_outputs)
        mod.decode_spans = masked_decode_spans(iter(
            [(o["encoding"], o["example"].context_text, o["example"].question_text) for o in outs]))
        try:
            return original_post(outs, **kw)
        finally:
            mod.decode_spans = original_decode

    def call(question, context, skip_echoes=False, **kw):
        qa.postprocess = postprocess if skip_echoes else original_post
        try:
            return qa(question=question, context=context, **kw)
        finally:
            qa.postprocess = original_post
    return call


def questions(name, n):
    with open(os.path.join(HERE, f"heldout-{name}.json"), encoding="utf-8") as f:
        d = json.load(f)
    out = []
    for a in d["data"]:
        for p in a["paragraphs"]:
            for q in p["qas"]:
                out.append((q["id"], q["question"], p["context"]))
    return out[:n]


def write_golden(qa, cases, out):
    """Run the pipeline qa on cases (id, question, context, params) and write
    out (gzip, mtime 0) in gen_qa_goldens.py's line format with question,
    context and params on every line; returns the lines."""
    raw, lines = io.BytesIO(), []
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        for i, q, c, params in cases:
            r = qa(question=q, context=c, top_k=1, **params)
            r = r if isinstance(r, list) else [r]
            line = {"id": i, "question": q, "context": c, "params": params,
                    "answers": [{"answer": a["answer"], "score": float(a["score"]), "start": int(a["start"]),
                                 "end": int(a["end"])} for a in r]}
            lines.append(line)
            gz.write((json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode())
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "wb") as f:
        f.write(raw.getvalue())
    print(f"{len(cases)} lines -> {out}")
    return lines


def train_questions(ids):
    """(id, question, context) of the CMRC 2018 trial questions ids."""
    import train_qa_multi
    d = train_qa_multi.load(os.path.join(train_qa_multi.SHARED, dict(train_qa_multi.ZH_SETS)["cmrc"]))
    found = {q["id"]: (q["id"], q["question"], p["context"]) for a in d["data"] for p in a["paragraphs"]
             for q in p["qas"] if q["id"] in ids}
    return [found[i] for i in ids]


def assemble_shipped(dst):
    """builtin/multilingual as builtin.unpack assembles it, in float32."""
    sys.path.insert(0, os.path.join(ROOT, "tools", "quantize"))
    from builtin_goldens import dequantize
    from safetensors.torch import load_file, save_file
    src = os.path.join(ROOT, "builtin", "multilingual")
    emb = os.path.join(ROOT, "builtin", "embedder")
    with open(os.path.join(src, "shared.json")) as f:
        shared = json.load(f)
    whole = os.path.join(dst, "int8")
    shutil.copytree(src, whole, ignore=shutil.ignore_patterns("shared.json"))
    for name, from_name in shared["files"].items():
        shutil.copyfile(os.path.join(emb, from_name), os.path.join(whole, name))
    t = load_file(os.path.join(whole, "model.safetensors"))
    e = load_file(os.path.join(emb, "model.safetensors"))
    for name, from_name in shared["tensors"].items():
        t[name] = e[from_name]
    save_file(t, os.path.join(whole, "model.safetensors"), metadata={"format": "pt"})
    dequantize(whole, os.path.join(dst, "float32"))
    return os.path.join(dst, "float32")


def main():
    tmp = tempfile.mkdtemp()
    try:
        ref = sys.argv[1] if len(sys.argv) > 1 else assemble_shipped(tmp)
        run(ref)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(ref):
    import torch
    import transformers
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    from transformers import pipeline
    torch.set_num_threads(1)
    qa = skip_echoes(pipeline("question-answering", model=ref, tokenizer=ref, dtype=torch.float32, device=-1))
    cases = [("issue-example", ZH_Q, ZH_C, {})]
    for name in ("v1.1", "cmrc", "drcd"):
        cases += [(i, q, c, {}) for i, q, c in questions(name, 25)]
    routed = {"align_to_words": False, "max_answer_len": 64}
    cases += [("issue-example-routed", ZH_Q, ZH_C, routed)]
    cases += [(i + "-routed", q, c, routed) for i, q, c in questions("cmrc", 25)]
    with open(os.path.join(HERE, "heldout-v2.0.json"), encoding="utf-8") as f:
        v2 = json.load(f)
    imp = [(q["id"], q["question"], p["context"]) for a in v2["data"] for p in a["paragraphs"] for q in p["qas"]
           if q.get("is_impossible")][:10]
    ans = [(q["id"], q["question"], p["context"]) for a in v2["data"] for p in a["paragraphs"] for q in p["qas"]
           if not q.get("is_impossible")][:5]
    cases += [(i, q, c, {"handle_impossible_answer": True}) for i, q, c in imp + ans]
    skip = dict(routed, skip_echoes=True)
    cases += [("issue-example-skip-echoes", ZH_Q, ZH_C, skip),
              # Every span an echo: the cleared grid's argmax, the first cell.
              ("all-echoes-skip-echoes", ZH_Q, "人工智能", skip),
              ("echoes-and-punctuation-skip-echoes", ZH_Q, "人工智能。", skip)]
    cases += [(i + "-skip-echoes", q, c, skip) for i, q, c in questions("cmrc", 25) + train_questions(ECHO_IDS)]
    lines = write_golden(qa, cases, OUT)
    print("issue example:", json.dumps(lines[0]["answers"], ensure_ascii=False))


if __name__ == "__main__":
    main()
