package nn

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/askqa/ask/tensor"
)

// cancelAfter is a context whose Err turns to Canceled after n checks: the
// injected fault of "the client left during layer n".
type cancelAfter struct {
	context.Context
	n, checks int
}

func (c *cancelAfter) Err() error {
	c.checks++
	if c.checks > c.n {
		return context.Canceled
	}
	return nil
}

// ForwardContext checks the context before every layer, so a cancelled
// request stops within one layer, and a live one computes exactly what
// Forward does.
func TestForwardContextStopsBetweenLayers(t *testing.T) {
	const layers = 4
	st := randomStack(t, layers, 64, 4, 128)
	pool := tensor.NewPool(2)
	defer pool.Close()
	ws := NewWorkspace(pool)
	run := func(ctx context.Context) ([]float32, error) {
		ws.Reserve(st, 2, 16, 0)
		for i := range ws.X {
			ws.X[i] = float32(i%7) * 0.1
		}
		for i := range ws.Keep {
			ws.Keep[i] = true
		}
		err := ws.ForwardContext(ctx, st, 2, 16)
		return append([]float32(nil), ws.X...), err
	}
	want, err := run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for n := range layers {
		ctx := &cancelAfter{Context: context.Background(), n: n}
		got, err := run(ctx)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled after %d layers: err %v", n, err)
		}
		if ctx.checks != n+1 {
			t.Errorf("cancelled after %d layers: %d checks, want %d (it ran on past the cancellation)", n, ctx.checks, n+1)
		}
		if n < layers && slices.Equal(got, want) {
			t.Errorf("cancelled after %d layers, the output is the full pass's", n)
		}
	}
	ctx := &cancelAfter{Context: context.Background(), n: layers}
	got, err := run(ctx)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("live context: err %v, same output %v", err, slices.Equal(got, want))
	}
}
