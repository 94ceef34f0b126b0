#include "textflag.h"

// Int8 micro-kernels: C (int32) (+)= A (u8, row-major, lda bytes apart) ·
// packed B (s8 panels: per group of four k, 16 columns of four bytes). kq is
// the number of four-k groups. All sums are exact in int32.

// ---------------------------------------------------------------------------
// AVX-512 VNNI: VPDPBUSD multiplies the four unsigned bytes of each 32-bit
// lane of the broadcast A group with the four signed bytes of the B lane and
// adds the sum to the int32 accumulator, with no intermediate saturation.

// VDOT is one row of a 32-column tile for one k group: broadcast the row's
// four A bytes, then one VPDPBUSD per panel.
#define VDOT(addr, t, lo, hi, b0, b1) \
	VPBROADCASTD addr, t \
	VPDPBUSD b0, t, lo \
	VPDPBUSD b1, t, hi

#define VSTEP12(off, b0, b1) \
	VDOT(off(SI), Z28, Z0, Z1, b0, b1) \
	VDOT(off(SI)(R8*1), Z29, Z2, Z3, b0, b1) \
	VDOT(off(SI)(R8*2), Z30, Z4, Z5, b0, b1) \
	VDOT(off(R11), Z31, Z6, Z7, b0, b1) \
	VDOT(off(R11)(R8*1), Z28, Z8, Z9, b0, b1) \
	VDOT(off(R11)(R8*2), Z29, Z10, Z11, b0, b1) \
	VDOT(off(AX), Z30, Z12, Z13, b0, b1) \
	VDOT(off(AX)(R8*1), Z31, Z14, Z15, b0, b1) \
	VDOT(off(AX)(R8*2), Z28, Z16, Z17, b0, b1) \
	VDOT(off(CX), Z29, Z18, Z19, b0, b1) \
	VDOT(off(CX)(R8*1), Z30, Z20, Z21, b0, b1) \
	VDOT(off(CX)(R8*2), Z31, Z22, Z23, b0, b1)

#define VSTEP4(off, b0, b1) \
	VDOT(off(SI), Z28, Z0, Z1, b0, b1) \
	VDOT(off(SI)(R8*1), Z29, Z2, Z3, b0, b1) \
	VDOT(off(SI)(R8*2), Z30, Z4, Z5, b0, b1) \
	VDOT(off(R11), Z31, Z6, Z7, b0, b1)

// VSTORE writes (or adds into) one 32-column row of C and moves DX down.
#define VSTORE(lo, hi) \
	CMPB acc+64(FP), $0 \
	JEQ 3(PC) \
	VPADDD (DX), lo, lo \
	VPADDD 64(DX), hi, hi \
	VMOVDQU32 lo, (DX) \
	VMOVDQU32 hi, 64(DX) \
	ADDQ R9, DX

#define VZERO(r) VPXORD r, r, r

// VARGS loads what the three VNNI kernels share: BX tiles, R8 lda bytes,
// R9 ldc bytes, R12 A, R13 C.
#define VARGS \
	MOVQ n+0(FP), BX \
	MOVQ lda+24(FP), R8 \
	MOVQ a+16(FP), R12 \
	MOVQ ldc+56(FP), R9 \
	SHLQ $2, R9 \
	MOVQ c+48(FP), R13

// func kernVNNI_12x32(n, kq int, a *uint8, lda int, b0, b1 *int8, c *int32, ldc int, acc bool)
// runs n consecutive 12-row tiles of C[12×32] over the panel pair b0, b1.
// Accumulators Z0–Z23 (row r: Z2r, Z2r+1), B rows Z24–Z27, broadcasts
// Z28–Z31; SI/R11/AX/CX point at A rows 0/3/6/9, DI at b0, DX at b1.
TEXT ·kernVNNI_12x32(SB), NOSPLIT, $0-65
	VARGS
	TESTQ BX, BX
	JEQ done12
tile12:
	MOVQ R12, SI
	LEAQ (R12)(R8*2), R11
	ADDQ R8, R11
	LEAQ (R11)(R8*2), AX
	ADDQ R8, AX
	LEAQ (AX)(R8*2), CX
	ADDQ R8, CX
	MOVQ b0+32(FP), DI
	MOVQ b1+40(FP), DX
	VZERO(Z0)
	VZERO(Z1)
	VZERO(Z2)
	VZERO(Z3)
	VZERO(Z4)
	VZERO(Z5)
	VZERO(Z6)
	VZERO(Z7)
	VZERO(Z8)
	VZERO(Z9)
	VZERO(Z10)
	VZERO(Z11)
	VZERO(Z12)
	VZERO(Z13)
	VZERO(Z14)
	VZERO(Z15)
	VZERO(Z16)
	VZERO(Z17)
	VZERO(Z18)
	VZERO(Z19)
	VZERO(Z20)
	VZERO(Z21)
	VZERO(Z22)
	VZERO(Z23)
	MOVQ kq+8(FP), R10
	SHRQ $1, R10
	JEQ tail12
