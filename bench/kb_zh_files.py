#!/usr/bin/env python3
"""Write the Chinese side of the knowledge-base retrieval comparison for ask.

bench/kb_haystack.py indexes every paragraph of the CMRC 2018 trial set and
the DRCD test set as a document and asks every 4th question (counted over
CMRC, then DRCD). This writes the same documents as JSON lines for
`ask add` and the same questions as a SQuAD file for `ask eval
--collection --retrieval-only`, so both tools answer the same questions
over the same documents:

    python3 bench/kb_zh_files.py --data ../shared/data --out /tmp/ask-bench-kb/zh
    ask add --data /tmp/ask-bench-kb/zh/kb --collection zh /tmp/ask-bench-kb/zh/docs.jsonl
    ask eval --data /tmp/ask-bench-kb/zh/kb --collection zh --retrieval-only \
        --mode lexical /tmp/ask-bench-kb/zh/questions.json

Standard library only.
"""
import argparse
import json
import os

# The same sampling as bench/kb_haystack.py (ZH_FILES, ZH_KEEP_EVERY).
ZH_FILES = ("cmrc2018_trial.squad-style.json", "DRCD_test.json")
ZH_KEEP_EVERY = 4


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    i = 0
    ndocs = 0
    out_articles = []
    with open(os.path.join(args.out, "docs.jsonl"), "w", encoding="utf-8") as docs:
        for fname in ZH_FILES:
            src = json.load(open(os.path.join(args.data, "qa-zh", fname), encoding="utf-8"))
            for art in src["data"]:
                paras = []
                for p in art["paragraphs"]:
                    doc_id = "%s-%d" % (fname.split(".")[0].split("_")[0], ndocs)
                    docs.write(json.dumps({"id": doc_id, "title": art.get("title", fname), "text": p["context"],
                                           "metadata": {"set": fname}}, ensure_ascii=False) + "\n")
                    ndocs += 1
                    qas = []
                    for qa in p["qas"]:
                        if i % ZH_KEEP_EVERY == 0:
                            qas.append({"id": qa["id"], "question": qa["question"], "answers": qa["answers"]})
                        i += 1
                    if qas:
                        paras.append({"context": p["context"], "qas": qas})
                if paras:
                    out_articles.append({"title": art.get("title", fname), "paragraphs": paras})
    with open(os.path.join(args.out, "questions.json"), "w", encoding="utf-8") as f:
        json.dump({"version": "1.1", "data": out_articles}, f, ensure_ascii=False)
    nq = sum(len(p["qas"]) for a in out_articles for p in a["paragraphs"])
    print("%d documents, %d of %d questions" % (ndocs, nq, i))


if __name__ == "__main__":
    main()
