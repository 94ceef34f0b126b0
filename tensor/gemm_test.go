package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// refGemm is the float64 textbook product used as the reference.
func refGemm(a []float32, lda, m int, w []float32, n, k int, bias []float32, ep Epilogue) []float64 {
	c := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for kk := 0; kk < k; kk++ {
				s += float64(a[i*lda+kk]) * float64(w[j*k+kk])
			}
			if ep != EpNone {
				s += float64(bias[j])
			}
			switch ep {
			case EpBiasGELU:
				s = 0.5 * s * (1 + math.Erf(s/math.Sqrt2))
			case EpBiasGELUTanh:
				s = 0.5 * s * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(s+0.044715*s*s*s)))
			}
			c[i*n+j] = s
		}
	}
	return c
}

func checkClose(t *testing.T, name string, got []float32, ldc, m, n int, want []float64, k int) {
	t.Helper()
	// fp32 accumulation error grows like sqrt(k)·eps·|terms|.
	tol := 1e-5 * math.Sqrt(float64(k)+1) * 4
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			g, w := float64(got[i*ldc+j]), want[i*n+j]
			if math.Abs(g-w) > tol*(1+math.Abs(w)) {
				t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i, j, g, w)
			}
		}
	}
}

func TestGemmShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	shapes := [][3]int{{1, 1, 1}, {1, 16, 8}, {5, 17, 3}, {6, 16, 256}, {7, 33, 257}, {13, 8, 64},
		{72, 256, 300}, {73, 257, 513}, {150, 40, 1}, {3, 100, 0}, {145, 1100, 20}, {77, 48, 800},
		{30, 48, 258}, {12, 40, 7}}
	for _, kern := range kernelVariants() {
		for i, s := range shapes {
			// Splits for 1, 2 and 3 workers cut C differently (shape by shape).
			workers := 1 + i%3
			m, n, k := s[0], s[1], s[2]
			for _, ep := range []Epilogue{EpNone, EpBias, EpBiasGELU, EpBiasGELUTanh} {
				name := fmt.Sprintf("%s/%dx%dx%d/w%d/ep%d", kern.name, m, n, k, workers, ep)
				lda, ldc := k+3, n+5
				a := randSlice(r, m*lda)
				w := randSlice(r, n*k)
				bias := randSlice(r, n)
				b := PackTransposed(nil, w, n, k, k)
				c := randSlice(r, m*ldc) // garbage must be overwritten
				g := GemmTask{A: a, Lda: lda, M: m, B: b, C: c, Ldc: ldc, Bias: bias, Ep: ep}
				if err := g.Check(); err != nil {
					t.Fatal(err)
				}
				kern.use(func() {
					// Runs of different lengths, as a pool hands them out.
					n := g.Split()
					for lo := 0; lo < n; {
						hi := min(n, lo+1+(lo*workers)%5)
						g.Do(lo, hi, 0)
						lo = hi
					}
				})
				checkClose(t, name, c, ldc, m, n, refGemm(a, lda, m, w, n, k, bias, ep), k)
			}
		}
	}
}

func TestPackRowMajorMatchesTransposed(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	k, n := 37, 21
	w := randSlice(r, n*k) // N×K
	bt := make([]float32, k*n)
	for j := 0; j < n; j++ {
		for kk := 0; kk < k; kk++ {
			bt[kk*n+j] = w[j*k+kk]
		}
	}
	p1 := PackTransposed(nil, w, n, k, k)
	p2 := Pack(nil, bt, k, n, n)
	for i := range p1.data {
		if p1.data[i] != p2.data[i] {
			t.Fatalf("packed data differs at %d", i)
		}
	}
}

func TestPoolRunsEveryPieceOnce(t *testing.T) {
	p := NewPool(4)
	defer p.Close()
	j := NewJob()
	for _, n := range []int{0, 1, 3, 100} {
		ct := &countTask{hits: make([]int32, n)}
		p.Run(j, ct, n)
		for i, h := range ct.hits {
			if h != 1 {
				t.Fatalf("n=%d: piece %d ran %d times", n, i, h)
			}
		}
	}
}

