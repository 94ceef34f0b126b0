#!/usr/bin/env bash
# Runs a static linux/amd64 program on an emulated CPU with AVX-512 (Bochs),
# to test AVX-512 code on a machine without it. See tools/emu/README.md.
#
#   tools/emu/avx512.sh BINARY [ARGS...]
#
# The program's output (stdout and stderr together) comes out on stdout and
# the script exits with its exit status; 124 if ASK_EMU_TIMEOUT ran out, 125
# if the guest failed (kernel panic, emulator error). Notes from the guest
# (its CPU's AVX-512 flags, timings) go to stderr as "ask-emu: " lines.
#
# Environment:
#   ASK_EMU_TIMEOUT  seconds before the emulator is stopped (default 900)
#   ASK_EMU_CPU      Bochs CPU model (default corei7_skylake_x, the one that
#                    boots: corei7_icelake_u and tigerlake hang in the kernel)
#   ASK_EMU_MEM      guest memory in MB (default 512)
#   ASK_EMU_IPS      Bochs instructions per emulated second (default 40000000,
#                    about what Bochs runs here, so guest time ~ real time)
#   ASK_EMU_ENV      "K=V K2=V2": extra environment for the program
#   ASK_EMU_DIR      a directory copied into the guest as the program's
#                    working directory (e.g. a package dir with testdata/)
#   ASK_EMU_KERNEL   tiny (default: built once from linux-source, about 7
#                    minutes on one core, then boots in 5 s), debian (Debian's
#                    stock kernel: no build, but 2 minutes of boot each run),
#                    or a path to a bzImage
#   ASK_EMU_JOBS     make -j for the one-time kernel build (default: nproc)
#   ASK_EMU_INSTALL  1: apt-get install what is missing (as root); otherwise
#                    the script prints the apt-get command and stops
#   ASK_EMU_CMDLINE  extra kernel command line arguments
#   ASK_EMU_VERBOSE  1: the guest console (kernel messages) to stderr too
#   ASK_EMU_KEEP     1: keep the run directory (bochsrc, logs, ISO)
set -euo pipefail
# The braces make bash read the whole script before running any of it, so
# that editing the file during a run (the first one builds a kernel for
# minutes) cannot derail the run.
{

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/ask-emu
timeout_s=${ASK_EMU_TIMEOUT:-900}
cpu_model=${ASK_EMU_CPU:-corei7_skylake_x}
mem_mb=${ASK_EMU_MEM:-512}
ips=${ASK_EMU_IPS:-40000000}
kernel_choice=${ASK_EMU_KERNEL:-tiny}
verbose=${ASK_EMU_VERBOSE:-0}

say() { echo "ask-emu: $*" >&2; }
die() { say "$*"; exit 125; }

if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
fi
prog=$1
shift
[ -f "$prog" ] || die "no such program: $prog"
if ! head -c 20 "$prog" | od -An -tx1 | tr -d ' \n' | grep -q '^7f454c460201'; then
  die "$prog is not a 64-bit ELF program"
fi

# --- what must be installed ----------------------------------------------
missing=()
need() { # need PACKAGE PATH...: PACKAGE is missing unless all PATHs exist
  local pkg=$1 p
  shift
  for p in "$@"; do
    if [ ! -e "$p" ]; then
      missing+=("$pkg")
      return
    fi
  done
}
need bochs /usr/bin/bochs-bin /usr/share/bochs/VGABIOS-lgpl-latest
need bochsbios /usr/share/bochs/BIOS-bochs-latest
need vgabios /usr/share/vgabios/vgabios.bin
need xorriso /usr/bin/xorriso
need isolinux /usr/lib/ISOLINUX/isolinux.bin
need syslinux-common /usr/lib/syslinux/modules/bios/ldlinux.c32
if [ "$kernel_choice" = tiny ]; then
  # The kernel source and what building it takes.
  compgen -G '/usr/src/linux-source-*.tar.xz' >/dev/null || missing+=(linux-source)
  need make /usr/bin/make
  need gcc /usr/bin/gcc
  need bc /usr/bin/bc
  need flex /usr/bin/flex
  need bison /usr/bin/bison
  need libelf-dev /usr/include/gelf.h
  need lz4 /usr/bin/lz4
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${ASK_EMU_INSTALL:-0}" = 1 ] && [ "$(id -u)" = 0 ]; then
    say "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  else
    say "missing packages; install them with:"
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    say "(or run this script as root with ASK_EMU_INSTALL=1)"
    exit 125
  fi
fi
command -v go >/dev/null || die "go is needed to build the guest's init"

mkdir -p "$cache"

# --- the kernel (cached) ----------------------------------------------------
# tiny_kernel prints the path of a bzImage built from Debian's linux-source
# with `make tinyconfig` plus kernel.config; built once per source version
# and config.
tiny_kernel() {
  local tarball ver key out tmp src
  tarball=$(ls /usr/src/linux-source-*.tar.xz | sort -V | tail -n 1)
  ver=$(basename "$tarball" .tar.xz)
  key=$ver-$(sha256sum "$here/kernel.config" | cut -c1-12)
  out=$cache/kernel-$key
  if [ -f "$out/bzImage" ]; then
    echo "$out/bzImage"
    return
  fi
  say "building the guest kernel from $tarball (once; several minutes, log in $out.log)"
  tmp=$(mktemp -d "$cache/kbuild.XXXXXX")
  (
    set -e
    # Documentation/ is not needed, but its Kconfig is.
    tar -xJf "$tarball" -C "$tmp" --exclude='*/Documentation/[!K]*'
    src=$(echo "$tmp"/linux-source-*)
    make -C "$src" O="$tmp/build" tinyconfig
    "$src/scripts/kconfig/merge_config.sh" -O "$tmp/build" -m "$tmp/build/.config" "$here/kernel.config"
    make -C "$src" O="$tmp/build" olddefconfig
    # Every line of kernel.config must have survived Kconfig's dependencies.
    grep -E '^CONFIG_' "$here/kernel.config" | while IFS== read -r k v; do
      if [ "$v" = n ]; then
        ! grep -q "^$k=" "$tmp/build/.config"
      else
        grep -qx "$k=$v" "$tmp/build/.config"
      fi || { echo "kernel.config: $k=$v did not stick"; exit 1; }
    done
    make -C "$src" O="$tmp/build" -j"${ASK_EMU_JOBS:-$(nproc)}" bzImage
    mkdir -p "$out"
    cp "$tmp/build/.config" "$out/config"
    cp "$tmp/build/arch/x86/boot/bzImage" "$tmp/bzImage"
    mv "$tmp/bzImage" "$out/bzImage" # whole, for a run started meanwhile
  ) >"$out.log" 2>&1 || { rm -rf "$tmp"; die "kernel build failed; see $out.log"; }
  rm -rf "$tmp"
  echo "$out/bzImage"
}

# debian_kernel prints the path of the vmlinuz of Debian's current
# linux-image-amd64, downloaded (not installed) once.
debian_kernel() {
  local pkg out tmp
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
  [ -n "$pkg" ] || die "apt-cache knows no linux-image-amd64 (run apt-get update)"
  out=$cache/$pkg
  if [ ! -f "$out/vmlinuz" ]; then
    say "downloading $pkg"
    tmp=$(mktemp -d "$cache/deb.XXXXXX")
    (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$pkg") >&2 || { rm -rf "$tmp"; die "apt-get download $pkg failed"; }
    dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*'
    mkdir -p "$out"
    mv "$tmp"/boot/vmlinuz-* "$out/vmlinuz.tmp"
    mv "$out/vmlinuz.tmp" "$out/vmlinuz"
    rm -rf "$tmp"
  fi
  echo "$out/vmlinuz"
}

# Bochs reports XSAVES/XSAVEC but miscounts the compacted XSAVE area, which
# makes Linux turn XSAVE (and so AVX and AVX-512) off: keep it at standard
# XSAVE. Bochs's TSC counts one tick per instruction, while the CPU model's
# CPUID says 3.5 GHz: tsc_early_khz makes the guest clock (and busy-wait
# delays) run at the emulated ips, which is about real time.
cmdline="console=ttyS0,115200 clearcpuid=xsaves,xsavec tsc_early_khz=$((ips / 1000))"
[ "$verbose" = 1 ] || cmdline="$cmdline quiet"
cmdline="$cmdline ${ASK_EMU_CMDLINE:-}"
case $kernel_choice in
  tiny) kernel=$(tiny_kernel) ;;
  debian)
    kernel=$(debian_kernel)
    cmdline="$cmdline mitigations=off"
    ;;
  *)
    kernel=$kernel_choice
    [ -f "$kernel" ] || die "ASK_EMU_KERNEL: no such file: $kernel"
    ;;
