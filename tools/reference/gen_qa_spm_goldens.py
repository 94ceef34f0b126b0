#!/usr/bin/env python3
"""QA pipeline goldens (transformers 5.2.0's pipeline("question-answering"))
for the checkpoints issue 19 adds, in gen_qa_goldens.py's format:

  qa/testdata/deberta-v3/   random DebertaV2ForQuestionAnswering (v3 layout:
                            shared keys, 256 log buckets, LayerNorm'd relative
                            embeddings), model.safetensors in float16, and the
                            small spm.model of tokenizer/testdata/spm/deberta-v3
  qa/testdata/xlmr-bin/     random XLMRobertaForQuestionAnswering published as
                            pytorch_model.bin only (torch.save of float16
                            storages), with the sentencepiece.bpe.model of
                            tokenizer/testdata/spm/xlm-roberta
  qa/testdata/golden/<name>.squad1.top1.jsonl.gz   the first LIMIT SQuAD v1.1
                            questions

Each folder is exactly what the Go test copies (it has no tokenizer.json, so
both sides convert the .model file). The heads are drawn and calibrated as in
gen_qa_goldens.py.

    ~/.venvs/askref/bin/python tools/reference/gen_qa_spm_goldens.py
"""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import gen_qa_goldens as gq  # noqa: E402
import safetensors.torch  # noqa: E402
import torch  # noqa: E402
from transformers import (AutoModelForQuestionAnswering, AutoTokenizer, DebertaV2Config,  # noqa: E402
                          DebertaV2ForQuestionAnswering, XLMRobertaConfig, XLMRobertaForQuestionAnswering,
                          pipeline)

LIMIT = 600
OUT = os.path.join(gq.REPO, "qa", "testdata")
SPM = os.path.join(gq.REPO, "tokenizer", "testdata", "spm")

_base_std = gq.linear_std


def linear_std(path):
    # DeBERTa names its projections query_proj / key_proj.
    if path.rsplit(".", 1)[-1] in ("query_proj", "key_proj"):
        return gq.QK_STD
    return _base_std(path)


gq.linear_std = linear_std

MODELS = {
    "deberta-v3": dict(
        cls=DebertaV2ForQuestionAnswering, spm=("deberta-v3", "spm.model"), weights="safetensors",
        config=lambda v: DebertaV2Config(
            vocab_size=v, max_position_embeddings=512, relative_attention=True, position_buckets=256,
            max_relative_positions=512, pos_att_type="p2c|c2p", share_att_key=True, norm_rel_ebd="layer_norm",
            position_biased_input=False, type_vocab_size=0, pad_token_id=0, layer_norm_eps=1e-7,
            hidden_act="gelu", **gq.DIMS)),
    "xlmr-bin": dict(
        cls=XLMRobertaForQuestionAnswering, spm=("xlm-roberta", "sentencepiece.bpe.model"), weights="bin",
        config=lambda v: XLMRobertaConfig(vocab_size=v, max_position_embeddings=514, type_vocab_size=1,
                                          pad_token_id=1, bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5,
                                          **gq.DIMS)),
}


def build(name):
    spec = MODELS[name]
    folder = os.path.join(OUT, name)
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    shutil.copyfile(os.path.join(SPM, *spec["spm"]), os.path.join(folder, spec["spm"][1]))
    # The tokenizer as the folder loads it: the config names the model type.
    spec["config"](100).save_pretrained(folder)
    tok = AutoTokenizer.from_pretrained(folder)
    cfg = spec["config"](len(tok))
    cfg.architectures = [spec["cls"].__name__]
    torch.manual_seed(gq.seed_of("init/" + name))
    model = spec["cls"](cfg).eval()
    gq.redraw(model, gq.seed_of("weights/" + name))
    env = gq.Env(OUT, gq.os.path.join(gq.REPO, "..", "shared", "data"))
    f = gq.calibrate_head(model, tok, env.null_samples(), gq.LOGIT_TARGET)
    print(f"[{name}] head scaled by {f:.4f}, vocab {len(tok)}", file=sys.stderr)
    cfg.save_pretrained(folder)
    with open(os.path.join(folder, "config.json")) as fh:
        cj = json.load(fh)
    cj["dtype"] = "float16"
    gq.write_json(os.path.join(folder, "config.json"), cj)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if spec["weights"] == "bin":
        torch.save({k: v.half() for k, v in sd.items()}, os.path.join(folder, "pytorch_model.bin"))
    else:
        gq.save_f16(sd, os.path.join(folder, "model.safetensors"))
    return env


def goldens(name, env):
    folder = os.path.join(OUT, name)
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForQuestionAnswering.from_pretrained(folder, dtype=torch.float32).eval()
    pipe = pipeline("question-answering", model=model, tokenizer=tok)
    print(f"[{name}] {type(tok).__name__} inputs {tok.model_input_names} cls {tok.cls_token_id}", file=sys.stderr)
    gq.check_scores(name, pipe, env)
    gq.run_dataset(env, name, pipe, model, "squad1", [("top1", {"top_k": 1})], LIMIT)


def main():
    for name in MODELS:
        env = build(name)
        goldens(name, env)


if __name__ == "__main__":
    main()
