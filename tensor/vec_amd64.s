#include "textflag.h"

// Vectorised element-wise kernels (AVX2+FMA), 8 floats at a time; the Go
// callers handle the n%8 tail. exp follows Cephes' expf (≈1 ulp); erf is
// Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7), the same approximation
// PyTorch's vectorised CPU kernels use.

// Constants stored eight times over, so that instructions take them as
// 256-bit memory operands: a plain load, where a broadcast from memory would
// also occupy one of the FP pipes the arithmetic needs.
#define C8(sym, off, v) DATA sym+(off)(SB)/4, v; DATA sym+(off+4)(SB)/4, v; DATA sym+(off+8)(SB)/4, v; DATA sym+(off+12)(SB)/4, v; DATA sym+(off+16)(SB)/4, v; DATA sym+(off+20)(SB)/4, v; DATA sym+(off+24)(SB)/4, v; DATA sym+(off+28)(SB)/4, v

C8(expc<>, 0, $88.3762626647949)
C8(expc<>, 32, $-87.3365447504)
C8(expc<>, 64, $1.44269504088896341)
C8(expc<>, 96, $0.5)
C8(expc<>, 128, $0.693359375)
C8(expc<>, 160, $-2.12194440e-4)
C8(expc<>, 192, $1.9875691500e-4)
C8(expc<>, 224, $1.3981999507e-3)
C8(expc<>, 256, $8.3334519073e-3)
C8(expc<>, 288, $4.1665795894e-2)
C8(expc<>, 320, $1.6666665459e-1)
C8(expc<>, 352, $5.0000001201e-1)
C8(expc<>, 384, $1.0)
C8(expc<>, 416, $127)
GLOBL expc<>(SB), RODATA|NOPTR, $448

C8(erfc<>, 0, $0.3275911)
C8(erfc<>, 32, $0.254829592)
C8(erfc<>, 64, $-0.284496736)
C8(erfc<>, 96, $1.421413741)
C8(erfc<>, 128, $-1.453152027)
C8(erfc<>, 160, $1.061405429)
C8(erfc<>, 192, $0.70710678118654752)
C8(erfc<>, 224, $0x7fffffff)
C8(erfc<>, 256, $0x80000000)
C8(erfc<>, 288, $0.7978845608028654)
C8(erfc<>, 320, $0.044715)
C8(erfc<>, 352, $2.0)
GLOBL erfc<>(SB), RODATA|NOPTR, $384

// EXP computes Y0 = exp(Y0) for 8 lanes; clobbers Y1-Y4. Inputs below the
// smallest normal result give exactly 0 (as softmax over masked keys needs).
#define EXP \
	VCMPPS $5, expc<>+32(SB), Y0, Y4 \
	VMAXPS expc<>+32(SB), Y0, Y0 \
	VMINPS expc<>+0(SB), Y0, Y0 \
	VMOVUPS expc<>+64(SB), Y1 \
	VFMADD213PS expc<>+96(SB), Y0, Y1 \
	VROUNDPS $1, Y1, Y1 \
	VFNMADD231PS expc<>+128(SB), Y1, Y0 \
	VFNMADD231PS expc<>+160(SB), Y1, Y0 \
	VMULPS Y0, Y0, Y3 \
	VMOVUPS expc<>+192(SB), Y2 \
	VFMADD213PS expc<>+224(SB), Y0, Y2 \
	VFMADD213PS expc<>+256(SB), Y0, Y2 \
	VFMADD213PS expc<>+288(SB), Y0, Y2 \
	VFMADD213PS expc<>+320(SB), Y0, Y2 \
	VFMADD213PS expc<>+352(SB), Y0, Y2 \
	VFMADD213PS Y0, Y3, Y2 \
	VADDPS expc<>+384(SB), Y2, Y2 \
	VCVTTPS2DQ Y1, Y1 \
	VPADDD expc<>+416(SB), Y1, Y1 \
	VPSLLD $23, Y1, Y1 \
	VMULPS Y1, Y2, Y0 \
	VANDPS Y4, Y0, Y0

