// Package tensor holds the fp32 compute kernels of the engine: a packed GEMM
// with assembly micro-kernels chosen at run time, and the row-wise operations
// (softmax, LayerNorm, GELU) around it, plus the worker pool they run on.
package tensor

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Task is a unit of parallel work split into n independent pieces. Do runs
// pieces [lo,hi) on worker w; w is unique among the workers running one job
// at the same time (the caller is worker 0), so it can index per-worker
// scratch. A range is always a run of consecutive pieces, so a task can
// share work between neighbours (a GEMM keeps one block of A in cache for
// all the column panels it is given).
type Task interface {
	Do(lo, hi, w int)
}

// Job is the reusable bookkeeping of one parallel run. Callers keep one per
// concurrent user (it lives in a forward pass's workspace) so Run allocates
// nothing.
type Job struct {
	task  Task
	n     int64
	share int64 // divisor of the remaining pieces: the size of a claim
	next  atomic.Int64
	refs  atomic.Int64
	ids   atomic.Int64
	wake  chan struct{}
	// failed holds the first panic of a piece, to re-raise on the caller.
	failed atomic.Pointer[PanicError]
}

// PanicError is a panic of a Task, caught on whichever goroutine ran the
// piece and re-raised by Run on its caller.
type PanicError struct {
	Value any
	// Stack is the stack of the goroutine that panicked.
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("tensor: task panicked: %v", e.Value) }

// safeWork is work with a panic caught: a worker goroutine that let it
// through would kill the process. The first panic is kept for the caller,
// and the remaining pieces are given up (claiming stops), so the job ends
// within the pieces already running.
func (j *Job) safeWork(w int) {
	defer func() {
		if v := recover(); v != nil {
			j.failed.CompareAndSwap(nil, &PanicError{Value: v, Stack: debug.Stack()})
			j.next.Store(j.n)
		}
	}()
	j.work(w)
}

// NewJob returns a Job ready for Pool.Run.
func NewJob() *Job { return &Job{wake: make(chan struct{}, 1)} }

// work claims runs of pieces until none are left. Each claim takes a share
// of what remains (guided scheduling): large runs first, which keep caches
// warm across neighbouring pieces, then ever smaller ones, so the workers
// run out of work within a piece or two of each other. With a dozen equal
// blocks per product instead, one worker sat idle for up to a block at the
// end of each of a forward pass's ~50 steps: 3–9% of a DistilBERT 1×384
// pass on 2 threads (same process, alternating passes).
func (j *Job) work(w int) {
	for {
		lo := j.next.Load()
		if lo >= j.n {
			return
		}
		hi := lo + max(1, (j.n-lo)/j.share)
		if !j.next.CompareAndSwap(lo, hi) {
			continue
		}
		j.task.Do(int(lo), int(hi), w)
	}
}

// Pool is a fixed set of worker goroutines shared by all forward passes of an
// engine. Its workers live until Close.
type Pool struct {
	size int
	ch   chan *Job
	wg   sync.WaitGroup
}

// NewPool starts a pool using threads goroutines in all, the caller of Run
// included; threads <= 0 means one per CPU.
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	p := &Pool{size: threads, ch: make(chan *Job, threads)}
	for i := 1; i < threads; i++ {
		p.wg.Add(1)
		go p.worker()
	}
	return p
}

// Size is the number of goroutines a Run may use, the caller included.
func (p *Pool) Size() int { return p.size }

func (p *Pool) worker() {
	defer p.wg.Done()
	for {
		j, ok := p.next()
		if !ok {
			return
		}
		j.safeWork(int(j.ids.Add(1)))
		if j.refs.Add(-1) == 0 {
			j.wake <- struct{}{}
		}
	}
}

// A forward pass hands out dozens of jobs back to back. A goroutine that
// blocked in between has to be woken through the OS (in a VM, often
// through the hypervisor too), which takes longer than the gap, so workers
// and the caller poll for about 50 µs before they block: workerPolls
// checks of the job channel (~8 ns each), callerPolls of the job's count
// (~2 ns each).
const (
	workerPolls = 6000
	callerPolls = 25000
)

func (p *Pool) next() (*Job, bool) {
	for i := 0; i < workerPolls && len(p.ch) == 0; i++ {
	}
	// Blocks if another worker took the job first, or until Close.
	j, ok := <-p.ch
	return j, ok
}

// Run calls t.Do over ranges that cover [0,n) exactly once, on the pool,
// and returns when all are done. Pieces are claimed dynamically, so a worker
// busy with another caller's job simply claims fewer (or none) of this
// one's.
//
// If t.Do panics, on any goroutine, the pieces not yet started are skipped
// and Run panics on its caller with a *PanicError once every worker has left
// the job: the pool stays usable, and the caller's recover (the scheduler's,
// for a forward pass) turns the panic into that batch's error instead of a
// crash.
func (p *Pool) Run(j *Job, t Task, n int) {
	if n <= 0 {
		return
	}
	j.task, j.n = t, int64(n)
	// Twice the workers (the caller included): the first claims are half
	// of an even share. Alone, the caller takes everything at once.
	j.share = 1
	if p.size > 1 {
		j.share = int64(2 * min(p.size, n))
	}
	j.next.Store(0)
	j.ids.Store(0)
	j.refs.Store(1)
	// Every helper is counted in refs before the hand-off, so the job cannot
	// be reused while any worker still holds it. The hand-off always
	// succeeds (the channel is buffered): a worker that has just finished
	// the previous job and not yet come back for the next must still join,
	// or back-to-back calls would run on the caller alone.
	for k := 1; k < p.size && k < n; k++ {
		j.refs.Add(1)
		p.ch <- j
	}
	j.safeWork(0)
	if j.refs.Add(-1) != 0 {
		for i := 0; i < callerPolls && j.refs.Load() != 0; i++ {
		}
		// The helper that brought refs to zero sends the token even when
		// the poll saw it first; take it so the next Run starts clean.
		<-j.wake
	}
	j.task = nil
	if pe := j.failed.Swap(nil); pe != nil {
		panic(pe)
	}
}

// Close stops the workers. Run must not be called after Close.
func (p *Pool) Close() {
	close(p.ch)
	p.wg.Wait()
}
