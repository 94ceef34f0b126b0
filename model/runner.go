package model

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/askqa/ask/nn"
	"github.com/askqa/ask/tensor"
)

// ErrInput marks a batch the model cannot take (ids out of range, too long,
// inconsistent sizes); callers map it to a client error.
var ErrInput = errors.New("invalid model input")

// NewEncoder wraps an architecture into an Encoder running on threads
// goroutines (0: one per CPU). head is nil for a bare encoder.
func NewEncoder(a Arch, head *QAHead, threads int) Encoder {
	info := a.Info()
	for _, l := range a.Stack().Layers {
		for _, lin := range []*nn.Linear{l.QKV, l.Out, l.FF1, l.FF2} {
			info.FLOPsPerToken += 2 * int64(lin.In) * int64(lin.Out)
		}
	}
	info.Head = HeadNone
	if head != nil {
		info.Head = HeadQuestionAnswering
	}
	return &encoder{arch: a, head: head, info: info, pool: tensor.NewPool(threads)}
}

type encoder struct {
	arch Arch
	head *QAHead
	info Info
	pool *tensor.Pool

	mu     sync.Mutex
	free   []*nn.Workspace
	closed bool
}

func (e *encoder) Info() Info { return e.info }

func (e *encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	e.pool.Close()
	return nil
}

// workspace hands out a free workspace or makes one; there are never more
// than the peak number of concurrent calls.
func (e *encoder) workspace() (*nn.Workspace, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errors.New("model: encoder is closed")
	}
	if n := len(e.free); n > 0 {
		ws := e.free[n-1]
		e.free = e.free[:n-1]
		return ws, nil
	}
	return nn.NewWorkspace(e.pool), nil
}

func (e *encoder) release(ws *nn.Workspace) {
	e.mu.Lock()
	e.free = append(e.free, ws)
	e.mu.Unlock()
}

// Validate checks a batch against the model's limits.
func (e *encoder) validate(in *Batch) error {
	if in == nil || in.Size < 1 || in.SeqLen < 1 {
		return fmt.Errorf("%w: empty batch", ErrInput)
	}
	n := in.Size * in.SeqLen
	if len(in.InputIDs) != n {
		return fmt.Errorf("%w: %d input ids for a batch of %d×%d", ErrInput, len(in.InputIDs), in.Size, in.SeqLen)
	}
	if in.SeqLen > e.info.MaxPositions {
		return fmt.Errorf("%w: sequence of %d tokens is longer than the model's %d positions", ErrInput, in.SeqLen, e.info.MaxPositions)
	}
	for i, id := range in.InputIDs {
		if id < 0 || int(id) >= e.info.VocabSize {
			return fmt.Errorf("%w: input id %d at row %d, position %d is outside the vocabulary [0,%d)", ErrInput, id, i/in.SeqLen, i%in.SeqLen, e.info.VocabSize)
		}
	}
	if in.AttentionMask != nil {
		if len(in.AttentionMask) != n {
			return fmt.Errorf("%w: %d attention mask values for a batch of %d×%d", ErrInput, len(in.AttentionMask), in.Size, in.SeqLen)
		}
		for i, m := range in.AttentionMask {
			if m != 0 && m != 1 {
				return fmt.Errorf("%w: attention mask value %d at row %d, position %d (want 0 or 1)", ErrInput, m, i/in.SeqLen, i%in.SeqLen)
			}
		}
		for r := 0; r < in.Size; r++ {
			any := false
			for _, m := range in.AttentionMask[r*in.SeqLen : (r+1)*in.SeqLen] {
				any = any || m == 1
			}
			if !any {
				return fmt.Errorf("%w: row %d has no token with attention mask 1", ErrInput, r)
			}
		}
	}
	if in.TokenTypeIDs != nil && e.info.TakesTokenTypes {
		if len(in.TokenTypeIDs) != n {
			return fmt.Errorf("%w: %d token type ids for a batch of %d×%d", ErrInput, len(in.TokenTypeIDs), in.Size, in.SeqLen)
		}
		for i, t := range in.TokenTypeIDs {
			if t < 0 || int(t) >= max(e.info.TypeVocabSize, 1) {
				return fmt.Errorf("%w: token type id %d at row %d, position %d is outside [0,%d)", ErrInput, t, i/in.SeqLen, i%in.SeqLen, max(e.info.TypeVocabSize, 1))
			}
		}
	}
	return nil
}

// contextEmbedder is an architecture that runs its layers inside Embed
// (DeBERTa) and, like nn.Workspace.ForwardContext, stops between them once
// ctx ends.
type contextEmbedder interface {
	EmbedContext(ctx context.Context, ws *nn.Workspace, in *Batch) error
}

func growOut(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// Forward runs the encoder on one batch. It stops between layers once ctx
// ends, returning ctx's error, and turns a panic in the forward pass (on
// the caller or any worker of the pool) into an error for this batch.
func (e *encoder) Forward(ctx context.Context, in *Batch, out *Output) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := e.validate(in); err != nil {
		return err
	}
	ws, err := e.workspace()
	if err != nil {
		return err
	}
	defer e.release(ws)
	defer func() {
		if v := recover(); v != nil {
			if pe, ok := v.(*tensor.PanicError); ok {
				err = fmt.Errorf("model: forward pass of a batch of %d×%d: %w\n%s", in.Size, in.SeqLen, pe, pe.Stack)
				return
			}
			err = fmt.Errorf("model: forward pass of a batch of %d×%d panicked: %v\n%s", in.Size, in.SeqLen, v, debug.Stack())
		}
	}()

	st := e.arch.Stack()
	ws.Reserve(st, in.Size, in.SeqLen, e.arch.ScratchPerToken())
	if ce, ok := e.arch.(contextEmbedder); ok {
		if err := ce.EmbedContext(ctx, ws, in); err != nil {
			return err
		}
	} else {
		e.arch.Embed(ws, in)
	}
	if err := ws.ForwardContext(ctx, st, in.Size, in.SeqLen); err != nil {
		return err
	}

	t := in.Size * in.SeqLen
	h := st.Hidden
	if e.head == nil {
		out.Hidden = growOut(out.Hidden, t*h)
		out.HiddenSize = h
		copy(out.Hidden, ws.X[:t*h])
		out.StartLogits, out.EndLogits = out.StartLogits[:0], out.EndLogits[:0]
		return nil
	}
	out.StartLogits = growOut(out.StartLogits, t)
	out.EndLogits = growOut(out.EndLogits, t)
	out.Hidden, out.HiddenSize = out.Hidden[:0], 0
	ws0, ws1 := e.head.W[:h], e.head.W[h:2*h]
	for i := 0; i < t; i++ {
		x := ws.X[i*h : (i+1)*h]
		var s, en float32
		for j, v := range x {
			s += v * ws0[j]
			en += v * ws1[j]
		}
		out.StartLogits[i] = s + e.head.B[0]
		out.EndLogits[i] = en + e.head.B[1]
	}
	return nil
}
