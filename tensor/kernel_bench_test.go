package tensor

import "testing"

// BenchmarkKernel6x16 times the micro-kernel alone with operands in L1, the
// ceiling the blocked GEMM can approach.
func BenchmarkKernel6x16(b *testing.B) {
	const k = 256
	a := make([]float32, mr*k)
	bp := make([]float32, k*nr)
	c := make([]float32, mr*nr)
	cpu0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		kernel(6, k, a, k, bp, c, nr, true)
	}
	flop := 2 * float64(mr*nr*k) * float64(b.N)
	b.ReportMetric(flop/(cpuSeconds()-cpu0)/1e9, "GFLOP/cpu-s")
}
