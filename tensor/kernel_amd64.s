#include "textflag.h"

// Micro-kernels C[R×16] (+)= A[R×k]·B[k×16] with AVX2+FMA. A is read in
// place (row-major, rows lda floats apart), as ONNX Runtime's MLAS does: the
// broadcasts need no packed copy, and the rows of a block stay in L2 across
// the column panels anyway. B is a packed panel (16 floats per k); C rows
// are ldc floats apart. Accumulators: two ymm per row.
//
// func kernAVX2_6(n, k int, a *float32, lda int, b *float32, c *float32, ldc int, acc bool, next *float32, step int)
// runs n consecutive 6-row tiles over the same panel, so the Go side pays
// one call per panel instead of one per tile. Unless next is nil, each loop
// pass also prefetches one line of next (the next panel's k range) into L2,
// step bytes further on each time, so the whole range arrives spread over
// all the tiles. The R = 4, 2, 1 kernels take the same arguments but next
// and step, and run one tile.
//
// Registers: BX tiles left, CX k, SI row 0, R11 row 3, R8 lda bytes, DI B,
// DX C row, R9 ldc bytes, R12/R13 the tile's A and C starts, R10 loop count,
// AX the prefetch pointer (6-row kernel).

#define LOADARGS \
	MOVQ n+0(FP), BX \
	MOVQ lda+24(FP), R8 \
	SHLQ $2, R8 \
	MOVQ ldc+48(FP), R9 \
	SHLQ $2, R9 \
	MOVQ a+16(FP), R12 \
	MOVQ c+40(FP), R13

#define TILESTART \
	MOVQ k+8(FP), CX \
	MOVQ R12, SI \
	LEAQ (R12)(R8*2), R11 \
	ADDQ R8, R11 \
	MOVQ b+32(FP), DI \
	MOVQ R13, DX

// The C rows are only touched after the k loop; prefetching them now hides
// the miss (both lines, as a 16-float row need not be line aligned).
#define PREFETCHC \
	PREFETCHT0 (DX) \
	PREFETCHT0 60(DX) \
	ADDQ R9, DX

#define ROW(addr, lo, hi) \
	VBROADCASTSS addr, Y14 \
	VFMADD231PS Y12, Y14, lo \
	VFMADD231PS Y13, Y14, hi

#define LOADB(off) \
	VMOVUPS off(DI), Y12 \
	VMOVUPS off+32(DI), Y13

// STEP6 is one k step of the 6-row kernel: A's column at byte offset off
// from the current k times B's row already in Y12/Y13.
#define STEP6(off) \
	ROW(off(SI), Y0, Y1) \
	ROW(off(SI)(R8*1), Y2, Y3) \
	ROW(off(SI)(R8*2), Y4, Y5) \
	ROW(off(R11), Y6, Y7) \
	ROW(off(R11)(R8*1), Y8, Y9) \
	ROW(off(R11)(R8*2), Y10, Y11)

// STEP6X4 is one pass of the 6-row kernel's loop: four k steps, then the
// pointers move on and the count goes down (the caller's JNZ tests it).
// Four steps a pass rather than two: 2–5% faster on operands in L1 and
// ~1% over a forward pass (same-process A/B), with half the loop overhead.
#define STEP6X4 \
	LOADB(0) \
	STEP6(0) \
	LOADB(64) \
	STEP6(4) \
	LOADB(128) \
	STEP6(8) \
	LOADB(192) \
	STEP6(12) \
	ADDQ $16, SI \
	ADDQ $16, R11 \
	ADDQ $256, DI \
	DECQ R10

#define STOREROW(lo, hi) \
	CMPB acc+56(FP), $0 \
	JEQ 3(PC) \
	VADDPS (DX), lo, lo \
	VADDPS 32(DX), hi, hi \
	VMOVUPS lo, (DX) \
	VMOVUPS hi, 32(DX) \
	ADDQ R9, DX

TEXT ·kernAVX2_6(SB), NOSPLIT, $0-80
	LOADARGS
	MOVQ next+64(FP), AX
	TESTQ BX, BX
	JEQ done6
tile6:
	TILESTART
	PREFETCHC
	PREFETCHC
	PREFETCHC
	PREFETCHC
	PREFETCHC
	PREFETCHC
	MOVQ R13, DX
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
	MOVQ CX, R10
	SHRQ $2, R10
	JEQ tail6
	TESTQ AX, AX
	JEQ loop6
	// The next panel starts on another page, where the hardware
	// prefetcher would begin cold; for the first row block it comes from
	// DRAM. Fetched a line per pass across all the tiles, it is in L2 when
	// its own first tile starts, without a burst of misses the memory
	// system cannot keep in flight (all of it during the first tile
	// measured 2–3% slower over a forward pass, same-process A/B).
