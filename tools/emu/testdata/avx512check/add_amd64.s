#include "textflag.h"

// func addMasked(dst, a, b *[16]float32, mask uint16)
TEXT ·addMasked(SB), NOSPLIT, $0-26
	MOVQ    dst+0(FP), DI
	MOVQ    a+8(FP), SI
	MOVQ    b+16(FP), DX
	KMOVW   mask+24(FP), K1
	VMOVUPS (SI), Z0
	VMOVUPS (DX), Z1
	VADDPS.Z Z1, Z0, K1, Z2
	VMOVUPS Z2, (DI)
	VZEROUPPER
	RET
