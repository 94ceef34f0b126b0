#!/usr/bin/env python3
"""Side-by-side forward-pass speed: ask vs ONNX Runtime vs PyTorch eager, fp32
on CPU, plus the machine's fp32 matmul peak (numpy/OpenBLAS sgemm 2048³).

Models are DistilBERT-base and BERT-base shaped QA checkpoints with random
weights, written by tools/reference/gen_models.py into a cache folder
(default /tmp/ask-bench-models; not committed) and exported to ONNX there.
--models deberta-v3-qa adds a deberta-v3-base-shaped one (relative
attention with 256 log buckets, shared keys; tools/reference/gen_deberta.py
--base), exported the same way.

Every measurement runs in its own subprocess (one per engine, model and
thread count), so thread pools never overlap and load times are cold-ish.

    /root/.venvs/askref/bin/python bench/compare.py            # full default run
    bench/compare.py --models distilbert-qa --shapes 1x128 --threads 1 --json out.json
    bench/compare.py --models distilbert-qa --shapes 1x384 --threads 2 --rounds 7 --skip torch,peak

--rounds N repeats every measurement N times with the engines interleaved
(ORT, torch, ask, then again), because a shared VM drifts by ±8% over a
minute: a ratio of two medians taken minutes apart says more about the
drift than about the engines. Each cell then reports the median over rounds
and the ratio as the median of the per-round ratios with their range.

The ask column comes from `ask bench --model DIR --batch B --seq S --threads T
--json` (built with `go build -o /tmp/ask ./cmd/ask` unless --ask is given);
while ask bench is not implemented the column reads n/a.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEN = os.path.join(REPO, "tools", "reference", "gen_models.py")
GEN_DEBERTA = os.path.join(REPO, "tools", "reference", "gen_deberta.py")

DEFAULT_MODELS = ("distilbert-qa", "bert-qa")
DEFAULT_SHAPES = ("1x128", "1x384", "8x384")
DEFAULT_THREADS = (1, 2)
# (warm-up, timed runs) per shape; the big batch gets fewer.
RUNS = {"1x128": (3, 20), "1x384": (2, 10), "8x384": (1, 3)}
DEFAULT_RUNS = (2, 10)
SEED = 1234


# ---------------------------------------------------------------------------
# Shared helpers


def parse_shape(s: str) -> tuple[int, int]:
    b, l = s.lower().split("x")
    return int(b), int(l)


def runs_for(shape: str, scale: float) -> tuple[int, int]:
    w, n = RUNS.get(shape, DEFAULT_RUNS)
    return w, max(1, int(round(n * scale)))


def summarize(times_s: list[float]) -> dict:
    import numpy as np
    ms = [t * 1e3 for t in times_s]
    return {"median_ms": statistics.median(ms), "p90_ms": float(np.percentile(ms, 90)),
            "min_ms": min(ms), "runs": len(ms)}


def bench_inputs(cfg: dict, batch: int, seq: int):
    """Token ids away from the special ids, full attention mask, token types
    0 for the first half and 1 for the rest (BERT-style pair)."""
    import numpy as np
    rng = np.random.RandomState(SEED + batch * 1000 + seq)
    ids = rng.randint(min(1000, cfg["vocab_size"] // 2), cfg["vocab_size"], size=(batch, seq)).astype(np.int64)
    mask = np.ones((batch, seq), dtype=np.int64)
    types = np.zeros((batch, seq), dtype=np.int64)
    types[:, seq // 2:] = 1
    return ids, mask, types


def takes_types(cfg: dict) -> bool:
    if cfg["model_type"] == "deberta-v2":
        return cfg.get("type_vocab_size", 0) > 0
    return cfg["model_type"] not in ("distilbert", "roberta", "xlm-roberta")


def flops(cfg: dict, batch: int, seq: int) -> float:
    """2·(weights in linear layers)·tokens + per layer 4·B·L²·H for QKᵀ and PV."""
    if cfg["model_type"] == "distilbert":
        d, n, f = cfg["dim"], cfg["n_layers"], cfg["hidden_dim"]
    else:
        d, n, f = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"]
    linear = n * (4 * d * d + 2 * d * f) + 2 * d  # + qa_outputs
    tokens = batch * seq
    total = 2.0 * linear * tokens + n * 4.0 * batch * seq * seq * d
    if cfg["model_type"] == "deberta-v2" and cfg.get("relative_attention"):
        # DeBERTa: each query (c2p) and key (p2c) times all 2·span
        # projected relative embeddings, as transformers computes them.
        span = cfg.get("position_buckets", -1)
        if span <= 0:
            span = cfg.get("max_relative_positions", -1)
        if span <= 0:
            span = cfg["max_position_embeddings"]
        terms = len([t for t in str(cfg.get("pos_att_type", "")).replace("|", " ").replace(",", " ").split()
                     if t.strip("[]'\"") in ("c2p", "p2c")])
        total += n * terms * 2.0 * batch * seq * 2 * span * d
    return total


def read_config(model_dir: str) -> dict:
    with open(os.path.join(model_dir, "config.json")) as f:
        return json.load(f)


# ---------------------------------------------------------------------------
# Workers (run in subprocesses: `compare.py --worker KIND ...`)


def worker_export(model_dir: str) -> dict:
    """Export the transformers model to ONNX (TorchScript exporter, opset 17,
    dynamic batch/sequence), then check ORT against torch at another shape."""
    import numpy as np
    import torch
    import onnxruntime as ort
    from transformers import AutoModelForQuestionAnswering
    torch.set_num_threads(2)
    model = AutoModelForQuestionAnswering.from_pretrained(
        model_dir, dtype=torch.float32, attn_implementation="eager").eval()
    cfg = model.config.to_dict()
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if takes_types(cfg) else [])
    ids, mask, types = bench_inputs(cfg, 2, 16)
    args = tuple(torch.from_numpy(x) for x in (ids, mask, types)[:len(names)])
    out = os.path.join(model_dir, "model.onnx")
    tmp = out + ".tmp"
    axes = {n: {0: "batch", 1: "sequence"} for n in names + ["start_logits", "end_logits"]}
    t0 = time.perf_counter()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, tmp, input_names=names, output_names=["start_logits", "end_logits"],
                          dynamic_axes=axes, opset_version=17, do_constant_folding=True, dynamo=False)
    export_s = time.perf_counter() - t0
    # Check at a different shape with padding.
    ids, mask, types = bench_inputs(cfg, 3, 40)
    mask[1, 25:] = 0
    feed = dict(zip(names, (ids, mask, types)))
    sess = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"])
    got = sess.run(["start_logits", "end_logits"], feed)
    with torch.no_grad():
        ref = model(**{k: torch.from_numpy(v) for k, v in feed.items()})
    diff = max(float(np.abs(got[0] - ref.start_logits.numpy()).max()),
               float(np.abs(got[1] - ref.end_logits.numpy()).max()))
    if diff > 1e-3:
        raise SystemExit(f"ONNX export of {model_dir} disagrees with torch: max |diff| {diff}")
    os.replace(tmp, out)
    if os.path.exists(tmp + ".data"):
        os.replace(tmp + ".data", out + ".data")
    return {"export_s": export_s, "check_max_abs_diff": diff, "path": out}


def worker_ort(model_dir: str, threads: int, shapes: list[str], scale: float) -> dict:
    import numpy as np
    import onnxruntime as ort
    cfg = read_config(model_dir)
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if takes_types(cfg) else [])
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    t0 = time.perf_counter()
    sess = ort.InferenceSession(os.path.join(model_dir, "model.onnx"), so, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - t0) * 1e3
    res = {"engine": "ort", "version": ort.__version__, "load_ms": load_ms, "shapes": {}}
    for shape in shapes:
        b, l = parse_shape(shape)
        feed = dict(zip(names, bench_inputs(cfg, b, l)))
        warm, n = runs_for(shape, scale)
        for _ in range(warm):
            sess.run(None, feed)
        times, cpu = [], []
        for _ in range(n):
            t, c = time.perf_counter(), time.process_time()
            sess.run(None, feed)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        res["shapes"][shape] = summarize(times)
        # The process's CPU time per run: what holds on a machine shared
        # with other jobs (compare with BenchmarkBase's cpu-ms/op for ask).
        res["shapes"][shape]["cpu_median_ms"] = statistics.median(cpu) * 1e3
    return res


def worker_torch(model_dir: str, threads: int, shapes: list[str], scale: float) -> dict:
    import torch
    from transformers import AutoModelForQuestionAnswering
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    model = AutoModelForQuestionAnswering.from_pretrained(
        model_dir, dtype=torch.float32, attn_implementation="eager").eval()
    load_ms = (time.perf_counter() - t0) * 1e3
    cfg = model.config.to_dict()
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if takes_types(cfg) else [])
    res = {"engine": "torch", "version": torch.__version__, "load_ms": load_ms,
           "cpu_capability": torch.backends.cpu.get_cpu_capability(), "shapes": {}}
    with torch.inference_mode():
        for shape in shapes:
            b, l = parse_shape(shape)
            feed = {k: torch.from_numpy(v) for k, v in zip(names, bench_inputs(cfg, b, l))}
            warm, n = runs_for(shape, scale)
            for _ in range(warm):
                model(**feed)
            times = []
            for _ in range(n):
                t = time.perf_counter()
                model(**feed)
                times.append(time.perf_counter() - t)
            res["shapes"][shape] = summarize(times)
    return res


def worker_peak(threads: int, n: int = 2048, reps: int = 5) -> dict:
    """numpy float32 matmul n³: best and median GFLOP/s over reps."""
    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    with threadpool_limits(limits=threads, user_api="blas"):
        info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        np.matmul(a, b, out=c)
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            np.matmul(a, b, out=c)
            times.append(time.perf_counter() - t)
    f = 2.0 * n ** 3
    return {"threads": threads, "n": n, "best_gflops": f / min(times) / 1e9,
            "median_gflops": f / statistics.median(times) / 1e9,
            "blas": [{k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads",
                                            "threading_layer")} for i in info],
            "numpy": np.__version__}


def run_worker(args) -> None:
    kind = args.worker
    if kind == "export":
        out = worker_export(args.model_dir)
    elif kind == "ort":
        out = worker_ort(args.model_dir, args.worker_threads, args.shapes, args.runs_scale)
    elif kind == "torch":
        out = worker_torch(args.model_dir, args.worker_threads, args.shapes, args.runs_scale)
    elif kind == "peak":
        out = worker_peak(args.worker_threads)
    else:
        raise SystemExit(f"unknown worker {kind}")
    print("RESULT " + json.dumps(out))


# ---------------------------------------------------------------------------
# Driver


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def call_worker(kind: str, *, model_dir: str | None = None, threads: int = 1,
                shapes: list[str] | None = None, scale: float = 1.0, env: dict | None = None) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", kind, "--worker-threads", str(threads),
           "--runs-scale", str(scale)]
    if model_dir:
        cmd += ["--model-dir", model_dir]
    if shapes:
        cmd += ["--shapes", ",".join(shapes)]
    e = dict(os.environ if env is None else env)
    e.setdefault("HF_HUB_OFFLINE", "1")
    e.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    e.setdefault("TRANSFORMERS_VERBOSITY", "error")
    p = subprocess.run(cmd, capture_output=True, text=True, env=e)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"worker {kind} failed (rc {p.returncode}):\n{p.stderr[-3000:]}")


def ensure_model(cache: str, arch: str, size: str) -> str:
    if arch == "deberta-v3-qa":
        size = "base"  # gen_deberta.py writes only the base size
    d = os.path.join(cache, f"{arch}-{size}")
    if not (os.path.exists(os.path.join(d, "config.json"))
            and os.path.exists(os.path.join(d, "model.safetensors"))):
        log(f"generating {arch} ({size}) in {d}")
        cmd = [sys.executable, GEN, "--size", size, "--arch", arch, "--out", d, "--no-reference"]
        if arch == "deberta-v3-qa":
            cmd = [sys.executable, GEN_DEBERTA, "--base", d]
        subprocess.run(cmd, check=True, env=dict(os.environ, HF_HUB_DISABLE_PROGRESS_BARS="1",
                                                 TRANSFORMERS_VERBOSITY="error"))
    return d


def ensure_onnx(model_dir: str) -> dict | None:
    onnx_path = os.path.join(model_dir, "model.onnx")
    st = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(onnx_path) and os.path.getmtime(onnx_path) >= os.path.getmtime(st):
        return None
    log(f"exporting {model_dir} to ONNX")
    return call_worker("export", model_dir=model_dir)


class Ask:
    """Runs `ask bench`; remembers when it is not implemented."""

    def __init__(self, path: str | None, extra: list[str]):
        self.path, self.extra, self.na_reason, self.no_counts = path, extra, None, False
        if path is None:
            self.na_reason = "disabled"

    def run(self, model_dir: str, batch: int, seq: int, threads: int,
            warmup: int | None = None, runs: int | None = None) -> dict | None:
        if self.na_reason:
            return None
        cmd = [self.path, "bench", "--model", model_dir, "--batch", str(batch), "--seq", str(seq),
               "--threads", str(threads), "--json"]
        # The same warm-up and run counts as the other engines, while ask
        # bench takes them (--warmup/--runs); dropped if it does not.
        counts = [] if self.no_counts or runs is None else ["--warmup", str(warmup), "--runs", str(runs)]
        try:
            p = subprocess.run(cmd + counts + self.extra, capture_output=True, text=True, timeout=900)
            if p.returncode != 0 and counts and "flag provided but not defined" in p.stderr:
                self.no_counts = True
                p = subprocess.run(cmd + self.extra, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as e:
            log(f"ask: {e}")
            return {"error": str(e)}
        text = p.stdout + p.stderr
        if p.returncode != 0:
            if "not implemented" in text:
                self.na_reason = "not implemented"
                log("ask bench: not implemented yet; the ask column reads n/a")
                return None
            log(f"ask bench failed (rc {p.returncode}): {text.strip()[-500:]}")
            return {"error": text.strip()[-500:]}
        for line in reversed(p.stdout.splitlines()):
            line = line.strip()
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except json.JSONDecodeError:
                    pass
        return {"error": "no JSON line in ask output: " + p.stdout[-300:]}


def build_ask() -> str | None:
    out = "/tmp/ask"
    if shutil.which("go") is None:
        log("go not found; the ask column reads n/a")
        return None
    log("building ask: go build -o /tmp/ask ./cmd/ask")
    p = subprocess.run(["go", "build", "-o", out, "./cmd/ask"], cwd=REPO, capture_output=True, text=True)
    if p.returncode != 0:
        log("go build failed; the ask column reads n/a\n" + p.stderr[-2000:])
        return None
    return out


def peak_env() -> dict:
    """The environment for the peak measurement: OPENBLAS_CORETYPE and
    OPENBLAS_L2_SIZE unset (set on some machines for old OpenBLAS builds;
    they slow a current numpy), in that subprocess only."""
    e = dict(os.environ)
    e.pop("OPENBLAS_CORETYPE", None)
    e.pop("OPENBLAS_L2_SIZE", None)
    return e


def fmt(v, spec=".1f", na="n/a"):
    return na if v is None else format(v, spec)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default="/tmp/ask-bench-models", help="where generated checkpoints and ONNX files live")
    ap.add_argument("--ask", help="path to the ask binary (default: build /tmp/ask from this repo)")
    ap.add_argument("--ask-arg", action="append", default=[], help="extra argument for ask bench (repeatable)")
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS))
    ap.add_argument("--shapes", default=",".join(DEFAULT_SHAPES), help="BxL list, e.g. 1x128,8x384")
    ap.add_argument("--threads", default=",".join(map(str, DEFAULT_THREADS)))
    ap.add_argument("--size", default="base", choices=("base", "tiny"),
                    help="checkpoint size from gen_models.py (tiny: to try the script quickly)")
    ap.add_argument("--runs-scale", type=float, default=1.0, help="multiply the timed runs per shape")
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat every measurement this many times, engines interleaved; cells report the median")
    ap.add_argument("--skip", default="", help="comma list of engines to skip: ask,ort,torch,peak")
    ap.add_argument("--json", dest="json_out", metavar="OUT", help="write raw results here")
    # worker mode
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--worker-threads", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--model-dir", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.shapes = [s for s in args.shapes.split(",") if s] if isinstance(args.shapes, str) else args.shapes

    if args.worker:
        run_worker(args)
        return 0

    t_start = time.perf_counter()
    models = [m for m in args.models.split(",") if m]
    threads = [int(t) for t in args.threads.split(",") if t]
    skip = set(s for s in args.skip.split(",") if s)
    os.makedirs(args.cache, exist_ok=True)

    results = {"machine": {"platform": platform.platform(), "processor": platform.processor(),
                           "cpu_count": os.cpu_count(), "python": platform.python_version()},
               "config": {"models": models, "shapes": args.shapes, "threads": threads,
                          "runs": {s: runs_for(s, args.runs_scale) for s in args.shapes},
                          "rounds": args.rounds},
               "peak": {}, "models": {}}
    try:
        with open("/proc/cpuinfo") as f:
            results["machine"]["cpu_model"] = next(
                (l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), None)
    except OSError:
        pass

    # Peak first, on a quiet machine.
    if "peak" not in skip:
        for t in threads:
            log(f"peak: numpy sgemm 2048³ at {t} thread(s)")
            results["peak"][str(t)] = call_worker("peak", threads=t, env=peak_env())

    ask = Ask(None, args.ask_arg)
    if "ask" not in skip:
        ask = Ask(args.ask or build_ask(), args.ask_arg)

    for arch in models:
        d = ensure_model(args.cache, arch, args.size)
        cfg = read_config(d)
        entry = {"dir": d, "model_type": cfg["model_type"], "load_ms": {}, "runs": []}
        if "ort" not in skip:
            ex = ensure_onnx(d)
            if ex:
                entry["onnx_export"] = ex
        # Each round runs every engine once per thread count, one after the
        # other, so slow drifts of a shared machine hit all engines alike;
        # the report gives each cell's median over rounds and the spread of
        # the per-round ratios.
        rounds = []
        for rnd in range(args.rounds):
            per, rows = {}, []
            for t in threads:
                tag = f" (round {rnd + 1}/{args.rounds})" if args.rounds > 1 else ""
                for eng, name in (("ort", "onnxruntime"), ("torch", "torch")):
                    if eng in skip:
                        continue
                    log(f"{arch}: {name}, {t} thread(s){tag}")
                    r = per[(eng, t)] = call_worker(eng, model_dir=d, threads=t, shapes=args.shapes,
                                                    scale=args.runs_scale)
                    entry["load_ms"].setdefault(eng, {})[str(t)] = r["load_ms"]
                    entry[f"{eng}_version"] = r["version"]
                for shape in args.shapes:
                    b, l = parse_shape(shape)
                    row = {"shape": shape, "batch": b, "seq": l, "threads": t, "flops": flops(cfg, b, l)}
                    if "ask" not in skip:
                        log(f"{arch}: ask {shape}, {t} thread(s){tag}")
                        w, n = runs_for(shape, args.runs_scale)
                        row["ask"] = ask.run(d, b, l, t, w, n)
                        if row["ask"] and "load_ms" in row["ask"]:
                            entry["load_ms"].setdefault("ask", {})[str(t)] = row["ask"]["load_ms"]
                    for eng in ("ort", "torch"):
                        if (eng, t) in per:
                            row[eng] = per[(eng, t)]["shapes"][shape]
                    rows.append(row)
            rounds.append(rows)
        entry["runs"] = merge_rounds(rounds)
        results["models"][arch] = entry
    if ask.na_reason:
        results["ask_na_reason"] = ask.na_reason
    results["total_s"] = time.perf_counter() - t_start

    print_report(results)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(results, f, indent=1)
    return 0


def merge_rounds(rounds: list[list[dict]]) -> list[dict]:
    """One row per cell: each engine's median over rounds of its median ms,
    and the per-round ask/ORT and ask/torch ratios (measured back to back)."""
    merged = []
    for i, row in enumerate(rounds[0]):
        cells = [r[i] for r in rounds]
        out = {k: v for k, v in row.items() if k not in ("ask", "ort", "torch")}
        for eng in ("ask", "ort", "torch"):
            got = [c[eng] for c in cells if c.get(eng) and "median_ms" in c[eng]]
            if not got:
                if eng in row:
                    out[eng] = row[eng]
                continue
            m = dict(got[0])
            m["median_ms"] = statistics.median(float(g["median_ms"]) for g in got)
            if all("p90_ms" in g for g in got):
                m["p90_ms"] = statistics.median(float(g["p90_ms"]) for g in got)
            m["min_ms"] = min(float(g.get("min_ms", g["median_ms"])) for g in got)
            m["round_medians_ms"] = [float(g["median_ms"]) for g in got]
            out[eng] = m
        for other in ("ort", "torch"):
            ratios = [_ms(c.get("ask")) / _ms(c.get(other)) for c in cells
                      if _ms(c.get("ask")) and _ms(c.get(other))]
            if ratios:
                out[f"ask_{other}_ratios"] = ratios
        merged.append(out)
    return merged


def _ms(r):
    if not r or "median_ms" not in r:
        return None
    return float(r["median_ms"])


def ratio(per_round: list[float], a, b) -> str:
    """The median of the per-round ratios, with their range when there were
    several rounds."""
    if len(per_round) > 1:
        return (f"{statistics.median(per_round):.2f} "
                f"({min(per_round):.2f}–{max(per_round):.2f})")
    return fmt(a / b if a and b else None, ".2f")


def print_report(res: dict) -> None:
    out = []
    m = res["machine"]
    out.append(f"Machine: {m.get('cpu_model')} ({m['cpu_count']} CPUs), {m['platform']}")
    if res["peak"]:
        out.append("")
        out.append("| threads | sgemm 2048³ peak GFLOP/s (best) | median | BLAS core type |")
        out.append("|---|---|---|---|")
        for t, p in res["peak"].items():
            arch = ", ".join(f"{b.get('internal_api')} {b.get('version')} {b.get('architecture')}"
                             for b in p["blas"]) or "?"
            out.append(f"| {t} | {p['best_gflops']:.1f} | {p['median_gflops']:.1f} | {arch} |")
    out.append("")
    out.append("Median ms (p90 in the JSON); GFLOP/s = FLOPs / median; % of peak = vs sgemm best at the same threads.")
    if res["config"].get("rounds", 1) > 1:
        out.append(f"{res['config']['rounds']} rounds, engines interleaved: ms are medians over rounds; a ratio is "
                   "the median of the per-round ratios (range in brackets).")
    out.append("")
    out.append("| model | shape | thr | ask ms | ORT ms | torch ms | ask/ORT | ask/torch "
               "| GFLOP/s ask | GFLOP/s ORT | GFLOP/s torch | % peak ask | % peak ORT | % peak torch |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for arch, e in res["models"].items():
        for r in e["runs"]:
            a, o, t = _ms(r.get("ask")), _ms(r.get("ort")), _ms(r.get("torch"))
            ro, rt = r.get("ask_ort_ratios") or [], r.get("ask_torch_ratios") or []
            peak = res["peak"].get(str(r["threads"]), {}).get("best_gflops")
            g = {k: (r["flops"] / (v * 1e-3) / 1e9 if v else None) for k, v in (("a", a), ("o", o), ("t", t))}
            pct = {k: (100.0 * v / peak if v and peak else None) for k, v in g.items()}
            out.append(
                f"| {arch} | {r['shape']} | {r['threads']} | {fmt(a)} | {fmt(o)} | {fmt(t)} "
                f"| {ratio(ro, a, o)} | {ratio(rt, a, t)} "
                f"| {fmt(g['a'])} | {fmt(g['o'])} | {fmt(g['t'])} "
                f"| {fmt(pct['a'], '.0f')} | {fmt(pct['o'], '.0f')} | {fmt(pct['t'], '.0f')} |")
    out.append("")
    out.append("| model | GFLOP 1×384 | load ms ORT (session) | load ms torch (from_pretrained) | load ms ask |")
    out.append("|---|---|---|---|---|")
    for arch, e in res["models"].items():
        gf = next((r["flops"] / 1e9 for r in e["runs"] if r["shape"] == "1x384"), None)
        lm = e["load_ms"]

        def j(k):
            return ", ".join(f"{v:.0f} ({t}T)" for t, v in lm.get(k, {}).items()) or "n/a"
        out.append(f"| {arch} | {fmt(gf, '.2f')} | {j('ort')} | {j('torch')} | {j('ask')} |")
    if res.get("ask_na_reason"):
        out.append("")
        out.append(f"ask: n/a ({res['ask_na_reason']})")
    out.append(f"\nTotal {res['total_s']:.0f} s")
    print("\n".join(out))


if __name__ == "__main__":
    sys.exit(main())
