package nn

import (
	"fmt"

	"github.com/askqa/ask/tensor"
)

// Dynamic int8 quantization of the encoder's Linear layers: weights are
// quantized per output channel once (QuantizeInt8), activations per row on
// every call, the product accumulates in int32 and is dequantized with both
// scales before the fp32 bias and activation. Attention, softmax,
// LayerNorm, embeddings and the task head stay fp32.

// QuantizeInt8 replaces the fp32 weights of every Linear layer of the stack
// with int8 ones; the fp32 copies are dropped, cutting the layers'
// memory to a quarter. Layers shared between positions (ALBERT) are
// quantized once.
func (s *Stack) QuantizeInt8() error {
	seen := map[*Linear]bool{}
	for i, l := range s.Layers {
		for _, lin := range []*Linear{l.QKV, l.Out, l.FF1, l.FF2} {
			if seen[lin] || lin.Q != nil {
				continue
			}
			seen[lin] = true
			if lin.W == nil {
				return fmt.Errorf("layer %d: %s has no fp32 weights to quantize", i, lin.Name)
			}
			q, err := tensor.QuantizePacked(lin.W)
			if err != nil {
				return fmt.Errorf("layer %d: quantize %s: %w", i, lin.Name, err)
			}
			lin.Q, lin.W = q, nil
		}
	}
	return nil
}

// NewLinearInt8 builds a Linear from weights already quantized per output
// channel (q is [out, in] as PyTorch stores it, scale [out]).
func NewLinearInt8(name string, q []int8, scale, b []float32, out, in int) (*Linear, error) {
	if b != nil && len(b) != out {
		return nil, fmt.Errorf("%s: bias has %d values, want %d", name, len(b), out)
	}
	if b == nil {
		b = make([]float32, out)
	}
	p, err := tensor.PackInt8(q, scale, out, in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &Linear{Q: p, B: b, In: in, Out: out, Name: name}, nil
}

// int8Scratch is the workspace's part for int8 layers: the quantized rows of
// the current input with their scales and zero points.
type int8Scratch struct {
	a     []uint8
	xs    []float32 // one row of the input times InScale per worker
	scale []float32
	zero  []int32
	quant quantTask
	gemm  tensor.Int8GemmTask
}

// linearInt8 is Workspace.Linear for a layer with int8 weights.
func (ws *Workspace) linearInt8(l *Linear, x []float32, rows int, y []float32, ep tensor.Epilogue) {
	s := &ws.i8
	kp := l.Q.KPadded()
	if n := rows * kp; cap(s.a) < n {
		s.a = make([]uint8, n)
	}
	if cap(s.scale) < rows {
		s.scale = make([]float32, rows)
		s.zero = make([]int32, rows)
	}
	s.a, s.scale, s.zero = s.a[:rows*kp], s.scale[:rows], s.zero[:rows]
	if n := ws.pool.Size() * l.In; l.Q.InScale != nil && cap(s.xs) < n {
		s.xs = make([]float32, n)
	}
	s.quant = quantTask{s: s, x: x, in: l.Q.InScale, k: l.In, kp: kp, rows: rows, levels: tensor.Int8ActivationMax()}
	ws.pool.Run(ws.job, &s.quant, (rows+quantRows-1)/quantRows)
	s.gemm = tensor.Int8GemmTask{A: s.a, Lda: kp, M: rows, Scale: s.scale, Zero: s.zero, B: l.Q, C: y, Ldc: l.Out, Bias: l.B, Ep: ep}
	ws.pool.Run(ws.job, &s.gemm, s.gemm.Split())
}

const quantRows = 16

// quantTask quantizes quantRows rows of the input per piece.
type quantTask struct {
	s                   *int8Scratch
	x                   []float32
	in                  []float32 // per-channel factors of the input, or nil
	k, kp, rows, levels int
}

func (t *quantTask) Do(lo, hi, w int) {
	r0, r1 := lo*quantRows, min(hi*quantRows, t.rows)
	s := t.s
	if t.in != nil {
		tensor.QuantizeRowsScaled(s.a[r0*t.kp:], t.kp, t.x[r0*t.k:], t.k, r1-r0, t.k, t.levels, t.in, s.xs[w*t.k:(w+1)*t.k], s.scale[r0:], s.zero[r0:])
		return
	}
	tensor.QuantizeRows(s.a[r0*t.kp:], t.kp, t.x[r0*t.k:], t.k, r1-r0, t.k, t.levels, s.scale[r0:], s.zero[r0:])
}
