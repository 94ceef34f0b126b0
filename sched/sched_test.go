package sched

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// checkGoroutines fails the test if goroutines started during it are still
// running at its end (a manual goleak: the batcher promises every goroutine
// it starts ends in Close).
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutines: %d before, %d after\n%s", before, n, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// recorder is a fake compute function that records each batch.
type recorder struct {
	mu      sync.Mutex
	batches [][]int
	gate    chan struct{} // when non-nil, each compute waits for a value or close
	entered chan struct{} // when non-nil, receives once per compute on entry
}

func (r *recorder) compute(ctx context.Context, batch []int) error {
	r.mu.Lock()
	r.batches = append(r.batches, append([]int(nil), batch...))
	r.mu.Unlock()
	if r.entered != nil {
		r.entered <- struct{}{}
	}
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (r *recorder) snapshot() [][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]int(nil), r.batches...)
}

func newBatcher(t *testing.T, compute ComputeFunc[int], opts Options) *Batcher[int] {
	t.Helper()
	b, err := New(compute, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

// waitFor polls cond; the scheduler's events are asynchronous by nature.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestNewValidates(t *testing.T) {
	noop := func(context.Context, []int) error { return nil }
	if _, err := New[int](nil, Options{MaxBatchTokens: 1}); err == nil {
		t.Error("nil compute accepted")
	}
	if _, err := New(noop, Options{}); err == nil {
		t.Error("zero budget accepted")
	}
	if _, err := New(noop, Options{MaxBatchTokens: 1, QueueSize: -1}); err == nil {
		t.Error("negative queue size accepted")
	}
}

// While the worker is busy, requests arriving concurrently pile up and go
// out together as one batch.
func TestBatchesFormUnderConcurrency(t *testing.T) {
	checkGoroutines(t)
	rec := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 16)}
	var depth atomic.Int64
	b := newBatcher(t, rec.compute, Options{MaxBatchTokens: 1000, MaxBatchSize: 16,
		Hooks: Hooks{QueueDepth: func(d int) { depth.Store(int64(d)) }}})

	var wg sync.WaitGroup
	errs := make(chan error, 11)
	wg.Go(func() { errs <- b.Do(context.Background(), Job[int]{Tokens: 10, Payload: 0}) })
	<-rec.entered // the first batch, alone, holds the worker
	for i := 1; i <= 10; i++ {
		wg.Go(func() { errs <- b.Do(context.Background(), Job[int]{Tokens: 10, Payload: i}) })
	}
	waitFor(t, "ten queued items", func() bool { return depth.Load() == 10 })
	close(rec.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := rec.snapshot()
	if len(got) != 2 || len(got[0]) != 1 || len(got[1]) != 10 {
		t.Fatalf("batches = %v, want one of 1 then one of 10", got)
	}
}