esac

# --- the guest's init and the per-run initramfs -----------------------------
run=$(mktemp -d "${TMPDIR:-/tmp}/ask-emu.XXXXXX")
bochs_pid=
stop_bochs() {
  local i
  kill "$bochs_pid" 2>/dev/null || return 0 # timeout passes TERM on to Bochs
  for i in 1 2 3 4 5 6 7 8 9 10; do
    kill -0 "$bochs_pid" 2>/dev/null || return 0
    sleep 0.5
  done
  pkill -KILL -P "$bochs_pid" 2>/dev/null || true
}
cleanup() {
  if [ -n "$bochs_pid" ]; then
    stop_bochs
    wait "$bochs_pid" 2>/dev/null || true
  fi
  if [ "${ASK_EMU_KEEP:-0}" = 1 ]; then
    say "run directory kept: $run"
  else
    rm -rf "$run"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

(cd "$here/guest" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags='-s -w' -o "$run/guest" .) ||
  die "cannot build tools/emu/guest"
pack_args=()
for kv in ${ASK_EMU_ENV:-}; do
  pack_args+=(-env "$kv")
done
if [ -n "${ASK_EMU_DIR:-}" ]; then
  [ -d "$ASK_EMU_DIR" ] || die "ASK_EMU_DIR: no such directory: $ASK_EMU_DIR"
  pack_args+=(-dir "$ASK_EMU_DIR")
fi
mkdir -p "$run/iso/isolinux"
"$run/guest" pack "${pack_args[@]}" "$run/iso/initrd.img" "$prog" "$@" || exit 125
cp "$kernel" "$run/iso/vmlinuz"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$run/iso/isolinux/"
cat >"$run/iso/isolinux/isolinux.cfg" <<EOF
SERIAL 0 115200
PROMPT 0
TIMEOUT 0
DEFAULT linux
LABEL linux
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND $cmdline
EOF
xorriso -as mkisofs -quiet -o "$run/boot.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
  -no-emul-boot -boot-load-size 4 -boot-info-table "$run/iso" 2>"$run/xorriso.log" ||
  die "xorriso failed: $(cat "$run/xorriso.log")"

# --- Bochs ------------------------------------------------------------------
# Debian's Bochs has no "nogui" display: rfb (a VNC server) is the headless
# one it ships; timeout=0 starts without waiting for a viewer. The sound
# mixer thread crashes without a sound card, hence the dummy driver.
cat >"$run/bochsrc" <<EOF
display_library: rfb, options="timeout=0"
sound: driver=dummy
speaker: enabled=0
megs: $mem_mb
cpu: model=$cpu_model, count=1, ips=$ips, reset_on_triple_fault=0
clock: sync=none, time0=946684800
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
ata0-master: type=cdrom, path=$run/boot.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$run/serial.txt
log: $run/bochs.log
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
EOF
# This Bochs is built with its debugger, which stops at the first
# instruction: "c" continues.
echo c >"$run/debugger.rc"
: >"$run/serial.txt"

# The rfb display listens on TCP 5900+; a private network namespace keeps it
# off the machine's network where unshare allows one.
netns=()
if unshare -n true 2>/dev/null; then
  netns=(unshare -n)
elif unshare -rn true 2>/dev/null; then
  netns=(unshare -rn)
fi

t0=$(date +%s%N)
timeout -k 5 "$timeout_s" "${netns[@]}" bochs-bin -q -f "$run/bochsrc" -rc "$run/debugger.rc" \
  </dev/null >"$run/bochs.out" 2>&1 &
bochs_pid=$!

# Stream the serial console: lines before the start marker are the boot
# (kept in console.log; "ask-emu:" lines to stderr), then the program's
# output to stdout until the exit marker, whose status is written to
# $run/status. tail ends when Bochs does.
# mawk (Debian's awk) reads a pipe in blocks unless told otherwise.
awk_cmd=(awk)
if awk -W version 2>&1 | grep -q mawk; then
  awk_cmd=(awk -W interactive)
fi
tail -n +1 -F --pid="$bochs_pid" "$run/serial.txt" 2>/dev/null |
  "${awk_cmd[@]}" -v verbose="$verbose" -v logf="$run/console.log" -v statusf="$run/status" -v startf="$run/started" '
    BEGIN { running = 0 }
    { gsub(/\r/, "") }
    !running {
      print > logf
      if ($0 ~ /^ask-emu: / || verbose == 1) { print > "/dev/stderr"; fflush("/dev/stderr") }
      if (index($0, "@@ASK-EMU-START@@")) { running = 1; system("date +%s%N > " startf) }
      else if ($0 ~ /Kernel panic/) { if (verbose != 1) print > "/dev/stderr"; exit }
      next
    }
    /^\[ *[0-9]+\.[0-9]+\] Kernel panic/ { print > logf; print > "/dev/stderr"; exit }
    {
      i = index($0, "@@ASK-EMU-EXIT ")
      if (i) {
        if (i > 1) print substr($0, 1, i - 1)
        split(substr($0, i + 15), f, /[ @]/)
        print f[1] + 0, f[2] + 0 > statusf
        close(statusf)
        exit
      }
      print
      fflush()
    }
  ' &
# A signal to this script interrupts wait (and runs the trap, which stops
# Bochs), where it would not interrupt a foreground pipeline.
wait $! || true
t1=$(date +%s%N)

# The marker is out (or Bochs is gone): stop Bochs if init has not already.
stop_bochs
bochs_rc=0
wait "$bochs_pid" || bochs_rc=$?
bochs_pid=

if [ -f "$run/status" ]; then
  read -r status guest_s <"$run/status"
  t_start=$(cat "$run/started")
  say "$(awk -v a="$t0" -v b="$t_start" -v c="$t1" -v g="$guest_s" -v ips="$ips" -v m="$cpu_model" 'BEGIN {
    printf "%s: boot %.1fs, run %.1fs (guest clock %.1fs: ~%.0f MIPS), total %.1fs",
      m, (b - a) / 1e9, (c - b) / 1e9, g, (c > b ? g * ips / ((c - b) / 1e3) : 0), (c - a) / 1e9 }')"
  exit "$status"
fi
if [ "$bochs_rc" = 124 ] || [ "$bochs_rc" = 137 ]; then
  say "timed out after ${timeout_s}s (ASK_EMU_TIMEOUT)"
  exit 124
fi
say "the guest ended without an exit status; the end of its console and of Bochs's output:"
tail -n 20 "$run/console.log" >&2 || true
tail -n 5 "$run/bochs.out" >&2 || true
exit 125
}
