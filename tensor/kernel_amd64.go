package tensor

import (
	"os"

	"golang.org/x/sys/cpu"
)

// hasAVX2 and hasAVX512 select the assembly micro-kernels; they are fixed at
// start-up from the CPU's feature bits (x/sys/cpu also checks that the OS
// saves the wider registers). ASK_GEMM_KERNEL=avx2 or generic turns the
// faster paths off, to compare kernels on one machine or to rule one out.
var hasAVX2, hasAVX512 = kernelSupport(os.Getenv("ASK_GEMM_KERNEL"))

func kernelSupport(force string) (avx2, avx512 bool) {
	avx2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && force != "generic"
	avx512 = avx2 && cpu.X86.HasAVX512F && force != "avx2"
	return avx2, avx512
}

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
