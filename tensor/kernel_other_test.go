//go:build !amd64

package tensor

type kernelVariant struct {
	name string
	use  func(func())
}

func kernelVariants() []kernelVariant {
	return []kernelVariant{{"generic", func(f func()) { f() }}}
}
