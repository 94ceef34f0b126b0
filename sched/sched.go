// Package sched batches work from concurrent requests: the model is far more
// efficient on a batch of windows than on one at a time, and requests arrive
// one by one. One goroutine owns the queue; it packs waiting items into
// batches under a token budget and a size cap, taking them round-robin
// across requests and no more than a share of the budget from any one, so a
// short request is not held behind a long one; it waits a little for
// company when the batch is not full, drops items whose caller has gone
// away, and hands each batch to an injected compute function. Nothing here knows about
// tensors or HTTP, so the batcher is tested with fake compute functions.
package sched

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// ErrQueueFull means the queue had no room for the submitted items. It is
	// back-pressure, not failure: the server answers 429 with Retry-After.
	ErrQueueFull = errors.New("sched: queue full")
	// ErrClosed means the batcher was closed before the items were computed.
	ErrClosed = errors.New("sched: batcher closed")
	// ErrTooLarge means a job alone exceeds the batch token budget, or one Do
	// holds more jobs than the whole queue: retrying cannot help.
	ErrTooLarge = errors.New("sched: item exceeds the batch token budget")
)

// Job is one unit of work: a payload and its length in tokens.
type Job[T any] struct {
	// Tokens is the item's sequence length; a batch costs
	// len(batch) × max(Tokens), the padded rectangle the model computes.
	Tokens  int
	Payload T
}

// ComputeFunc computes one batch. It fills in the payloads (for example
// writes logits into buffers they point to) and returns an error that applies
// to the whole batch. ctx is cancelled when every caller in the batch has
// gone away or the batcher is force-closed, so a long forward pass may stop
// early. A panic is recovered and becomes the batch's error.
type ComputeFunc[T any] func(ctx context.Context, batch []T) error

// BatchStats describe one batch as it is handed to compute.
type BatchStats struct {
	// Size is the number of items.
	Size int
	// Tokens is the sum of the items' tokens; PaddedTokens is the budget cost,
	// Size × the longest item.
	Tokens, PaddedTokens int
	// Wait is how long the oldest item waited in the queue.
	Wait time.Duration
}

// Hooks observe the batcher, e.g. to export metrics. Any may be nil. They are
// called from the batcher's goroutines and must not block.
type Hooks struct {
	// QueueDepth reports the number of items waiting, after every change.
	QueueDepth func(depth int)
	// Batch reports each batch handed to compute.
	Batch func(BatchStats)
	// Dropped reports items removed before compute because their caller's
	// context was done.
	Dropped func(n int)
}

// Options configure a Batcher.
type Options struct {
	// MaxBatchTokens is the budget of one batch in padded tokens
	// (len × longest); required.
	MaxBatchTokens int
	// MaxBatchSize caps the items per batch (default 32).
	MaxBatchSize int
	// MaxShareTokens bounds the tokens one Do call puts into a single batch
	// (default MaxBatchTokens/16: one 384-token window of the default
	// budget; at least one job always goes in). A request of many windows
	// is then computed over several small batches, and the windows of a
	// request arriving meanwhile join the next one instead of waiting
	// behind all of them: a short question waits about one window's
	// forward pass, not one whole long request. On a CPU a 384-token
	// window already fills the GEMMs, so the long request loses nothing
	// measurable (BENCHMARKS.md, "Fairness and soak").
	MaxShareTokens int
	// MaxWait is how long an idle worker waits for a batch to fill before
	// computing what is there. 0 computes at once.
	MaxWait time.Duration
	// QueueSize bounds the items waiting (default 1024); beyond it Do returns
	// ErrQueueFull.
	QueueSize int
	// Workers is the number of batches computed at once (default 1: one
	// forward pass already uses every core).
	Workers int
	Hooks   Hooks
}

// item is one queued job with the bookkeeping to settle it exactly once.
type item[T any] struct {
	ctx      context.Context
	job      Job[T]
	group    *group
	enqueued time.Time
}

// group collects the results of the items of one Do call.
type group struct {
	remaining atomic.Int32
	mu        sync.Mutex
	err       error
	done      chan struct{}
	// started is when the first of the group's items went into a batch;
	// only the dispatcher writes it, before it settles the group's last
	// item, so Do reads it after done without a lock.
	started time.Time
}

func (g *group) settle(err error) {
	if err != nil {
		g.mu.Lock()
		if g.err == nil {
			g.err = err
		}
		g.mu.Unlock()
	}
	if g.remaining.Add(-1) == 0 {
		close(g.done)
	}
}