// func vexpSumAVX2(x *float32, n int, scale, shift float32) float32
// x[i] = exp(x[i]*scale - shift); returns the sum. n is a multiple of 8.
TEXT ·vexpSumAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS scale+16(FP), Y6
	VBROADCASTSS shift+20(FP), Y7
	VXORPS Y8, Y8, Y8
	SHRQ $3, CX
	JEQ expdone
exploop:
	VMOVUPS (SI), Y0
	VFMSUB213PS Y7, Y6, Y0 // x*scale - shift
	EXP
	VMOVUPS Y0, (SI)
	VADDPS Y0, Y8, Y8
	ADDQ $32, SI
	DECQ CX
	JNZ exploop
expdone:
	VEXTRACTF128 $1, Y8, X1
	VADDPS X1, X8, X8
	VHADDPS X8, X8, X8
	VHADDPS X8, X8, X8
	MOVSS X8, ret+24(FP)
	VZEROUPPER
	RET

// func vmaxAVX2(x *float32, n int) float32 — n is a positive multiple of 8.
TEXT ·vmaxAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VMOVUPS (SI), Y0
	ADDQ $32, SI
	SHRQ $3, CX
	DECQ CX
	JEQ maxdone
maxloop:
	VMAXPS (SI), Y0, Y0
	ADDQ $32, SI
	DECQ CX
	JNZ maxloop
maxdone:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	MOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func vscaleAVX2(x *float32, n int, s float32) — n is a multiple of 8.
TEXT ·vscaleAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS s+16(FP), Y1
	SHRQ $3, CX
	JEQ scaledone
scaleloop:
	VMULPS (SI), Y1, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	DECQ CX
	JNZ scaleloop
scaledone:
	VZEROUPPER
	RET

// func vaddAVX2(x, b *float32, n int) — x += b; n is a multiple of 8.
TEXT ·vaddAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JEQ adddone
addloop:
	VMOVUPS (SI), Y0
	VADDPS (DI), Y0, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ addloop
adddone:
	VZEROUPPER
	RET

