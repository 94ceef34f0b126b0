#include "textflag.h"

// func kernAVX512_12(n, k int, a *float32, lda int, b *float32, c *float32, ldc int, acc bool)
// runs n consecutive 12-row tiles C[12×16] (+)= A[12×k]·B[k×16] over the
// same packed panel, like kernAVX2_6: A read in place, rows lda floats apart;
// B a panel of 16 floats per k; C rows ldc floats apart. One zmm per row
// holds the whole 16-wide row, so twelve accumulators leave room for two B
// rows, and A's element comes in as an embedded broadcast operand of the FMA
// (no separate broadcast instruction, unlike AVX2). GemmTask uses it only
// for a lone last panel; kernAVX512_12x32 below does the rest.
//
// Registers: BX tiles left, R10 loop count, SI/R11/AX/CX rows 0/3/6/9,
// R8 lda bytes, DI B, DX C row, R9 ldc bytes, R12/R13 the tile's A and C
// starts. R14 and R15 are left alone.

#define ROW3(base, off, b, c0, c1, c2) \
	VFMADD231PS.BCST off(base), b, c0 \
	VFMADD231PS.BCST off(base)(R8*1), b, c1 \
	VFMADD231PS.BCST off(base)(R8*2), b, c2

// STEP12 is one k step: A's column at byte offset off from the current k
// times the B row in register b.
#define STEP12(off, b) \
	ROW3(SI, off, b, Z0, Z1, Z2) \
	ROW3(R11, off, b, Z3, Z4, Z5) \
	ROW3(AX, off, b, Z6, Z7, Z8) \
	ROW3(CX, off, b, Z9, Z10, Z11)

#define PREFETCHC \
	PREFETCHT0 (DX) \
	PREFETCHT0 60(DX) \
	ADDQ R9, DX

// PREFETCH12 prefetches the tile's twelve C rows with the given macro.
#define PREFETCH12(row) \
	row \
	row \
	row \
	row \
	row \
	row \
	row \
	row \
	row \
	row \
	row \
	row

#define STOREROW(r) \
	CMPB acc+56(FP), $0 \
	JEQ 2(PC) \
	VADDPS (DX), r, r \
	VMOVUPS r, (DX) \
	ADDQ R9, DX

// func kernAVX512_12x32(n, k int, a *float32, lda int, b0, b1 *float32, c *float32, ldc int, acc bool)
// is kernAVX512_12 over two panels at once (b0 for C's columns 0–15, b1 for
// 16–31): two FMAs per broadcast A element, so the loads (2 B rows and 12
// broadcasts per k) stay below the FMAs (24 per k) and the two FMA pipes
// can run full. Accumulators Z0–Z23 (row r: Z2r, Z2r+1), B rows Z24–Z27,
// broadcasts Z28–Z31.
//
// Registers: BX tiles left, R10 loop count, SI/R11/AX/CX rows 0/3/6/9,
// R8 lda bytes, DI b0, DX b1 (C row while storing), R9 ldc bytes, R12/R13
// the tile's A and C starts.

#define BC(addr, t, lo, hi, b0, b1) \
	VBROADCASTSS addr, t \
	VFMADD231PS b0, t, lo \
	VFMADD231PS b1, t, hi

#define STEP12X32(off, b0, b1) \
	BC(off(SI), Z28, Z0, Z1, b0, b1) \
	BC(off(SI)(R8*1), Z29, Z2, Z3, b0, b1) \
	BC(off(SI)(R8*2), Z30, Z4, Z5, b0, b1) \
	BC(off(R11), Z31, Z6, Z7, b0, b1) \
	BC(off(R11)(R8*1), Z28, Z8, Z9, b0, b1) \
	BC(off(R11)(R8*2), Z29, Z10, Z11, b0, b1) \
	BC(off(AX), Z30, Z12, Z13, b0, b1) \
	BC(off(AX)(R8*1), Z31, Z14, Z15, b0, b1) \
	BC(off(AX)(R8*2), Z28, Z16, Z17, b0, b1) \
	BC(off(CX), Z29, Z18, Z19, b0, b1) \
	BC(off(CX)(R8*1), Z30, Z20, Z21, b0, b1) \
	BC(off(CX)(R8*2), Z31, Z22, Z23, b0, b1)

#define PREFETCHC2 \
	PREFETCHT0 (DX) \
	PREFETCHT0 64(DX) \
	PREFETCHT0 124(DX) \
	ADDQ R9, DX

#define STOREROW2(lo, hi) \
	CMPB acc+64(FP), $0 \
	JEQ 3(PC) \
	VADDPS (DX), lo, lo \
	VADDPS 64(DX), hi, hi \
	VMOVUPS lo, (DX) \
	VMOVUPS hi, 64(DX) \
	ADDQ R9, DX