// Batcher packs jobs from concurrent callers into batches. Create it with
// New and end it with Close.
type Batcher[T any] struct {
	compute ComputeFunc[T]
	opts    Options

	// mu guards closed; Do holds it for reading while it hands items to the
	// dispatcher so that Close cannot slip in between the check and the send.
	mu     sync.RWMutex
	closed bool

	in      chan []*item[T] // Do → dispatcher
	poke    chan struct{}   // a caller left: prune the queue now
	quit    chan struct{}   // closed by Close: drain and stop
	abort   chan struct{}   // closed when Close's context ends: fail what is left
	stopped chan struct{}   // closed when the dispatcher and workers have ended

	// pending counts items submitted and not yet taken into a batch or
	// dropped: the queue-bound check must see submissions that are still
	// travelling through the in channel.
	pending atomic.Int64

	// life is cancelled on abort, which cancels every compute in flight.
	life       context.Context
	cancelLife context.CancelFunc

	closeOnce sync.Once
	abortOnce sync.Once
}

// New starts a batcher; it runs until Close.
func New[T any](compute ComputeFunc[T], opts Options) (*Batcher[T], error) {
	if compute == nil {
		return nil, errors.New("sched: nil compute function")
	}
	if opts.MaxBatchTokens <= 0 {
		return nil, fmt.Errorf("sched: MaxBatchTokens must be > 0, got %d", opts.MaxBatchTokens)
	}
	if opts.MaxBatchSize < 0 || opts.QueueSize < 0 || opts.Workers < 0 || opts.MaxWait < 0 || opts.MaxShareTokens < 0 {
		return nil, errors.New("sched: MaxBatchSize, MaxShareTokens, QueueSize, Workers and MaxWait must not be negative")
	}
	if opts.MaxShareTokens == 0 {
		opts.MaxShareTokens = max(1, opts.MaxBatchTokens/16)
	}
	if opts.MaxBatchSize == 0 {
		opts.MaxBatchSize = 32
	}
	if opts.QueueSize == 0 {
		opts.QueueSize = 1024
	}
	if opts.Workers == 0 {
		opts.Workers = 1
	}
	life, cancel := context.WithCancel(context.Background())
	b := &Batcher[T]{
		compute:    compute,
		opts:       opts,
		in:         make(chan []*item[T], 64),
		poke:       make(chan struct{}, 1),
		quit:       make(chan struct{}),
		abort:      make(chan struct{}),
		stopped:    make(chan struct{}),
		life:       life,
		cancelLife: cancel,
	}
	go b.dispatch()
	return b, nil
}

// Timing splits the time of one Do call.
type Timing struct {
	// Queue is the wait from submission until the first of the jobs went
	// into a batch; Compute is the rest, until the last was computed
	// (which includes the batches of other requests interleaved with its
	// own).
	Queue, Compute time.Duration
}

// Capacity is the most jobs that may wait at once (Options.QueueSize): a
// Do with more can never be queued.
func (b *Batcher[T]) Capacity() int { return b.opts.QueueSize }

// Do queues the jobs, waits until every one is computed or dropped, and
// returns the first error among them (nil when all were computed). The jobs
// are queued all or none: if the queue lacks room for all of them Do returns
// ErrQueueFull at once and nothing is computed (ErrTooLarge if they could
// never fit).
//
// When ctx ends, jobs still queued are dropped and Do returns ctx's error;
// but Do never returns while a compute function may still touch one of its
// payloads, so a caller may reuse payload memory as soon as Do returns. That
// wait is bounded by the batch in flight, whose context is cancelled once all
// of its callers are gone.
func (b *Batcher[T]) Do(ctx context.Context, jobs ...Job[T]) error {
	_, err := b.DoTimed(ctx, jobs...)
	return err
}

// DoTimed is Do, reporting how long the jobs waited in the queue and how
// long they took to compute.
func (b *Batcher[T]) DoTimed(ctx context.Context, jobs ...Job[T]) (Timing, error) {
	if len(jobs) == 0 {
		return Timing{}, nil
	}
	if err := ctx.Err(); err != nil {
		return Timing{}, err
	}
	for _, j := range jobs {
		if j.Tokens > b.opts.MaxBatchTokens {
			return Timing{}, fmt.Errorf("%w: %d tokens, budget %d", ErrTooLarge, j.Tokens, b.opts.MaxBatchTokens)
		}
		if j.Tokens < 0 {
			return Timing{}, fmt.Errorf("sched: negative token count %d", j.Tokens)
		}
	}
	n := int64(len(jobs))
	if len(jobs) > b.opts.QueueSize {
		// Waiting would not help: this many jobs never fit in the queue.
		return Timing{}, fmt.Errorf("%w: %d jobs, queue size %d", ErrTooLarge, len(jobs), b.opts.QueueSize)
	}
	if b.pending.Add(n) > int64(b.opts.QueueSize) {
		b.pending.Add(-n)
		return Timing{}, ErrQueueFull
	}
	g := &group{done: make(chan struct{})}
	g.remaining.Store(int32(len(jobs)))
	now := time.Now()
	items := make([]*item[T], len(jobs))
	for i, j := range jobs {
		items[i] = &item[T]{ctx: ctx, job: j, group: g, enqueued: now}
	}

	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		b.pending.Add(-n)
		return Timing{}, ErrClosed
	}
	b.in <- items // the dispatcher keeps receiving until closed is set
	b.mu.RUnlock()

	select {
	case <-g.done:
	case <-ctx.Done():
		select { // ask the dispatcher to drop our queued items now
		case b.poke <- struct{}{}:
		default:
		}
		<-g.done
	}
	end := time.Now()
	var t Timing
	if g.started.IsZero() { // dropped or failed before any batch
		t.Queue = end.Sub(now)
	} else {
		t.Queue, t.Compute = g.started.Sub(now), end.Sub(g.started)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return t, g.err
}

