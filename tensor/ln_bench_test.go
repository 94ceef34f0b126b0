package tensor

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkLayerNorm768(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	x, res, g, be := randSlice(r, 768), randSlice(r, 768), randSlice(r, 768), randSlice(r, 768)
	out := make([]float32, 768)
	for i := 0; i < b.N; i++ {
		LayerNorm(out, x, res, g, be, 1e-12)
	}
}
