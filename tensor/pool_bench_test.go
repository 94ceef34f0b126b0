package tensor

import "testing"

type nopTask struct{}

func (nopTask) Do(lo, hi, w int) {}

// BenchmarkPoolRun times the hand-off and join of an empty job: the fixed
// cost each of a forward pass's dozens of parallel steps pays.
func BenchmarkPoolRun(b *testing.B) {
	p := NewPool(2)
	defer p.Close()
	j := NewJob()
	var t nopTask
	for i := 0; i < b.N; i++ {
		p.Run(j, t, 2)
	}
}
