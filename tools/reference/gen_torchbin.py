"""Writes torchbin/testdata: checkpoints saved by torch.save and what torch
reads back from them (expected.json), for the Go reader's tests.

    ~/.venvs/askref/bin/python tools/reference/gen_torchbin.py

Covers float32/float16/bfloat16/int64 storages, views with an offset or
strides (a transposed matrix, a slice), two names sharing one storage, an
nn.Parameter, a sharded checkpoint with pytorch_model.bin.index.json, the
legacy pre-1.6 format and pickles that would run code when loaded by Python.

It also writes what the safetensors package makes of each checkpoint
(mixed.safetensors, sharded.safetensors: torch.load(weights_only=True), each
tensor made contiguous, save_file with transformers' {"format": "pt"}), the
goldens of `ask convert` (cli/convert_test.go). Only those, from the
committed .bin files:

    ~/.venvs/askref/bin/python tools/reference/gen_torchbin.py --safetensors-only
"""
import json
import os
import subprocess
import sys

import torch
from safetensors.torch import load_file, save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "torchbin", "testdata")
os.makedirs(OUT, exist_ok=True)


def safetensors_goldens():
    """model.safetensors as the safetensors package writes it from what
    torch loads out of mixed.bin and the sharded checkpoint."""
    shard_dir = os.path.join(OUT, "sharded")
    with open(os.path.join(shard_dir, "pytorch_model.bin.index.json")) as f:
        shards = sorted(set(json.load(f)["weight_map"].values()))
    for name, paths in [("mixed", [os.path.join(OUT, "mixed.bin")]),
                        ("sharded", [os.path.join(shard_dir, s) for s in shards])]:
        sd = {}
        for p in paths:
            sd.update(torch.load(p, weights_only=True))
        # Shared storages and strided views become tensors of their own.
        sd = {k: v.detach().contiguous().clone() for k, v in sd.items()}
        out = os.path.join(OUT, name + ".safetensors")
        save_file(sd, out, metadata={"format": "pt"})
        back = load_file(out)
        assert back.keys() == sd.keys() and all(torch.equal(back[k], sd[k]) for k in sd)


if "--safetensors-only" in sys.argv[1:]:
    safetensors_goldens()
    print("wrote the .safetensors goldens in", OUT)
    sys.exit(0)
g = torch.Generator().manual_seed(19)


def rnd(*shape):
    return torch.randn(*shape, generator=g)


base = rnd(5, 7)
sd = {
    "a.weight": rnd(3, 4),
    "a.bias": rnd(4),
    "scalar": torch.tensor(2.5),
    "empty": torch.zeros(0, 3),
    "transposed": base.t(),           # strides (1, 7)
    "slice": base[2:4, 1:6],          # offset 15, strides (7, 1)
    "tied.one": base,                 # shares its storage with the two views
    "half": rnd(2, 3).half(),
    "bf16": rnd(3, 2).bfloat16(),
    "position_ids": torch.arange(6).unsqueeze(0),
    "param": torch.nn.Parameter(rnd(2, 2)),
    "deep.nested.name.with.dots": rnd(1, 2, 3),
}
torch.save(sd, os.path.join(OUT, "mixed.bin"))


def expect(d):
    out = {}
    for k, v in d.items():
        v = v.detach()
        out[k] = {
            "dtype": str(v.dtype).removeprefix("torch."),
            "shape": list(v.shape),
            "values": v.float().flatten().tolist() if v.is_floating_point() else v.flatten().tolist(),
        }
    return out


# Read back through torch itself, not from the dict we wrote.
back = torch.load(os.path.join(OUT, "mixed.bin"), weights_only=True)
with open(os.path.join(OUT, "mixed.json"), "w") as f:
    json.dump(expect(back), f, indent=0, sort_keys=True)

# Sharded, as transformers 4.x wrote with safe_serialization=False.
shard_dir = os.path.join(OUT, "sharded")
os.makedirs(shard_dir, exist_ok=True)
s1 = {"enc.0.w": rnd(4, 3), "enc.0.b": rnd(3)}
s2 = {"enc.1.w": rnd(3, 3).half(), "head.w": rnd(3, 2)}
names = ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"]
wm = {}
for name, part in zip(names, [s1, s2]):
    torch.save(part, os.path.join(shard_dir, name))
    wm.update({k: name for k in part})
with open(os.path.join(shard_dir, "pytorch_model.bin.index.json"), "w") as f:
    json.dump({"metadata": {"total_size": 0}, "weight_map": wm}, f, indent=2, sort_keys=True)
back = {}
for name in names:
    back.update(torch.load(os.path.join(shard_dir, name), weights_only=True))
with open(os.path.join(OUT, "sharded.json"), "w") as f:
    json.dump(expect(back), f, indent=0, sort_keys=True)

# The pre-1.6 format.
torch.save({"w": rnd(2)}, os.path.join(OUT, "legacy.bin"), _use_new_zipfile_serialization=False)


class Evil:
    """Unpickling this with Python runs a shell command."""

    def __reduce__(self):
        return (subprocess.call, (["touch", "/tmp/torchbin-pwned"],))


class EvalEvil:
    def __reduce__(self):
        return (eval, ("__import__('os').system('true')",))


torch.save({"w": rnd(2), "x": Evil()}, os.path.join(OUT, "evil_subprocess.bin"))
torch.save({"w": rnd(2), "x": EvalEvil()}, os.path.join(OUT, "evil_eval.bin"))
safetensors_goldens()
print("wrote", OUT)
