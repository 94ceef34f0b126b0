#!/usr/bin/env python3
"""Goldens of the official CMRC 2018 metric for package qa/cmrc.

The reference is the official evaluation script itself (cmrc2018_evaluate.py,
"v5 - special: Evaluate on SQuAD-style CMRC 2018 Datasets") as PyPI ships it
inside paddlehub 1.8.3 (paddlehub/finetune/evaluator/cmrc2018_evaluate.py,
Apache-2.0). This script downloads that wheel with pip (no dependencies),
loads the module from it unmodified and calls its own functions:
mixed_segmentation, remove_punctuation, calc_em_score, calc_f1_score and
evaluate. Only its two imports of paddlehub internals (a folder name and a
downloader for NLTK's punkt data) are stubbed, since paddlehub itself needs
PaddlePaddle.

One documented deviation: the script tokenizes each non-CJK run with
nltk.word_tokenize, which first splits the run into sentences with NLTK's
Punkt model, a data file that only NLTK's downloader (not PyPI) provides.
Here word_tokenize runs with preserve_line=True (the run is one sentence;
the word tokenizer, NLTKWordTokenizer, is the real one). Punkt can only
split a run at ".", "?" or "!" followed by white space and more text; the
script counts such runs in every string it scores and writes the count
("punkt_sensitive_runs") and the strings into the golden, so a reader can see
exactly where the two could differ (0 for the committed data).

Predictions scored (deterministic, seed below), per question one of:
  sentence   the context sentence (split at 。！？!?) sharing most characters
             with the question: a real baseline, long and mostly wrong
  gold       a gold answer verbatim (EM 1)
  gold_edit  a gold answer with punctuation/space/case changes or a character
             cut at either end
  window     the gold answer with up to 6 context characters either side
  other      the gold answer of another question
  missing    no prediction (the script's SKIP)

Usage (from the repository root, with ../shared/data present):
  ~/.venvs/askref/bin/pip install nltk==3.10.4
  ~/.venvs/askref/bin/python tools/reference/gen_cmrc_goldens.py
writes qa/cmrc/testdata/cmrc_metric.json (byte-identical on rerun).
"""
import importlib.util
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import types
import zipfile

import nltk

PADDLEHUB = "paddlehub==1.8.3"
MEMBER = "paddlehub/finetune/evaluator/cmrc2018_evaluate.py"
SEED = 2018
DATASETS = [
    # (path under ../shared/data, how many questions, in file order)
    ("qa-zh/cmrc2018_trial.squad-style.json", None),
    ("qa-zh/DRCD_test.json", 1000),
]

# Hand-written strings that exercise the segmentation of non-CJK runs
# (NLTK's word tokenizer rules) and the punctuation lists.
SEGMENT_CASES = [
    "Hello World", "  前后有空格  ", "1990年", "3.5万", "1,000人", "50%", "iPhone 6s Plus",
    "U.S.A", "end.", "end...", "a, b", "a:b", "time: 10:30", "x;y", "$3.88", "#1", "A&B",
    "can't", "cannot", "gonna", "I'm", "they'll", "rock 'n' roll", "'quoted'", '"quoted"',
    "say \"hi\" now", "(括号)", "（全角括号）", "[x]", "{y}", "<z>", "a--b", "a-b", "C++",
    "C#", "what?", "wow!", "《书名》", "“引号”", "‘单引号’", "『书』", "「引」", "一、二、三",
    "甲；乙", "……", "…", "·", "－", "～", "〇一二", "ＡＢＣ１２３", "Ünïcödé Straße", "ＩＢＭ公司",
    "e-mail", "http://example.com/a_b", "x^2", "a*b", "1+1=2", "back\\slash", "`code`",
    "tab\there", "new\nline", "\u3000全角空格\u3000", "nbsp\u00a0here", "ＴＶＢ電視台", "İstanbul",
    "won't", "wanna go", "'tis", "more'n", "d'ye", "gimme", "lemme", "gotta", "wha", "A.B. Smith",
    "No. 5", "5 p.m.", "", " ", "。", "，，", "Dr. Who? Yes!",
]

