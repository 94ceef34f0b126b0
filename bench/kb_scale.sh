#!/usr/bin/env bash
# Knowledge-base scale: ingest rate with real embeddings, and ask latency
# (p50/p99) and memory as the collection grows (issue 20, item 8).
#
#   bench/kb_scale.sh                       # SIZES="1000 10000 100000" N=200
#   SIZES=10000 N=100 QUANTIZE=int8 bench/kb_scale.sh
#   WORK=/tmp/kbscale SKIP_INGEST=1 SIZES=10000 PASSAGES=5 QUANTIZE=int8 bench/kb_scale.sh
#
# PASSAGES sets the request's "passages" (how many retrieved passages the
# reader reads; the server's default is 10). SKIP_INGEST=1 skips step 1.
#
# 1. Ingest: `ask add` of the real knowledge-base corpus (../shared/data/docs:
#    the public SQuAD v1.1 dev articles, RFC 2616, the Go docs) into a fresh
#    data folder with the built-in embedder; chunks/s include chunking,
#    embedding and the durable write.
# 2. For each size, tools/kbscale synthesises a collection of that many
#    chunks from the articles' sentences (see its doc: real text, vectors
#    from the built-in embedder's sentence embeddings), then `ask serve
#    --data` answers N SQuAD questions over it one at a time through
#    POST /api/ask {"question","collection"} (hybrid retrieval, built-in
#    reader over the top passages) measured by tools/loadtest, which also
#    reads the server's RSS.
set -euo pipefail
SIZES=${SIZES:-1000 10000 100000} N=${N:-200} QUANTIZE=${QUANTIZE:-} PASSAGES=${PASSAGES:-}
shared=${SHARED:-../shared/data}
[ -f "$shared/docs/squad-v1.1-dev-public-articles.jsonl" ] || { echo "kb_scale.sh: $shared/docs is missing (set SHARED)" >&2; exit 1; }
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

CGO_ENABLED=0 go build -o "$work/ask" ./cmd/ask
CGO_ENABLED=0 go build -o "$work/kbscale" ./tools/kbscale
CGO_ENABLED=0 go build -o "$work/loadtest" ./tools/loadtest
grep -m1 -ow 'avx512[a-z_0-9]*\|avx2\|fma' /proc/cpuinfo | sort -u | tr '\n' ' ' | sed 's/^/cpu flags: /'
echo "; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); ASK_QUANTIZE=${QUANTIZE:-unset: the built-in models run in int8}; passages ${PASSAGES:-default}"

if [ -z "${SKIP_INGEST:-}" ]; then
  # The knowledge-base corpus of BENCHMARKS.md: the 34 articles as
  # {"id","title","text"} lines (the shared file has no "id"), RFC 2616 and
  # the Go docs once each (effective_go.html is the .txt's twin): 38 documents.
  rm -rf "$work/real" "$work/corpus"
  mkdir -p "$work/corpus"
  jq -c '{id: .title, title: .title, text: .text}' "$shared/docs/squad-v1.1-dev-public-articles.jsonl" >"$work/corpus/squad-articles.jsonl"
  cp "$shared/docs/rfc2616.txt" "$shared/docs/go/effective_go.txt" "$shared/docs/go/faq.md" "$shared/docs/go/gc-guide.txt" "$work/corpus/"
  echo "== ingest: ask add (38 documents: $shared/docs without effective_go.html)"
  t0=$(date +%s.%N)
  ASK_QUANTIZE=$QUANTIZE "$work/ask" add --data "$work/real" --collection kb "$work/corpus" >"$work/add.out" 2>"$work/add.err"
  t1=$(date +%s.%N)
  chunks=$(awk '{gsub(/[()]/,""); s += $(NF-1)} END {print s}' "$work/add.out")
  docs=$(wc -l <"$work/add.out")
  awk -v c="$chunks" -v d="$docs" -v a="$t0" -v b="$t1" 'BEGIN {printf "%d documents, %d chunks in %.1f s: %.1f chunks/s\n", d, c, b-a, c/(b-a)}'
fi

for size in $SIZES; do
  dir="$work/kb-$size"
  rm -rf "$dir"
  echo "== $size chunks"
  "$work/kbscale" -data "$dir" -chunks "$size" -articles "$shared/docs/squad-v1.1-dev-public-articles.jsonl" \
    -vectors "$work/sentences.vec" -squad "$shared/squad/dev-v1.1-public.json" -questions "$work/questions.jsonl" 2>&1 | tail -1
  du -sh "$dir" | awk '{print "database: " $1}'
  ASK_QUANTIZE=$QUANTIZE "$work/ask" serve --addr 127.0.0.1:0 --data "$dir" --log-level warn >"$work/serve.out" 2>"$work/serve.err" &
  pid=$!
  for _ in $(seq 1 600); do
    grep -q 'listening on' "$work/serve.out" 2>/dev/null && break
    sleep 0.1
  done
  url=$(grep -o 'http://[0-9.:]*' "$work/serve.out" | head -1)
  [ -n "$url" ] || { echo "ask serve did not start:" >&2; cat "$work/serve.err" >&2; exit 1; }
  # Sample the questions so each size asks the same ones.
  awk 'NR % 7 == 0' "$work/questions.jsonl" >"$work/q-sample.jsonl"
  if [ -n "$PASSAGES" ]; then
    sed -i "s/^{/{\"passages\":$PASSAGES,/" "$work/q-sample.jsonl"
  fi
  "$work/loadtest" -url "$url" -path /api/ask -body "$work/q-sample.jsonl" -n "$N" -c 1 -warmup 10 -pid "$pid" \
    -max-duration 20m
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
done
