package tensor

import "golang.org/x/sys/cpu"

// hasAVX2 selects the assembly micro-kernels; it is fixed at start-up from
// the CPU's feature bits.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func kernAVX2_6(n, k int, a *float32, lda int, b *float32, c *float32, ldc int, acc bool)

//go:noescape
func kernAVX2_4(n, k int, a *float32, lda int, b *float32, c *float32, ldc int, acc bool)

//go:noescape
func kernAVX2_2(n, k int, a *float32, lda int, b *float32, c *float32, ldc int, acc bool)

//go:noescape
func kernAVX2_1(n, k int, a *float32, lda int, b *float32, c *float32, ldc int, acc bool)

// Kernel names the micro-kernel in use, for benchmarks and logs.
func Kernel() string {
	if hasAVX2 {
		return "avx2+fma"
	}
	return "generic"
}

// kernel computes C[rows×nr] (+)= A[rows×k]·B[k×nr] for rows >= 1, k >= 1:
// A row-major with stride lda, B a packed panel slice, C with stride ldc.
func kernel(rows, k int, a []float32, lda int, b, c []float32, ldc int, acc bool) {
	if !hasAVX2 {
		kernelGo(rows, k, a, lda, b, c, ldc, acc)
		return
	}
	// One bounds check per call, so the assembly can trust its pointers.
	_ = a[(rows-1)*lda+k-1]
	_ = b[k*nr-1]
	_ = c[(rows-1)*ldc+nr-1]
	tiles := rows / mr
	if tiles > 0 {
		kernAVX2_6(tiles, k, &a[0], lda, &b[0], &c[0], ldc, acc)
	}
	for r := tiles * mr; r < rows; {
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
