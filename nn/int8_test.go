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

// TestInt8InScale checks the activation factors of a smoothed layer
// (PackedInt8.InScale): factors of one change nothing, bit for bit; with an
// outlier input channel, moving its range into the weights (SmoothQuant)
// brings the int8 output closer to fp32 than plain per-row activations;
// and Packed.ScaleRows folds the factors back into fp32 weights.
func TestInt8InScale(t *testing.T) {
	const in, out, rows = 96, 40, 23
	r := rand.New(rand.NewPCG(4, 2))
	w := randW(r, out*in, 0.1)
	b := randW(r, out, 0.1)
	x := randW(r, rows*in, 1)
	for i := 0; i < rows; i++ {
		x[i*in+5] *= 30 // one outlier channel sets every row's range
	}
	pool := tensor.NewPool(2)
	defer pool.Close()
	ws := NewWorkspace(pool)
	run := func(l *Linear) []float32 {
		y := make([]float32, rows*out)
		ws.Linear(l, x, rows, y, tensor.EpBias)
		return y
	}
	int8Linear := func(w []float32, f []float32) *Linear {
		l, err := NewLinear("l", w, b, out, in)
		if err != nil {
			t.Fatal(err)
		}
		if l.Q, err = tensor.QuantizePacked(l.W); err != nil {
			t.Fatal(err)
		}
		l.Q.InScale, l.W = f, nil
		return l
	}
	fp, err := NewLinear("fp", w, b, out, in)
	if err != nil {
		t.Fatal(err)
	}
	want := run(fp)
	plain := run(int8Linear(w, nil))
	ones := make([]float32, in)
	for i := range ones {
		ones[i] = 1
	}
	if got := run(int8Linear(w, ones)); fmt.Sprint(got) != fmt.Sprint(plain) {
		t.Errorf("factors of one changed the int8 output")
	}
	// SmoothQuant with alpha 0.5: s_k = sqrt(max|x_k| / max|W[:,k]|).
	s := make([]float32, in)
	inv := make([]float32, in)
	ws2 := make([]float32, len(w))
	for k := range s {
		var ax, aw float32
		for i := 0; i < rows; i++ {
			ax = max(ax, float32(math.Abs(float64(x[i*in+k]))))
		}
		for j := 0; j < out; j++ {
			aw = max(aw, float32(math.Abs(float64(w[j*in+k]))))
		}
		s[k] = float32(math.Sqrt(float64(ax / aw)))
		inv[k] = 1 / s[k]
		for j := 0; j < out; j++ {
			ws2[j*in+k] = w[j*in+k] * s[k]
		}
	}
	smooth := run(int8Linear(ws2, inv))
	relErr := func(got []float32) float64 {
		var e, n float64
		for i := range got {
			d := float64(got[i] - want[i])
			e, n = e+d*d, n+float64(want[i])*float64(want[i])
		}
		return math.Sqrt(e / n)
	}
	ep, es := relErr(plain), relErr(smooth)
	t.Logf("relative error to fp32: plain %.2e, smoothed %.2e", ep, es)
	if es >= ep/2 {
		t.Errorf("smoothing gave relative error %.2e, want well below the plain %.2e", es, ep)
	}
	folded, err := NewLinear("folded", ws2, b, out, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := folded.W.ScaleRows(inv); err != nil {
		t.Fatal(err)
	}
	if e := relErr(run(folded)); e > 1e-6 {
		t.Errorf("fp32 weights with the factors folded back: relative error %.2e", e)
	}
	if err := folded.W.ScaleRows(inv[:3]); err == nil {
		t.Error("ScaleRows accepted 3 factors for 96 rows")
	}
}
