// Package nn holds the transformer building blocks shared by the encoder
// architectures: linear layers with packed weights, LayerNorm, and the
// post-norm self-attention block used by BERT, DistilBERT, RoBERTa, ELECTRA
// and ALBERT, run over a per-call workspace so a forward pass allocates
// nothing once warm.
package nn

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/askqa/ask/tensor"
)

// Linear is y = x·Wᵀ + b with W packed for the GEMM kernel at load, or,
// once quantized (Q set, W nil), for the int8 kernel.
type Linear struct {
	W    *tensor.Packed
	Q    *tensor.PackedInt8
	B    []float32
	In   int
	Out  int
	Name string
}

// NewLinear packs w ([out, in], row-major as PyTorch stores it).
func NewLinear(name string, w, b []float32, out, in int) (*Linear, error) {
	if len(w) != out*in {
		return nil, fmt.Errorf("%s: weight has %d values, want %d×%d", name, len(w), out, in)
	}
	if b != nil && len(b) != out {
		return nil, fmt.Errorf("%s: bias has %d values, want %d", name, len(b), out)
	}
	if b == nil {
		b = make([]float32, out)
	}
	return &Linear{W: tensor.PackTransposed(nil, w, out, in, in), B: b, In: in, Out: out, Name: name}, nil
}

// Concat stacks linears that read the same input into one, so Q, K and V
// are one GEMM. The parts are packed in place, never joined.
func Concat(name string, ws [][]float32, bs [][]float32, outs []int, in int) (*Linear, error) {
	if in <= 0 || len(bs) != len(ws) || len(outs) != len(ws) {
		return nil, fmt.Errorf("%s: bad shape (input width %d, %d weights, %d biases, %d widths)", name, in, len(ws), len(bs), len(outs))
	}
	var b []float32
	for i := range ws {
		if len(ws[i]) != outs[i]*in || len(bs[i]) != outs[i] {
			return nil, fmt.Errorf("%s: part %d has the wrong size", name, i)
		}
		b = append(b, bs[i]...)
	}
	w := tensor.PackParts(nil, in, ws...)
	return &Linear{W: w, B: b, In: in, Out: len(b), Name: name}, nil
}

// Norm is LayerNorm with biased variance.
type Norm struct {
	G, B []float32
	Eps  float32
}

// Activation of the feed-forward block.
type Activation int

const (
	GELU     Activation = iota // exact erf form, "gelu"
	GELUTanh                   // "gelu_new", "gelu_pytorch_tanh"
)

// ParseActivation maps a transformers activation name.
func ParseActivation(name string) (Activation, error) {
	switch name {
	case "gelu":
		return GELU, nil
	case "gelu_new", "gelu_pytorch_tanh", "gelu_fast":
		// gelu_fast is the same tanh formula written differently.
		return GELUTanh, nil
	}
	return 0, fmt.Errorf("unsupported activation %q (supported: gelu, gelu_new, gelu_pytorch_tanh)", name)
}

func (a Activation) epilogue() tensor.Epilogue {
	if a == GELUTanh {
		return tensor.EpBiasGELUTanh
	}
	return tensor.EpBiasGELU
}

// Layer is one post-norm transformer block:
// x = LN1(x + O(attn(QKV(x)))); x = LN2(x + FF2(act(FF1(x)))).
type Layer struct {
	QKV      *Linear // Q, K and V stacked: out = 3·hidden
	Out      *Linear
	AttnNorm Norm
	FF1, FF2 *Linear
	OutNorm  Norm
	Act      Activation
}

// Stack is the encoder: Layers may repeat a pointer (ALBERT shares them).
type Stack struct {
	Hidden, Heads, Inter int
	Layers               []*Layer
}