loop6pf:
	PREFETCHT1 (AX)
	ADDQ step+72(FP), AX
	STEP6X4
	JNZ loop6pf
	JMP tail6
loop6:
	STEP6X4
	JNZ loop6
tail6:
	// The last k mod 4 steps, one at a time.
	ANDQ $3, CX
	JEQ store6
tail6loop:
	LOADB(0)
	STEP6(0)
	ADDQ $4, SI
	ADDQ $4, R11
	ADDQ $64, DI
	DECQ CX
	JNZ tail6loop
store6:
	STOREROW(Y0, Y1)
	STOREROW(Y2, Y3)
	STOREROW(Y4, Y5)
	STOREROW(Y6, Y7)
	STOREROW(Y8, Y9)
	STOREROW(Y10, Y11)
	// Next tile: six rows down in A and C.
	LEAQ (R12)(R8*4), R12
	LEAQ (R12)(R8*2), R12
	LEAQ (R13)(R9*4), R13
	LEAQ (R13)(R9*2), R13
	DECQ BX
	JNZ tile6
done6:
	VZEROUPPER
	RET

TEXT ·kernAVX2_4(SB), NOSPLIT, $0-57
	LOADARGS
	TILESTART
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
	LOADB(0)
	ROW((SI), Y0, Y1)
	ROW((SI)(R8*1), Y2, Y3)
	ROW((SI)(R8*2), Y4, Y5)
	ROW((R11), Y6, Y7)
	ADDQ $4, SI
	ADDQ $4, R11
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

TEXT ·kernAVX2_2(SB), NOSPLIT, $0-57
	LOADARGS
	TILESTART
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ CX, CX
	JEQ store2
loop2:
	LOADB(0)
	ROW((SI), Y0, Y1)
	ROW((SI)(R8*1), Y2, Y3)
	ADDQ $4, SI
	ADDQ $64, DI
	DECQ CX
	JNZ loop2
store2:
	STOREROW(Y0, Y1)
	STOREROW(Y2, Y3)
	VZEROUPPER
	RET

TEXT ·kernAVX2_1(SB), NOSPLIT, $0-57
	LOADARGS
	TILESTART
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	TESTQ CX, CX
	JEQ store1
loop1:
	LOADB(0)
	ROW((SI), Y0, Y1)
	ADDQ $4, SI
	ADDQ $64, DI
	DECQ CX
	JNZ loop1
store1:
	STOREROW(Y0, Y1)
	VZEROUPPER
	RET

// func transpose8AVX2(dst *float32, src *float32, ld int, blocks int)
// packs 8 rows of a row-major matrix (ld floats apart) into half of a
// panel: for each of blocks 8×8 blocks, column c of the block becomes the
// 8 floats at dst + c*nr. blocks >= 1.
//
// Registers: SI rows 0–2, R11 rows 3–5, R12 rows 6–7 (R8 = ld bytes), DI
// the panel, CX blocks left.
TEXT ·transpose8AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	SHLQ $2, R8
	MOVQ blocks+24(FP), CX
	LEAQ (SI)(R8*2), R11
	ADDQ R8, R11
	LEAQ (R11)(R8*2), R12
	ADDQ R8, R12
tloop:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (R11), Y3
	VMOVUPS (R11)(R8*1), Y4
	VMOVUPS (R11)(R8*2), Y5
	VMOVUPS (R12), Y6
	VMOVUPS (R12)(R8*1), Y7
	// Pairs of rows interleaved: Y8 = r0[0] r1[0] r0[1] r1[1] | r0[4] …
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	// Quads: Y0 = r0–r3 of column 0 | of column 4, Y1 columns 1 | 5, …
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	// Whole columns: rows 0–3 from the first quad, 4–7 from the second.
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, 64(DI)
	VMOVUPS Y10, 128(DI)
	VMOVUPS Y11, 192(DI)
	VMOVUPS Y12, 256(DI)
	VMOVUPS Y13, 320(DI)
	VMOVUPS Y14, 384(DI)
	VMOVUPS Y15, 448(DI)
	ADDQ $32, SI
	ADDQ $32, R11
	ADDQ $32, R12
	ADDQ $512, DI
	DECQ CX
	JNZ tloop
	VZEROUPPER
	RET
