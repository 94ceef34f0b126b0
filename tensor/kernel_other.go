//go:build !amd64

package tensor

// Kernel names the micro-kernel in use, for benchmarks and logs.
func Kernel() string { return "generic" }

func kernel(rows, k int, a []float32, lda int, b, c []float32, ldc int, acc bool) {
	kernelGo(rows, k, a, lda, b, c, ldc, acc)
}

func kernelPrefetch(rows, k int, a []float32, lda int, b, c []float32, ldc int, acc bool, _ *float32) {
	kernelGo(rows, k, a, lda, b, c, ldc, acc)
}

func pairKernel() bool { return false }

func kernelPair(rows, k int, a []float32, lda int, b0, b1, c []float32, ldc int, acc bool) {
	kernel(rows, k, a, lda, b0, c, ldc, acc)
	kernel(rows, k, a, lda, b1, c[nr:], ldc, acc)
}

func transposePanel(pan, w []float32, ld, k int) bool { return false }
