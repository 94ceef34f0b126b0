#!/usr/bin/env python3
"""Write the Chinese training articles, the complement of the held-out files,
as SQuAD-format files that `ask eval` reads.

    ~/.venvs/askref/bin/python tools/train/training_articles.py OUT_DIR

CMRC 2018 trial and DRCD test (../shared/data/qa-zh) split into training and
held-out articles exactly as train_qa_multi.py splits them (--zh-heldout 0.2,
seed 42): OUT_DIR/training-cmrc.json (205 articles, 797 questions) and
OUT_DIR/training-drcd.json (302, 2,800). Decisions about how ask reads
Chinese (reader.CJKMaxAnswerLen, qa.Params.SkipEchoes) are measured on these,
and only reported on tools/train/heldout-{cmrc,drcd}.json.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train_qa_multi  # noqa: E402


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, rel in train_qa_multi.ZH_SETS:
        d = train_qa_multi.load(os.path.join(train_qa_multi.SHARED, rel))
        tr, _ = train_qa_multi.zh_split(d, 0.2, 42, "id")
        path = os.path.join(out, f"training-{name}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"version": d.get("version", ""), "data": tr}, f, ensure_ascii=False)
        n = sum(len(p["qas"]) for a in tr for p in a["paragraphs"])
        print(f"{path}: {len(tr)} articles, {n} questions")


if __name__ == "__main__":
    main()