loop12:
	VMOVDQU32 (DI), Z24
	VMOVDQU32 (DX), Z25
	VMOVDQU32 64(DI), Z26
	VMOVDQU32 64(DX), Z27
	VSTEP12(0, Z24, Z25)
	VSTEP12(4, Z26, Z27)
	ADDQ $8, SI
	ADDQ $8, R11
	ADDQ $8, AX
	ADDQ $8, CX
	ADDQ $128, DI
	ADDQ $128, DX
	DECQ R10
	JNZ loop12
tail12:
	MOVQ kq+8(FP), R10
	ANDQ $1, R10
	JEQ store12
	VMOVDQU32 (DI), Z24
	VMOVDQU32 (DX), Z25
	VSTEP12(0, Z24, Z25)
store12:
	MOVQ R13, DX
	VSTORE(Z0, Z1)
	VSTORE(Z2, Z3)
	VSTORE(Z4, Z5)
	VSTORE(Z6, Z7)
	VSTORE(Z8, Z9)
	VSTORE(Z10, Z11)
	VSTORE(Z12, Z13)
	VSTORE(Z14, Z15)
	VSTORE(Z16, Z17)
	VSTORE(Z18, Z19)
	VSTORE(Z20, Z21)
	VSTORE(Z22, Z23)
	LEAQ (R12)(R8*8), R12
	LEAQ (R12)(R8*4), R12
	LEAQ (R13)(R9*8), R13
	LEAQ (R13)(R9*4), R13
	DECQ BX
	JNZ tile12
done12:
	VZEROUPPER
	RET

// func kernVNNI_4x32(n, kq int, a *uint8, lda int, b0, b1 *int8, c *int32, ldc int, acc bool)
// is kernVNNI_12x32 with 4-row tiles (SI row 0, R11 row 3).
TEXT ·kernVNNI_4x32(SB), NOSPLIT, $0-65
	VARGS
	TESTQ BX, BX
	JEQ done4
tile4:
	MOVQ R12, SI
	LEAQ (R12)(R8*2), R11
	ADDQ R8, R11
	MOVQ b0+32(FP), DI
	MOVQ b1+40(FP), DX
	VZERO(Z0)
	VZERO(Z1)
	VZERO(Z2)
	VZERO(Z3)
	VZERO(Z4)
	VZERO(Z5)
	VZERO(Z6)
	VZERO(Z7)
	MOVQ kq+8(FP), R10
	SHRQ $1, R10
	JEQ tail4
loop4:
	VMOVDQU32 (DI), Z24
	VMOVDQU32 (DX), Z25
	VMOVDQU32 64(DI), Z26
	VMOVDQU32 64(DX), Z27
	VSTEP4(0, Z24, Z25)
	VSTEP4(4, Z26, Z27)
	ADDQ $8, SI
	ADDQ $8, R11
	ADDQ $128, DI
	ADDQ $128, DX
	DECQ R10
	JNZ loop4
tail4:
	MOVQ kq+8(FP), R10
	ANDQ $1, R10
	JEQ store4
	VMOVDQU32 (DI), Z24
	VMOVDQU32 (DX), Z25
	VSTEP4(0, Z24, Z25)
store4:
	MOVQ R13, DX
	VSTORE(Z0, Z1)
	VSTORE(Z2, Z3)
	VSTORE(Z4, Z5)
	VSTORE(Z6, Z7)
	LEAQ (R12)(R8*4), R12
	LEAQ (R13)(R9*4), R13
	DECQ BX
	JNZ tile4
done4:
	VZEROUPPER
	RET

// func kernVNNI_1x32(n, kq int, a *uint8, lda int, b0, b1 *int8, c *int32, ldc int, acc bool)
// runs n single rows. Two groups per pass go to separate accumulators
// (Z0/Z1 and Z2/Z3), so consecutive VPDPBUSDs do not wait on each other.
TEXT ·kernVNNI_1x32(SB), NOSPLIT, $0-65
	VARGS
	TESTQ BX, BX
	JEQ done1
