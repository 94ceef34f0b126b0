#!/usr/bin/env python3
"""Reference fixtures for the Go safetensors package.

Writes small .safetensors files with the reference library (PyPI
`safetensors`, via torch and numpy) plus expected.json holding the float32
values torch's Tensor.float() and numpy's astype(float32) produce for them,
as raw uint32 bit patterns so the Go tests can assert bit-exact equality.

Run from anywhere (needs safetensors, numpy, torch, huggingface_hub):

    ~/.venvs/askref/bin/python safetensors/testdata/gen.py

Outputs are deterministic (fixed seeds, one metadata key), so rerunning
leaves git clean unless a library changed behaviour, which is exactly what
a diff should reveal.

NaN note: on x86 CPUs torch converts most elements of a tensor with
vectorized F16C code but the last few (< vector width) with scalar code,
and the two disagree on NaN bits (quiet-with-payload vs 0x7FFFFFFF). To
record the dominant behaviour deterministically, tensors are converted
padded to a multiple of 64 elements and the padding is dropped.
"""
import hashlib
import json
import os
import shutil
import tempfile

import numpy as np
import safetensors
import safetensors.numpy
import safetensors.torch
import torch
import huggingface_hub
from huggingface_hub import save_torch_state_dict

HERE = os.path.dirname(os.path.abspath(__file__))
META = {"format": "pt"}


def torch_float(t):
    """t.float() through torch's vectorized CPU path (see the NaN note)."""
    flat = t.reshape(-1)
    n = flat.numel()
    pad = (-n) % 64 + 64
    padded = torch.cat([flat, torch.zeros(pad, dtype=t.dtype)])
    return padded.float()[:n].reshape(t.shape)


def f32_bits(t):
    return [int(v) & 0xFFFFFFFF for v in t.contiguous().view(torch.int32).reshape(-1).tolist()]


def raw(t):
    return t.contiguous().reshape(-1).view(torch.uint8)


def from_bits16(bits, dtype):
    return torch.tensor(bits, dtype=torch.int32).to(torch.int16).view(dtype)


def from_bits32(bits):
    return torch.tensor(bits, dtype=torch.int64).to(torch.int32).view(torch.float32)


def describe(path, state):
    """expected.json entry for a file: metadata plus per-tensor values."""
    out = {"metadata": META, "tensors": {}}
    for name, t in state.items():
        e = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape)}
        if t.dtype in (torch.float32, torch.float16, torch.bfloat16):
            e["f32_bits"] = f32_bits(torch_float(t))
            if t.dtype != torch.bfloat16:  # numpy has no bfloat16
                a = t.numpy().astype(np.float32)
                e["numpy_f32_bits"] = [int(v) for v in a.view(np.uint32).reshape(-1)]
        out["tensors"][name] = e
    # Cross-check with the reference reader: what it loads must be what we saved.
    back = safetensors.torch.load_file(path)
    for name, t in state.items():
        b = back[name]
        assert b.dtype == t.dtype and b.shape == t.shape, name
        assert torch.equal(raw(b), raw(t)), name
    return out


def save(name, state):
    path = os.path.join(HERE, name)
    safetensors.torch.save_file(state, path, metadata=META)
    return path


