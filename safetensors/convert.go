package safetensors

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// Conversions between float32 and the 16-bit formats, done with bit
// arithmetic rather than 64K-entry tables: a table costs 256 KiB of cache
// per format, and the branchy-but-predictable code below is as fast on the
// data models hold (few subnormals, no NaNs).

// F16ToFloat32 widens an IEEE 754 binary16 value, given as its bits. The
// conversion is exact (every half is a float). It matches torch's
// Tensor.float() on x86 CPUs bit for bit, NaNs included: sign and payload
// are kept and the quiet bit is set, as the F16C instruction that torch's
// vectorized path uses does. (torch's scalar path, used only for the last
// few elements of a tensor, turns every NaN into 0x7FFFFFFF instead; numpy
// keeps signalling NaNs signalling. No reader should depend on NaN bits.)
func F16ToFloat32(h uint16) float32 {
	return math.Float32frombits(f16Bits(h))
}

func f16Bits(h uint16) uint32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0x1f: // Inf or NaN
		if mant == 0 {
			return sign | 0x7f800000
		}
		return sign | 0x7fc00000 | mant<<13
	case 0:
		if mant == 0 {
			return sign // ±0
		}
		// Subnormal mant·2^-24: normalise so the leading one lands on bit 10.
		shift := uint32(bits.LeadingZeros32(mant) - 21)
		return sign | (113-shift)<<23 | (mant<<shift&0x3ff)<<13
	}
	return sign | (exp+112)<<23 | mant<<13 // rebias 15 → 127
}

// BF16ToFloat32 widens a bfloat16 value, given as its bits. bfloat16 is the
// top half of a float32, so this is a shift; NaN payloads (signalling ones
// included) are kept, exactly like torch.
func BF16ToFloat32(b uint16) float32 {
	return math.Float32frombits(uint32(b) << 16)
}

// Float32ToF16 narrows to binary16 with round-to-nearest-even; overflow
// gives ±Inf. NaN keeps its sign and the top of its payload and is made
// quiet (sign|0x7E00|mant>>13), which is what torch's Tensor.half() yields
// on x86 CPUs. The arithmetic is the FP16 library's (which c10 uses):
// scaling by 2^112 then 2^-110 and adding a bias lets the FPU do the
// rounding, subnormals included.
func Float32ToF16(f float32) uint16 {
	w := math.Float32bits(f)
	sign := uint16(w>>16) & 0x8000
	shl1 := w + w
	if shl1 > 0xff000000 {
		return sign | 0x7e00 | uint16(w&0x7fffff>>13)
	}
	// Explicit float32 conversions keep the compiler from fusing the
	// multiply and add (the Go spec allows fusion otherwise).
	base := float32(float32(abs32(f)*0x1p+112) * 0x1p-110)
	bias := shl1 & 0xff000000
	if bias < 0x71000000 {
		bias = 0x71000000
	}
	base = float32(math.Float32frombits(bias>>1+0x07800000) + base)
	b := math.Float32bits(base)
	return sign | uint16((b>>13)&0x7c00+b&0x0fff)
}

func abs32(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }

// Float32ToBF16 narrows to bfloat16 with round-to-nearest-even. Every NaN
// becomes 0xFFFF, as torch's Tensor.bfloat16() yields on x86 CPUs (its
// vectorized path; the scalar c10 code would give 0x7FC0).
func Float32ToBF16(f float32) uint16 {
	w := math.Float32bits(f)
	if w&0x7fffffff > 0x7f800000 {
		return 0xffff
	}
	return uint16((w + 0x7fff + (w>>16)&1) >> 16)
}

// f16ToFloat32s converts little-endian binary16 data into dst. Normal
// numbers, nearly all of a checkpoint, take an inlined two-operation path
// (rebias the exponent by adding (127-15)<<23); zeros, subnormals, Inf and
// NaN go through f16Bits.
func f16ToFloat32s(dst []float32, src []byte) {
	src = src[:2*len(dst)]
	for i := range dst {
		h := uint32(binary.LittleEndian.Uint16(src[2*i:]))
		if e := h & 0x7c00; e != 0 && e != 0x7c00 {
			dst[i] = math.Float32frombits((h&0x8000)<<16 | ((h&0x7fff)<<13 + 0x38000000))
			continue
		}
		dst[i] = math.Float32frombits(f16Bits(uint16(h)))
	}
}

// bf16ToFloat32s converts little-endian bfloat16 data into dst.
func bf16ToFloat32s(dst []float32, src []byte) {
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
	}
}

// f32LEToFloat32s decodes little-endian float32 data (the copy path, for
// misaligned data or big-endian hosts).
func f32LEToFloat32s(dst []float32, src []byte) {
	src = src[:4*len(dst)]
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}
