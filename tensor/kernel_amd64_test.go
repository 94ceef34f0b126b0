package tensor

type kernelVariant struct {
	name string
	use  func(func())
}

// kernelVariants runs a test body under every micro-kernel this CPU can run.
func kernelVariants() []kernelVariant {
	vs := []kernelVariant{{"generic", func(f func()) {
		saved := hasAVX2
		hasAVX2 = false
		defer func() { hasAVX2 = saved }()
		f()
	}}}
	if hasAVX2 {
		vs = append(vs, kernelVariant{"avx2", func(f func()) { f() }})
	}
	return vs
}
