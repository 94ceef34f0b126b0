#!/usr/bin/env bash
# Mixed ingest + ask load against 1 and 2 `ask serve` replicas sharing one
# PostgreSQL (the one .ci/postgres.sh starts), loopback only. For each
# replica count: a fresh database, the replicas, a seed of documents, then
# the measured mix (every 5th request adds a SQuAD paragraph as a document,
# the others ask SQuAD questions over the collection), with the database's
# connections sampled from pg_stat_activity.
#
#   source .ci/postgres.sh
#   tools/loadtest/replicas.sh                 # N=2000 C=8 EMBED=none READER=lexical
#   N=1000 C=16 EMBED=builtin tools/loadtest/replicas.sh
#   REPLICAS=1 POOL=8 tools/loadtest/replicas.sh   # pool_max_conns=8 in the URL
#
# EMBED=none measures the database and HTTP path (lexical retrieval);
# EMBED=builtin adds the embedding of every chunk and question (hybrid
# retrieval), which on a small machine is what the CPU spends its time on.
set -euo pipefail
: "${ASK_TEST_POSTGRES_URL:?source .ci/postgres.sh first}"
N=${N:-2000} C=${C:-8} EMBED=${EMBED:-none} READER=${READER:-lexical} SEED=${SEED:-300}
REPLICAS=${REPLICAS:-1 2}
squad=${SQUAD:-../shared/data/squad/dev-v1.1-public.json}
[ -f "$squad" ] || { echo "replicas.sh: $squad is missing (set SQUAD)" >&2; exit 1; }
psql=${ASK_PG_BIN:?}/psql
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

CGO_ENABLED=0 go build -o "$work/ask" ./cmd/ask
CGO_ENABLED=0 go build -o "$work/loadtest" ./tools/loadtest
admin=${ASK_TEST_POSTGRES_URL%%\?*}
admin=${admin%/*}
grep -m1 -ow 'avx512[a-z_0-9]*\|avx2\|fma' /proc/cpuinfo | sort -u | tr '\n' ' ' | sed 's/^/cpu flags: /'
echo "; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

for n in $REPLICAS; do
  db="load_$$_$n"
  "$psql" -qAtX "$admin/postgres" -c "CREATE DATABASE $db"
  "$psql" -qAtX "$admin/$db" -c "CREATE EXTENSION vector"
  url="$admin/$db?sslmode=disable${POOL:+&pool_max_conns=$POOL}"
  urls=()
  for i in $(seq 1 "$n"); do
    out="$work/replica-$n-$i.out"
    ASK_DB="$url" HOME="$work" "$work/ask" serve --addr 127.0.0.1:0 --embed-model "$EMBED" --reader "$READER" \
      --data none --log-level warn >"$out" 2>"$work/replica-$n-$i.err" &
    pids+=($!)
    for _ in $(seq 1 600); do
      grep -q 'listening on' "$out" 2>/dev/null && break
      sleep 0.1
    done
    u=$(grep -o 'http://[0-9.:]*' "$out" | head -1)
    [ -n "$u" ] || { echo "replica $i did not start:" >&2; cat "$work/replica-$n-$i.err" >&2; exit 1; }
    urls+=("$u")
  done
  list=$(IFS=,; echo "${urls[*]}")
  echo "== $n replica(s): $list, database $db, pool_max_conns ${POOL:-default}, embed-model $EMBED, reader $READER"
  echo "-- seed: $SEED documents (ingest only)"
  "$work/loadtest" -mode kb -url "$list" -squad "$squad" -ingest-every 1 -n "$SEED" -c 4 -warmup 0 -pg "$url"
  echo "-- mixed: $N requests, 1 ingest per 5, concurrency $C"
  "$work/loadtest" -mode kb -url "$list" -squad "$squad" -ingest-every 5 -n "$N" -c "$C" -warmup 0 -pg "$url"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
  "$psql" -qAtX "$admin/postgres" -c "DROP DATABASE $db WITH (FORCE)"
done