type countTask struct{ hits []int32 }

func (c *countTask) Do(lo, hi, w int) {
	for i := lo; i < hi; i++ {
		c.hits[i]++
	}
}

func TestGemmParallelMatchesSerial(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	m, n, k := 200, 700, 300
	a := randSlice(r, m*k)
	w := randSlice(r, n*k)
	bias := randSlice(r, n)
	b := PackTransposed(nil, w, n, k, k)
	c1 := make([]float32, m*n)
	c2 := make([]float32, m*n)
	Gemm(a, k, m, b, c1, n, bias, EpBiasGELU)
	p := NewPool(3)
	defer p.Close()
	g := &GemmTask{A: a, Lda: k, M: m, B: b, C: c2, Ldc: n, Bias: bias, Ep: EpBiasGELU}
	p.Run(NewJob(), g, g.Split())
	for i := range c1 {
		if c1[i] != c2[i] {
			t.Fatalf("parallel result differs at %d: %v vs %v", i, c1[i], c2[i])
		}
	}
}

func TestLayerNormAndSoftmax(t *testing.T) {
	x := []float32{1, 2, 3, 4}
	res := []float32{0.5, -1, 0, 2}
	g := []float32{1, 2, 1, 0.5}
	b := []float32{0, 0.1, 0, -1}
	out := make([]float32, 4)
	LayerNorm(out, x, res, g, b, 1e-12)
	// Reference: s = x+res = [1.5 1 3 6], mean 2.875, biased var 3.796875.
	s := []float64{1.5, 1, 3, 6}
	for i := range s {
		want := (s[i]-2.875)/math.Sqrt(3.796875+1e-12)*float64(g[i]) + float64(b[i])
		if math.Abs(float64(out[i])-want) > 1e-6 {
			t.Fatalf("LayerNorm[%d] = %v, want %v", i, out[i], want)
		}
	}
	row := []float32{1, 2, 3, 100}
	SoftmaxRow(row, 0.5, []bool{true, true, true, false})
	den := math.Exp(-1) + math.Exp(-0.5) + 1
	for i, want := range []float64{math.Exp(-1) / den, math.Exp(-0.5) / den, 1 / den, 0} {
		if math.Abs(float64(row[i])-want) > 1e-7 {
			t.Fatalf("softmax[%d] = %v, want %v", i, row[i], want)
		}
	}
}

func BenchmarkGemm(b *testing.B) {
	for _, s := range [][3]int{{384, 768, 768}, {384, 3072, 768}, {384, 768, 3072}} {
		m, n, k := s[0], s[1], s[2]
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dx%dx%d/t%d", m, n, k, threads), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 1))
				a := randSlice(r, m*k)
				w := randSlice(r, n*k)
				pk := PackTransposed(nil, w, n, k, k)
				c := make([]float32, m*n)
				p := NewPool(threads)
				defer p.Close()
				j := NewJob()
				g := &GemmTask{A: a, Lda: k, M: m, B: pk, C: c, Ldc: n}
				tiles := g.Split()
				b.ResetTimer()
				cpu0 := cpuSeconds()
				for i := 0; i < b.N; i++ {
					p.Run(j, g, tiles)
				}
				flop := 2 * float64(m*n*k) * float64(b.N)
				b.ReportMetric(flop/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				// Per CPU-second: stable when other processes share the machine.
				b.ReportMetric(flop/(cpuSeconds()-cpu0)/1e9, "GFLOP/cpu-s")
			})
		}
	}
}

