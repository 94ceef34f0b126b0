package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/askqa/ask/tensor"
)

// TestQuantizedForwardCloseToFP32 runs the same random stack in fp32 and
// int8 and checks that the hidden states agree closely (cosine per token)
// and that a warm int8 pass allocates nothing.
func TestQuantizedForwardCloseToFP32(t *testing.T) {
	st := randomStack(t, 2, 64, 4, 128)
	q := randomStack(t, 2, 64, 4, 128)
	if err := q.QuantizeInt8(); err != nil {
		t.Fatal(err)
	}
	if err := q.QuantizeInt8(); err != nil {
		t.Fatalf("quantizing twice: %v", err)
	}
	pool := tensor.NewPool(2)
	defer pool.Close()
	r := rand.New(rand.NewPCG(9, 9))
	const batch, seq = 2, 37
	x0 := randW(r, batch*seq*64, 1)
	run := func(s *Stack) []float32 {
		ws := NewWorkspace(pool)
		ws.Reserve(s, batch, seq, 0)
		for i := range ws.Keep {
			ws.Keep[i] = i%seq < 30
		}
		copy(ws.X, x0)
		ws.Forward(s, batch, seq)
		out := append([]float32(nil), ws.X[:batch*seq*64]...)
		if s == q {
			if a := testing.AllocsPerRun(3, func() { ws.Reserve(s, batch, seq, 0); ws.Forward(s, batch, seq) }); a != 0 {
				t.Errorf("int8 forward pass allocated %v times", a)
			}
		}
		return out
	}
	want, got := run(st), run(q)
	worst := 1.0
	for i := 0; i < batch*seq; i++ {
		var dot, nw, ng float64
		for j := 0; j < 64; j++ {
			w, g := float64(want[i*64+j]), float64(got[i*64+j])
			dot, nw, ng = dot+w*g, nw+w*w, ng+g*g
		}
		worst = min(worst, dot/math.Sqrt(nw*ng))
	}
	t.Logf("kernel %s: worst token cosine %.6f", tensor.Int8Kernel(), worst)
	if worst < 0.999 {
		t.Errorf("worst token cosine to fp32 %.6f, want >= 0.999", worst)
	}
}

func TestNewLinearInt8(t *testing.T) {
	q, s := tensor.QuantizeWeights([]float32{1, -2, 3, 0.5, 0, 4}, 2, 3)
	l, err := NewLinearInt8("l", q, s, []float32{1, 2}, 2, 3)
	if err != nil || l.Q == nil || l.W != nil {
		t.Fatalf("NewLinearInt8: %v %+v", err, l)
	}
	if _, err := NewLinearInt8("l", q, s, []float32{1}, 2, 3); err == nil {
		t.Error("short bias: no error")
	}
	if _, err := NewLinearInt8("l", q[:5], s, nil, 2, 3); err == nil {
		t.Error("short weights: no error")
	}
}

// BenchmarkDistilBERTShapeInt8 is BenchmarkDistilBERTShape with the
// Linear layers in int8 (kernel named in the sub-benchmark).
func BenchmarkDistilBERTShapeInt8(b *testing.B) {
	st := randomStack(b, 6, 768, 12, 3072)
	if err := st.QuantizeInt8(); err != nil {
		b.Fatal(err)
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("1x384/t%d/%s", threads, tensor.Int8Kernel()), func(b *testing.B) {
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
			for i := 0; i < b.N; i++ {
				copy(ws.X, x0)
				ws.Forward(st, 1, 384)
			}
		})
	}
}
