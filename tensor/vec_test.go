package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The vectorised activations are approximations; these bound their error
// against float64 math over the range that occurs in practice and beyond.
func TestActivationsAccuracy(t *testing.T) {
	for _, kern := range kernelVariants() {
		kern.use(func() {
			const n = 40003 // not a multiple of 8: exercises the tail
			x := make([]float32, n)
			zero := make([]float32, n)
			for i := range x {
				x[i] = -30 + 60*float32(i)/n
			}
			g := append([]float32(nil), x...)
			biasGELU(g, zero)
			gt := append([]float32(nil), x...)
			biasGELUTanh(gt, zero)
			for i, v := range x {
				d := float64(v)
				want := 0.5 * d * (1 + math.Erf(d/math.Sqrt2))
				if e := math.Abs(float64(g[i]) - want); e > 3e-7*math.Max(1, math.Abs(want)) {
					t.Fatalf("%s: gelu(%v) = %v, want %v (err %.3g)", kern.name, v, g[i], want, e)
				}
				wantT := 0.5 * d * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(d+0.044715*d*d*d)))
				if e := math.Abs(float64(gt[i]) - wantT); e > 3e-7*math.Max(1, math.Abs(wantT)) {
					t.Fatalf("%s: gelu_new(%v) = %v, want %v (err %.3g)", kern.name, v, gt[i], wantT, e)
				}
			}
		})
	}
}

func TestSoftmaxAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, kern := range kernelVariants() {
		kern.use(func() {
			for _, n := range []int{1, 7, 8, 9, 64, 383, 384} {
				x := randSlice(r, n)
				for i := range x {
					x[i] *= 30 // spread so that some exponents are tiny
				}
				keep := make([]bool, n)
				for i := range keep {
					keep[i] = i == 0 || r.IntN(4) != 0
				}
				want := make([]float64, n)
				mx := math.Inf(-1)
				for i, v := range x {
					if keep[i] {
						mx = math.Max(mx, float64(v)*0.125)
					}
				}
				var sum float64
				for i, v := range x {
					if keep[i] {
						want[i] = math.Exp(float64(v)*0.125 - mx)
						sum += want[i]
					}
				}
				SoftmaxRow(x, 0.125, keep)
				for i := range x {
					w := want[i] / sum
					if math.Abs(float64(x[i])-w) > 1e-6*math.Max(w, 1e-2) || (!keep[i] && x[i] != 0) {
						t.Fatalf("%s n=%d: p[%d] = %v, want %v", kern.name, n, i, x[i], w)
					}
				}
			}
		})
	}
}

func BenchmarkGELU(b *testing.B) {
	x := make([]float32, 3072)
	bias := make([]float32, 3072)
	for i := range x {
		x[i] = float32(i%200)/20 - 5
	}
	b.SetBytes(int64(4 * len(x)))
	for i := 0; i < b.N; i++ {
		biasGELU(x, bias)
	}
}

func BenchmarkSoftmax384(b *testing.B) {
	x := make([]float32, 384)
	b.SetBytes(4 * 384)
	for i := 0; i < b.N; i++ {
		for j := range x {
			x[j] = float32(j % 17)
		}
		SoftmaxRow(x, 0.125, nil)
	}
}

// TestLayerNormAccuracy checks every kernel variant against float64 math on
// lengths around the vector width, with a large common offset (the case a
// one-pass variance gets wrong), and each aliasing the forward pass uses.
func TestLayerNormAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, kern := range kernelVariants() {
		kern.use(func() {
			for _, n := range []int{1, 2, 7, 8, 9, 15, 16, 17, 33, 768, 1027} {
				for alias := range 3 {
					x, res := randSlice(r, n), randSlice(r, n)
					for i := range x {
						x[i] = 100 + 3*x[i]
					}
					g, b := randSlice(r, n), randSlice(r, n)
					want := make([]float64, n)
					var mean, v float64
					for i := range x {
						mean += float64(x[i] + res[i])
					}
					mean /= float64(n)
					for i := range x {
						d := float64(x[i]+res[i]) - mean
						v += d * d
					}
					inv := 1 / math.Sqrt(v/float64(n)+1e-5)
					for i := range x {
						want[i] = (float64(x[i]+res[i])-mean)*inv*float64(g[i]) + float64(b[i])
					}
					out := make([]float32, n)
					switch alias {
					case 1:
						out = x
					case 2:
						out = res
					}
					LayerNorm(out, x, res, g, b, 1e-5)
					for i := range out {
						if e := math.Abs(float64(out[i]) - want[i]); e > 2e-5*math.Max(1, math.Abs(want[i])) {
							t.Fatalf("%s n=%d alias=%d: out[%d] = %v, want %v (err %.3g)", kern.name, n, alias, i, out[i], want[i], e)
						}
					}
				}
			}
		})
	}
}

func BenchmarkLayerNorm768(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	x, res, g, beta := randSlice(r, 768), randSlice(r, 768), randSlice(r, 768), randSlice(r, 768)
	out := make([]float32, 768)
	b.SetBytes(4 * 768)
	for i := 0; i < b.N; i++ {
		LayerNorm(out, x, res, g, beta, 1e-12)
	}
}

// BenchmarkExpSum384 times softmax's exponential pass over one row of
// attention scores, without refilling the row (exp of its own output stays
// in range).
func BenchmarkExpSum384(b *testing.B) {
	x := make([]float32, 384)
	b.SetBytes(4 * 384)
	for i := 0; i < b.N; i++ {
		vecExpSum(x, 1, 0)
	}
}
