package tensor

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

type int8Variant struct {
	name   string
	maxAct int // largest activation byte the kernel accepts
	use    func(func())
}

func randU8(r *rand.Rand, n, hi int) []uint8 {
	s := make([]uint8, n)
	for i := range s {
		s[i] = uint8(r.IntN(hi + 1))
	}
	return s
}

// randS8 covers the whole int8 range, -128 included, which symmetric
// quantization never produces but a checkpoint on disk might hold.
func randS8(r *rand.Rand, n int) []int8 {
	s := make([]int8, n)
	for i := range s {
		s[i] = int8(r.IntN(256) - 128)
	}
	return s
}

// extremes sets every byte to the value that drives the sums furthest from
// zero, to catch saturation: the largest activation, and weights of -128 or
// 127.
func extremes(a []uint8, hi int, w []int8) {
	for i := range a {
		a[i] = uint8(hi)
	}
	for i := range w {
		w[i] = -128
		if i%7 == 0 {
			w[i] = 127
		}
	}
}

// refInt8 is the plain integer product C[m×n] = A[m×k] · Wᵀ with W n×k
// (out×in) row-major.
func refInt8(a []uint8, lda, m int, w []int8, n, k int) []int32 {
	c := make([]int32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s int32
			for kk := 0; kk < k; kk++ {
				s += int32(a[i*lda+kk]) * int32(w[j*k+kk])
			}
			c[i*n+j] = s
		}
	}
	return c
}

// TestInt8KernelExact runs each int8 micro-kernel on every row count a call
// can get (12- and 4-row tiles and every remainder) and k groups that
// exercise the unrolled loops' tails, against the plain integer product:
// the int32 sums must be identical.
func TestInt8KernelExact(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 1))
	for _, v := range int8Variants() {
		for rows := 1; rows <= 30; rows++ {
			for _, kq := range []int{1, 2, 3, 5, 16, 97} {
				for _, acc := range []bool{false, true} {
					k := kq * qk
					lda, ldc := k+rows%5, 2*nr+rows%3
					a := randU8(r, (rows-1)*lda+k, v.maxAct)
					w := randS8(r, 2*nr*k)
					if rows%4 == 0 {
						extremes(a, v.maxAct, w)
					}
					p, err := PackInt8(w, make([]float32, 2*nr), 2*nr, k)
					if err != nil {
						t.Fatal(err)
					}
					c0 := make([]int32, (rows-1)*ldc+2*nr)
					for i := range c0 {
						c0[i] = int32(r.IntN(1000) - 500)
					}
					got := append([]int32(nil), c0...)
					v.use(func() { int8Pair(rows, kq, a, lda, p.panel(0), p.panel(1), got, ldc, acc) })
					want := refInt8(a, lda, rows, w, 2*nr, k)
					for i := 0; i < rows; i++ {
						for j := 0; j < 2*nr; j++ {
							wv := want[i*2*nr+j]
							if acc {
								wv += c0[i*ldc+j]
							}
							if g := got[i*ldc+j]; g != wv {
								t.Fatalf("%s rows %d kq %d acc %v: C[%d][%d] = %d, want %d", v.name, rows, kq, acc, i, j, g, wv)
							}
						}
					}
				}
			}
		}
	}
}

