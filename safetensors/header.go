package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MaxHeaderSize is the largest header length accepted, in bytes. It is the
// reference library's limit; a larger value is far more likely to be a
// corrupt length prefix than a real header, and honouring it would let a
// hostile file make us parse up to 2^64 bytes of JSON.
const MaxHeaderSize = 100_000_000

// metadataKey is the one header key that is not a tensor.
const metadataKey = "__metadata__"

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name  string
	DType DType
	// Shape is row-major; empty for a rank-0 (scalar) tensor.
	Shape []int64
	// Offsets are the [begin, end) byte offsets of the tensor's data,
	// relative to the start of the data section (just after the header),
	// exactly as the header's data_offsets.
	Offsets [2]int64
}

// NumElements is the product of Shape (1 for a scalar).
func (t TensorInfo) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// NumBytes is the size of the tensor's data.
func (t TensorInfo) NumBytes() int64 { return t.Offsets[1] - t.Offsets[0] }

func (t TensorInfo) clone() TensorInfo {
	t.Shape = slices.Clone(t.Shape)
	if t.Shape == nil {
		t.Shape = []int64{}
	}
	return t
}

// header is a parsed, validated header.
type header struct {
	tensors   []TensorInfo // sorted by Offsets, i.e. file order
	byName    map[string]int
	names     []string // sorted
	metadata  map[string]string
	dataStart int64 // 8 + header length
}

// parseHeader parses and validates the header of a file whose complete
// contents are buf. Only buf[:8+N] is read (N the header length), so with a
// memory mapping this touches O(header) pages regardless of the file size;
// the rest of buf only contributes its length.
//
// Validation follows the reference (safetensors/src/tensor.rs) and is
// stricter where it silently accepts junk: duplicate keys, unknown fields.
func parseHeader(buf []byte) (*header, error) {
	if len(buf) < 8 {
		return nil, fileErr(fmt.Sprintf("file is %d bytes, shorter than the 8-byte header length prefix", len(buf)))
	}
	n := binary.LittleEndian.Uint64(buf[:8])
	if n > MaxHeaderSize {
		return nil, fileErr(fmt.Sprintf("header length %d exceeds the limit of %d bytes", n, MaxHeaderSize))
	}
	if n > uint64(len(buf)-8) {
		return nil, fileErr(fmt.Sprintf("header length %d exceeds the %d bytes after the length prefix", n, len(buf)-8))
	}
	hdr := buf[8 : 8+n]
	dataLen := uint64(len(buf)) - 8 - n
	h, err := parseHeaderJSON(hdr, dataLen)
	if err != nil {
		return nil, err
	}
	h.dataStart = int64(8 + n)
	return h, nil
}

// parseHeaderJSON parses the JSON header text for a data section of dataLen
// bytes. It uses a small strict scanner (jscan.go) rather than
// encoding/json: Unmarshal into a map silently keeps the last of duplicate
// keys (a duplicated tensor name makes the file ambiguous), and a
// json.Decoder token walk costs microseconds per token, which made opening
// a checkpoint with thousands of tensors take tens of milliseconds.
func parseHeaderJSON(hdr []byte, dataLen uint64) (*header, error) {
	if !utf8.Valid(hdr) {
		return nil, fileErr("header is not valid UTF-8")
	}
	if len(hdr) == 0 || hdr[0] != '{' {
		return nil, fileErr("header does not start with '{'")
	}
	s := &jscan{b: hdr, i: 1}
	h := &header{byName: map[string]int{}}
	seenMeta := false
	if !s.consume('}') {
		for {
			key, err := s.str()
			if err != nil {
				return nil, fileErr(err.Error())
			}
			if !s.consume(':') {
				return nil, tensorErr(key, s.syntax("':'").Error())
			}
			if key == metadataKey {
				if seenMeta {
					return nil, fileErr("duplicate key " + metadataKey)
				}
				seenMeta = true
				if h.metadata, err = parseMetadata(s); err != nil {
					return nil, err
				}
			} else {
				if _, dup := h.byName[key]; dup {
					return nil, tensorErr(key, "duplicate tensor name in header")
				}
				info, err := parseEntry(s, key)
				if err != nil {
					return nil, err
				}
				h.byName[key] = len(h.tensors)
				h.tensors = append(h.tensors, info)
			}
			if s.consume(',') {
				continue
			}
			if s.consume('}') {
				break
			}
			return nil, fileErr(s.syntax("',' or '}'").Error())
		}
	}
	// serde_json (the reference) accepts trailing whitespace only; writers
	// pad with spaces to align the data section.
	if s.next() != 0 || s.i != len(hdr) {
		return nil, fileErr(fmt.Sprintf("header has trailing data after the JSON object at byte %d", s.i))
	}
	if err := h.validateLayout(dataLen); err != nil {
		return nil, err
	}
	h.names = make([]string, 0, len(h.tensors))
	for i := range h.tensors {
		h.names = append(h.names, h.tensors[i].Name)
	}
	slices.Sort(h.names)
	return h, nil
}

