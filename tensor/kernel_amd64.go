package tensor

import (
	"os"

	"golang.org/x/sys/cpu"
)

// hasAVX2 and hasAVX512 select the fp32 assembly micro-kernels; they are
// fixed at start-up from the CPU's feature bits (x/sys/cpu also checks that
// the OS saves the wider registers). canAVX512 is whether the AVX-512 one
// can run at all, for tests and the int8 kernels. ASK_GEMM_KERNEL=avx2 or
// generic turns the faster paths off, avx512 turns AVX-512 on where it is
// not the default, to compare kernels on one machine or to rule one out.
var (
	kernelChoice       = os.Getenv("ASK_GEMM_KERNEL")
	hasAVX2, canAVX512 = kernelSupport(kernelChoice)
	hasAVX512          = canAVX512 && preferAVX512(kernelChoice, halfWidthAVX512())
)

func kernelSupport(force string) (avx2, avx512 bool) {
	avx2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && force != "generic"
	avx512 = avx2 && cpu.X86.HasAVX512F && force != "avx2"
	return avx2, avx512
}

// preferAVX512 reports whether the fp32 GEMM should use the AVX-512 kernel
// on a CPU that has it. Not on one that executes 512-bit FMAs as two
// 256-bit halves (AMD Zen 4): there the 512-bit kernel does the same work in
// the same cycles with fewer, larger tiles, and measured slower —
// bench/compare_int8.py on a Zen 4, DistilBERT and BERT-base, 1×128 to
// 8×384, 1 and 2 threads: the AVX2 kernel's passes took 0.94–0.98 of the
// AVX-512 one's in every cell (BENCHMARKS.md, int8 section). The int8
// VNNI kernel is not affected: it is 1.9× the AVX2 int8 kernel there.
func preferAVX512(force string, halfWidth bool) bool {
	return force == "avx512" || !halfWidth
}

// halfWidthAVX512 reports an AMD family 19h CPU (Zen 3 and Zen 4; only Zen
// 4 has AVX-512), whose 512-bit units are 256 bits wide. Zen 5 (family 1Ah)
// has full-width units and keeps AVX-512.
func halfWidthAVX512() bool {
	_, b, c, d := cpuid(0, 0)
	if b != 0x68747541 || d != 0x69746e65 || c != 0x444d4163 { // "AuthenticAMD"
		return false
	}
	a, _, _, _ := cpuid(1, 0)
	family := (a >> 8) & 0xf
	if family == 0xf {
		family += (a >> 20) & 0xff
	}
	return family == 0x19
}

//go:noescape
func cpuid(eax, ecx uint32) (a, b, c, d uint32)

//go:noescape
func kernAVX512_12x32(n, k int, a *float32, lda int, b0, b1 *float32, c *float32, ldc int, acc bool)

//go:noescape
func kernAVX512_12(n, k int, a *float32, lda int, b *float32, c *float32, ldc int, acc bool)

//go:noescape
func kernAVX2_6(n, k int, a *float32, lda int, b *float32, c *float32, ldc int, acc bool, next *float32, step int)

//go:noescape
func kernAVX2_4(n, k int, a *float32, lda int, b *float32, c *float32, ldc int, acc bool)

//go:noescape
func kernAVX2_2(n, k int, a *float32, lda int, b *float32, c *float32, ldc int, acc bool)

//go:noescape
func kernAVX2_1(n, k int, a *float32, lda int, b *float32, c *float32, ldc int, acc bool)

// Kernel names the micro-kernel in use, for benchmarks and logs.
func Kernel() string {
	switch {
	case hasAVX512:
		return "avx512f"
	case hasAVX2:
		return "avx2+fma"
	}
	return "generic"
}

// kernel computes C[rows×nr] (+)= A[rows×k]·B[k×nr] for rows >= 1, k >= 1:
// A row-major with stride lda, B a packed panel slice, C with stride ldc.
func kernel(rows, k int, a []float32, lda int, b, c []float32, ldc int, acc bool) {
	kernelPrefetch(rows, k, a, lda, b, c, ldc, acc, nil)
}

