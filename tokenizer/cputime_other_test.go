//go:build !unix

package tokenizer

import "time"

// cpuTime is not measured where getrusage does not exist: the benchmarks
// then report wall time only.
func cpuTime() time.Duration { return 0 }
