//go:build !unix

package debertav2

// cpuSeconds is not measured where getrusage does not exist.
func cpuSeconds() float64 { return 0 }
