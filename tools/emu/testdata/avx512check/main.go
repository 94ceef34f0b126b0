// Command avx512check proves that tools/emu/avx512.sh gives a program
// AVX-512: it prints what golang.org/x/sys/cpu sees and, when AVX-512F is
// there, adds two vectors of 16 float32 with one masked VADDPS on ZMM
// registers and checks the result. It exits 1 if anything is wrong.
package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/cpu"
)

// addMasked sets dst[i] = a[i]+b[i] where bit i of mask is set, else 0.
//
//go:noescape
func addMasked(dst, a, b *[16]float32, mask uint16)

func main() {
	fmt.Printf("AVX2=%v AVX512F=%v AVX512DQ=%v AVX512BW=%v AVX512VL=%v\n",
		cpu.X86.HasAVX2, cpu.X86.HasAVX512F, cpu.X86.HasAVX512DQ, cpu.X86.HasAVX512BW, cpu.X86.HasAVX512VL)
	if !cpu.X86.HasAVX512F {
		fmt.Println("FAIL: no AVX-512F")
		os.Exit(1)
	}
	var a, b, dst [16]float32
	for i := range a {
		a[i], b[i] = float32(i), float32(100*i)+0.5
	}
	const mask = 0xbeef
	addMasked(&dst, &a, &b, mask)
	ok := true
	for i := range dst {
		want := float32(0)
		if mask>>i&1 == 1 {
			want = a[i] + b[i]
		}
		if dst[i] != want {
			fmt.Printf("lane %d: got %v, want %v\n", i, dst[i], want)
			ok = false
		}
	}
	fmt.Printf("VADDPS.Z zmm result: %v\n", dst)
	if !ok {
		fmt.Println("FAIL: wrong result")
		os.Exit(1)
	}
	fmt.Println("PASS: AVX-512 VADDPS on 16 floats with mask", fmt.Sprintf("%#x", mask))
}
