package sentence

import (
	"cmp"
	"context"
	"github.com/askqa/ask/embed"
	"slices"

	"github.com/askqa/ask/sched"
)

// Batched is an embed.Embedder whose forward passes go through a scheduler, so
// that the texts of concurrent requests share batches (and the server's
// queue limits, back-pressure and metrics). The scheduler's compute
// function must be the model's Compute.
type Batched struct {
	m *Model
	b *sched.Batcher[*Sequence]
}

// NewBatched binds a model to a batcher built on m.Compute.
func NewBatched(m *Model, b *sched.Batcher[*Sequence]) *Batched {
	return &Batched{m: m, b: b}
}

// Info implements embed.Embedder.
func (e *Batched) Info() embed.Info { return e.m.Info() }

// submitChunk bounds the sequences one Do queues at a time: a request of
// thousands of texts then waits its turn in slices instead of being refused
// for exceeding the whole queue.
const submitChunk = 256

// Embed implements embed.Embedder. The texts are queued shortest first, so each
// batch the scheduler cuts from them pads little.
func (e *Batched) Embed(ctx context.Context, texts []string, opts embed.Options) ([]embed.Result, error) {
	seqs, err := e.m.Prepare(texts, opts)
	if err != nil {
		return nil, err
	}
	order := slices.Clone(seqs)
	slices.SortStableFunc(order, func(a, b *Sequence) int { return cmp.Compare(a.Len(), b.Len()) })
	for start := 0; start < len(order); start += submitChunk {
		part := order[start:min(start+submitChunk, len(order))]
		jobs := make([]sched.Job[*Sequence], len(part))
		for i, s := range part {
			jobs[i] = sched.Job[*Sequence]{Tokens: s.Len(), Payload: s}
		}
		if err := e.b.Do(ctx, jobs...); err != nil {
			return nil, err
		}
	}
	out := make([]embed.Result, len(seqs))
	for i, s := range seqs {
		out[i] = s.Result()
	}
	return out, nil
}
