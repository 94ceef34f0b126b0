#!/usr/bin/env python3
"""Evaluate a QA model folder on the held-out English and Chinese files with
transformers' question-answering pipeline (the independent reference).

    ~/.venvs/askref/bin/python tools/train/eval_multi.py MODEL_DIR [--out R.json] [--limit N]

- English: tools/train/heldout-v1.1.json (the five articles builtin/model
  held out) with the SQuAD v1.1 metric (transformers.data.metrics.
  squad_metrics), and heldout-v2.0.json with the empty answer allowed; for
  v2.0 the no-answer threshold is also calibrated by 2-fold cross-validation
  over the held-out articles (choose the margin on some articles, score the
  others with it), so the reported figure never saw its own threshold.
- Chinese: tools/train/heldout-cmrc.json and heldout-drcd.json (articles
  held out by train_qa_multi.py) with the official CMRC 2018 metric
  (cmrc_metric below): mixed segmentation (each CJK character and each
  listed punctuation mark is a token, other runs are word-tokenized),
  punctuation removed, F1 from the longest common substring of the token
  lists, EM on the punctuation-stripped strings; best over the answers.

Pipeline settings are its defaults (max_seq_len 384, doc_stride 128,
max_answer_len 15), as `ask eval --model builtin-multilingual` uses;
--zh-max-answer-len 64 --zh-skip-echoes reads the Chinese files as ask's
router does (its reader.CJKMaxAnswerLen, and qa.Params.SkipEchoes through
gen_multi_golden.py's reference; `ask eval` without --model). MODEL_DIR
"shipped" assembles and dequantises builtin/multilingual as
gen_multi_golden.py does.
"""

import argparse
import collections
import json
import os
import re
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_multi_golden  # noqa: E402  (the shipped model's assembly, and skip_echoes' reference)

# ------------------------------------------------------------ CMRC 2018 metric
# A re-implementation of cmrc2018_evaluate.py (ymcui/cmrc2018): same
# punctuation list, same CJK range, same LCS-based F1. Its non-CJK runs go
# through nltk.word_tokenize; this uses a regex word tokenizer instead (words,
# numbers, and single other symbols), which gives the same tokens on the
# Latin words and numbers that appear inside Chinese answers.

SP_CHAR = ['-', ':', '_', '*', '^', '/', '\\', '~', '`', '+', '=', '，', '。', '：', '？', '！', '“', '”', '；',
           '’', '《', '》', '……', '·', '、', '「', '」', '（', '）', '－', '～', '『', '』']
_CJK = re.compile(r'[\u4e00-\u9fa5]')
_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def mixed_segmentation(s, rm_punc=False):
    s = str(s).lower().strip()
    segs, temp = [], ""
    for ch in s:
        if rm_punc and ch in SP_CHAR:
            continue
        if _CJK.search(ch) or ch in SP_CHAR:
            if temp:
                segs.extend(_WORD.findall(temp))
                temp = ""
            segs.append(ch)
        else:
            temp += ch
    if temp:
        segs.extend(_WORD.findall(temp))
    return segs


def remove_punctuation(s):
    s = str(s).lower().strip()
    return "".join(ch for ch in s if ch not in SP_CHAR)


def find_lcs(a, b):
    m = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    best = 0
    for i in range(len(a)):
        for j in range(len(b)):
            if a[i] == b[j]:
                m[i + 1][j + 1] = m[i][j] + 1
                best = max(best, m[i + 1][j + 1])
    return best


def cmrc_f1(answers, pred):
    out = []
    p = mixed_segmentation(pred, rm_punc=True)
    for a in answers:
        g = mixed_segmentation(a, rm_punc=True)
        n = find_lcs(g, p)
        if n == 0:
            out.append(0.0)
            continue
        prec, rec = n / len(p), n / len(g)
        out.append(2 * prec * rec / (prec + rec))
    return max(out)