// TestSplitTilesC checks that for many shapes, whichever runs of
// consecutive pieces the pool hands out, the rectangles they stand for cover
// every element of C exactly once.
func TestSplitTilesC(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for trial := 0; trial < 300; trial++ {
		m, n := r.IntN(700), r.IntN(3200)
		if trial < 4 {
			m, n = []int{0, 384, 3072, 1}[trial], []int{5, 768, 2304, 0}[trial]
		}
		b := &Packed{K: 1, N: n}
		g := GemmTask{M: m, B: b}
		pieces := g.Split()
		hits := make([]uint8, m*n)
		for lo := 0; lo < pieces; {
			hi := min(pieces, lo+1+r.IntN(3*g.pieces))
			for p := lo; p < hi; {
				i0, i1, j0, j1, next := g.rect(p, hi)
				if next <= p {
					t.Fatalf("M=%d N=%d: rect(%d, %d) does not advance", m, n, p, hi)
				}
				for row := i0; row < i1; row++ {
					for col := j0; col < j1; col++ {
						hits[row*n+col]++
					}
				}
				p = next
			}
			lo = hi
		}
		for k, h := range hits {
			if h != 1 {
				t.Fatalf("M=%d N=%d: C[%d,%d] covered %d times", m, n, k/n, k%n, h)
			}
		}
	}
}

// TestPackTransposedShapes checks PackTransposed against the definition on
// widths around the panel width, into a reused destination full of garbage
// (the padding past N must come out zero).
func TestPackTransposedShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	dst := &Packed{}
	for _, kern := range kernelVariants() {
		for _, s := range [][2]int{{1, 1}, {15, 3}, {16, 7}, {16, 8}, {16, 64}, {17, 5}, {32, 13}, {33, 768}, {384, 64}, {100, 1}} {
			n, k := s[0], s[1]
			ld := k + 2
			w := randSlice(r, n*ld)
			dst.data = randSlice(r, PackedLen(k, n)+7)
			var p *Packed
			kern.use(func() { p = PackTransposed(dst, w, n, k, ld) })
			for j := 0; j < p.Panels()*nr; j++ {
				for kk := 0; kk < k; kk++ {
					want := float32(0)
					if j < n {
						want = w[j*ld+kk]
					}
					if got := p.panel(j / nr)[kk*nr+j%nr]; got != want {
						t.Fatalf("%s n=%d k=%d: B[%d][%d] = %v, want %v", kern.name, n, k, kk, j, got, want)
					}
				}
			}
		}
	}
}

// BenchmarkPackTransposed times packing a 768×768 Linear weight (model
// load) and one head's keys at sequence length 384 (every layer).
func BenchmarkPackTransposed(b *testing.B) {
	for _, s := range [][3]int{{768, 768, 768}, {384, 64, 2304}} {
		n, k, ld := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("%dx%d", n, k), func(b *testing.B) {
			w := randSlice(rand.New(rand.NewPCG(1, 1)), (n-1)*ld+k)
			dst := PackTransposed(nil, w, n, k, ld)
			b.SetBytes(int64(4 * n * k))
			for i := 0; i < b.N; i++ {
				PackTransposed(dst, w, n, k, ld)
			}
		})
	}
}

// BenchmarkPack times packing one head's values at sequence length 384
// (every layer).
func BenchmarkPack(b *testing.B) {
	const k, n, ld = 384, 64, 2304
	v := randSlice(rand.New(rand.NewPCG(1, 1)), (k-1)*ld+n)
	dst := Pack(nil, v, k, n, ld)
	b.SetBytes(4 * k * n)
	for i := 0; i < b.N; i++ {
		Pack(dst, v, k, n, ld)
	}
}

// TestPackParts checks stacked parts against packing them joined, with
// part sizes that put panels across part boundaries and inside parts.
func TestPackParts(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, kern := range kernelVariants() {
		for _, outs := range [][]int{{16, 16, 16}, {5, 30, 16}, {48, 48, 48}, {3}, {17, 1}} {
			const k = 21
			var parts [][]float32
			var joined []float32
			for _, o := range outs {
				p := randSlice(r, o*k)
				parts = append(parts, p)
				joined = append(joined, p...)
			}
			var got, want *Packed
			kern.use(func() {
				got = PackParts(&Packed{data: randSlice(r, 2000)}, k, parts...)
				want = PackTransposed(nil, joined, len(joined)/k, k, k)
			})
			if got.N != want.N || !slices.Equal(got.data, want.data) {
				t.Fatalf("%s parts %v: packed differently from the joined matrix", kern.name, outs)
			}
		}
	}
}
