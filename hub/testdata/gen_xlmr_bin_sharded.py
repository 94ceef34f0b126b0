#!/usr/bin/env python3
"""Writes hub/testdata/xlmr-bin-sharded/: the weights of qa/testdata/xlmr-bin
(a random XLMRobertaForQuestionAnswering published as pytorch_model.bin only,
see tools/reference/gen_qa_spm_goldens.py) as a sharded PyTorch checkpoint,
the way transformers 4.x's save_pretrained(safe_serialization=False,
max_shard_size=...) laid it out: torch.save of each shard's state dict,
named pytorch_model-0000K-of-0000N.bin, plus pytorch_model.bin.index.json.
(transformers 5.2 always writes safetensors, so the split is done here with
torch itself, keeping transformers 4.x's greedy in-order shard filling.)

The tensors are the same fp16 values as the single file's, so the hub and
cli tests can demand the same QA answers from both, and from the goldens in
qa/testdata/golden/xlmr-bin.squad1.top1.jsonl.gz.

    ~/.venvs/askref/bin/python hub/testdata/gen_xlmr_bin_sharded.py
"""
import json
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "..", "qa", "testdata", "xlmr-bin", "pytorch_model.bin")
OUT = os.path.join(HERE, "xlmr-bin-sharded")
MAX_SHARD = 200_000  # bytes: the word embeddings alone fill shard 1


def main():
    sd = torch.load(SRC, map_location="cpu", weights_only=True)
    shards, cur, size = [], {}, 0
    for k, v in sd.items():
        n = v.numel() * v.element_size()
        if cur and size + n > MAX_SHARD:
            shards.append(cur)
            cur, size = {}, 0
        cur[k] = v
        size += n
    shards.append(cur)
    os.makedirs(OUT, exist_ok=True)
    weight_map, total = {}, 0
    for i, shard in enumerate(shards):
        name = f"pytorch_model-{i + 1:05d}-of-{len(shards):05d}.bin"
        torch.save({k: v.clone() for k, v in shard.items()}, os.path.join(OUT, name))
        for k, v in shard.items():
            weight_map[k] = name
            total += v.numel() * v.element_size()
    with open(os.path.join(OUT, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
        f.write("\n")
    # The check the Go tests rely on: every tensor round-trips unchanged.
    back = {}
    for name in sorted(set(weight_map.values())):
        back.update(torch.load(os.path.join(OUT, name), map_location="cpu", weights_only=True))
    assert back.keys() == sd.keys() and all(torch.equal(back[k], sd[k]) for k in sd)
    print(f"{len(shards)} shards, {total} bytes of tensors")


if __name__ == "__main__":
    main()