// Under random concurrent load every batch stays within the padded-token
// budget and the size cap, and every job is computed exactly once.
func TestBudgetAndSizeRespected(t *testing.T) {
	checkGoroutines(t)
	const budget, maxSize = 512, 6
	var mu sync.Mutex
	seen := map[int]int{}
	var violations []string
	compute := func(ctx context.Context, batch []int) error {
		longest := 0
		for _, p := range batch {
			longest = max(longest, p%1000) // payload encodes its token count
		}
		mu.Lock()
		defer mu.Unlock()
		if len(batch)*longest > budget || len(batch) > maxSize {
			violations = append(violations, strings.Repeat("x", len(batch)))
		}
		for _, p := range batch {
			seen[p]++
		}
		time.Sleep(200 * time.Microsecond) // let the queue build up
		return nil
	}
	stats := make(chan BatchStats, 10000)
	b := newBatcher(t, compute, Options{MaxBatchTokens: budget, MaxBatchSize: maxSize, MaxWait: time.Millisecond,
		Hooks: Hooks{Batch: func(s BatchStats) { stats <- s }}})

	var wg sync.WaitGroup
	const callers, perCaller = 32, 20
	for c := range callers {
		wg.Go(func() {
			for i := range perCaller {
				tokens := 1 + rand.IntN(budget)
				id := (c*perCaller+i)*1000 + tokens
				if err := b.Do(context.Background(), Job[int]{Tokens: tokens, Payload: id}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if len(violations) > 0 {
		t.Errorf("%d batches over budget or size", len(violations))
	}
	if len(seen) != callers*perCaller {
		t.Errorf("computed %d distinct jobs, want %d", len(seen), callers*perCaller)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("job %d computed %d times", id, n)
		}
	}
	close(stats)
	multi := 0
	for s := range stats {
		if s.PaddedTokens > budget || s.Size > maxSize || s.Tokens > s.PaddedTokens {
			t.Errorf("bad stats %+v", s)
		}
		if s.Size > 1 {
			multi++
		}
	}
	if multi == 0 {
		t.Error("no batch held more than one job under concurrent load")
	}
}

// A multi-job Do (one request's windows) is queued as a unit and packed by
// the budget: 5 windows of 100 tokens under a budget of 300 go out as 3 + 2.
func TestDoManyJobsPacked(t *testing.T) {
	checkGoroutines(t)
	rec := &recorder{}
	b := newBatcher(t, rec.compute, Options{MaxBatchTokens: 300, MaxShareTokens: 300})
	jobs := make([]Job[int], 5)
	for i := range jobs {
		jobs[i] = Job[int]{Tokens: 100, Payload: i}
	}
	if err := b.Do(context.Background(), jobs...); err != nil {
		t.Fatal(err)
	}
	got := rec.snapshot()
	if len(got) != 2 || len(got[0]) != 3 || len(got[1]) != 2 {
		t.Fatalf("batches = %v, want [[0 1 2] [3 4]]", got)
	}
}

// MaxWait lets an idle worker wait for company; a full batch does not wait.
func TestMaxWait(t *testing.T) {
	checkGoroutines(t)
	rec := &recorder{}
	b := newBatcher(t, rec.compute, Options{MaxBatchTokens: 1000, MaxBatchSize: 2, MaxWait: time.Hour})
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			if err := b.Do(context.Background(), Job[int]{Tokens: 1, Payload: i}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if el := time.Since(start); el > 30*time.Second {
		t.Fatalf("a full batch waited %v", el)
	}
	if got := rec.snapshot(); len(got) != 1 || len(got[0]) != 2 {
		t.Fatalf("batches = %v, want one batch of 2", got)
	}

	rec2 := &recorder{}
	b2 := newBatcher(t, rec2.compute, Options{MaxBatchTokens: 1000, MaxWait: 20 * time.Millisecond})
	start = time.Now()
	if err := b2.Do(context.Background(), Job[int]{Tokens: 1}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 20*time.Millisecond {
		t.Errorf("a lone job was computed after %v, before MaxWait", el)
	}
}

// A job whose caller has gone away is dropped before compute, and its Do
// returns at once even though the worker is still busy.
func TestCancelledDroppedBeforeCompute(t *testing.T) {
	checkGoroutines(t)
	rec := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 4)}
	var dropped atomic.Int64
	var depth atomic.Int64
	b := newBatcher(t, rec.compute, Options{MaxBatchTokens: 100,
		Hooks: Hooks{Dropped: func(n int) { dropped.Add(int64(n)) }, QueueDepth: func(d int) { depth.Store(int64(d)) }}})

	first := make(chan error, 1)
	go func() { first <- b.Do(context.Background(), Job[int]{Tokens: 1, Payload: 1}) }()
	<-rec.entered

	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() { gone <- b.Do(ctx, Job[int]{Tokens: 1, Payload: 2}, Job[int]{Tokens: 1, Payload: 3}) }()
	waitFor(t, "two queued", func() bool { return depth.Load() == 2 })
	cancel()
	select {
	case err := <-gone:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Do = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Do did not return after its context was cancelled")
	}
	if dropped.Load() != 2 {
		t.Errorf("dropped = %d, want 2", dropped.Load())
	}
	close(rec.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// A later job must still work, and the dropped ones must never be computed.
	if err := b.Do(context.Background(), Job[int]{Tokens: 1, Payload: 4}); err != nil {
		t.Fatal(err)
	}
	for _, batch := range rec.snapshot() {
		for _, p := range batch {
			if p == 2 || p == 3 {
				t.Fatalf("cancelled job %d was computed", p)
			}
		}
	}
	if err := b.Do(ctx, Job[int]{Tokens: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("Do with a done context = %v", err)
	}
}

// When every caller of a batch in flight goes away, compute's context is
// cancelled; Do still waits for compute to return before returning.
func TestBatchContextCancelledWhenCallersLeave(t *testing.T) {
	checkGoroutines(t)
	var computing atomic.Bool
	var returned atomic.Bool
	entered := make(chan struct{})
	compute := func(ctx context.Context, batch []int) error {
		computing.Store(true)
		close(entered)
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond) // a forward pass noticing late
		returned.Store(true)
		return ctx.Err()
	}
	b := newBatcher(t, compute, Options{MaxBatchTokens: 100})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Do(ctx, Job[int]{Tokens: 1}) }()
	<-entered
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Do = nil after compute failed")
		}
		if !returned.Load() {
			t.Fatal("Do returned while compute still ran")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("compute's context was not cancelled")
	}
}

func TestQueueFull(t *testing.T) {
	checkGoroutines(t)
	rec := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 4)}
	var depth atomic.Int64
	b := newBatcher(t, rec.compute, Options{MaxBatchTokens: 100, QueueSize: 2,
		Hooks: Hooks{QueueDepth: func(d int) { depth.Store(int64(d)) }}})
	var wg sync.WaitGroup
	wg.Go(func() { _ = b.Do(context.Background(), Job[int]{Tokens: 1}) })
	<-rec.entered // holds the worker; the queue is empty again
	wg.Go(func() { _ = b.Do(context.Background(), Job[int]{Tokens: 1}, Job[int]{Tokens: 1}) })
	waitFor(t, "queue full", func() bool { return depth.Load() == 2 })

	if err := b.Do(context.Background(), Job[int]{Tokens: 1}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Do on a full queue = %v, want ErrQueueFull", err)
	}
	close(rec.gate)
	wg.Wait()
	// Room again; but a Do larger than the whole queue can never fit.
	if err := b.Do(context.Background(), Job[int]{Tokens: 1}); err != nil {
		t.Fatal(err)
	}
	if err := b.Do(context.Background(), Job[int]{Tokens: 1}, Job[int]{Tokens: 1}, Job[int]{Tokens: 1}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Do of 3 with a queue of 2 = %v", err)
	}
}

func TestTooLarge(t *testing.T) {
	checkGoroutines(t)
	rec := &recorder{}
	b := newBatcher(t, rec.compute, Options{MaxBatchTokens: 100})
	if err := b.Do(context.Background(), Job[int]{Tokens: 101}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Do = %v, want ErrTooLarge", err)
	}
	if err := b.Do(context.Background(), Job[int]{Tokens: 100}); err != nil {
		t.Fatalf("a job of exactly the budget: %v", err)
	}
}

func TestComputeErrorAndPanic(t *testing.T) {
	checkGoroutines(t)
	boom := errors.New("boom")
	calls := 0
	compute := func(ctx context.Context, batch []int) error {
		calls++ // only the one worker goroutine touches it
		switch batch[0] {
		case 1:
			return boom
		case 2:
			panic("kaboom")
		}
		return nil
	}
	b := newBatcher(t, compute, Options{MaxBatchTokens: 100})
	if err := b.Do(context.Background(), Job[int]{Tokens: 1, Payload: 1}); !errors.Is(err, boom) {
		t.Errorf("Do = %v, want boom", err)
	}
	if err := b.Do(context.Background(), Job[int]{Tokens: 1, Payload: 2}); err == nil || !strings.Contains(err.Error(), "kaboom") {
		t.Errorf("Do after a panicking compute = %v", err)
	}
	if err := b.Do(context.Background(), Job[int]{Tokens: 1, Payload: 3}); err != nil {
		t.Errorf("batcher broken after a panic: %v", err)
	}
}

// Close computes what is queued, refuses new work, and ends its goroutines.
func TestCloseDrains(t *testing.T) {
	checkGoroutines(t)
	rec := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 16)}
	var depth atomic.Int64
	b, err := New(rec.compute, Options{MaxBatchTokens: 100, MaxBatchSize: 1,
		Hooks: Hooks{QueueDepth: func(d int) { depth.Store(int64(d)) }}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		wg.Go(func() { errs <- b.Do(context.Background(), Job[int]{Tokens: 1, Payload: i}) })
	}
	<-rec.entered
	waitFor(t, "three queued", func() bool { return depth.Load() == 3 })
	closed := make(chan error, 1)
	go func() { closed <- b.Close(context.Background()) }()
	waitFor(t, "closed flag", func() bool { b.mu.RLock(); defer b.mu.RUnlock(); return b.closed })
	if err := b.Do(context.Background(), Job[int]{Tokens: 1}); !errors.Is(err, ErrClosed) {
		t.Errorf("Do after Close = %v, want ErrClosed", err)
	}
	close(rec.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("queued job failed on a draining Close: %v", err)
		}
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if n := len(rec.snapshot()); n != 4 {
		t.Errorf("computed %d batches, want 4", n)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// A Close whose context ends fails the queued jobs and cancels the compute
// in flight.
func TestCloseAborts(t *testing.T) {
	checkGoroutines(t)
	rec := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 16)} // gate never opens
	var depth atomic.Int64
	b, err := New(rec.compute, Options{MaxBatchTokens: 100, MaxBatchSize: 1,
		Hooks: Hooks{QueueDepth: func(d int) { depth.Store(int64(d)) }}})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 3)
	for i := range 3 {
		go func() { errs <- b.Do(context.Background(), Job[int]{Tokens: 1, Payload: i}) }()
	}
	<-rec.entered
	waitFor(t, "two queued", func() bool { return depth.Load() == 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := b.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want DeadlineExceeded", err)
	}
	var closedErrs, cancelled int
	for range 3 {
		err := <-errs
		switch {
		case errors.Is(err, ErrClosed):
			closedErrs++
		case errors.Is(err, context.Canceled):
			cancelled++
		default:
			t.Errorf("unexpected Do error %v", err)
		}
	}
	if closedErrs != 2 || cancelled != 1 {
		t.Errorf("ErrClosed %d, cancelled %d; want 2 and 1", closedErrs, cancelled)
	}
}

