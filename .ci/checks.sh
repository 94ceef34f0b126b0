#!/usr/bin/env bash
# Checks beyond gofmt, vet and the tests: staticcheck over the module, and
# the race detector over the packages whose goroutines share state (the
# batcher, the server, the reader seam, the tensor worker pool, the Hub
# client's downloads and locks). Run from the repository root or anywhere:
#   bash .ci/checks.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned, so that a new staticcheck release (new checks) cannot fail CI on
# its own; raise it on purpose. v0.8.2 is staticcheck 2026.1.x, built for
# the Go of go.mod.
STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.8.2

echo "== staticcheck ($STATICCHECK)"
go run "$STATICCHECK" ./...

# The race detector needs cgo on some platforms: turn it on explicitly.
# tensor: only the pool's tests (the GEMM tests take minutes under -race
# and share nothing between goroutines but the pool).
echo "== go test -race"
CGO_ENABLED=1 go test -race -count=1 ./sched ./server ./reader/... ./hub/... ./config
CGO_ENABLED=1 go test -race -count=1 -run 'Pool' ./tensor
