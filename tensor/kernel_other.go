//go:build !amd64

package tensor

// Kernel names the micro-kernel in use, for benchmarks and logs.
func Kernel() string { return "generic" }

func kernel(rows, k int, a []float32, b []float32, c []float32, ldc int, acc bool) {
	kernelGo(rows, k, a, b, c, ldc, acc)
}