func BenchmarkDo(b *testing.B) {
	bt, err := New(func(context.Context, []int) error { return nil }, Options{MaxBatchTokens: 4096})
	if err != nil {
		b.Fatal(err)
	}
	defer bt.Close(context.Background())
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := bt.Do(context.Background(), Job[int]{Tokens: 128}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A short request that arrives while a long one is being computed joins the
// very next batch: windows are taken round-robin across requests, and one
// request puts at most MaxShareTokens into a batch. Its Timing reports the
// wait behind the running batch as queue time.
func TestShortRequestInterleaves(t *testing.T) {
	checkGoroutines(t)
	rec := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 64)}
	var depth atomic.Int64
	b := newBatcher(t, rec.compute, Options{MaxBatchTokens: 1000, MaxShareTokens: 300,
		Hooks: Hooks{QueueDepth: func(d int) { depth.Store(int64(d)) }}})
	long := make([]Job[int], 20)
	for i := range long {
		long[i] = Job[int]{Tokens: 100, Payload: i}
	}
	longDone := make(chan error, 1)
	go func() { longDone <- b.Do(context.Background(), long...) }()
	<-rec.entered // the first batch of the long request is computing
	type timed struct {
		t   Timing
		err error
	}
	shortDone := make(chan timed, 1)
	go func() {
		tm, err := b.DoTimed(context.Background(), Job[int]{Tokens: 10, Payload: 100})
		shortDone <- timed{tm, err}
	}()
	waitFor(t, "the short request queued", func() bool { return depth.Load() == 18 })
	const held = 30 * time.Millisecond
	time.Sleep(held)
	close(rec.gate)
	short := <-shortDone
	if short.err != nil {
		t.Fatal(short.err)
	}
	if err := <-longDone; err != nil {
		t.Fatal(err)
	}
	got := rec.snapshot()
	if want := []int{0, 1, 2}; !slices.Equal(got[0], want) {
		t.Errorf("first batch %v, want %v (the share cap)", got[0], want)
	}
	if want := []int{3, 100, 4, 5}; !slices.Equal(got[1], want) {
		t.Errorf("second batch %v, want %v (round-robin)", got[1], want)
	}
	if short.t.Queue < held {
		t.Errorf("queue time %v; the request waited at least %v behind the running batch", short.t.Queue, held)
	}
}

