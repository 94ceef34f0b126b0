//go:build !amd64

package tensor

func int8Variants() []int8Variant {
	return []int8Variant{{"generic", 255, func(f func()) { f() }}}
}
