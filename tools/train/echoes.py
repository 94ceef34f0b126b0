#!/usr/bin/env python3
"""Count the answers that only repeat words of their question.

    python3 tools/train/echoes.py FILE.json [PREDICTIONS.json ...]

FILE.json is a SQuAD-format file; each PREDICTIONS.json is {id: answer}
(`ask eval --predictions`). An answer is an echo when its letters, marks and
digits, lower-cased, appear in a row in the question's (qa.Params.SkipEchoes;
gen_multi_golden.echo_key). Prints how many gold answers are
echoes (a question that names its own answer, as in "A or B?"), then for each
predictions file how many predictions are echoes and how many of those are
right (equal to a gold answer after the same normalisation), with the echoes
themselves.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_multi_golden import echo_key  # noqa: E402


def echo(question, answer):
    a = echo_key(answer)
    return bool(a) and a in echo_key(question)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        d = json.load(f)
    qs = [q for a in d["data"] for p in a["paragraphs"] for q in p["qas"] if q.get("answers")]
    gold = sum(any(echo(q["question"], x["text"]) for x in q["answers"]) for q in qs)
    print(f"{sys.argv[1]}: {len(qs)} questions, {gold} with a gold answer inside the question")
    for path in sys.argv[2:]:
        with open(path, encoding="utf-8") as f:
            pred = json.load(f)
        hits = [q for q in qs if q["id"] in pred and echo(q["question"], pred[q["id"]])]
        right = [q for q in hits if any(echo_key(pred[q["id"]]) == echo_key(x["text"]) for x in q["answers"])]
        print(f"{path}: {len(hits)} echoes, {len(right)} of them right")
        for q in hits:
            print(f"  {q['id']}: {q['question']} -> {pred[q['id']]!r} (gold {q['answers'][0]['text']!r})")


if __name__ == "__main__":
    main()
