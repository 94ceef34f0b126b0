package tensor

import "golang.org/x/sys/cpu"

// hasAVX2 selects the assembly micro-kernels; it is fixed at start-up from
// the CPU's feature bits.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func kernAVX2_6(k int, a *float32, b *float32, c *float32, ldc int, acc bool)

//go:noescape
func kernAVX2_4(k int, a *float32, b *float32, c *float32, ldc int, acc bool)

//go:noescape
func kernAVX2_2(k int, a *float32, b *float32, c *float32, ldc int, acc bool)

//go:noescape
func kernAVX2_1(k int, a *float32, b *float32, c *float32, ldc int, acc bool)

// Kernel names the micro-kernel in use, for benchmarks and logs.
func Kernel() string {
	if hasAVX2 {
		return "avx2+fma"
	}
	return "generic"
}

func kernel(rows, k int, a []float32, b []float32, c []float32, ldc int, acc bool) {
	if !hasAVX2 {
		kernelGo(rows, k, a, b, c, ldc, acc)
		return
	}
	kernelAVX2(rows, k, a, b, c, ldc, acc)
}

// kernelAVX2 checks bounds once in Go so the assembly can trust its pointers.
func kernelAVX2(rows, k int, a []float32, b []float32, c []float32, ldc int, acc bool) {
	if k > 0 {
		_ = a[(k-1)*mr+rows-1]
		_ = b[k*nr-1]
	}
	_ = c[(rows-1)*ldc+nr-1]
	switch rows {
	case 6:
		kernAVX2_6(k, &a[0], &b[0], &c[0], ldc, acc)
	case 4:
		kernAVX2_4(k, &a[0], &b[0], &c[0], ldc, acc)
	case 2:
		kernAVX2_2(k, &a[0], &b[0], &c[0], ldc, acc)
	case 1:
		kernAVX2_1(k, &a[0], &b[0], &c[0], ldc, acc)
	default:
		panic("tensor: kernel rows must be 6, 4, 2 or 1")
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