F16_SPECIALS = [
    0x0000, 0x8000,  # ±0
    0x0001, 0x8001, 0x0002, 0x0155, 0x0200, 0x03FF, 0x83FF,  # subnormals
    0x0400, 0x8400, 0x0401,  # smallest normals
    0x3C00, 0xBC00, 0x3C01, 0x3555, 0x4248, 0x7BFF, 0xFBFF,  # normals, ±max
    0x7C00, 0xFC00,  # ±inf
    0x7E00, 0xFE00, 0x7C01, 0x7D01, 0xFD01, 0x7FFF, 0xFFFF,  # NaNs, quiet and signalling
    0x1234, 0x5678, 0xABCD, 0x0100,
]
BF16_SPECIALS = [
    0x0000, 0x8000, 0x0001, 0x8001, 0x007F, 0x0040,  # ±0, subnormals
    0x0080, 0x3F80, 0xBF80, 0x4049, 0x7F7F, 0xFF7F,  # normals, ±max
    0x7F80, 0xFF80,  # ±inf
    0x7FC0, 0xFFC0, 0x7F81, 0xFF81, 0x7FFF, 0xFFFF,  # NaNs
    0x1234, 0x5678, 0xABCD, 0x3E4D, 0xC2F7, 0x0101, 0x7F00, 0x00FF,
    0x3DCC, 0x4120, 0xC120, 0x3B00,
]
F32_SPECIALS = [
    0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x00800000, 0x3F800000,
    0xBF800000, 0x7F7FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000, 0x7F800001,
    0xFFC12345, 0x40490FDB, 0x33800000, 0x477FE000,
]
# float32 inputs for the narrowing writer: rounding ties, overflow, subnormal
# and underflow edges of both formats.
NARROW_INPUTS = [
    0x00000000, 0x80000000, 0x3F800000, 0x3F801000, 0x3F802000, 0x3F803000,  # ties at 1.0 (f16 ulp 2^-10)
    0x3F808000, 0x3F818000, 0x3F808001, 0x3F807FFF,  # ties at 1.0 (bf16 ulp 2^-7)
    0x477FE000, 0x477FEFFF, 0x477FF000, 0x477FF001, 0x47800000,  # f16 max 65504, the 65520 overflow tie
    0x33800000, 0x33000000, 0x33000001, 0x33C00000, 0x34000000,  # f16 2^-24, 2^-25 tie, 1.5*2^-24
    0x387FC000, 0x38800000, 0x387FE000,  # f16 subnormal/normal boundary
    0x7F7FFFFF, 0xFF7FFFFF, 0x7F7F8000, 0x00000001, 0x807FFFFF,  # bf16 overflow tie, f32 subnormals
    0x7F800000, 0xFF800000, 0x7FC00000, 0xFF812345, 0x7F800001, 0x40490FDB,
]


