package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkLinearShapes times one thread's product for the Linear shapes of
// DistilBERT/BERT-base at 384 tokens (M×N×K), int8 under every int8 kernel
// and fp32 under every fp32 kernel of this CPU, in GOP per CPU-second (CPU
// time, so a busy shared machine skews the figures less than wall time).
// The int8 figure includes quantizing the activations and dequantizing.
func BenchmarkLinearShapes(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range []struct{ m, n, k int }{{384, 2304, 768}, {384, 768, 768}, {384, 3072, 768}, {384, 768, 3072}} {
		w := randSlice(r, s.n*s.k)
		x := randSlice(r, s.m*s.k)
		c := make([]float32, s.m*s.n)
		bias := randSlice(r, s.n)
		ops := 2 * float64(s.m*s.n*s.k)
		name := fmt.Sprintf("%dx%dx%d", s.m, s.n, s.k)
		for _, v := range int8Variants() {
			b.Run(name+"/int8-"+v.name, func(b *testing.B) {
				var p *PackedInt8
				v.use(func() {
					q, sc := QuantizeWeights(w, s.n, s.k)
					p, _ = PackInt8(q, sc, s.n, s.k)
				})
				kp := p.KPadded()
				a := make([]uint8, s.m*kp)
				rs := make([]float32, s.m)
				z := make([]int32, s.m)
				cpu0 := cpuSeconds()
				b.ResetTimer()
				v.use(func() {
					for i := 0; i < b.N; i++ {
						QuantizeRows(a, kp, x, s.k, s.m, s.k, v.maxAct, rs, z)
						g := Int8GemmTask{A: a, Lda: kp, M: s.m, Scale: rs, Zero: z, B: p, C: c, Ldc: s.n, Bias: bias, Ep: EpBias}
						g.Do(0, g.Split(), 0)
					}
				})
				b.ReportMetric(ops*float64(b.N)/(cpuSeconds()-cpu0)/1e9, "GOP/cpu-s")
			})
		}
		for _, v := range kernelVariants() {
			if v.name == "generic" {
				continue
			}
			b.Run(name+"/fp32-"+v.name, func(b *testing.B) {
				var p *Packed
				v.use(func() { p = PackTransposed(nil, w, s.n, s.k, s.k) })
				cpu0 := cpuSeconds()
				b.ResetTimer()
				v.use(func() {
					for i := 0; i < b.N; i++ {
						Gemm(x, s.k, s.m, p, c, s.n, bias, EpBias)
					}
				})
				b.ReportMetric(ops*float64(b.N)/(cpuSeconds()-cpu0)/1e9, "GOP/cpu-s")
			})
		}
	}
}
