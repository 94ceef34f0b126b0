#!/usr/bin/env python3
"""How long the Chinese answers are, in a model's tokens, and how a model's
CMRC 2018 answers miss: the evidence for reader.CJKMaxAnswerLen.

    ~/.venvs/askref/bin/python tools/train/answer_lengths.py MODEL_DIR [--errors]

Lengths: the first gold answer of every question of the CMRC 2018 trial and
DRCD test files (../shared/data/qa-zh), split into training and held-out
articles exactly as train_qa_multi.py splits them (--zh-heldout 0.2, seed
42), tokenized with MODEL_DIR's tokenizer without special tokens.

--errors also runs transformers' pipeline (float32, align_to_words=False,
the pipeline's max_answer_len 15) on tools/train/heldout-cmrc.json and sorts
its answers: exact (CMRC EM), a part of a gold answer, a gold answer and
more, overlapping (F1 > 0), missing; with the median lengths in characters.
"""

import argparse
import os
import statistics
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import eval_multi  # noqa: E402
import train_qa_multi  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--errors", action="store_true")
    args = ap.parse_args()
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(args.model)
    print("| answers | questions | median | 90th pct | 95th pct | longer than 15 | longer than 30 |")
    print("|---|---|---|---|---|---|---|")
    for name, rel in train_qa_multi.ZH_SETS:
        name = name.upper()
        d = train_qa_multi.load(os.path.join(train_qa_multi.SHARED, rel))
        tr, ho = train_qa_multi.zh_split(d, 0.2, 42, "id")
        for part, arts in (("training", tr), ("held-out", ho)):
            texts = [q["answers"][0]["text"] for a in arts for p in a["paragraphs"] for q in p["qas"]]
            n = np.array([len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts])
            print(f"| {name}, {part} articles | {len(n):,} | {np.median(n):g} | {np.percentile(n, 90):.0f} | "
                  f"{np.percentile(n, 95):.0f} | {100 * (n > 15).mean():.1f} % | {100 * (n > 30).mean():.1f} % |")
    if not args.errors:
        return
    import torch
    import transformers
    transformers.utils.logging.set_verbosity_error()
    from transformers import pipeline
    torch.set_num_threads(2)
    qa = pipeline("question-answering", model=args.model, tokenizer=args.model, dtype=torch.float32, device=-1)
    rows = eval_multi.rows_of(eval_multi.load(os.path.join(HERE, "heldout-cmrc.json")), 0)
    out, _ = eval_multi.run(qa, rows, False, lambda *a: None, "cmrc",
                            extra={"align_to_words": False, "max_answer_len": 15})
    kinds = dict.fromkeys(("exact", "a part of a gold answer", "a gold answer and more", "overlapping", "missing"), 0)
    for r in rows:
        pred, golds = out[r[0]][0], r[3]
        if eval_multi.cmrc_em(golds, pred):
            kinds["exact"] += 1
        elif any(g in pred for g in golds):
            kinds["a gold answer and more"] += 1
        elif any(pred in g for g in golds):
            kinds["a part of a gold answer"] += 1
        elif eval_multi.cmrc_f1(golds, pred) > 0:
            kinds["overlapping"] += 1
        else:
            kinds["missing"] += 1
    print(f"held-out CMRC, {len(rows)} answers:", ", ".join(f"{v} {k}" for k, v in kinds.items()))
    print("median length in characters: predictions", statistics.median(len(out[r[0]][0]) for r in rows),
          "gold (first answer)", statistics.median(len(r[3][0]) for r in rows))


if __name__ == "__main__":
    main()
