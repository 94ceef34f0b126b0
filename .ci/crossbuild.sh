#!/usr/bin/env bash
# Cross-compiles the whole module for linux/darwin/windows × amd64/arm64
# with CGO_ENABLED=0: `go build ./...` and `go vet ./...` (which type-checks
# the tests too). Then, when qemu-user is
# there or can be installed (Debian qemu-user-static: apt-get update ~10 s,
# install ~30 s measured), runs the tests of the pure-Go packages on
# linux/arm64, where the generic (non-assembly) tensor kernels are the ones
# chosen. Usage: bash .ci/crossbuild.sh   (CROSS_TARGETS="os/arch ..." to
# narrow; ASK_QEMU=1 to add the emulated run: off by default because the qa
# test binary alone did not finish in 600 s under qemu on the 2-core CI VM.)
set -euo pipefail
cd "$(dirname "$0")/.."

targets=${CROSS_TARGETS:-"linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64"}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for t in $targets; do
  os=${t%/*} arch=${t#*/}
  echo "== cross-build $os/$arch"
  export CGO_ENABLED=0 GOOS=$os GOARCH=$arch
  go build ./...
  # vet type-checks the test files too; `go test -c ./...` cannot write one
  # binary per package into a folder when two packages share a name.
  go vet ./...
  unset GOOS GOARCH
done

# Tests of the pure-Go packages under qemu-user on linux/arm64.
qemu_pkgs="tensor tokenizer qa"
if [ "${ASK_QEMU:-0}" != 1 ]; then
  echo "== linux/arm64 tests under qemu: skipped (set ASK_QEMU=1 to run them)"
  exit 0
fi
if ! command -v qemu-aarch64-static >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== installing qemu-user-static"
  start=$(date +%s)
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static >/dev/null
  echo "installed in $(( $(date +%s) - start ))s"
fi
if ! command -v qemu-aarch64-static >/dev/null; then
  echo "== linux/arm64 tests under qemu: skipped (no qemu-aarch64-static, and installing it needs root and apt-get)"
  exit 0
fi
for p in $qemu_pkgs; do
  echo "== linux/arm64 under qemu: $p"
  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go test -c -o "$out/arm64-$(echo "$p" | tr / -).test" "./$p"
  start=$(date +%s)
  # Tests read testdata relative to their package folder.
  (cd "$p" && qemu-aarch64-static "$out/arm64-$(echo "$p" | tr / -).test" -test.short -test.timeout 20m)
  echo "$p: $(( $(date +%s) - start ))s under emulation"
done