// ARGS12 loads what both kernels take at the same offsets; ROWS12 points
// SI, R11, AX and CX at rows 0, 3, 6 and 9 of the tile starting at R12;
// NEXT12 moves R12 and R13 twelve rows down in A and C.
// ZERO12 clears the twelve accumulators of the 12×16 tile (the first
// twelve of the 12×32 tile).
#define ZERO12 \
	VPXORD Z0, Z0, Z0 \
	VPXORD Z1, Z1, Z1 \
	VPXORD Z2, Z2, Z2 \
	VPXORD Z3, Z3, Z3 \
	VPXORD Z4, Z4, Z4 \
	VPXORD Z5, Z5, Z5 \
	VPXORD Z6, Z6, Z6 \
	VPXORD Z7, Z7, Z7 \
	VPXORD Z8, Z8, Z8 \
	VPXORD Z9, Z9, Z9 \
	VPXORD Z10, Z10, Z10 \
	VPXORD Z11, Z11, Z11

#define ARGS12 \
	MOVQ n+0(FP), BX \
	MOVQ lda+24(FP), R8 \
	SHLQ $2, R8 \
	MOVQ a+16(FP), R12

#define ROWS12 \
	MOVQ R12, SI \
	LEAQ (R12)(R8*2), R11 \
	ADDQ R8, R11 \
	LEAQ (R11)(R8*2), AX \
	ADDQ R8, AX \
	LEAQ (AX)(R8*2), CX \
	ADDQ R8, CX

#define NEXT12 \
	LEAQ (R12)(R8*8), R12 \
	LEAQ (R12)(R8*4), R12 \
	LEAQ (R13)(R9*8), R13 \
	LEAQ (R13)(R9*4), R13

TEXT ·kernAVX512_12(SB), NOSPLIT, $0-57
	ARGS12
	MOVQ ldc+48(FP), R9
	SHLQ $2, R9
	MOVQ c+40(FP), R13
	TESTQ BX, BX
	JEQ done
tile:
	ROWS12
	MOVQ b+32(FP), DI
	MOVQ R13, DX
	PREFETCH12(PREFETCHC)
	ZERO12
	MOVQ k+8(FP), R10
	SHRQ $1, R10
	JEQ tail
loop:
	VMOVUPS (DI), Z12
	VMOVUPS 64(DI), Z13
	STEP12(0, Z12)
	STEP12(4, Z13)
	ADDQ $8, SI
	ADDQ $8, R11
	ADDQ $8, AX
	ADDQ $8, CX
	ADDQ $128, DI
	DECQ R10
	JNZ loop
tail:
	MOVQ k+8(FP), DX
	ANDQ $1, DX
	JEQ store
	VMOVUPS (DI), Z12
	STEP12(0, Z12)
store:
	MOVQ R13, DX
	STOREROW(Z0)
	STOREROW(Z1)
	STOREROW(Z2)
	STOREROW(Z3)
	STOREROW(Z4)
	STOREROW(Z5)
	STOREROW(Z6)
	STOREROW(Z7)
	STOREROW(Z8)
	STOREROW(Z9)
	STOREROW(Z10)
	STOREROW(Z11)
	NEXT12
	DECQ BX
	JNZ tile
done:
	VZEROUPPER
	RET

TEXT ·kernAVX512_12x32(SB), NOSPLIT, $0-65
	ARGS12
	MOVQ ldc+56(FP), R9
	SHLQ $2, R9
	MOVQ c+48(FP), R13
	TESTQ BX, BX
	JEQ done2
tile2:
	ROWS12
	MOVQ R13, DX
	PREFETCH12(PREFETCHC2)
	MOVQ b0+32(FP), DI
	MOVQ b1+40(FP), DX
	ZERO12
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	MOVQ k+8(FP), R10
	SHRQ $1, R10
	JEQ tail2
loop2:
	VMOVUPS (DI), Z24
	VMOVUPS (DX), Z25
	VMOVUPS 64(DI), Z26
	VMOVUPS 64(DX), Z27
	STEP12X32(0, Z24, Z25)
	STEP12X32(4, Z26, Z27)
	ADDQ $8, SI
	ADDQ $8, R11
	ADDQ $8, AX
	ADDQ $8, CX
	ADDQ $128, DI
	ADDQ $128, DX
	DECQ R10
	JNZ loop2
tail2:
	MOVQ k+8(FP), R10
	ANDQ $1, R10
	JEQ store2
	VMOVUPS (DI), Z24
	VMOVUPS (DX), Z25
	STEP12X32(0, Z24, Z25)
store2:
	MOVQ R13, DX
	STOREROW2(Z0, Z1)
	STOREROW2(Z2, Z3)
	STOREROW2(Z4, Z5)
	STOREROW2(Z6, Z7)
	STOREROW2(Z8, Z9)
	STOREROW2(Z10, Z11)
	STOREROW2(Z12, Z13)
	STOREROW2(Z14, Z15)
	STOREROW2(Z16, Z17)
	STOREROW2(Z18, Z19)
	STOREROW2(Z20, Z21)
	STOREROW2(Z22, Z23)
	NEXT12
	DECQ BX
	JNZ tile2
done2:
	VZEROUPPER
	RET