tile1:
	MOVQ R12, SI
	MOVQ b0+32(FP), DI
	MOVQ b1+40(FP), DX
	VZERO(Z0)
	VZERO(Z1)
	VZERO(Z2)
	VZERO(Z3)
	MOVQ kq+8(FP), R10
	SHRQ $1, R10
	JEQ tail1
loop1:
	VMOVDQU32 (DI), Z24
	VMOVDQU32 (DX), Z25
	VMOVDQU32 64(DI), Z26
	VMOVDQU32 64(DX), Z27
	VDOT(0(SI), Z28, Z0, Z1, Z24, Z25)
	VDOT(4(SI), Z29, Z2, Z3, Z26, Z27)
	ADDQ $8, SI
	ADDQ $128, DI
	ADDQ $128, DX
	DECQ R10
	JNZ loop1
tail1:
	MOVQ kq+8(FP), R10
	ANDQ $1, R10
	JEQ store1
	VMOVDQU32 (DI), Z24
	VMOVDQU32 (DX), Z25
	VDOT(0(SI), Z28, Z0, Z1, Z24, Z25)
store1:
	VPADDD Z2, Z0, Z0
	VPADDD Z3, Z1, Z1
	MOVQ R13, DX
	VSTORE(Z0, Z1)
	ADDQ R8, R12
	ADDQ R9, R13
	DECQ BX
	JNZ tile1
done1:
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// AVX2: VPMADDUBSW multiplies unsigned A bytes with signed B bytes and adds
// adjacent pairs into int16 with saturation; VPMADDWD by ones then adds the
// two int16 of each 32-bit lane into an int32. With A bytes <= 127 a pair
// sum is at most 2·127·128 = 32512 in magnitude, so nothing saturates and
// the result equals VPDPBUSD's. One panel (16 columns: two ymm) at a time.

// ADOT is one row for one k group: Y8/Y9 hold the panel's two halves, Y10
// int16 ones; lo/hi are the row's accumulators.
#define ADOT(addr, lo, hi) \
	VPBROADCASTD addr, Y11 \
	VPMADDUBSW Y8, Y11, Y12 \
	VPMADDUBSW Y9, Y11, Y13 \
	VPMADDWD Y10, Y12, Y12 \
	VPMADDWD Y10, Y13, Y13 \
	VPADDD Y12, lo, lo \
	VPADDD Y13, hi, hi

// func kernAVX2I8_4x16(n, kq int, a *uint8, lda int, b *int8, c *int32, ldc int, acc bool)
// runs n consecutive 4-row tiles of C[4×16] over panel b. Accumulators
// Y0–Y7 (row r: Y2r, Y2r+1).
TEXT ·kernAVX2I8_4x16(SB), NOSPLIT, $0-57

// (The macros that name arguments sit inside the first function using
// them, where go vet checks the offsets against its frame.)
#define ASTORE(lo, hi) \
	CMPB acc+56(FP), $0 \
	JEQ 3(PC) \
	VPADDD (DX), lo, lo \
	VPADDD 32(DX), hi, hi \
	VMOVDQU lo, (DX) \
	VMOVDQU hi, 32(DX) \
	ADDQ R9, DX

#define AARGS \
	MOVQ n+0(FP), BX \
	MOVQ lda+24(FP), R8 \
	MOVQ a+16(FP), R12 \
	MOVQ ldc+48(FP), R9 \
	SHLQ $2, R9 \
	MOVQ c+40(FP), R13 \
	VPCMPEQW Y10, Y10, Y10 \
	VPSRLW $15, Y10, Y10

	AARGS
	TESTQ BX, BX
	JEQ adone4
atile4:
	MOVQ R12, SI
	LEAQ (R12)(R8*2), R11
	ADDQ R8, R11
	MOVQ b+32(FP), DI
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	MOVQ kq+8(FP), R10
aloop4:
	VMOVDQU (DI), Y8
	VMOVDQU 32(DI), Y9
	ADOT((SI), Y0, Y1)
	ADOT((SI)(R8*1), Y2, Y3)
	ADOT((SI)(R8*2), Y4, Y5)
	ADOT((R11), Y6, Y7)
	ADDQ $4, SI
	ADDQ $4, R11
	ADDQ $64, DI
	DECQ R10
	JNZ aloop4
	MOVQ R13, DX
	ASTORE(Y0, Y1)
	ASTORE(Y2, Y3)
	ASTORE(Y4, Y5)
	ASTORE(Y6, Y7)
	LEAQ (R12)(R8*4), R12
	LEAQ (R13)(R9*4), R13
	DECQ BX
	JNZ atile4
adone4:
	VZEROUPPER
	RET