// TestInt8GemmExact checks the whole product (packing with padded K and N,
// K blocks, edge columns, row blocks, the pool) against the integer
// reference dequantized with the same float32 formula, so it must match
// bit for bit.
func TestInt8GemmExact(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 2))
	pool := NewPool(3)
	defer pool.Close()
	job := NewJob()
	shapes := []struct{ m, n, k int }{
		// K blocks (1601 > kcInt8), row blocks (390 > mc), an edge pair
		// (N not a multiple of 32); small enough for the emulator (tools/emu).
		{1, 1, 1}, {3, 17, 5}, {13, 33, 7}, {7, 64, 768}, {25, 100, 771},
		{30, 40, 1601}, {390, 40, 30}, {12, 96, 64},
	}
	for _, v := range int8Variants() {
		for _, s := range shapes {
			for _, ep := range []Epilogue{EpNone, EpBias} {
				w := randS8(r, s.n*s.k)
				ws := make([]float32, s.n)
				for j := range ws {
					ws[j] = float32(r.Float64()*0.01 + 1e-4)
				}
				p, err := PackInt8(w, ws, s.n, s.k)
				if err != nil {
					t.Fatal(err)
				}
				lda := p.KPadded() + 4
				a := randU8(r, s.m*lda, v.maxAct)
				rs := make([]float32, s.m)
				zero := make([]int32, s.m)
				for i := range rs {
					rs[i] = float32(r.Float64()*0.1 + 1e-3)
					zero[i] = int32(r.IntN(v.maxAct + 1))
				}
				// The padding bytes of A meet zero weights.
				for i := 0; i < s.m; i++ {
					for kk := s.k; kk < lda; kk++ {
						a[i*lda+kk] = uint8(r.IntN(v.maxAct + 1))
					}
				}
				bias := randSlice(r, s.n)
				ldc := s.n + 3
				c := make([]float32, s.m*ldc)
				g := Int8GemmTask{A: a, Lda: lda, M: s.m, Scale: rs, Zero: zero, B: p, C: c, Ldc: ldc, Bias: bias, Ep: ep}
				if err := g.Check(); err != nil {
					t.Fatal(err)
				}
				v.use(func() { pool.Run(job, &g, g.Split()) })
				ref := refInt8(a, lda, s.m, w, s.n, s.k)
				cs := make([]int32, s.n)
				for j := range cs {
					for kk := 0; kk < s.k; kk++ {
						cs[j] += int32(w[j*s.k+kk])
					}
				}
				for i := 0; i < s.m; i++ {
					for j := 0; j < s.n; j++ {
						want := float32(ref[i*s.n+j]-zero[i]*cs[j]) * (rs[i] * ws[j])
						if ep == EpBias {
							want += bias[j]
						}
						if got := c[i*ldc+j]; got != want {
							t.Fatalf("%s %dx%dx%d ep %d: C[%d][%d] = %v, want %v", v.name, s.m, s.n, s.k, ep, i, j, got, want)
						}
					}
				}
			}
		}
	}
}

// TestQuantizeRows checks that every path gives the same bytes and that
// dequantizing them comes back within half a step.
func TestQuantizeRows(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 3))
	for _, k := range []int{1, 7, 8, 9, 64, 771} {
		rows := 5
		x := randSlice(r, rows*k)
		for i := 0; i < k; i++ {
			x[i] = float32(math.Abs(float64(x[i]))) // a row with no negatives
			x[2*k+i] = 0                            // an all-zero row
		}
		x[3*k] = 1e5 // an outlier
		for _, levels := range []int{127, 255} {
			var first []uint8
			for _, v := range int8Variants() {
				ld := (k+3)/4*4 + 4
				dst := make([]uint8, rows*ld)
				scale := make([]float32, rows)
				zero := make([]int32, rows)
				v.use(func() { QuantizeRows(dst, ld, x, k, rows, k, levels, scale, zero) })
				for i := 0; i < rows; i++ {
					for j := 0; j < ld; j++ {
						q := dst[i*ld+j]
						if int(q) > levels {
							t.Fatalf("%s k %d: byte %d > %d", v.name, k, q, levels)
						}
						if j >= k {
							if int32(q) != zero[i] {
								t.Fatalf("%s k %d: padding byte %d, want the zero point %d", v.name, k, q, zero[i])
							}
							continue
						}
						back := float32(int32(q)-zero[i]) * scale[i]
						if d := math.Abs(float64(back - x[i*k+j])); d > 0.5001*float64(scale[i]) {
							t.Fatalf("%s k %d levels %d row %d: %v came back as %v (step %v)", v.name, k, levels, i, x[i*k+j], back, scale[i])
						}
					}
				}
				if first == nil {
					first = dst
					continue
				}
				for j := range dst {
					if dst[j] != first[j] {
						t.Fatalf("%s k %d levels %d: byte %d = %d, generic %d", v.name, k, levels, j, dst[j], first[j])
					}
				}
			}
		}
	}
}

