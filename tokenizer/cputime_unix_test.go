//go:build unix

package tokenizer

import (
	"syscall"
	"time"
)

// cpuTime is this process's user+system CPU time. The shared 2-core
// machine is noisy, so the benchmarks also report throughput per CPU second,
// which bench/tokenize_bench.py reports for the Rust side too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