// validateLayout checks that the tensors, sorted by offset, tile the data
// section exactly. A gap hides bytes no tensor accounts for and an overlap
// aliases two tensors; both mean the header and data disagree.
func (h *header) validateLayout(dataLen uint64) error {
	slices.SortStableFunc(h.tensors, func(a, b TensorInfo) int {
		if c := compareI64(a.Offsets[0], b.Offsets[0]); c != 0 {
			return c
		}
		return compareI64(a.Offsets[1], b.Offsets[1])
	})
	var pos int64
	for i, t := range h.tensors {
		h.byName[t.Name] = i
		switch {
		case t.Offsets[0] > pos:
			return tensorErr(t.Name, fmt.Sprintf("data_offsets [%d,%d] leave a gap: previous tensor ends at %d", t.Offsets[0], t.Offsets[1], pos))
		case t.Offsets[0] < pos:
			return tensorErr(t.Name, fmt.Sprintf("data_offsets [%d,%d] overlap the previous tensor, which ends at %d", t.Offsets[0], t.Offsets[1], pos))
		}
		pos = t.Offsets[1]
	}
	if uint64(pos) != dataLen {
		if len(h.tensors) == 0 {
			return fileErr(fmt.Sprintf("header declares no tensors but the data section has %d bytes", dataLen))
		}
		last := h.tensors[len(h.tensors)-1]
		return tensorErr(last.Name, fmt.Sprintf("last tensor ends at data offset %d but the data section has %d bytes", pos, dataLen))
	}
	return nil
}

func compareI64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// parseMetadata reads the __metadata__ value: a string→string object, or
// null (which the reference reads as "no metadata").
func parseMetadata(s *jscan) (map[string]string, error) {
	if s.null() {
		return nil, nil
	}
	if !s.consume('{') {
		return nil, fileErr(fmt.Sprintf("%s must be an object of strings, got %s", metadataKey, s.describe()))
	}
	m := map[string]string{}
	if s.consume('}') {
		return m, nil
	}
	for {
		k, err := s.str()
		if err != nil {
			return nil, fileErr(err.Error())
		}
		if !s.consume(':') {
			return nil, fileErr(s.syntax("':'").Error())
		}
		if s.next() != '"' {
			return nil, fileErr(fmt.Sprintf("%s[%q] must be a string, got %s", metadataKey, k, s.describe()))
		}
		v, err := s.str()
		if err != nil {
			return nil, fileErr(err.Error())
		}
		if _, dup := m[k]; dup {
			return nil, fileErr(fmt.Sprintf("duplicate key %q in %s", k, metadataKey))
		}
		m[k] = v
		if s.consume(',') {
			continue
		}
		if s.consume('}') {
			return m, nil
		}
		return nil, fileErr(s.syntax("',' or '}'").Error())
	}
}