func TestQuantizeWeights(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 4))
	n, k := 5, 37
	w := randSlice(r, n*k)
	for i := 0; i < k; i++ {
		w[2*k+i] = 0
	}
	q, s := QuantizeWeights(w, n, k)
	for j := 0; j < n; j++ {
		top := 0
		for i := 0; i < k; i++ {
			v := q[j*k+i]
			if v < -127 {
				t.Fatalf("row %d: %d below -127", j, v)
			}
			top = max(top, int(v), -int(v))
			if d := math.Abs(float64(float32(v)*s[j] - w[j*k+i])); d > 0.5001*float64(s[j]) {
				t.Fatalf("row %d: %v came back as %v", j, w[j*k+i], float32(v)*s[j])
			}
		}
		if j != 2 && top != 127 {
			t.Errorf("row %d: largest |q| is %d, want 127", j, top)
		}
	}
}

func TestPackInt8Errors(t *testing.T) {
	for _, c := range []struct {
		w      []int8
		scales int
		n, k   int
	}{
		{make([]int8, 6), 2, 2, 4},
		{make([]int8, 8), 1, 2, 4},
		{nil, 0, 0, 0},
	} {
		if _, err := PackInt8(c.w, make([]float32, c.scales), c.n, c.k); err == nil {
			t.Errorf("PackInt8(%d weights, %d scales, %d×%d): no error", len(c.w), c.scales, c.n, c.k)
		}
	}
}

func TestInt8GemmCheck(t *testing.T) {
	p, err := PackInt8(make([]int8, 8*5), make([]float32, 8), 8, 5)
	if err != nil {
		t.Fatal(err)
	}
	ok := Int8GemmTask{A: make([]uint8, 2*8), Lda: 8, M: 2, Scale: make([]float32, 2), Zero: make([]int32, 2), B: p, C: make([]float32, 16), Ldc: 8}
	if err := ok.Check(); err != nil {
		t.Fatalf("valid task: %v", err)
	}
	for name, mod := range map[string]func(*Int8GemmTask){
		"short A":    func(g *Int8GemmTask) { g.A = g.A[:10] },
		"short C":    func(g *Int8GemmTask) { g.C = g.C[:9] },
		"no scales":  func(g *Int8GemmTask) { g.Scale = nil },
		"no bias":    func(g *Int8GemmTask) { g.Ep = EpBias },
		"narrow lda": func(g *Int8GemmTask) { g.Lda = 4 },
	} {
		g := ok
		mod(&g)
		if g.Check() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestQuantizeRowsScaled checks that quantizing x·f row by row through the
// scratch row gives the same bytes, scales and zero points as quantizing a
// scaled copy of x, on every length (the vector body and the scalar tail).
func TestQuantizeRowsScaled(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for _, k := range []int{1, 7, 8, 9, 31, 64, 385} {
		const rows = 5
		ldx, ldd := k+3, (k+3)/4*4+4
		x := make([]float32, rows*ldx)
		f := make([]float32, k)
		for i := range x {
			x[i] = float32(r.NormFloat64() * 3)
		}
		for i := range f {
			f[i] = float32(0.1 + 4*r.Float64())
		}
		scaled := make([]float32, rows*ldx)
		for row := 0; row < rows; row++ {
			for i := 0; i < k; i++ {
				scaled[row*ldx+i] = x[row*ldx+i] * f[i]
			}
		}
		for _, levels := range []int{255, 127} {
			want, got := make([]uint8, rows*ldd), make([]uint8, rows*ldd)
			ws, wz := make([]float32, rows), make([]int32, rows)
			gs, gz := make([]float32, rows), make([]int32, rows)
			QuantizeRows(want, ldd, scaled, ldx, rows, k, levels, ws, wz)
			QuantizeRowsScaled(got, ldd, x, ldx, rows, k, levels, f, make([]float32, k), gs, gz)
			if !slices.Equal(want, got) || !slices.Equal(ws, gs) || !slices.Equal(wz, gz) {
				t.Errorf("k=%d levels=%d: scaled quantization differs from quantizing x·f", k, levels)
			}
		}
	}
}
