package tensor

import (
	"errors"
	"sync/atomic"
	"testing"
)

// faultTask counts the pieces it runs and panics on piece bad when it runs
// on a goroutine the test picks: the injected fault.
type faultTask struct {
	bad     int
	onW     func(w int) bool
	pieces  atomic.Int64
	panicky atomic.Bool
}

func (t *faultTask) Do(lo, hi, w int) {
	for i := lo; i < hi; i++ {
		if i == t.bad && t.onW(w) {
			t.panicky.Store(true)
			panic("injected fault")
		}
		t.pieces.Add(1)
	}
}

// runRecover runs t over n pieces and returns what Run panicked with.
func runRecover(p *Pool, j *Job, t Task, n int) (v any) {
	defer func() { v = recover() }()
	p.Run(j, t, n)
	return nil
}

// A panic in a task, on a worker goroutine or on the caller, reaches Run's
// caller as a *PanicError after every worker has left the job, and the pool
// keeps working.
func TestPoolPanicReachesCaller(t *testing.T) {
	p := NewPool(4)
	defer p.Close()
	j := NewJob()
	for _, tc := range []struct {
		name string
		onW  func(int) bool
	}{
		{"worker", func(w int) bool { return w != 0 }},
		{"caller", func(w int) bool { return w == 0 }},
		{"any", func(int) bool { return true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The bad piece runs on the chosen goroutine sooner or later:
			// try until it does (pieces are claimed dynamically).
			for try := 0; try < 1000; try++ {
				task := &faultTask{bad: 50, onW: tc.onW}
				v := runRecover(p, j, task, 100)
				if !task.panicky.Load() {
					if v != nil {
						t.Fatalf("Run panicked with %v without a fault", v)
					}
					continue
				}
				pe, ok := v.(*PanicError)
				if !ok || pe.Value != "injected fault" || len(pe.Stack) == 0 {
					t.Fatalf("Run panicked with %#v, want a *PanicError of the fault", v)
				}
				var err error = pe
				if !errors.As(err, new(*PanicError)) || err.Error() != "tensor: task panicked: injected fault" {
					t.Errorf("error %q", err)
				}
				// The pool and the job are reusable.
				ok2 := &faultTask{bad: -1, onW: tc.onW}
				if v := runRecover(p, j, ok2, 100); v != nil || ok2.pieces.Load() != 100 {
					t.Fatalf("after a panic: %v, %d pieces of 100", v, ok2.pieces.Load())
				}
				return
			}
			t.Skip("the bad piece never ran on the chosen goroutine")
		})
	}
}