// parseEntry reads one tensor entry: an object with exactly the keys dtype,
// shape and data_offsets. Unknown keys are rejected rather than ignored, so
// a typo ("data_offset") cannot yield a tensor with default offsets.
func parseEntry(s *jscan, name string) (TensorInfo, error) {
	info := TensorInfo{Name: name}
	bad := func(format string, args ...any) (TensorInfo, error) {
		return TensorInfo{}, tensorErr(name, fmt.Sprintf(format, args...))
	}
	if !s.consume('{') {
		return bad("entry must be an object with dtype, shape and data_offsets, got %s", s.describe())
	}
	var haveDType, haveShape, haveOffsets bool
	for first := true; !s.consume('}'); first = false {
		if !first && !s.consume(',') {
			return bad("%v", s.syntax("',' or '}'"))
		}
		k, err := s.str()
		if err != nil {
			return bad("%v", err)
		}
		if !s.consume(':') {
			return bad("%v", s.syntax("':'"))
		}
		switch k {
		case "dtype":
			if haveDType {
				return bad("duplicate key \"dtype\"")
			}
			haveDType = true
			if s.next() != '"' {
				return bad("dtype must be a string, got %s", s.describe())
			}
			d, err := s.str()
			if err != nil {
				return bad("%v", err)
			}
			var ok bool
			if info.DType, ok = ParseDType(d); !ok {
				return bad("unknown dtype %q", d)
			}
		case "shape":
			if haveShape {
				return bad("duplicate key \"shape\"")
			}
			haveShape = true
			dims, err := readUintArray(s)
			if err != nil {
				return bad("shape: %v", err)
			}
			info.Shape = make([]int64, len(dims))
			for i, d := range dims {
				if d > math.MaxInt64 {
					return bad("shape dimension %d is too large", d)
				}
				info.Shape[i] = int64(d)
			}
		case "data_offsets":
			if haveOffsets {
				return bad("duplicate key \"data_offsets\"")
			}
			haveOffsets = true
			offs, err := readUintArray(s)
			if err != nil {
				return bad("data_offsets: %v", err)
			}
			if len(offs) != 2 {
				return bad("data_offsets must have 2 elements, got %d", len(offs))
			}
			if offs[0] > math.MaxInt64 || offs[1] > math.MaxInt64 {
				return bad("data_offsets [%d,%d] are too large", offs[0], offs[1])
			}
			info.Offsets = [2]int64{int64(offs[0]), int64(offs[1])}
		default:
			return bad("unknown key %q (entries have exactly dtype, shape, data_offsets)", k)
		}
	}
	switch {
	case !haveDType:
		return bad("missing dtype")
	case !haveShape:
		return bad("missing shape")
	case !haveOffsets:
		return bad("missing data_offsets")
	}
	if info.Offsets[0] > info.Offsets[1] {
		return bad("data_offsets [%d,%d] end before they begin", info.Offsets[0], info.Offsets[1])
	}
	// Size in bits with overflow checks, multiplying in order like the
	// reference (so [2^40, 2^40, 0] overflows there and here alike).
	numel := uint64(1)
	for _, d := range info.Shape {
		hi, lo := bits.Mul64(numel, uint64(d))
		if hi != 0 {
			return bad("shape %v overflows the element count", info.Shape)
		}
		numel = lo
	}
	hi, nbits := bits.Mul64(numel, dtypeBits[info.DType])
	if hi != 0 {
		return bad("shape %v of %s overflows the byte size", info.Shape, info.DType)
	}
	if nbits%8 != 0 {
		return bad("shape %v of %s is %d bits, not a whole number of bytes", info.Shape, info.DType, nbits)
	}
	if got := uint64(info.Offsets[1] - info.Offsets[0]); got != nbits/8 {
		return bad("data_offsets [%d,%d] span %d bytes but shape %v of %s needs %d", info.Offsets[0], info.Offsets[1], got, info.Shape, info.DType, nbits/8)
	}
	return info, nil
}

// readUintArray reads a JSON array of non-negative integers. Floats
// ("2.0"), exponents and negatives are rejected like the reference's usize.
func readUintArray(s *jscan) ([]uint64, error) {
	if !s.consume('[') {
		return nil, fmt.Errorf("must be an array of non-negative integers, got %s", s.describe())
	}
	out := []uint64{}
	if s.consume(']') {
		return out, nil
	}
	for {
		if c := s.next(); c != '-' && (c < '0' || c > '9') {
			return nil, fmt.Errorf("element %d must be a non-negative integer, got %s", len(out), s.describe())
		}
		lit, err := s.number()
		if err != nil {
			return nil, err
		}
		v, err := strconv.ParseUint(lit, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("element %d: %s is not a non-negative 64-bit integer", len(out), lit)
		}
		out = append(out, v)
		if s.consume(',') {
			continue
		}
		if s.consume(']') {
			return out, nil
		}
		return nil, s.syntax("',' or ']'")
	}
}