// func vgeluAVX2(x, b *float32, n int) — x = gelu(x + b) with erf; n is a
// multiple of 8.
TEXT ·vgeluAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JEQ geludone
geluloop:
	VMOVUPS (SI), Y9
	VADDPS (DI), Y9, Y9                 // v = x + b
	VMULPS erfc<>+192(SB), Y9, Y10      // z = v/√2
	VANDPS erfc<>+224(SB), Y10, Y11     // |z|
	VANDPS erfc<>+256(SB), Y10, Y12     // sign(z)
	VMOVUPS erfc<>+0(SB), Y13
	VFMADD213PS expc<>+384(SB), Y11, Y13 // 1 + p|z|
	VMOVUPS expc<>+384(SB), Y14
	VDIVPS Y13, Y14, Y13                // t = 1/(1+p|z|)
	VMULPS Y11, Y11, Y0
	VXORPS Y1, Y1, Y1
	VSUBPS Y0, Y1, Y0                   // -z²
	EXP                                 // Y0 = exp(-z²)
	VMOVUPS erfc<>+160(SB), Y1
	VFMADD213PS erfc<>+128(SB), Y13, Y1
	VFMADD213PS erfc<>+96(SB), Y13, Y1
	VFMADD213PS erfc<>+64(SB), Y13, Y1
	VFMADD213PS erfc<>+32(SB), Y13, Y1
	VMULPS Y13, Y1, Y1                  // poly(t)·t
	VMULPS Y0, Y1, Y1                   // ·exp(-z²)
	VSUBPS Y1, Y14, Y1                  // erf(|z|)
	VORPS Y12, Y1, Y1                   // copy sign
	VADDPS Y14, Y1, Y1                  // 1 + erf(z)
	VMULPS expc<>+96(SB), Y9, Y9        // 0.5 v
	VMULPS Y1, Y9, Y9
	VMOVUPS Y9, (SI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ geluloop
geludone:
	VZEROUPPER
	RET

// func vgeluTanhAVX2(x, b *float32, n int) — with v = x + b and
// u = √(2/π)(v+0.044715v³): 0.5v(1+tanh u) = v/(1+exp(-2u)), a form without
// cancellation for negative v; n is a multiple of 8.
TEXT ·vgeluTanhAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JEQ tanhdone
tanhloop:
	VMOVUPS (SI), Y9
	VADDPS (DI), Y9, Y9                 // v
	VMULPS Y9, Y9, Y10
	VMULPS Y9, Y10, Y10                 // v³
	VMOVUPS erfc<>+320(SB), Y11
	VFMADD213PS Y9, Y11, Y10            // v + 0.044715 v³
	VMULPS erfc<>+288(SB), Y10, Y10     // u
	VMULPS erfc<>+352(SB), Y10, Y0      // 2u
	VXORPS Y1, Y1, Y1
	VSUBPS Y0, Y1, Y0                   // -2u
	EXP
	VADDPS expc<>+384(SB), Y0, Y0       // 1 + exp(-2u)
	VDIVPS Y0, Y9, Y9
	VMOVUPS Y9, (SI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ tanhloop
tanhdone:
	VZEROUPPER
	RET

// LayerNorm's passes. The sums run in float64 (two accumulators of four
// lanes each), as the portable LayerNorm does; n is a multiple of 8.

// HSUMPD adds the lanes of Y0 and Y1 into the low double of X0.
#define HSUMPD \
	VADDPD Y1, Y0, Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPD X1, X0, X0 \
	VHADDPD X0, X0, X0

// func vsum64AVX2(x *float32, n int) float64
TEXT ·vsum64AVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	SHRQ $3, CX
	JEQ sum64done
sum64loop:
	VCVTPS2PD (SI), Y2
	VCVTPS2PD 16(SI), Y3
	VADDPD Y2, Y0, Y0
	VADDPD Y3, Y1, Y1
	ADDQ $32, SI
	DECQ CX
	JNZ sum64loop
sum64done:
	HSUMPD
	MOVSD X0, ret+16(FP)
	VZEROUPPER
	RET

// func vdev64AVX2(x *float32, n int, mean float64) float64 returns the sum
// of (x[i]-mean)².
TEXT ·vdev64AVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSD mean+16(FP), Y4
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	SHRQ $3, CX
	JEQ dev64done
dev64loop:
	VCVTPS2PD (SI), Y2
	VCVTPS2PD 16(SI), Y3
	VSUBPD Y4, Y2, Y2
	VSUBPD Y4, Y3, Y3
	VFMADD231PD Y2, Y2, Y0
	VFMADD231PD Y3, Y3, Y1
	ADDQ $32, SI
	DECQ CX
	JNZ dev64loop
dev64done:
	HSUMPD
	MOVSD X0, ret+24(FP)
	VZEROUPPER
	RET

// func vnormAVX2(x, gamma, beta *float32, n int, mean, inv float64) sets
// x[i] = float32((x[i]-mean)·inv)·gamma[i] + beta[i], the first product in
// float64, rounding where the portable loop does, so both give the same
// bits.
TEXT ·vnormAVX2(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ gamma+8(FP), DX
	MOVQ beta+16(FP), BX
	MOVQ n+24(FP), CX
	VBROADCASTSD mean+32(FP), Y4
	VBROADCASTSD inv+40(FP), Y5
	SHRQ $3, CX
	JEQ normdone
normloop:
	VCVTPS2PD (SI), Y0
	VCVTPS2PD 16(SI), Y1
	VSUBPD Y4, Y0, Y0
	VSUBPD Y4, Y1, Y1
	VMULPD Y5, Y0, Y0
	VMULPD Y5, Y1, Y1
	VCVTPD2PSY Y0, X0
	VCVTPD2PSY Y1, X1
	VINSERTF128 $1, X1, Y0, Y0
	VMULPS (DX), Y0, Y0
	VADDPS (BX), Y0, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, BX
	DECQ CX
	JNZ normloop
normdone:
	VZEROUPPER
	RET