def cmrc_em(answers, pred):
    p = remove_punctuation(pred)
    return float(any(remove_punctuation(a) == p for a in answers))


# ------------------------------------------------------------ running

def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def rows_of(d, limit):
    rows = [(q["id"], q["question"], p["context"], [a["text"] for a in q["answers"]], a_i)
            for a_i, art in enumerate(d["data"]) for p in art["paragraphs"] for q in p["qas"]]
    return rows[:limit] if limit else rows


def run(qa, rows, impossible, log, name, batch=64, extra=None):
    """{id: (best_answer, null_margin)}: null_margin = null score minus the
    best span's score (pipeline probabilities), for v2.0 calibration."""
    out = {}
    t0 = time.time()
    for i in range(0, len(rows), batch):
        chunk = rows[i:i + batch]
        res = qa(question=[r[1] for r in chunk], context=[r[2] for r in chunk],
                 handle_impossible_answer=impossible, top_k=3 if impossible else 1, batch_size=16,
                 **(extra or {}))
        if isinstance(res, dict):
            res = [res]
        if chunk and len(chunk) == 1 and impossible:
            res = [res]
        for r, o in zip(chunk, res):
            lst = o if isinstance(o, list) else [o]
            best = lst[0]["answer"]
            margin = None
            if impossible:
                null = [x["score"] for x in lst if x["answer"] == "" and x["start"] == x["end"]]
                spans = [x["score"] for x in lst if not (x["answer"] == "" and x["start"] == x["end"])]
                top_span = spans[0] if spans else 0.0
                margin = (null[0] - top_span) if null else -1.0
                best_span = next((x["answer"] for x in lst if not (x["answer"] == "" and x["start"] == x["end"])), "")
                out[r[0]] = (best, margin, best_span)
            else:
                out[r[0]] = (best, None, best)
        log(f"eval {name}: {min(i + batch, len(rows))}/{len(rows)} ({time.time() - t0:.0f}s)")
    return out, time.time() - t0


def squad_scores(rows, preds):
    from transformers.data.metrics import squad_metrics as sm
    ex, f1, has = {}, {}, {}
    for qid, _, _, answers, _ in rows:
        gold = [a for a in answers if sm.normalize_answer(a)] or [""]
        ex[qid] = max(sm.compute_exact(g, preds[qid]) for g in gold)
        f1[qid] = max(sm.compute_f1(g, preds[qid]) for g in gold)
        has[qid] = gold != [""]
    return ex, f1, has


def summarize(ex, f1, has, keys=None):
    keys = list(ex) if keys is None else keys
    m = collections.OrderedDict()
    m["exact"] = 100.0 * sum(ex[k] for k in keys) / max(len(keys), 1)
    m["f1"] = 100.0 * sum(f1[k] for k in keys) / max(len(keys), 1)
    m["total"] = len(keys)
    if has is not None:
        for lab, want in (("HasAns", True), ("NoAns", False)):
            ks = [k for k in keys if has[k] == want]
            m[lab + "_exact"] = 100.0 * sum(ex[k] for k in ks) / max(len(ks), 1)
            m[lab + "_f1"] = 100.0 * sum(f1[k] for k in ks) / max(len(ks), 1)
            m[lab + "_total"] = len(ks)
    return m