// Close stops accepting jobs, computes those already queued, and waits for
// the batcher's goroutines to end. If ctx ends first, queued jobs fail with
// ErrClosed, the computes in flight are cancelled, and Close still waits for
// them to return before it returns ctx's error. Close is idempotent.
func (b *Batcher[T]) Close(ctx context.Context) error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		close(b.quit)
	})
	select {
	case <-b.stopped:
		return nil
	case <-ctx.Done():
		b.abortOnce.Do(func() {
			close(b.abort)
			b.cancelLife()
		})
		<-b.stopped
		return fmt.Errorf("sched: close: %w", ctx.Err())
	}
}

// result is a finished batch coming back from a worker.
type result[T any] struct {
	items []*item[T]
	err   error
}

// dispatch is the one goroutine that owns the queue. It ends after Close,
// once the queue is empty and every worker has returned.
func (b *Batcher[T]) dispatch() {
	defer close(b.stopped)
	defer b.cancelLife()

	work := make(chan []*item[T])
	results := make(chan result[T], b.opts.Workers)
	var workers sync.WaitGroup
	for range b.opts.Workers {
		workers.Go(func() { b.worker(work, results) })
	}
	defer workers.Wait()
	defer close(work)

	var queue []*item[T]
	idle := b.opts.Workers
	quit, abort := b.quit, b.abort
	closing := false
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	timerSet := false

	depth := func() {
		if b.opts.Hooks.QueueDepth != nil {
			b.opts.Hooks.QueueDepth(len(queue))
		}
	}
	settle := func(items []*item[T], err error) {
		for _, it := range items {
			it.group.settle(err)
		}
	}
	// drainIn takes what is buffered in the in channel. Close has set closed
	// under the lock before closing quit or abort, so nothing more can come.
	drainIn := func() {
		for {
			select {
			case items := <-b.in:
				queue = append(queue, items...)
			default:
				return
			}
		}
	}
	// prune drops items whose caller has gone away, so they neither use the
	// model nor hold queue space.
	prune := func() {
		var gone []*item[T]
		kept := queue[:0]
		for _, it := range queue {
			if it.ctx.Err() != nil {
				gone = append(gone, it)
				continue
			}
			kept = append(kept, it)
		}
		if len(gone) == 0 {
			return
		}
		clear(queue[len(kept):])
		queue = kept
		b.pending.Add(-int64(len(gone)))
		if b.opts.Hooks.Dropped != nil {
			b.opts.Hooks.Dropped(len(gone))
		}
		depth()
		// Settle last, so the hooks have run when the callers' Do returns.
		for _, it := range gone {
			it.group.settle(context.Cause(it.ctx))
		}
	}

	for {
		// Hand batches to idle workers while there is something worth sending.
		for idle > 0 && len(queue) > 0 {
			prune()
			if len(queue) == 0 {
				break
			}
			picked, full := b.pick(queue)
			waited := time.Since(queue[0].enqueued)
			if !full && !closing && waited < b.opts.MaxWait {
				// Wait for company, but no longer than the oldest item's MaxWait.
				timer.Reset(b.opts.MaxWait - waited)
				timerSet = true
				break
			}
			batch := make([]*item[T], len(picked))
			now := time.Now()
			for i, k := range picked {
				batch[i] = queue[k]
				if g := queue[k].group; g.started.IsZero() {
					g.started = now
				}
				queue[k] = nil
			}
			kept := queue[:0]
			for _, it := range queue {
				if it != nil {
					kept = append(kept, it)
				}
			}
			clear(queue[len(kept):])
			queue = kept
			b.pending.Add(-int64(len(batch)))
			depth()
			if b.opts.Hooks.Batch != nil {
				b.opts.Hooks.Batch(stats(batch, waited))
			}
			work <- batch // an idle worker is waiting on work
			idle--
		}
		if closing && len(queue) == 0 && idle == b.opts.Workers {
			return
		}

		select {
		case items := <-b.in:
			queue = append(queue, items...)
			if items[0].ctx.Err() != nil { // the caller left while its items travelled
				prune()
			}
			depth()
		case r := <-results:
			idle++
			settle(r.items, r.err)
		case <-b.poke:
			prune()
		case <-timer.C:
			timerSet = false
		case <-quit:
			quit = nil
			closing = true
			drainIn()
			depth()
		case <-abort:
			abort, quit = nil, nil
			closing = true
			drainIn()
			b.pending.Add(-int64(len(queue)))
			settle(queue, ErrClosed)
			clear(queue)
			queue = nil
			depth()
		}
		if timerSet && len(queue) == 0 {
			timer.Stop()
			timerSet = false
		}
	}
}

