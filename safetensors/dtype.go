package safetensors

// DType is an element type as spelled in a safetensors header.
//
// The constants are declared in the reference library's order (the Rust
// Dtype enum). That order is not cosmetic: the reference writer lays tensors
// out by descending dtype rank and then by name, and Write reproduces it so
// that our files are byte-identical to Python's.
type DType uint8

// The dtypes the format defines. Only F32, F16 and BF16 can be read as
// float32; every dtype can be read as raw bytes.
const (
	DTypeInvalid DType = iota
	BOOL
	F4
	F6_E2M3
	F6_E3M2
	U8
	I8
	F8_E5M2
	F8_E4M3
	F8_E8M0
	I16
	U16
	F16
	BF16
	I32
	U32
	F32
	C64
	F64
	I64
	U64
	numDTypes
)

var dtypeNames = [numDTypes]string{
	DTypeInvalid: "INVALID",
	BOOL:         "BOOL",
	F4:           "F4",
	F6_E2M3:      "F6_E2M3",
	F6_E3M2:      "F6_E3M2",
	U8:           "U8",
	I8:           "I8",
	F8_E5M2:      "F8_E5M2",
	F8_E4M3:      "F8_E4M3",
	F8_E8M0:      "F8_E8M0",
	I16:          "I16",
	U16:          "U16",
	F16:          "F16",
	BF16:         "BF16",
	I32:          "I32",
	U32:          "U32",
	F32:          "F32",
	C64:          "C64",
	F64:          "F64",
	I64:          "I64",
	U64:          "U64",
}

var dtypeBits = [numDTypes]uint64{
	BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8,
	F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, I16: 16, U16: 16, F16: 16, BF16: 16,
	I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
}

// String returns the header spelling, e.g. "BF16".
func (d DType) String() string {
	if d < numDTypes {
		return dtypeNames[d]
	}
	return "INVALID"
}

// Bits is the width of one element in bits. It is not always a multiple of
// 8 (F4, F6_*), which is why sizes are computed in bits and then checked to
// land on a byte boundary, as the reference does.
func (d DType) Bits() int {
	if d < numDTypes {
		return int(dtypeBits[d])
	}
	return 0
}

// ParseDType maps a header spelling to a DType. It is exact and
// case-sensitive, like the reference's serde enum.
func ParseDType(s string) (DType, bool) {
	for d := BOOL; d < numDTypes; d++ {
		if dtypeNames[d] == s {
			return d, true
		}
	}
	return DTypeInvalid, false
}