// func kernAVX2I8_1x16(n, kq int, a *uint8, lda int, b *int8, c *int32, ldc int, acc bool)
// runs n single rows of C[1×16] over panel b.
TEXT ·kernAVX2I8_1x16(SB), NOSPLIT, $0-57
	AARGS
	TESTQ BX, BX
	JEQ adone1
atile1:
	MOVQ R12, SI
	MOVQ b+32(FP), DI
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	MOVQ kq+8(FP), R10
aloop1:
	VMOVDQU (DI), Y8
	VMOVDQU 32(DI), Y9
	ADOT((SI), Y0, Y1)
	ADDQ $4, SI
	ADDQ $64, DI
	DECQ R10
	JNZ aloop1
	MOVQ R13, DX
	ASTORE(Y0, Y1)
	ADDQ R8, R12
	ADDQ R9, R13
	DECQ BX
	JNZ atile1
adone1:
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// Row quantization helpers (AVX2), n a positive multiple of 8.

// func vminmaxAVX2(x *float32, n int) (lo, hi float32)
TEXT ·vminmaxAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VMOVUPS (SI), Y0
	VMOVUPS Y0, Y1
	ADDQ $32, SI
	SUBQ $8, CX
	JEQ mmreduce
mmloop:
	VMOVUPS (SI), Y2
	VMINPS Y2, Y0, Y0
	VMAXPS Y2, Y1, Y1
	ADDQ $32, SI
	SUBQ $8, CX
	JNE mmloop
mmreduce:
	VEXTRACTF128 $1, Y0, X2
	VMINPS X2, X0, X0
	VEXTRACTF128 $1, Y1, X3
	VMAXPS X3, X1, X1
	VPERMILPS $0x4E, X0, X2
	VMINPS X2, X0, X0
	VPERMILPS $0x4E, X1, X3
	VMAXPS X3, X1, X1
	VPERMILPS $0xB1, X0, X2
	VMINPS X2, X0, X0
	VPERMILPS $0xB1, X1, X3
	VMAXPS X3, X1, X1
	VMOVSS X0, lo+16(FP)
	VMOVSS X1, hi+20(FP)
	VZEROUPPER
	RET

// func vquantAVX2(dst *uint8, x *float32, n int, inv float32, zero, levels int32)
// dst[i] = clamp(roundEven(x[i]·inv) + zero, 0, levels): VCVTPS2DQ rounds
// half to even under the default MXCSR.
TEXT ·vquantAVX2(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS inv+24(FP), Y5
	MOVL zero+28(FP), AX
	VMOVD AX, X6
	VPBROADCASTD X6, Y6
	MOVL levels+32(FP), AX
	VMOVD AX, X7
	VPBROADCASTD X7, Y7
	VPXOR Y4, Y4, Y4
qloop:
	VMULPS (SI), Y5, Y0
	VCVTPS2DQ Y0, Y0
	VPADDD Y6, Y0, Y0
	VPMAXSD Y4, Y0, Y0
	VPMINSD Y7, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKUSDW X1, X0, X0
	VPACKUSWB X0, X0, X0
	MOVQ X0, (DI)
	ADDQ $32, SI
	ADDQ $8, DI
	SUBQ $8, CX
	JNE qloop
	VZEROUPPER
	RET

// func vdequantAVX2(c *float32, colSum *int32, ws *float32, n int, zero int32, rs float32)
// c[j] = float(int32 bits of c[j] − zero·colSum[j]) · (rs·ws[j]), in place.
TEXT ·vdequantAVX2(SB), NOSPLIT, $0-40
	MOVQ c+0(FP), DI
	MOVQ colSum+8(FP), SI
	MOVQ ws+16(FP), DX
	MOVQ n+24(FP), CX
	MOVL zero+32(FP), AX
	VMOVD AX, X6
	VPBROADCASTD X6, Y6
	VBROADCASTSS rs+36(FP), Y7
dqloop:
	VPMULLD (SI), Y6, Y1
	VMOVDQU (DI), Y0
	VPSUBD Y1, Y0, Y0
	VCVTDQ2PS Y0, Y0
	VMULPS (DX), Y7, Y2
	VMULPS Y2, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $8, CX
	JNE dqloop
	VZEROUPPER
	RET

// func vmulAVX2(dst, x, f *float32, n int)
// dst[i] = x[i]·f[i] (the same IEEE product as Go's), n a positive
// multiple of 8.
TEXT ·vmulAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ f+16(FP), DX
	MOVQ n+24(FP), CX
mloop:
	VMOVUPS (SI), Y0
	VMULPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $8, CX
	JNE mloop
	VZEROUPPER
	RET