// kernelPrefetch is kernel that also pulls next (the same k range of the
// next panel, or nil) towards L2 while the first tile runs.
func kernelPrefetch(rows, k int, a []float32, lda int, b, c []float32, ldc int, acc bool, next *float32) {
	if !hasAVX2 {
		kernelGo(rows, k, a, lda, b, c, ldc, acc)
		return
	}
	// One bounds check per call, so the assembly can trust its pointers.
	_ = a[(rows-1)*lda+k-1]
	_ = b[k*nr-1]
	_ = c[(rows-1)*ldc+nr-1]
	r := 0
	if hasAVX512 && rows >= 12 {
		// The rows past the last 12-row tile go to the AVX2 kernels below:
		// they are a small part of any product worth AVX-512.
		tiles := rows / 12
		kernAVX512_12(tiles, k, &a[0], lda, &b[0], &c[0], ldc, acc)
		r = tiles * 12
	}
	if tiles := (rows - r) / mr; tiles > 0 {
		kernAVX2_6(tiles, k, &a[r*lda], lda, &b[0], &c[r*ldc], ldc, acc, next, prefetchStep(tiles, k))
		r += tiles * mr
	}
	for r < rows {
		ap, cp := &a[r*lda], &c[r*ldc]
		switch n := rows - r; {
		case n >= 4:
			kernAVX2_4(1, k, ap, lda, &b[0], cp, ldc, acc)
			r += 4
		case n >= 2:
			kernAVX2_2(1, k, ap, lda, &b[0], cp, ldc, acc)
			r += 2
		default:
			kernAVX2_1(1, k, ap, lda, &b[0], cp, ldc, acc)
			r++
		}
	}
}

//go:noescape
func transpose8AVX2(dst *float32, src *float32, ld int, blocks int)

// transposePanel packs a full panel from w, whose first nr rows (ld floats
// apart) are the panel's columns, and reports whether it did; without
// AVX2 it leaves the panel to the portable loop.
func transposePanel(pan, w []float32, ld, k int) bool {
	if !hasAVX2 || k < 8 {
		return false
	}
	_ = pan[k*nr-1]
	_ = w[(nr-1)*ld+k-1]
	blocks := k / 8
	transpose8AVX2(&pan[0], &w[0], ld, blocks)
	transpose8AVX2(&pan[8], &w[8*ld], ld, blocks)
	for kk := blocks * 8; kk < k; kk++ {
		for c := range nr {
			pan[kk*nr+c] = w[c*ld+kk]
		}
	}
	return true
}

// prefetchStep spreads the prefetch of the next panel's k range (k*nr
// floats) over the 6-row kernel's loop passes, four k steps each, across
// all its tiles: one line a pass, step bytes apart. With fewer passes than
// lines (few tiles) the tail is left to the hardware prefetcher.
func prefetchStep(tiles, k int) int {
	passes := tiles * (k / 4)
	if passes == 0 {
		return 0
	}
	return min(64, (k*nr*4+passes-1)/passes)
}

// pairKernel reports whether kernelPair is faster than two kernel calls.
func pairKernel() bool { return hasAVX512 }

// kernelPair is kernel over two adjacent panels b0 and b1 (C's columns
// [0,nr) and [nr,2nr)).
func kernelPair(rows, k int, a []float32, lda int, b0, b1, c []float32, ldc int, acc bool) {
	r := 0
	if hasAVX512 && rows >= 12 {
		_ = a[(rows-1)*lda+k-1]
		_ = b0[k*nr-1]
		_ = b1[k*nr-1]
		_ = c[(rows-1)*ldc+2*nr-1]
		tiles := rows / 12
		kernAVX512_12x32(tiles, k, &a[0], lda, &b0[0], &b1[0], &c[0], ldc, acc)
		r = tiles * 12
	}
	if r < rows {
		kernel(rows-r, k, a[r*lda:], lda, b0, c[r*ldc:], ldc, acc)
		kernel(rows-r, k, a[r*lda:], lda, b1, c[r*ldc+nr:], ldc, acc)
	}
}

//go:noescape
func vexpSumAVX2(x *float32, n int, scale, shift float32) float32

//go:noescape
func vmaxAVX2(x *float32, n int) float32

//go:noescape
func vscaleAVX2(x *float32, n int, s float32)

//go:noescape
func vaddAVX2(x, b *float32, n int)

//go:noescape
func vgeluAVX2(x, b *float32, n int)

//go:noescape
func vgeluTanhAVX2(x, b *float32, n int)

//go:noescape
func vsum64AVX2(x *float32, n int) float64

//go:noescape
func vdev64AVX2(x *float32, n int, mean float64) float64

//go:noescape
func vnormAVX2(x, gamma, beta *float32, n int, mean, inv float64)
