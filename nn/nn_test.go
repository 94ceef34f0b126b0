package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/askqa/ask/tensor"
)

func randW(r *rand.Rand, n int, std float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64()) * std
	}
	return s
}

func randomStack(tb testing.TB, layers, hidden, heads, inter int) *Stack {
	r := rand.New(rand.NewPCG(1, 2))
	st := &Stack{Hidden: hidden, Heads: heads, Inter: inter}
	ones := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = 1
		}
		return s
	}
	for i := 0; i < layers; i++ {
		h := hidden
		l, err := BuildLayer(fmt.Sprint(i), LayerWeights{
			Q: randW(r, h*h, 0.05), QB: randW(r, h, 0.05), K: randW(r, h*h, 0.05), KB: randW(r, h, 0.05),
			V: randW(r, h*h, 0.05), VB: randW(r, h, 0.05), O: randW(r, h*h, 0.05), OB: randW(r, h, 0.05),
			AttnNormG: ones(h), AttnNormB: make([]float32, h),
			FF1: randW(r, inter*h, 0.05), FF1B: randW(r, inter, 0.05), FF2: randW(r, h*inter, 0.05), FF2B: randW(r, h, 0.05),
			OutNormG: ones(h), OutNormB: make([]float32, h),
		}, h, inter, 1e-12, GELU)
		if err != nil {
			tb.Fatal(err)
		}
		st.Layers = append(st.Layers, l)
	}
	if err := st.Check(); err != nil {
		tb.Fatal(err)
	}
	return st
}

// TestForwardAllocatesNothing checks the steady state: once a workspace has
// grown to a shape, forward passes of that shape or smaller allocate nothing.
func TestForwardAllocatesNothing(t *testing.T) {
	st := randomStack(t, 2, 64, 4, 128)
	pool := tensor.NewPool(2)
	defer pool.Close()
	ws := NewWorkspace(pool)
	ws.Reserve(st, 2, 40, 0)
	for i := range ws.Keep {
		ws.Keep[i] = i%40 < 30
	}
	ws.Forward(st, 2, 40)
	allocs := testing.AllocsPerRun(5, func() {
		ws.Reserve(st, 2, 40, 0)
		ws.Forward(st, 2, 40)
	})
	if allocs != 0 {
		t.Fatalf("forward pass allocated %v times", allocs)
	}
}

// BenchmarkDistilBERTShape times six DistilBERT-base layers at 1×384.
func BenchmarkDistilBERTShape(b *testing.B) {
	st := randomStack(b, 6, 768, 12, 3072)
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("1x384/t%d", threads), func(b *testing.B) {
			pool := tensor.NewPool(threads)
			defer pool.Close()
			ws := NewWorkspace(pool)
			ws.Reserve(st, 1, 384, 0)
			r := rand.New(rand.NewPCG(3, 4))
			for i := range ws.Keep {
				ws.Keep[i] = true
			}
			x0 := randW(r, len(ws.X), 1)
			b.ResetTimer()
			cpu0 := cpuSeconds()
			for i := 0; i < b.N; i++ {
				copy(ws.X, x0)
				ws.Forward(st, 1, 384)
			}
			// Busy cores: how much of the pool the forward pass keeps working.
			b.ReportMetric((cpuSeconds()-cpu0)/b.Elapsed().Seconds(), "cores")
		})
	}
}

// TestConcatRejectsBadShapes checks that malformed parts are an error, not
// a panic or a silently short matrix.
func TestConcatRejectsBadShapes(t *testing.T) {
	w, b := make([]float32, 6), make([]float32, 2)
	for name, c := range map[string]struct {
		ws, bs [][]float32
		outs   []int
		in     int
	}{
		"zero input width": {[][]float32{w}, [][]float32{b}, []int{2}, 0},
		"weight size":      {[][]float32{w}, [][]float32{b}, []int{2}, 4},
		"bias size":        {[][]float32{w}, [][]float32{b[:1]}, []int{2}, 3},
		"missing bias":     {[][]float32{w, w}, [][]float32{b}, []int{2, 2}, 3},
	} {
		if _, err := Concat("qkv", c.ws, c.bs, c.outs, c.in); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	l, err := Concat("qkv", [][]float32{w, w}, [][]float32{b, b}, []int{2, 2}, 3)
	if err != nil || l.Out != 4 || l.In != 3 {
		t.Fatalf("good shapes: %v, %+v", err, l)
	}
}