// With room to spare, one request's jobs all go into one batch up to its
// share; the share never splits a request below one job.
func TestShareCap(t *testing.T) {
	checkGoroutines(t)
	rec := &recorder{}
	b := newBatcher(t, rec.compute, Options{MaxBatchTokens: 1000, MaxShareTokens: 50})
	if err := b.Do(context.Background(), Job[int]{Tokens: 80, Payload: 0}, Job[int]{Tokens: 20, Payload: 1}, Job[int]{Tokens: 20, Payload: 2}); err != nil {
		t.Fatal(err)
	}
	got := rec.snapshot()
	if len(got) != 2 || !slices.Equal(got[0], []int{0}) || !slices.Equal(got[1], []int{1, 2}) {
		t.Errorf("batches %v, want [[0] [1 2]]", got)
	}
}

// Short items do not ride along with a long one when the batch would be
// mostly padding: they wait for the next batch, where they come first.
func TestPaddingBound(t *testing.T) {
	checkGoroutines(t)
	rec := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 64)}
	var depth atomic.Int64
	b := newBatcher(t, rec.compute, Options{MaxBatchTokens: 8192, MaxShareTokens: 512,
		Hooks: Hooks{QueueDepth: func(d int) { depth.Store(int64(d)) }}})
	var wg sync.WaitGroup
	wg.Go(func() { _ = b.Do(context.Background(), Job[int]{Tokens: 1, Payload: 0}) })
	<-rec.entered // the worker is busy: what follows queues up in order
	for i, tokens := range []int{384, 40, 40, 40} {
		wg.Go(func() { _ = b.Do(context.Background(), Job[int]{Tokens: tokens, Payload: i + 1}) })
		waitFor(t, "queued in order", func() bool { return depth.Load() == int64(i+1) })
	}
	close(rec.gate)
	wg.Wait()
	got := rec.snapshot()
	want := [][]int{{0}, {1, 2}, {3, 4}}
	if len(got) != len(want) {
		t.Fatalf("batches %v, want %v", got, want)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("batches %v, want %v (384+40 is 1.8× padding; a third would be 2.5×)", got, want)
		}
	}
}
