package qa

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/askqa/ask/model"
)

// Forward runs windows through the encoder, sorted by length and packed into
// batches of at most MaxBatchTokens padded tokens, and stores each window's
// logits. Padding is masked, so a window's logits do not depend on its
// batch-mates.
func (p *Pipeline) Forward(ctx context.Context, windows []*Window) error {
	order := slices.Clone(windows)
	slices.SortStableFunc(order, func(a, b *Window) int { return cmp.Compare(a.Len(), b.Len()) })
	var b model.Batch
	var out model.Output
	for i := 0; i < len(order); {
		// Longest last: a batch's padded length is its last window's.
		j := i + 1
		for j < len(order) && (j+1-i)*order[j].Len() <= max(p.MaxBatchTokens, order[j].Len()) {
			j++
		}
		if err := p.runBatch(ctx, order[i:j], &b, &out); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// RunBatch runs one batch of windows (any lengths) and stores their logits;
// a scheduler that packs windows of many requests calls it.
func (p *Pipeline) RunBatch(ctx context.Context, ws []*Window) error {
	var b model.Batch
	var out model.Output
	return p.runBatch(ctx, ws, &b, &out)
}

func (p *Pipeline) runBatch(ctx context.Context, ws []*Window, b *model.Batch, out *model.Output) error {
	if len(ws) == 0 {
		return nil
	}
	L := 0
	for _, w := range ws {
		L = max(L, w.Len())
	}
	n := len(ws) * L
	b.Size, b.SeqLen = len(ws), L
	b.InputIDs = resize(b.InputIDs, n)
	b.AttentionMask = resize(b.AttentionMask, n)
	if p.feedTypes {
		b.TokenTypeIDs = resize(b.TokenTypeIDs, n)
	} else {
		b.TokenTypeIDs = nil
	}
	for r, w := range ws {
		e := w.Enc
		for i := 0; i < L; i++ {
			k := r*L + i
			if i < e.Len() {
				b.InputIDs[k] = e.IDs[i]
				b.AttentionMask[k] = int32(e.AttentionMask[i])
				if p.feedTypes {
					b.TokenTypeIDs[k] = e.TypeIDs[i]
				}
				continue
			}
			b.InputIDs[k], b.AttentionMask[k] = p.padID, 0
			if p.feedTypes {
				b.TokenTypeIDs[k] = 0
			}
		}
	}
	if err := p.enc.Forward(ctx, b, out); err != nil {
		return fmt.Errorf("qa: forward %d windows of up to %d tokens: %w", len(ws), L, err)
	}
	for r, w := range ws {
		w.Start = append(w.Start[:0], out.StartLogits[r*L:r*L+w.Len()]...)
		w.End = append(w.End[:0], out.EndLogits[r*L:r*L+w.Len()]...)
	}
	return nil
}

func resize(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}