# (prediction, gold answers) pairs scored with calc_em_score / calc_f1_score.
SCORE_CASES = [
    ("踢爆", ["踢爆"]),
    ("踢爆。", ["踢爆"]),
    ("“踢爆”", ["踢爆"]),
    ("被踢爆", ["踢爆"]),
    ("踢", ["踢爆"]),
    ("", ["踢爆"]),
    ("踢爆", [""]),
    ("", [""]),
    ("Nexon公司", ["Nexon"]),
    ("nexon", ["NEXON"]),
    ("1990年代", ["1990年", "九十年代"]),
    ("3.5万人", ["3.5万"]),
    ("50 %", ["50%"]),
    ("a b c d", ["b c", "d"]),
    ("甲乙丙丁", ["乙丙", "甲丁"]),
    ("甲乙甲乙", ["乙甲乙"]),
    ("-", ["-"]),
    ("，。", ["。"]),
    ("iPhone 6s", ["iphone 6s plus"]),
    ("(1990年)", ["1990年"]),
    ("（1990年）", ["1990年"]),
    ("US$5", ["5"]),
]


def load_official():
    cache = os.path.join(tempfile.gettempdir(), "ask-cmrc-reference")
    os.makedirs(cache, exist_ok=True)
    wheels = [f for f in os.listdir(cache) if f.startswith("paddlehub-1.8.3") and f.endswith(".whl")]
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", cache, PADDLEHUB], check=True)
        wheels = [f for f in os.listdir(cache) if f.startswith("paddlehub-1.8.3") and f.endswith(".whl")]
    with zipfile.ZipFile(os.path.join(cache, wheels[0])) as z:
        source = z.read(MEMBER).decode("utf-8")

    # Stubs for the two paddlehub imports: a home folder where the script
    # looks for punkt (made to exist, so it downloads nothing) and a
    # downloader it then never calls.
    home = os.path.join(cache, "home")
    os.makedirs(os.path.join(home, "nltk_data", "tokenizers", "punkt"), exist_ok=True)
    pkgs = {}
    for name in ["paddlehub", "paddlehub.common", "paddlehub.common.dir", "paddlehub.common.downloader"]:
        pkgs[name] = types.ModuleType(name)
        sys.modules[name] = pkgs[name]
    pkgs["paddlehub.common.dir"].THIRD_PARTY_HOME = home

    class NoDownloads:
        def download_file_and_uncompress(self, **kw):
            raise RuntimeError("the reference must not download: %r" % (kw,))

    pkgs["paddlehub.common.downloader"].default_downloader = NoDownloads()

    spec = importlib.util.spec_from_loader("cmrc2018_evaluate", loader=None, origin=MEMBER)
    mod = importlib.util.module_from_spec(spec)
    exec(compile(source, MEMBER, "exec"), mod.__dict__)

    sensitive = []
    boundary = re.compile(r"[.?!][\]\)}>\"'»”’]*\s+\S")

    def word_tokenize(text, *args, **kw):
        # See the module doc: Punkt's data is not on PyPI.
        if boundary.search(text):
            sensitive.append(text)
        return nltk.word_tokenize(text, preserve_line=True)

    shim = types.SimpleNamespace(word_tokenize=word_tokenize, data=nltk.data)
    mod.nltk = shim
    return mod, sensitive


SENT_END = re.compile(r"(?<=[。！？!?])")


def best_sentence(question, context):
    qs = set(question)
    best, score = "", -1
    for s in SENT_END.split(context):
        if not s.strip():
            continue
        n = len(qs & set(s))
        if n > score:
            best, score = s, n
    return best


def edit(rng, text):
    ops = [
        lambda t: t + "。",
        lambda t: "“" + t + "”",
        lambda t: "（" + t + "）",
        lambda t: " " + t + " ",
        lambda t: t.upper(),
        lambda t: t[1:] if len(t) > 1 else t + "的",
        lambda t: t[:-1] if len(t) > 1 else "的" + t,
        lambda t: t.replace("，", ",").replace("、", ","),
        lambda t: t + "等",
    ]
    return rng.choice(ops)(text)