// Check validates the stack's dimensions once at load.
func (s *Stack) Check() error {
	if s.Heads <= 0 || s.Hidden%s.Heads != 0 {
		return fmt.Errorf("hidden size %d is not divisible by %d attention heads", s.Hidden, s.Heads)
	}
	for i, l := range s.Layers {
		switch {
		case l.QKV.In != s.Hidden || l.QKV.Out != 3*s.Hidden:
			return fmt.Errorf("layer %d: attention projections are %d→%d, want %d→%d", i, l.QKV.In, l.QKV.Out, s.Hidden, 3*s.Hidden)
		case l.Out.In != s.Hidden || l.Out.Out != s.Hidden:
			return fmt.Errorf("layer %d: attention output is %d→%d, want %d→%d", i, l.Out.In, l.Out.Out, s.Hidden, s.Hidden)
		case l.FF1.In != s.Hidden || l.FF1.Out != s.Inter || l.FF2.In != s.Inter || l.FF2.Out != s.Hidden:
			return fmt.Errorf("layer %d: feed-forward is %d→%d→%d, want %d→%d→%d", i, l.FF1.In, l.FF1.Out, l.FF2.Out, s.Hidden, s.Inter, s.Hidden)
		case len(l.AttnNorm.G) != s.Hidden || len(l.AttnNorm.B) != s.Hidden || len(l.OutNorm.G) != s.Hidden || len(l.OutNorm.B) != s.Hidden:
			return fmt.Errorf("layer %d: LayerNorm size differs from hidden size %d", i, s.Hidden)
		}
	}
	return nil
}

// Params counts the distinct weights of the stack.
func (s *Stack) Params() int64 {
	var n int64
	seen := map[*Layer]bool{}
	for _, l := range s.Layers {
		if seen[l] {
			continue
		}
		seen[l] = true
		for _, lin := range []*Linear{l.QKV, l.Out, l.FF1, l.FF2} {
			n += int64(lin.In*lin.Out + lin.Out)
		}
		n += 4 * int64(s.Hidden)
	}
	return n
}

func invSqrt(d int) float32 { return float32(1 / math.Sqrt(float64(d))) }

// LayerWeights are one block's tensors as PyTorch stores them (Linear
// weights [out, in]).
type LayerWeights struct {
	Q, QB, K, KB, V, VB, O, OB []float32
	AttnNormG, AttnNormB       []float32
	FF1, FF1B, FF2, FF2B       []float32
	OutNormG, OutNormB         []float32
}

// BuildLayer packs one block.
func BuildLayer(name string, w LayerWeights, hidden, inter int, eps float32, act Activation) (*Layer, error) {
	qkv, err := Concat(name+"qkv", [][]float32{w.Q, w.K, w.V}, [][]float32{w.QB, w.KB, w.VB}, []int{hidden, hidden, hidden}, hidden)
	if err != nil {
		return nil, err
	}
	o, err := NewLinear(name+"attention output", w.O, w.OB, hidden, hidden)
	if err != nil {
		return nil, err
	}
	f1, err := NewLinear(name+"ffn in", w.FF1, w.FF1B, inter, hidden)
	if err != nil {
		return nil, err
	}
	f2, err := NewLinear(name+"ffn out", w.FF2, w.FF2B, hidden, inter)
	if err != nil {
		return nil, err
	}
	return &Layer{
		QKV: qkv, Out: o, FF1: f1, FF2: f2, Act: act,
		AttnNorm: Norm{G: w.AttnNormG, B: w.AttnNormB, Eps: eps},
		OutNorm:  Norm{G: w.OutNormG, B: w.OutNormB, Eps: eps},
	}, nil
}

// BuildLayers packs many blocks at once, in parallel: packing is most of a
// model's load time.
func BuildLayers(names []string, ws []LayerWeights, hidden, inter int, eps float32, act Activation) ([]*Layer, error) {
	out := make([]*Layer, len(ws))
	errs := make([]error, len(ws))
	sem := make(chan struct{}, runtime.NumCPU())
	var wg sync.WaitGroup
	for i := range ws {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i], errs[i] = BuildLayer(names[i], ws[i], hidden, inter, eps, act)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}
