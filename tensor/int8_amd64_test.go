package tensor

// int8Variants lists every int8 kernel this CPU can run, each with the
// largest activation byte it accepts. The VNNI one runs only on a CPU that
// has AVX-512 VNNI.
func int8Variants() []int8Variant {
	with := func(avx2, avx512, vnni bool) func(func()) {
		return func(f func()) {
			s2, s512, sv := hasAVX2, hasAVX512, hasVNNI
			hasAVX2, hasAVX512, hasVNNI = avx2, avx512, vnni
			defer func() { hasAVX2, hasAVX512, hasVNNI = s2, s512, sv }()
			f()
		}
	}
	vs := []int8Variant{{"generic", 255, with(false, false, false)}}
	if hasAVX2 {
		vs = append(vs, int8Variant{"avx2", 127, with(true, false, false)})
	}
	if hasVNNI {
		vs = append(vs, int8Variant{"avx512vnni", 255, with(true, true, true)})
	}
	return vs
}
