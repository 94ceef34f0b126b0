//go:build !unix

package tensor

// cpuSeconds is not measured where getrusage does not exist.
func cpuSeconds() float64 { return 0 }
