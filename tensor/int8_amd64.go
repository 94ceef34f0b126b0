package tensor

import "golang.org/x/sys/cpu"

// hasVNNI selects the AVX-512 VNNI int8 kernel (VPDPBUSD); like the fp32
// kernels it is fixed at start-up, and ASK_GEMM_KERNEL=avx2 or generic
// turns it off.
var hasVNNI = vnniSupport(kernelChoice)

func vnniSupport(force string) bool {
	_, avx512 := kernelSupport(force)
	return avx512 && cpu.X86.HasAVX512VNNI && cpu.X86.HasAVX512BW
}

func int8Kernel() string {
	switch {
	case hasVNNI:
		return "avx512vnni"
	case hasAVX2:
		return "avx2"
	}
	return "generic"
}

//go:noescape
func kernVNNI_12x32(n, kq int, a *uint8, lda int, b0, b1 *int8, c *int32, ldc int, acc bool)

//go:noescape
func kernVNNI_4x32(n, kq int, a *uint8, lda int, b0, b1 *int8, c *int32, ldc int, acc bool)

//go:noescape
func kernVNNI_1x32(n, kq int, a *uint8, lda int, b0, b1 *int8, c *int32, ldc int, acc bool)

//go:noescape
func kernAVX2I8_4x16(n, kq int, a *uint8, lda int, b *int8, c *int32, ldc int, acc bool)

//go:noescape
func kernAVX2I8_1x16(n, kq int, a *uint8, lda int, b *int8, c *int32, ldc int, acc bool)

//go:noescape
func vminmaxAVX2(x *float32, n int) (lo, hi float32)

//go:noescape
func vquantAVX2(dst *uint8, x *float32, n int, inv float32, zero, levels int32)

//go:noescape
func vdequantAVX2(c *float32, colSum *int32, ws *float32, n int, zero int32, rs float32)

//go:noescape
func vmulAVX2(dst, x, f *float32, n int)

// int8Pair computes C[rows×2nr] (+)= A[rows×4kq] · (panels b0, b1) in
// int32, for rows >= 1 and kq >= 1. With the AVX2 kernel every byte of A
// must be at most 127 (Int8ActivationMax).
func int8Pair(rows, kq int, a []uint8, lda int, b0, b1 []int8, c []int32, ldc int, acc bool) {
	if !hasAVX2 {
		int8KernelGo(rows, kq, a, lda, b0, c, ldc, acc)
		int8KernelGo(rows, kq, a, lda, b1, c[nr:], ldc, acc)
		return
	}
	// One bounds check per call, so the assembly can trust its pointers.
	_ = a[(rows-1)*lda+kq*qk-1]
	_ = b0[kq*qk*nr-1]
	_ = b1[kq*qk*nr-1]
	_ = c[(rows-1)*ldc+2*nr-1]
	if hasVNNI {
		r := 0
		if t := rows / 12; t > 0 {
			kernVNNI_12x32(t, kq, &a[0], lda, &b0[0], &b1[0], &c[0], ldc, acc)
			r = t * 12
		}
		if t := (rows - r) / 4; t > 0 {
			kernVNNI_4x32(t, kq, &a[r*lda], lda, &b0[0], &b1[0], &c[r*ldc], ldc, acc)
			r += t * 4
		}
		if r < rows {
			kernVNNI_1x32(rows-r, kq, &a[r*lda], lda, &b0[0], &b1[0], &c[r*ldc], ldc, acc)
		}
		return
	}
	r := 0
	if t := rows / 4; t > 0 {
		kernAVX2I8_4x16(t, kq, &a[0], lda, &b0[0], &c[0], ldc, acc)
		kernAVX2I8_4x16(t, kq, &a[0], lda, &b1[0], &c[nr], ldc, acc)
		r = t * 4
	}
	if r < rows {
		kernAVX2I8_1x16(rows-r, kq, &a[r*lda], lda, &b0[0], &c[r*ldc], ldc, acc)
		kernAVX2I8_1x16(rows-r, kq, &a[r*lda], lda, &b1[0], &c[r*ldc+nr], ldc, acc)
	}
}

func vecMinMax(x []float32) (lo, hi float32) {
	n := len(x) &^ 7
	if !hasAVX2 || n == 0 {
		return minMaxGo(x)
	}
	lo, hi = vminmaxAVX2(&x[0], n)
	l2, h2 := minMaxGo(x[n:])
	return min(lo, l2), max(hi, h2)
}

func vecQuantize(dst []uint8, x []float32, inv float32, zero, levels int32) {
	n := len(x) &^ 7
	if !hasAVX2 {
		n = 0
	}
	if n > 0 {
		_ = dst[n-1]
		vquantAVX2(&dst[0], &x[0], n, inv, zero, levels)
	}
	quantizeGo(dst[n:], x[n:], inv, zero, levels)
}

func vecDequant(c []float32, colSum []int32, ws []float32, zero int32, rs float32) {
	n := len(c) &^ 7
	if !hasAVX2 {
		n = 0
	}
	if n > 0 {
		_ = colSum[n-1]
		_ = ws[n-1]
		vdequantAVX2(&c[0], &colSum[0], &ws[0], n, zero, rs)
	}
	dequantGo(c[n:], colSum[n:], ws[n:], zero, rs)
}

func vecMul(dst, x, f []float32) {
	n := len(x) &^ 7
	if !hasAVX2 {
		n = 0
	}
	if n > 0 {
		_ = dst[n-1]
		_ = f[n-1]
		vmulAVX2(&dst[0], &x[0], &f[0], n)
	}
	mulGo(dst[n:], x[n:], f[n:])
}
