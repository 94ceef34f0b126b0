#!/usr/bin/env python3
"""Random-weight DeBERTa-v2/v3 checkpoints and transformers' outputs on
them, as goldens for model/debertav2.

    ~/.venvs/askref/bin/python tools/reference/gen_deberta.py                 # the tiny models + buckets.json
    ~/.venvs/askref/bin/python tools/reference/gen_deberta.py --base DIR      # deberta-v3-base shapes (not committed)

Each folder holds config.json, model.safetensors and reference.json.gz in
the format of gen_models.py (the reference loads the saved folder back with
from_pretrained, eager attention, float32, eval, no_grad). buckets.json holds
make_log_bucket_position over a range of relative positions for several
(position_buckets, max_relative_positions) pairs, straight from transformers.
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import gen_models as gm  # noqa: E402  (redraw, run_cases, write_json_gz …)
from transformers import DebertaV2Config, DebertaV2ForQuestionAnswering, DebertaV2Model  # noqa: E402
from transformers.models.deberta_v2 import modeling_deberta_v2 as md  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "model", "debertav2", "testdata")

# Odd shapes on purpose: head sizes that are not powers of two, an
# intermediate size that is prime, buckets small enough that the tiny
# sequences reach the logarithmic range.
MODELS = {
    # DeBERTa-v3 layout: shared attention keys, log buckets, LayerNorm'd
    # relative embeddings, no absolute positions, no token types.
    "v3-qa": (DebertaV2ForQuestionAnswering, dict(
        vocab_size=97, hidden_size=48, num_hidden_layers=2, num_attention_heads=3, intermediate_size=71,
        max_position_embeddings=64, relative_attention=True, position_buckets=8, max_relative_positions=64,
        pos_att_type="p2c|c2p", share_att_key=True, norm_rel_ebd="layer_norm", position_biased_input=False,
        type_vocab_size=0, hidden_act="gelu", layer_norm_eps=1e-7, pad_token_id=0)),
    # DeBERTa-v2 style: separate pos_key_proj/pos_query_proj, no buckets
    # (clamped spans), absolute positions and token types added, an
    # embedding projection.
    "v2-qa": (DebertaV2ForQuestionAnswering, dict(
        vocab_size=83, hidden_size=40, embedding_size=24, num_hidden_layers=3, num_attention_heads=5,
        intermediate_size=53, max_position_embeddings=48, relative_attention=True, max_relative_positions=12,
        pos_att_type=["c2p", "p2c"], share_att_key=False, position_biased_input=True, type_vocab_size=2,
        hidden_act="gelu", layer_norm_eps=1e-7, pad_token_id=0)),
    # c2p only, buckets, bare encoder, tanh GELU.
    "c2p-bare": (DebertaV2Model, dict(
        vocab_size=61, hidden_size=36, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
        max_position_embeddings=40, relative_attention=True, position_buckets=6, max_relative_positions=32,
        pos_att_type="c2p", share_att_key=True, norm_rel_ebd="layer_norm", position_biased_input=False,
        type_vocab_size=0, hidden_act="gelu_new", layer_norm_eps=1e-7, pad_token_id=0)),
    # No relative attention at all but pos_att_type still set: only the
    # scale changes (transformers divides by sqrt(d·3) regardless).
    "norel-bare": (DebertaV2Model, dict(
        vocab_size=50, hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=45,
        max_position_embeddings=30, relative_attention=False, pos_att_type="p2c|c2p",
        position_biased_input=True, type_vocab_size=0, hidden_act="gelu", layer_norm_eps=1e-7, pad_token_id=0)),
}

BASE = dict(
    vocab_size=1000, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
    max_position_embeddings=512, relative_attention=True, position_buckets=256, max_relative_positions=512,
    pos_att_type="p2c|c2p", share_att_key=True, norm_rel_ebd="layer_norm", position_biased_input=False,
    type_vocab_size=0, hidden_act="gelu", layer_norm_eps=1e-7, pad_token_id=0)


def cases(cfg, seed):
    """A right-padded batch (pads at id 0 past each mask), one sequence of
    the full position range, one token."""
    rng = np.random.RandomState(seed)
    types = cfg.type_vocab_size > 0

    def seq(n):
        return [1] + [int(x) for x in rng.randint(4, cfg.vocab_size, size=n - 2)] + [2]

    out = []
    lens = [min(37, cfg.max_position_embeddings), 20, 5]
    L = max(lens)
    rows = [seq(n) for n in lens]
    ids = [r + [0] * (L - len(r)) for r in rows]
    mask = [[1] * len(r) + [0] * (L - len(r)) for r in rows]
    tt = [[0] * (len(r) // 2) + [1] * (len(r) - len(r) // 2) + [0] * (L - len(r)) for r in rows] if types else None
    out.append(dict(name="padded_batch", input_ids=ids, attention_mask=mask, token_type_ids=tt))
    n = cfg.max_position_embeddings
    out.append(dict(name="max_length", input_ids=[seq(n)], attention_mask=[[1] * n],
                    token_type_ids=[[0] * 9 + [1] * (n - 9)] if types else None))
    out.append(dict(name="single_token", input_ids=[[1]], attention_mask=[[1]],
                    token_type_ids=[[0]] if types else None))
    return out


def make(name, cls, kw, folder):
    cfg = DebertaV2Config(**kw)
    torch.manual_seed(gm._seed("deberta/" + name))
    model = cls(cfg).eval()
    gm.redraw(model, gm._seed("deberta-redraw/" + name))
    os.makedirs(folder, exist_ok=True)
    model.save_pretrained(folder)
    qa = cls is DebertaV2ForQuestionAnswering
    ref = gm.load_reference_model(folder, qa)
    res = gm.run_cases(ref, cases(ref.config, gm._seed("deberta-inputs/" + name)))
    gm.write_json_gz(os.path.join(folder, "reference.json.gz"), {
        "versions": gm.versions(), "model_class": cls.__name__, "saved_dtype": "float32", "cases": res})


def make_bin(src, folder):
    """The v3 model again, as only a pytorch_model.bin of bfloat16 storages
    (torch.save of the state dict, which is what save_pretrained wrote
    before safetensors), with transformers' outputs loading that folder."""
    model = DebertaV2ForQuestionAnswering.from_pretrained(src, dtype=torch.float32).eval()
    os.makedirs(folder, exist_ok=True)
    model.config.save_pretrained(folder)
    sd = {k: v.to(torch.bfloat16) for k, v in model.state_dict().items()}
    torch.save(sd, os.path.join(folder, "pytorch_model.bin"))
    ref = gm.load_reference_model(folder, True)
    res = gm.run_cases(ref, cases(ref.config, gm._seed("deberta-inputs/v3-qa-bin")))
    gm.write_json_gz(os.path.join(folder, "reference.json.gz"), {
        "versions": gm.versions(), "model_class": "DebertaV2ForQuestionAnswering", "saved_dtype": "bfloat16",
        "cases": res})


def buckets(path):
    rel = torch.arange(-1100, 1101, dtype=torch.long)
    out = []
    for b, m in [(256, 512), (8, 64), (6, 32), (128, 1024), (64, 128), (32, 512), (3, 7)]:
        v = md.make_log_bucket_position(rel, b, m).to(torch.long)
        out.append({"bucket_size": b, "max_position": m, "from": -1100, "buckets": v.tolist()})
    import json
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", help="write a deberta-v3-base-shaped QA model (≈100 MB) into this folder")
    a = ap.parse_args()
    if a.base:
        make("v3-base-qa", DebertaV2ForQuestionAnswering, BASE, a.base)
        return
    for name, (cls, kw) in MODELS.items():
        make(name, cls, kw, os.path.join(OUT, name))
    make_bin(os.path.join(OUT, "v3-qa"), os.path.join(OUT, "v3-qa-bin"))
    buckets(os.path.join(OUT, "buckets.json"))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