def calibrated_v2(rows, out):
    """2-fold (even/odd held-out articles) cross-validated no-answer margin."""
    from transformers.data.metrics import squad_metrics as sm
    cands = sorted({round(v[1], 4) for v in out.values()} | {0.0})

    def pred(qid, t):
        best, margin, span = out[qid]
        return "" if margin > t else span

    def f1_at(ids, t):
        s = 0.0
        for qid, _, _, answers, _ in ids:
            gold = [a for a in answers if sm.normalize_answer(a)] or [""]
            s += max(sm.compute_f1(g, pred(qid, t)) for g in gold)
        return s / max(len(ids), 1)

    folds = [[r for r in rows if r[4] % 2 == k] for k in (0, 1)]
    grid = cands[::max(1, len(cands) // 200)] + [0.0]
    chosen = []
    preds = {}
    for k in (0, 1):
        t = max(grid, key=lambda t: f1_at(folds[k], t))
        chosen.append(t)
        for r in folds[1 - k]:
            preds[r[0]] = pred(r[0], t)
    return preds, chosen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--out", default="")
    ap.add_argument("--limit", type=int, default=0, help="first N questions per file")
    ap.add_argument("--files", default="v1.1,v2.0,cmrc,drcd")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--zh-align-to-words", type=int, default=0,
                    help="align_to_words for the Chinese files (default off: with a Metaspace tokenizer a "
                         "'word' is a whole run of text without spaces, i.e. a Chinese sentence or more, so "
                         "the pipeline's default widens every answer to it)")
    ap.add_argument("--zh-max-answer-len", type=int, default=15,
                    help="max_answer_len for the Chinese files (default the pipeline's 15; ask's router reads "
                         "Chinese with 64, reader.CJKMaxAnswerLen)")
    ap.add_argument("--zh-skip-echoes", action="store_true",
                    help="for the Chinese files, skip spans the question holds, as ask's router does "
                         "(gen_multi_golden.py's reference of qa.Params.SkipEchoes)")
    args = ap.parse_args()
    if args.model == "shipped":
        tmp = tempfile.mkdtemp()
        try:
            args.model = gen_multi_golden.assemble_shipped(tmp)
            evaluate(args)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    else:
        evaluate(args)


def evaluate(args):
    import torch
    import transformers
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    from transformers import pipeline
    torch.set_num_threads(args.threads)

    def log(*a):
        print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)

    qa = gen_multi_golden.skip_echoes(
        pipeline("question-answering", model=args.model, tokenizer=args.model, dtype=torch.float32, device=-1))
    res = collections.OrderedDict(model=args.model, limit=args.limit)
    for name in args.files.split(","):
        d = load(os.path.join(HERE, f"heldout-{name}.json"))
        rows = rows_of(d, args.limit)
        imp = name == "v2.0"
        zh = name in ("cmrc", "drcd")
        extra = {"align_to_words": bool(args.zh_align_to_words), "max_answer_len": args.zh_max_answer_len} if zh else {}
        if zh and args.zh_skip_echoes:
            extra["skip_echoes"] = True
        out, secs = run(qa, rows, imp, log, name, extra=extra)
        preds = {k: v[0] for k, v in out.items()}
        if name in ("cmrc", "drcd"):
            em = {r[0]: cmrc_em(r[3], preds[r[0]]) for r in rows}
            f1 = {r[0]: cmrc_f1(r[3], preds[r[0]]) for r in rows}
            m = summarize(em, f1, None)
            m["metric"] = "CMRC 2018 (mixed segmentation, punctuation stripped)"
            m["align_to_words"] = bool(args.zh_align_to_words)
            m["max_answer_len"] = args.zh_max_answer_len
            m["skip_echoes"] = args.zh_skip_echoes
        else:
            ex, f1, has = squad_scores(rows, preds)
            m = summarize(ex, f1, has if imp else None)
            m["metric"] = "SQuAD (transformers squad_metrics)"
            if imp:
                cp, chosen = calibrated_v2(rows, out)
                ex2, f12, _ = squad_scores(rows, cp)
                m["calibrated"] = summarize(ex2, f12, has)
                m["calibrated"]["margins_chosen"] = chosen
        m["seconds"] = round(secs, 1)
        res[name] = m
        log(name, json.dumps(m))
        if args.out:  # after each file: a slow run still leaves what it measured
            with open(args.out, "w") as f:
                json.dump(res, f, indent=2, ensure_ascii=False)
                f.write("\n")
    print(json.dumps(res, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