def main():
    torch.manual_seed(0)
    expected = {
        "generator": {
            "safetensors": safetensors.__version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "huggingface_hub": huggingface_hub.__version__,
        },
        "files": {},
    }

    state = {
        "matrix": torch.randn(2, 3),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 4),
        "specials": from_bits32(F32_SPECIALS),
    }
    expected["files"]["f32.safetensors"] = describe(save("f32.safetensors", state), state)

    state = {
        "specials": from_bits16(F16_SPECIALS, torch.float16),
        "matrix": torch.randn(3, 4).half(),
    }
    expected["files"]["f16.safetensors"] = describe(save("f16.safetensors", state), state)

    state = {
        "specials": from_bits16(BF16_SPECIALS, torch.bfloat16),
        "matrix": torch.randn(3, 4).bfloat16(),
    }
    expected["files"]["bf16.safetensors"] = describe(save("bf16.safetensors", state), state)

    # Every dtype torch can hand the reference writer, and names that need
    # JSON escaping, to pin the writer's layout and header bytes.
    state = {
        "f64": torch.tensor([1.5, -2.25], dtype=torch.float64),
        "position_ids": torch.arange(5, dtype=torch.int64).reshape(1, 5),
        "i32": torch.tensor([-1, 2, 3], dtype=torch.int32),
        "i16": torch.tensor([-7, 7], dtype=torch.int16),
        "i8": torch.tensor([-3, 3, 5], dtype=torch.int8),
        "u8": torch.tensor([1, 2, 255], dtype=torch.uint8),
        "mask": torch.tensor([True, False, True]),
        "half": torch.tensor([0.5, -1.0, 65504.0], dtype=torch.float16),
        "brain": torch.tensor([0.5, -1.0], dtype=torch.bfloat16),
        "a.weight": torch.randn(2, 2),
        'quote"back\\slash': torch.tensor([1.0]),
        "new\nline\ttab\x01ctrl\x7f": torch.tensor([2.0]),
        "ünïcödé</script>&\u2028": torch.tensor([3.0]),
        "f8e4m3": torch.tensor([0.5, -2.0], dtype=torch.float32).to(torch.float8_e4m3fn),
        "f8e5m2": torch.tensor([0.5, -2.0], dtype=torch.float32).to(torch.float8_e5m2),
        "u16": torch.tensor([1, 65535], dtype=torch.int32).to(torch.uint16),
        "u32": torch.tensor([1, 2**32 - 1], dtype=torch.int64).to(torch.uint32),
        "u64": torch.tensor([1, 2], dtype=torch.int64).to(torch.uint64),
        "c64": torch.tensor([1 + 2j], dtype=torch.complex64),
        "empty_i64": torch.zeros(0, dtype=torch.int64),
        "scalar_i64": torch.tensor(7, dtype=torch.int64),
    }
    expected["files"]["mixed.safetensors"] = describe(save("mixed.safetensors", state), state)

    # Narrowing: what torch's .half() and .bfloat16() produce from float32.
    src = from_bits32(NARROW_INPUTS)
    pad = lambda t, f: torch.cat([t, torch.zeros(64, dtype=t.dtype)]).__getattribute__(f)()[: t.numel()]
    state = {"src": src, "as_f16": pad(src, "half"), "as_bf16": pad(src, "bfloat16")}
    expected["files"]["narrow.safetensors"] = describe(save("narrow.safetensors", state), state)

    # A two-shard checkpoint written the way transformers' save_pretrained does.
    shard_dir = os.path.join(HERE, "sharded")
    shutil.rmtree(shard_dir, ignore_errors=True)
    os.makedirs(shard_dir)
    state = {
        "embeddings.weight": torch.randn(4, 3),
        "layer.0.weight": torch.randn(3, 3),
        "layer.0.bias": torch.randn(3),
        "layer.1.weight": torch.randn(3, 3).half(),
        "head.bias": torch.randn(2).bfloat16(),
    }
    save_torch_state_dict(state, shard_dir, max_shard_size=70)  # 48 + 70 bytes: two shards
    shards = sorted(f for f in os.listdir(shard_dir) if f.endswith(".safetensors"))
    with open(os.path.join(shard_dir, "model.safetensors.index.json")) as fh:
        index = json.load(fh)
    expected["files"]["sharded"] = {
        "shards": shards,
        "weight_map": index["weight_map"],
        "tensors": {
            name: {
                "dtype": str(t.dtype).replace("torch.", ""),
                "shape": list(t.shape),
                "f32_bits": f32_bits(torch_float(t)),
            }
            for name, t in state.items()
        },
    }

    # Exhaustive conversions, as SHA-256 of the little-endian output so the
    # fixtures stay tiny: every 16-bit pattern widened, and 2^20 float32
    # patterns (bits = i*2654435761 mod 2^32, NaNs and subnormals included)
    # narrowed.
    all16 = torch.arange(65536, dtype=torch.int32).to(torch.int16)
    sha = lambda t: hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()
    pats = (np.arange(1 << 20, dtype=np.uint64) * 2654435761) % (1 << 32)
    f32in = torch.from_numpy(pats.astype(np.uint32).view(np.int32).copy()).view(torch.float32)
    expected["exhaustive"] = {
        "f16_to_f32_torch": sha(all16.view(torch.float16).float().view(torch.int32)),
        "f16_to_f32_numpy": hashlib.sha256(
            np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32).tobytes()
        ).hexdigest(),
        "bf16_to_f32_torch": sha(all16.view(torch.bfloat16).float().view(torch.int32)),
        "f32_inputs": "bits = (i*2654435761) mod 2^32, i in [0, 2^20)",
        "f32_to_f16_torch": sha(f32in.half().view(torch.int16)),
        "f32_to_bf16_torch": sha(f32in.bfloat16().view(torch.int16)),
    }

    for root, _, files in os.walk(HERE):
        for f in files:
            os.chmod(os.path.join(root, f), 0o644)
    with open(os.path.join(HERE, "expected.json"), "w") as fh:
        json.dump(expected, fh, indent=1, sort_keys=True)
        fh.write("\n")


if __name__ == "__main__":
    main()
