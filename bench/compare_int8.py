#!/usr/bin/env python3
"""Side-by-side forward-pass speed of int8 inference: ask --quantize int8 vs
ONNX Runtime's dynamic quantization (onnxruntime.quantization.quantize_dynamic,
default settings, of the same exported model) vs ask fp32 and ORT fp32, with
every kernel path ask can run on this CPU (ASK_GEMM_KERNEL=avx2 for the
AVX2 int8 and fp32 kernels besides the default, ASK_GEMM_KERNEL=avx512 for
the AVX-512F fp32 kernel; the default is AVX-512 VNNI for int8 where the CPU
has it, and AVX-512F for fp32 except on AMD Zen 4, where AVX2 is faster).

    ~/.venvs/askref/bin/python bench/compare_int8.py                       # defaults below
    bench/compare_int8.py --models distilbert-qa --shapes 1x384 --threads 2 --rounds 5

Checkpoints and their ONNX exports come from bench/compare.py's helpers
(tools/reference/gen_models.py, random weights, cached in
/tmp/ask-bench-models); the int8 ONNX model is written beside them. Each
engine runs in its own subprocess; with --rounds N the engines are
interleaved N times (ORT fp32, ORT int8, then each ask variant) and every
cell is the median over rounds, ratios the median of per-round ratios, so a
drifting shared VM hits all columns alike. CPU flags are printed with the
figures.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import compare  # noqa: E402  (bench/compare.py: model generation, ONNX export, inputs)

# (label, ask args, ASK_GEMM_KERNEL)
ASK_VARIANTS = {
    "ask-int8": (["--quantize", "int8"], None),
    "ask-int8-avx2": (["--quantize", "int8"], "avx2"),
    "ask-fp32": ([], None),
    "ask-fp32-avx2": ([], "avx2"),
    "ask-fp32-avx512": ([], "avx512"),
}


def ensure_int8_onnx(model_dir: str) -> str:
    src = os.path.join(model_dir, "model.onnx")
    dst = os.path.join(model_dir, "model.int8.onnx")
    if not os.path.exists(dst) or os.path.getmtime(dst) < os.path.getmtime(src):
        from onnxruntime.quantization import QuantType, quantize_dynamic
        compare.log(f"quantize_dynamic {src}")
        quantize_dynamic(src, dst + ".tmp", weight_type=QuantType.QInt8)
        os.replace(dst + ".tmp", dst)
    return dst


def worker_ort(onnx_path: str, model_dir: str, threads: int, shapes: list[str], scale: float) -> dict:
    import onnxruntime as ort
    cfg = compare.read_config(model_dir)
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if compare.takes_types(cfg) else [])
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    res = {"version": ort.__version__, "shapes": {}}
    for shape in shapes:
        b, l = compare.parse_shape(shape)
        feed = dict(zip(names, compare.bench_inputs(cfg, b, l)))
        warm, n = compare.runs_for(shape, scale)
        for _ in range(warm):
            sess.run(None, feed)
        times = []
        for _ in range(n):
            t = time.perf_counter()
            sess.run(None, feed)
            times.append(time.perf_counter() - t)
        res["shapes"][shape] = compare.summarize(times)
    return res


def call_ort(onnx_path: str, model_dir: str, threads: int, shapes: list[str], scale: float) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker-ort", onnx_path, "--model-dir", model_dir,
           "--threads", str(threads), "--shapes", ",".join(shapes), "--runs-scale", str(scale)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"ORT worker failed (rc {p.returncode}):\n{p.stderr[-3000:]}")


def run_ask(ask: str, model_dir: str, shape: str, threads: int, scale: float, extra: list[str],
            kernel: str | None) -> dict | None:
    b, l = compare.parse_shape(shape)
    w, n = compare.runs_for(shape, scale)
    env = dict(os.environ)
    env.pop("ASK_GEMM_KERNEL", None)
    if kernel:
        env["ASK_GEMM_KERNEL"] = kernel
    cmd = [ask, "bench", "--model", model_dir, "--batch", str(b), "--seq", str(l), "--threads", str(threads),
           "--json", "--warmup", str(w), "--runs", str(n)] + extra
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if p.returncode != 0:
        compare.log(f"{' '.join(cmd)}: {p.stderr.strip()[-400:]}")
        return None
    return json.loads(p.stdout.strip().splitlines()[-1])


def cpu_flags() -> list[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return sorted(x for x in line.split(":", 1)[1].split()
                                  if x.startswith(("avx512", "avx_vnni", "avx2", "fma", "amx")))
    except OSError:
        pass
    return []


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default="/tmp/ask-bench-models")
    ap.add_argument("--ask", help="ask binary (default: build /tmp/ask)")
    ap.add_argument("--models", default="distilbert-qa,bert-qa")
    ap.add_argument("--shapes", default="1x128,1x384,8x384")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--size", default="base", choices=("base", "tiny"))
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--runs-scale", type=float, default=1.0)
    ap.add_argument("--variants", default=",".join(ASK_VARIANTS), help="ask variants: " + ",".join(ASK_VARIANTS))
    ap.add_argument("--skip-ort", action="store_true")
    ap.add_argument("--json", dest="json_out")
    ap.add_argument("--worker-ort", help=argparse.SUPPRESS)
    ap.add_argument("--model-dir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    shapes = [s for s in args.shapes.split(",") if s]
    if args.worker_ort:
        print("RESULT " + json.dumps(worker_ort(args.worker_ort, args.model_dir, int(args.threads), shapes,
                                                args.runs_scale)))
        return 0

    threads = [int(t) for t in args.threads.split(",") if t]
    variants = [v for v in args.variants.split(",") if v]
    ask = args.ask or compare.build_ask()
    res = {"cpu_flags": cpu_flags(), "models": {}}
    for arch in [m for m in args.models.split(",") if m]:
        d = compare.ensure_model(args.cache, arch, args.size)
        engines = {}
        if not args.skip_ort:
            compare.ensure_onnx(d)
            engines["ort-fp32"] = os.path.join(d, "model.onnx")
            engines["ort-int8"] = ensure_int8_onnx(d)
        cells: dict = {}
        for rnd in range(args.rounds):
            for t in threads:
                for name, path in engines.items():
                    compare.log(f"{arch}: {name}, {t} thread(s), round {rnd + 1}")
                    r = call_ort(path, d, t, shapes, args.runs_scale)
                    res["ort_version"] = r["version"]
                    for s in shapes:
                        cells.setdefault((s, t), {}).setdefault(name, []).append(r["shapes"][s]["median_ms"])
                for s in shapes:
                    for v in variants:
                        extra, kern = ASK_VARIANTS[v]
                        compare.log(f"{arch}: {v} {s}, {t} thread(s), round {rnd + 1}")
                        r = run_ask(ask, d, s, t, args.runs_scale, extra, kern)
                        if r:
                            cells.setdefault((s, t), {}).setdefault(v, []).append(r["median_ms"])
                            cells[(s, t)].setdefault("kernels", {})[v] = r["kernel"]
        res["models"][arch] = {f"{s}/t{t}": c for (s, t), c in cells.items()}

    print(f"CPU flags: {' '.join(res['cpu_flags'])}; onnxruntime {res.get('ort_version', 'n/a')}; "
          f"{args.rounds} round(s), medians of per-run medians in ms")
    cols = list(engines) + variants if not args.skip_ort else variants
    for arch, rows in res["models"].items():
        print(f"\n{arch}")
        hdr = "| shape | threads | " + " | ".join(cols) + " | ask-int8/ORT-int8 | ask-fp32/ask-int8 | ask-fp32 avx2/avx512 |"
        print(hdr)
        print("|" + "---|" * (hdr.count("|") - 1))
        for key, c in rows.items():
            s, t = key.split("/t")
            med = {k: statistics.median(v) for k, v in c.items() if k != "kernels"}

            def per_round(a, b):
                if a not in c or b not in c:
                    return "n/a"
                rs = [x / y for x, y in zip(c[a], c[b])]
                m = statistics.median(rs)
                return f"{m:.2f}" + (f" ({min(rs):.2f}–{max(rs):.2f})" if len(rs) > 1 else "")
            print(f"| {s} | {t} | " + " | ".join(f"{med[k]:.1f}" if k in med else "n/a" for k in cols) +
                  f" | {per_round('ask-int8', 'ort-int8')} | {per_round('ask-fp32', 'ask-int8')}"
                  f" | {per_round('ask-fp32-avx2', 'ask-fp32-avx512')} |")
        kern = next(iter(rows.values())).get("kernels", {})
        print("kernels: " + "; ".join(f"{k}: {v}" for k, v in kern.items()))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({**res, "models": {a: {k: v for k, v in r.items()} for a, r in res["models"].items()}},
                      f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
