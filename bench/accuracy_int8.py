#!/usr/bin/env python3
"""Accuracy of int8 inference: ask --quantize int8 against ask fp32, and ONNX
Runtime's dynamic quantization (onnxruntime.quantization.quantize_dynamic,
default settings) of the same checkpoint against ONNX Runtime fp32, on the
same SQuAD v1.1 questions with the same metric.

    ~/.venvs/askref/bin/python bench/accuracy_int8.py \
        [--model builtin/model] [--data tools/train/heldout-v1.1.json] [--threads 2]

ask answers with `ask eval --predictions` (its default pipeline parameters,
which are the transformers pipeline's); ONNX Runtime answers through the
transformers question-answering pipeline with the model's forward replaced by
an InferenceSession, so the pre- and post-processing are transformers' own.
Every prediction set is scored here with the official SQuAD v1.1 EM/F1
(normalisation as in evaluate-v1.1.py), and each int8 set is compared answer
by answer with its fp32 counterpart. ask also runs with ASK_GEMM_KERNEL=avx2,
whose kernel takes 7-bit activations (see tensor/int8.go), to show that
choice's effect. --calibrated DIR adds a checkpoint written by
tools/quantize/smoothquant_gptq.py (SmoothQuant activation factors + GPTQ
rounding), compared with ask fp32 of --model; ONNX Runtime also runs
quantize_dynamic with per_channel=True (per-channel weights, as ask's).

Prints a table; --json writes the raw figures.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import string
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def normalize(s: str) -> str:
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def f1(pred: str, gold: str) -> float:
    p, g = normalize(pred).split(), normalize(gold).split()
    common = collections.Counter(p) & collections.Counter(g)
    same = sum(common.values())
    if same == 0:
        return 0.0
    prec, rec = same / len(p), same / len(g)
    return 2 * prec * rec / (prec + rec)


def score(preds: dict, qs: list) -> dict:
    em = f = 0.0
    for qid, _, _, golds in qs:
        p = preds.get(qid, "")
        em += max(float(normalize(p) == normalize(g)) for g in golds)
        f += max(f1(p, g) for g in golds)
    n = len(qs)
    return {"exact_match": 100 * em / n, "f1": 100 * f / n, "n": n}


def agreement(a: dict, b: dict, qs: list) -> float:
    return 100 * sum(a.get(q[0], "") == b.get(q[0], "") for q in qs) / len(qs)


def run_ask(ask: str, model: str, data: str, threads: int, quantize: str, kernel: str | None, out: str) -> dict:
    env = dict(os.environ)
    env.pop("ASK_GEMM_KERNEL", None)
    if kernel:
        env["ASK_GEMM_KERNEL"] = kernel
    cmd = [ask, "eval", "--model", model, "--threads", str(threads), "--json", "--predictions", out,
           "--quantize", quantize, data]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    with open(out) as f:
        return {"preds": json.load(f), "wall_s": time.perf_counter() - t0, "self": json.loads(p.stdout)}


def export_onnx(model_dir: str, out: str) -> None:
    import torch
    from transformers import AutoModelForQuestionAnswering
    model = AutoModelForQuestionAnswering.from_pretrained(model_dir, dtype=torch.float32,
                                                          attn_implementation="eager").eval()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    args = tuple(torch.ones((1, 16), dtype=torch.int64) for _ in names)
    axes = {n: {0: "batch", 1: "sequence"} for n in names + ["start_logits", "end_logits"]}
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, out, input_names=names, output_names=["start_logits", "end_logits"],
                          dynamic_axes=axes, opset_version=17, do_constant_folding=True, dynamo=False)


def run_ort(model_dir: str, onnx_path: str, qs: list, threads: int) -> dict:
    import onnxruntime as ort
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer, pipeline
    from transformers.modeling_outputs import QuestionAnsweringModelOutput
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    inputs = {i.name for i in sess.get_inputs()}
    model = AutoModelForQuestionAnswering.from_pretrained(model_dir, dtype=torch.float32).eval()

    def forward(**kw):
        feed = {k: v.numpy() for k, v in kw.items() if k in inputs and v is not None}
        if "token_type_ids" in inputs and "token_type_ids" not in feed:
            feed["token_type_ids"] = torch.zeros_like(kw["input_ids"]).numpy()
        s, e = sess.run(["start_logits", "end_logits"], feed)
        return QuestionAnsweringModelOutput(start_logits=torch.from_numpy(s), end_logits=torch.from_numpy(e))

    model.forward = forward
    pipe = pipeline("question-answering", model=model, tokenizer=AutoTokenizer.from_pretrained(model_dir))
    preds = {}
    t0 = time.perf_counter()
    for qid, q, ctx, _ in qs:
        preds[qid] = pipe(question=q, context=ctx)["answer"]
    return {"preds": preds, "wall_s": time.perf_counter() - t0, "version": ort.__version__}


CALIBRATED = "ask int8 calibrated (SmoothQuant+GPTQ)"
CALIBRATED_FP32 = "ask fp32 of the calibrated checkpoint (--quantize none)"
ORT_PC = "ORT int8 (quantize_dynamic, per_channel)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(REPO, "builtin", "model"))
    ap.add_argument("--data", default=os.path.join(REPO, "tools", "train", "heldout-v1.1.json"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ask", help="ask binary (default: go build one)")
    ap.add_argument("--skip", default="", help="comma list: ask,ort,avx2")
    ap.add_argument("--json", dest="json_out")
    ap.add_argument("--calibrated", help="int8 checkpoint of --model written by tools/quantize/smoothquant_gptq.py "
                    "(SmoothQuant + GPTQ): also run it, compared with ask fp32 of --model")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    work = tempfile.mkdtemp(prefix="ask-int8-acc-")
    with open(args.data) as f:
        data = json.load(f)["data"]
    qs = [(q["id"], q["question"], p["context"], [a["text"] for a in q["answers"]])
          for a in data for p in a["paragraphs"] for q in p["qas"]]
    flags = open("/proc/cpuinfo").read().split("flags")[1].split("\n")[0].split() if os.path.exists("/proc/cpuinfo") else []
    res = {"questions": len(qs), "cpu_flags": [f for f in flags if f.startswith(("avx512", "avx_vnni", "avx2", "fma"))],
           "runs": {}}
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

    if "ask" not in skip:
        ask = args.ask
        if ask is None:
            ask = os.path.join(work, "ask")
            subprocess.run(["go", "build", "-o", ask, "./cmd/ask"], cwd=REPO, check=True)
        runs = [("ask fp32", args.model, "none", None), ("ask int8", args.model, "int8", None)]
        if "avx2" not in skip:
            runs.append(("ask int8 (avx2 kernel, 7-bit activations)", args.model, "int8", "avx2"))
        if args.calibrated:
            runs.append((CALIBRATED, args.calibrated, "int8", None))
            runs.append((CALIBRATED_FP32, args.calibrated, "none", None))
            if "avx2" not in skip:
                runs.append((CALIBRATED + " (avx2 kernel)", args.calibrated, "int8", "avx2"))
        for i, (name, model, qz, kern) in enumerate(runs):
            print(f"running {name}", file=sys.stderr, flush=True)
            res["runs"][name] = run_ask(ask, model, args.data, args.threads, qz, kern, os.path.join(work, f"ask{i}.json"))
    if "ort" not in skip:
        from onnxruntime.quantization import QuantType, quantize_dynamic
        fp32 = os.path.join(work, "model.onnx")
        int8 = os.path.join(work, "model.int8.onnx")
        int8pc = os.path.join(work, "model.int8pc.onnx")
        print("exporting ONNX and quantizing", file=sys.stderr, flush=True)
        export_onnx(args.model, fp32)
        quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8)
        quantize_dynamic(fp32, int8pc, weight_type=QuantType.QInt8, per_channel=True)
        for name, path in (("ORT fp32", fp32), ("ORT int8 (quantize_dynamic)", int8), (ORT_PC, int8pc)):
            print(f"running {name}", file=sys.stderr, flush=True)
            res["runs"][name] = run_ort(args.model, path, qs, args.threads)

    pairs = [("ask int8", "ask fp32"), ("ask int8 (avx2 kernel, 7-bit activations)", "ask fp32"),
             (CALIBRATED, "ask fp32"), (CALIBRATED + " (avx2 kernel)", "ask fp32"), (CALIBRATED_FP32, "ask fp32"),
             ("ORT int8 (quantize_dynamic)", "ORT fp32"), (ORT_PC, "ORT fp32"), ("ORT fp32", "ask fp32")]
    print(f"{len(qs)} questions from {os.path.relpath(args.data, REPO)}; CPU flags: {' '.join(res['cpu_flags'])}")
    print(f"{'run':45} {'EM':>6} {'F1':>6} {'same answer as':>16}")
    for name, r in res["runs"].items():
        r["score"] = score(r["preds"], qs)
        ref = next((b for a, b in pairs if a == name and b in res["runs"]), None)
        same = ""
        if ref:
            r["same_as"] = {"ref": ref, "percent": agreement(r["preds"], res["runs"][ref]["preds"], qs)}
            same = f"{r['same_as']['percent']:.1f}% {ref}"
        print(f"{name:45} {r['score']['exact_match']:6.2f} {r['score']['f1']:6.2f}  {same}")
    if args.json_out:
        for r in res["runs"].values():
            r.pop("preds", None)
        with open(args.json_out, "w") as f:
            json.dump(res, f, indent=1)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
