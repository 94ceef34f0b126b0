#!/usr/bin/env bash
# serve_load.sh MODEL_DIR — load-test `ask serve` over loopback with
# tools/loadtest: SQuAD v1.1 questions (long contexts, several windows) and
# FAQ-style short pairs (question + context ≈ 32 tokens), at concurrency 1,
# 8 and 32, N requests each (default 10000), with the server's RSS before and
# after. Everything stays on 127.0.0.1 and stops by itself.
set -euo pipefail
model=${1:?usage: serve_load.sh MODEL_DIR [N] [N_SQUAD]}
n=${2:-10000}
n_squad=${3:-$n}
cd "$(dirname "$0")/.."
shared=${SHARED:-../shared/data}
out=${OUT:-/tmp/ask-serve-load}
mkdir -p "$out"
go build -o "$out/ask" ./cmd/ask
go build -o "$out/loadtest" ./tools/loadtest

# FAQ-style bodies: the answer's sentence of a SQuAD paragraph, cut to about
# 24 words around the answer, with its question.
python3 - "$shared/squad/dev-v1.1-public.json" > "$out/faq.jsonl" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for a in d["data"]:
    for p in a["paragraphs"]:
        ctx = p["context"]
        for q in p["qas"]:
            s = q["answers"][0]["answer_start"]
            words = ctx[max(0, s - 80): s + 80].split()[1:-1][:24]
            if len(q["question"].split()) <= 10 and words:
                print(json.dumps({"question": q["question"], "context": " ".join(words)}))
PY

port=18181
"$out/ask" serve --model "$model" --addr 127.0.0.1:$port > "$out/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break
  sleep 0.2
done
echo "== FAQ-style short pairs"
"$out/loadtest" -url "http://127.0.0.1:$port" -n "$n" -c 1,8,32 -body "$out/faq.jsonl" -pid $pid -max-duration 10m -warmup 500
echo "== SQuAD v1.1 questions with their paragraphs"
"$out/loadtest" -url "http://127.0.0.1:$port" -n "$n_squad" -c 1,8,32 -squad "$shared/squad/dev-v1.1-public.json" -pid $pid -max-duration 10m -warmup 500
