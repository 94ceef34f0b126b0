#!/usr/bin/env python3
"""Golden answers of the built-in multilingual QA model, from transformers'
pipeline("question-answering") (5.2.0, float32, one thread), for
qa/multilingual_test.go.

    ~/.venvs/askref/bin/python tools/train/gen_multi_golden.py REFERENCE_DIR

REFERENCE_DIR is the exact float32 dequantisation of builtin/multilingual
that tools/train/export_multi.py --int8 --deq writes (transformers cannot
read the int8 file itself; ask runs it with --quantize none in float32 on
the same numbers). Questions: the issue's Chinese example, then the first 25
questions of each held-out file (tools/train/heldout-{v1.1,cmrc,drcd}.json)
with the pipeline's defaults, the example and the 25 CMRC questions again with
the parameters ask's router reads Chinese with (align_to_words=False,
max_answer_len=64: reader.CJKMaxAnswerLen), and 15 of heldout-v2.0.json with
handle_impossible_answer. Writes qa/testdata/multilingual/golden.jsonl.gz
(gzip mtime 0) in gen_qa_goldens.py's line format with question, context and
params on every line.
"""

import gzip
import io
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "qa", "testdata", "multilingual", "golden.jsonl.gz")

ZH_Q = "什么是人工智能？"
ZH_C = "人工智能是一种模拟人类智能的技术，通过计算机程序实现智能行为。"


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


def main():
    ref = sys.argv[1]
    import torch
    import transformers
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    from transformers import pipeline
    torch.set_num_threads(1)
    qa = pipeline("question-answering", model=ref, tokenizer=ref, dtype=torch.float32, device=-1)
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
    lines = write_golden(qa, cases, OUT)
    print("issue example:", json.dumps(lines[0]["answers"], ensure_ascii=False))


if __name__ == "__main__":
    main()
