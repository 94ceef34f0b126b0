package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

type kernelVariant struct {
	name string
	use  func(func())
}

// kernelVariants runs a test body under every micro-kernel this CPU can run.
// The AVX-512 one runs only on a CPU that has it (or under an emulator:
// tools/emu).
func kernelVariants() []kernelVariant {
	with := func(avx2, avx512 bool) func(func()) {
		return func(f func()) {
			saved2, saved512 := hasAVX2, hasAVX512
			hasAVX2, hasAVX512 = avx2, avx512
			defer func() { hasAVX2, hasAVX512 = saved2, saved512 }()
			f()
		}
	}
	vs := []kernelVariant{{"generic", with(false, false)}}
	if hasAVX2 {
		vs = append(vs, kernelVariant{"avx2", with(true, false)})
	}
	if canAVX512 {
		vs = append(vs, kernelVariant{"avx512", with(true, true)})
	}
	return vs
}

func TestKernelSupportOverride(t *testing.T) {
	if a2, a512 := kernelSupport("generic"); a2 || a512 {
		t.Errorf("ASK_GEMM_KERNEL=generic: avx2=%v avx512=%v, want both off", a2, a512)
	}
	if _, a512 := kernelSupport("avx2"); a512 {
		t.Error("ASK_GEMM_KERNEL=avx2 left AVX-512 on")
	}
	if !preferAVX512("avx512", true) || preferAVX512("", true) || !preferAVX512("", false) {
		t.Error("AVX-512 preference: ASK_GEMM_KERNEL=avx512 must force it, and only half-width units turn it off")
	}
	t.Logf("this CPU: kernel %s (AVX-512 runs: %v; half-width AVX-512: %v)", Kernel(), canAVX512, halfWidthAVX512())
}

// TestKernelVariantsAgree runs every micro-kernel on every row count a call
// can get (tiles of 12 and 6 plus every remainder) and several depths, odd
// k included for the unrolled loops' tails. The assembly kernels do the same
// FMAs in the same order, so they must agree bit for bit; the generic one
// rounds each product separately and is held to a tolerance.
func TestKernelVariantsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	vs := kernelVariants()
	for rows := 1; rows <= 40; rows++ {
		for _, k := range []int{1, 2, 3, 6, 7, 8, 17, 64, 385} {
			for _, acc := range []bool{false, true} {
				lda, ldc := k+rows%3, nr+rows%5
				a := randSlice(r, (rows-1)*lda+k)
				b := randSlice(r, k*nr)
				c0 := randSlice(r, (rows-1)*ldc+nr)
				outs := make([][]float32, len(vs))
				for i, v := range vs {
					outs[i] = append([]float32(nil), c0...)
					v.use(func() { kernel(rows, k, a, lda, b, outs[i], ldc, acc) })
				}
				for i := 1; i < len(vs); i++ {
					for j, g := range outs[i] {
						w := outs[0][j]
						if i > 1 && g != outs[1][j] {
							t.Fatalf("rows %d k %d acc %v: %s C[%d] = %v, %s gave %v", rows, k, acc, vs[i].name, j, g, vs[1].name, outs[1][j])
						}
						if math.Abs(float64(g-w)) > 1e-4*math.Sqrt(float64(k))*(1+math.Abs(float64(w))) {
							t.Fatalf("rows %d k %d acc %v: %s C[%d] = %v, generic %v", rows, k, acc, vs[i].name, j, g, w)
						}
					}
				}
			}
		}
	}
}

// TestKernelPairMatchesKernel checks the two-panel kernel against two
// one-panel calls, bit for bit, under every variant.
func TestKernelPairMatchesKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, v := range kernelVariants() {
		for rows := 1; rows <= 30; rows++ {
			for _, k := range []int{1, 2, 3, 17, 385} {
				for _, acc := range []bool{false, true} {
					lda, ldc := k+1, 2*nr+rows%3
					a := randSlice(r, (rows-1)*lda+k)
					b0, b1 := randSlice(r, k*nr), randSlice(r, k*nr)
					c0 := randSlice(r, (rows-1)*ldc+2*nr)
					got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
					v.use(func() {
						kernelPair(rows, k, a, lda, b0, b1, got, ldc, acc)
						kernel(rows, k, a, lda, b0, want, ldc, acc)
						kernel(rows, k, a, lda, b1, want[nr:], ldc, acc)
					})
					for j := range got {
						if got[j] != want[j] {
							t.Fatalf("%s rows %d k %d acc %v: C[%d] = %v, one panel at a time %v", v.name, rows, k, acc, j, got[j], want[j])
						}
					}
				}
			}
		}
	}
}
