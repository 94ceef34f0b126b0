#include "textflag.h"

// Micro-kernels C[R×16] (+)= A[R×k]·B[k×16] for R = 6, 4, 2, 1 with AVX2+FMA.
// A is packed k-major, 6 floats per k (a row tile of 6, zero-padded), so the
// broadcasts walk memory sequentially; B is a packed panel (16 floats per
// k); C rows are ldc floats apart. Accumulators: two ymm per row.
//
// func kernAVX2_R(k int, a *float32, b *float32, c *float32, ldc int, acc bool)

#define LOADARGS \
	MOVQ k+0(FP), CX \
	MOVQ a+8(FP), SI \
	MOVQ b+16(FP), DI \
	MOVQ c+24(FP), DX \
	MOVQ ldc+32(FP), R9 \
	SHLQ $2, R9

#define ROW(addr, lo, hi) \
	VBROADCASTSS addr, Y14 \
	VFMADD231PS Y12, Y14, lo \
	VFMADD231PS Y13, Y14, hi

#define STOREROW(lo, hi) \
	CMPB acc+40(FP), $0 \
	JEQ 3(PC) \
	VADDPS (DX), lo, lo \
	VADDPS 32(DX), hi, hi \
	VMOVUPS lo, (DX) \
	VMOVUPS hi, 32(DX) \
	ADDQ R9, DX

TEXT ·kernAVX2_6(SB), NOSPLIT, $0-41
	LOADARGS
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	TESTQ CX, CX
	JEQ store6
	MOVQ CX, R10
	SHRQ $1, R10
	JEQ tail6
loop6:
	VMOVUPS (DI), Y12
	VMOVUPS 32(DI), Y13
	ROW(0(SI), Y0, Y1)
	ROW(4(SI), Y2, Y3)
	ROW(8(SI), Y4, Y5)
	ROW(12(SI), Y6, Y7)
	ROW(16(SI), Y8, Y9)
	ROW(20(SI), Y10, Y11)
	VMOVUPS 64(DI), Y12
	VMOVUPS 96(DI), Y13
	ROW(24(SI), Y0, Y1)
	ROW(28(SI), Y2, Y3)
	ROW(32(SI), Y4, Y5)
	ROW(36(SI), Y6, Y7)
	ROW(40(SI), Y8, Y9)
	ROW(44(SI), Y10, Y11)
	ADDQ $48, SI
	ADDQ $128, DI
	DECQ R10
	JNZ loop6
tail6:
	ANDQ $1, CX
	JEQ store6
	VMOVUPS (DI), Y12
	VMOVUPS 32(DI), Y13
	ROW(0(SI), Y0, Y1)
	ROW(4(SI), Y2, Y3)
	ROW(8(SI), Y4, Y5)
	ROW(12(SI), Y6, Y7)
	ROW(16(SI), Y8, Y9)
	ROW(20(SI), Y10, Y11)
store6:
	STOREROW(Y0, Y1)
	STOREROW(Y2, Y3)
	STOREROW(Y4, Y5)
	STOREROW(Y6, Y7)
	STOREROW(Y8, Y9)
	STOREROW(Y10, Y11)
	VZEROUPPER
	RET

TEXT ·kernAVX2_4(SB), NOSPLIT, $0-41
	LOADARGS
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	TESTQ CX, CX
	JEQ store4
loop4:
	VMOVUPS (DI), Y12
	VMOVUPS 32(DI), Y13
	ROW(0(SI), Y0, Y1)
	ROW(4(SI), Y2, Y3)
	ROW(8(SI), Y4, Y5)
	ROW(12(SI), Y6, Y7)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ loop4
store4:
	STOREROW(Y0, Y1)
	STOREROW(Y2, Y3)
	STOREROW(Y4, Y5)
	STOREROW(Y6, Y7)
	VZEROUPPER
	RET

TEXT ·kernAVX2_2(SB), NOSPLIT, $0-41
	LOADARGS
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ CX, CX
	JEQ store2
loop2:
	VMOVUPS (DI), Y12
	VMOVUPS 32(DI), Y13
	ROW(0(SI), Y0, Y1)
	ROW(4(SI), Y2, Y3)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ loop2
store2:
	STOREROW(Y0, Y1)
	STOREROW(Y2, Y3)
	VZEROUPPER
	RET

TEXT ·kernAVX2_1(SB), NOSPLIT, $0-41
	LOADARGS
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	TESTQ CX, CX
	JEQ store1
loop1:
	VMOVUPS (DI), Y12
	VMOVUPS 32(DI), Y13
	ROW(0(SI), Y0, Y1)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ loop1
store1:
	STOREROW(Y0, Y1)
	VZEROUPPER
	RET
