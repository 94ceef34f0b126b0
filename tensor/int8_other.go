//go:build !amd64

package tensor

func int8Kernel() string { return "generic" }

func int8Pair(rows, kq int, a []uint8, lda int, b0, b1 []int8, c []int32, ldc int, acc bool) {
	int8KernelGo(rows, kq, a, lda, b0, c, ldc, acc)
	int8KernelGo(rows, kq, a, lda, b1, c[nr:], ldc, acc)
}

func vecMinMax(x []float32) (lo, hi float32) { return minMaxGo(x) }

func vecQuantize(dst []uint8, x []float32, inv float32, zero, levels int32) {
	quantizeGo(dst, x, inv, zero, levels)
}

func vecDequant(c []float32, colSum []int32, ws []float32, zero int32, rs float32) {
	dequantGo(c, colSum, ws, zero, rs)
}

func vecMul(dst, x, f []float32) { mulGo(dst, x, f) }
