package model

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/askqa/ask/nn"
)

// faultArch is an architecture whose Embed runs a test hook: the place to
// inject a panic or a cancellation into a forward pass.
type faultArch struct {
	embed func()
	stack *nn.Stack
}

func (a faultArch) Stack() *nn.Stack     { return a.stack }
func (a faultArch) ScratchPerToken() int { return 0 }
func (a faultArch) Embed(ws *nn.Workspace, in *Batch) {
	for i := range ws.Keep {
		ws.Keep[i] = true
	}
	a.embed()
}
func (a faultArch) Info() Info {
	return Info{HiddenSize: 4, VocabSize: 10, MaxPositions: 8, TypeVocabSize: 1}
}

// A panic during a forward pass becomes that batch's error, and the encoder
// keeps serving; a context that ends during the pass stops it.
func TestForwardFaults(t *testing.T) {
	const h = 4
	z := func(n int) []float32 { return make([]float32, n) }
	ones := []float32{1, 1, 1, 1}
	layer, err := nn.BuildLayer("0", nn.LayerWeights{Q: z(h * h), QB: z(h), K: z(h * h), KB: z(h), V: z(h * h), VB: z(h),
		O: z(h * h), OB: z(h), AttnNormG: ones, AttnNormB: z(h), FF1: z(h * h), FF1B: z(h), FF2: z(h * h), FF2B: z(h),
		OutNormG: ones, OutNormB: z(h)}, h, h, 1e-12, nn.GELU)
	if err != nil {
		t.Fatal(err)
	}
	var hook func()
	enc := NewEncoder(faultArch{embed: func() { hook() }, stack: &nn.Stack{Hidden: h, Heads: 1, Inter: h, Layers: []*nn.Layer{layer}}}, nil, 2)
	defer enc.Close()
	in := &Batch{Size: 1, SeqLen: 2, InputIDs: []int32{1, 2}}
	var out Output

	hook = func() { panic("injected fault") }
	err = enc.Forward(context.Background(), in, &out)
	if err == nil || !strings.Contains(err.Error(), "injected fault") {
		t.Fatalf("panicking pass: err %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	hook = cancel // the client leaves while the batch is being embedded
	if err := enc.Forward(ctx, in, &out); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled pass: err %v", err)
	}

	hook = func() {}
	if err := enc.Forward(context.Background(), in, &out); err != nil {
		t.Errorf("after the faults: %v", err)
	}
}