def predictions(rng, data, limit):
    qs = []
    for art in data["data"]:
        for para in art["paragraphs"]:
            for qa in para["qas"]:
                qs.append((qa, para["context"]))
    if limit:
        qs = qs[:limit]
    golds = [qa["answers"][0]["text"] for qa, _ in qs]
    preds, kinds = {}, {}
    for qa, ctx in qs:
        kind = rng.choices(["sentence", "gold", "gold_edit", "window", "other", "missing"], [40, 10, 20, 15, 10, 5])[0]
        gold = rng.choice(qa["answers"])
        if kind == "sentence":
            p = best_sentence(qa["question"], ctx)
        elif kind == "gold":
            p = gold["text"]
        elif kind == "gold_edit":
            p = edit(rng, gold["text"])
        elif kind == "window":
            i = ctx.find(gold["text"])
            if i < 0:
                i = gold["answer_start"]
            a, b = rng.randint(0, 6), rng.randint(0, 6)
            p = ctx[max(i - a, 0): i + len(gold["text"]) + b]
        elif kind == "other":
            p = rng.choice(golds)
        else:
            continue
        preds[qa["id"]] = p
        kinds[qa["id"]] = kind
    return [qa for qa, _ in qs], preds, kinds


def main():
    mod, sensitive = load_official()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    shared = os.path.join(root, "..", "shared", "data")
    rng = random.Random(SEED)
    out = {
        "reference": "cmrc2018_evaluate.py v5 - special, from the PyPI wheel %s (%s)" % (PADDLEHUB, MEMBER),
        "nltk": nltk.__version__,
        "python": sys.version.split()[0],
        "note": "nltk.word_tokenize with preserve_line=True (Punkt sentence splitting is not on PyPI); punkt_sensitive_runs counts the non-CJK runs where Punkt could have split a sentence",
        "segments": [],
        "scores": [],
        "datasets": [],
    }
    for s in SEGMENT_CASES:
        out["segments"].append({
            "text": s,
            "segments": mod.mixed_segmentation(s, rm_punc=False),
            "segments_rm_punc": mod.mixed_segmentation(s, rm_punc=True),
            "no_punct": mod.remove_punctuation(s),
        })
    for pred, golds in SCORE_CASES:
        out["scores"].append({"prediction": pred, "answers": golds,
                              "em": mod.calc_em_score(golds, pred), "f1": mod.calc_f1_score(golds, pred)})
    for rel, limit in DATASETS:
        with open(os.path.join(shared, rel), encoding="utf-8") as f:
            data = json.load(f)
        qas, preds, kinds = predictions(rng, data, limit)
        per = {}
        for qa in qas:
            qid = qa["id"].strip()
            if qid not in preds:
                continue
            golds = [a["text"] for a in qa["answers"]]
            per[qa["id"]] = [mod.calc_em_score(golds, preds[qid]), mod.calc_f1_score(golds, preds[qid])]
        # The official totals over exactly these questions.
        ids = {qa["id"] for qa in qas}
        sub = []
        for art in data["data"]:
            paras = []
            for para in art["paragraphs"]:
                keep = [qa for qa in para["qas"] if qa["id"] in ids]
                if keep:
                    paras.append({"context": para["context"], "qas": keep})
            if paras:
                sub.append({"paragraphs": paras})
        f1, em, total, skip = mod.evaluate(sub, preds)
        out["datasets"].append({
            "dataset": rel, "questions": len(qas),
            "result": {"f1": f1, "em": em, "total": total, "skip": skip},
            "predictions": preds, "kinds": kinds, "per_question": per,
        })
    out["punkt_sensitive_runs"] = len(sensitive)
    out["punkt_sensitive_examples"] = sorted(set(sensitive))[:50]
    dst = os.path.join(root, "qa", "cmrc", "testdata", "cmrc_metric.json")
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote %s: %d punkt-sensitive runs" % (dst, len(sensitive)))
    for d in out["datasets"]:
        print(d["dataset"], d["result"])


if __name__ == "__main__":
    main()