// maxPadding bounds a batch's padded cost (size × longest) to this many
// times the tokens it holds: past it, mixing lengths costs more compute than
// it saves in passes.
const maxPadding = 2

// pick chooses the items of the next batch, as indices into queue (which
// holds items in arrival order), and reports whether that batch is full:
// the next candidate would break the budget or the size cap. It takes items
// round-robin across the Do calls waiting, oldest call first, and at most
// MaxShareTokens from any one call, so every waiting request gets a place
// in every batch while there is room, and a long request cannot starve a
// short one; within a call, items keep their order. An item that would
// make the batch mostly padding waits for the next one.
func (b *Batcher[T]) pick(queue []*item[T]) (picked []int, full bool) {
	type share struct {
		items  []int
		tokens int
		capped bool
	}
	var calls []*share
	index := map[*group]*share{}
	for i, it := range queue {
		sh := index[it.group]
		if sh == nil {
			sh = &share{}
			index[it.group] = sh
			calls = append(calls, sh)
		}
		sh.items = append(sh.items, i)
	}
	longest, tokens := 0, 0
	for round := 0; ; round++ {
		offered := false
		for _, sh := range calls {
			if round >= len(sh.items) || sh.capped {
				continue
			}
			it := queue[sh.items[round]]
			if round > 0 && sh.tokens+it.job.Tokens > b.opts.MaxShareTokens {
				sh.capped = true // this call has had its share of this batch
				continue
			}
			offered = true
			if len(picked) == b.opts.MaxBatchSize {
				return picked, true
			}
			l := max(longest, it.job.Tokens)
			if (len(picked)+1)*l > b.opts.MaxBatchTokens {
				if len(picked) == 0 { // cannot happen: Do rejects such items
					return []int{sh.items[round]}, true
				}
				return picked, true
			}
			if len(picked) > 0 && (len(picked)+1)*l > maxPadding*(tokens+it.job.Tokens) {
				// Mostly padding: short windows beside a long one would
				// each cost the long one's length. This call waits for
				// the next batch (where, being older than new arrivals,
				// it comes first).
				sh.capped = true
				continue
			}
			longest = l
			tokens += it.job.Tokens
			sh.tokens += it.job.Tokens
			picked = append(picked, sh.items[round])
		}
		if !offered {
			break
		}
	}
	return picked, len(picked) == b.opts.MaxBatchSize
}

func stats[T any](batch []*item[T], wait time.Duration) BatchStats {
	s := BatchStats{Size: len(batch), Wait: wait}
	longest := 0
	for _, it := range batch {
		s.Tokens += it.job.Tokens
		longest = max(longest, it.job.Tokens)
	}
	s.PaddedTokens = longest * len(batch)
	return s
}

// worker computes batches until work is closed.
func (b *Batcher[T]) worker(work <-chan []*item[T], results chan<- result[T]) {
	for batch := range work {
		results <- result[T]{items: batch, err: b.run(batch)}
	}
}

// run computes one batch with a context that ends when every caller in it
// has gone away (or the batcher aborts).
func (b *Batcher[T]) run(batch []*item[T]) (err error) {
	ctx, cancel := context.WithCancel(b.life)
	defer cancel()
	var left atomic.Int32
	left.Store(int32(len(batch)))
	stops := make([]func() bool, len(batch))
	for i, it := range batch {
		stops[i] = context.AfterFunc(it.ctx, func() {
			if left.Add(-1) == 0 {
				cancel()
			}
		})
	}
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	payloads := make([]T, len(batch))
	for i, it := range batch {
		payloads[i] = it.job.Payload
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sched: compute panicked: %v\n%s", r, debug.Stack())
		}
	}()
	if err := b.compute(ctx, payloads); err != nil {
		return fmt.Errorf("sched: compute batch of %d: %w", len(batch), err)
	}
	return nil
}
