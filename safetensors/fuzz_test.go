package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"
)

// checkInvariants asserts what an accepted header promises its users: the
// tensors tile the data section exactly, sizes match shapes, and names are
// unique and indexed.
func checkInvariants(t *testing.T, h *header, file []byte) {
	t.Helper()
	n := binary.LittleEndian.Uint64(file)
	if n > MaxHeaderSize || h.dataStart != int64(8+n) || h.dataStart > int64(len(file)) {
		t.Fatalf("dataStart %d, header length %d, file %d", h.dataStart, n, len(file))
	}
	dataLen := int64(len(file)) - h.dataStart
	if len(h.names) != len(h.tensors) || len(h.byName) != len(h.tensors) {
		t.Fatalf("%d names, %d indexed, %d tensors", len(h.names), len(h.byName), len(h.tensors))
	}
	if !slices.IsSorted(h.names) {
		t.Fatalf("names not sorted")
	}
	var pos int64
	for i, ti := range h.tensors {
		if h.byName[ti.Name] != i {
			t.Fatalf("tensor %q indexed at %d, stored at %d", ti.Name, h.byName[ti.Name], i)
		}
		if ti.Name == metadataKey || !utf8.ValidString(ti.Name) {
			t.Fatalf("bad name %q", ti.Name)
		}
		if ti.DType <= DTypeInvalid || ti.DType >= numDTypes {
			t.Fatalf("tensor %q: dtype %d", ti.Name, ti.DType)
		}
		if ti.Offsets[0] != pos || ti.Offsets[1] < ti.Offsets[0] {
			t.Fatalf("tensor %q: offsets %v at position %d", ti.Name, ti.Offsets, pos)
		}
		pos = ti.Offsets[1]
		bitsz := big.NewInt(int64(ti.DType.Bits()))
		for _, d := range ti.Shape {
			if d < 0 {
				t.Fatalf("tensor %q: shape %v", ti.Name, ti.Shape)
			}
			bitsz.Mul(bitsz, big.NewInt(d))
		}
		want := new(big.Int).Mul(big.NewInt(ti.NumBytes()), big.NewInt(8))
		if bitsz.Cmp(want) != 0 {
			t.Fatalf("tensor %q: shape %v of %v is %v bits, offsets span %d bytes", ti.Name, ti.Shape, ti.DType, bitsz, ti.NumBytes())
		}
		if ti.NumBytes() > 0 && ti.NumElements()*int64(ti.DType.Bits()) != ti.NumBytes()*8 {
			t.Fatalf("tensor %q: NumElements %d disagrees", ti.Name, ti.NumElements())
		}
	}
	if pos != dataLen {
		t.Fatalf("tensors end at %d, data section has %d bytes", pos, dataLen)
	}
	for k, v := range h.metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			t.Fatalf("metadata %q: %q not UTF-8", k, v)
		}
	}
}

// FuzzParseHeader feeds arbitrary header text and data lengths to the
// parser: it must never panic, and whatever it accepts must satisfy
// checkInvariants. A second mode passes the raw bytes as a whole file so
// the length prefix is fuzzed too.
func FuzzParseHeader(f *testing.F) {
	seeds := []string{
		`{}`,
		`{"__metadata__":{"format":"pt"}}`,
		`{"w":{` + okW + `}}`,
		`{"a":{"dtype":"F16","shape":[2,0],"data_offsets":[0,0]},"b":{"dtype":"BF16","shape":[],"data_offsets":[0,2]}}`,
		`{"a":{"dtype":"F4","shape":[4],"data_offsets":[0,2]},"b":{"dtype":"F6_E3M2","shape":[4],"data_offsets":[2,5]}}`,
		`{"w":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}`,
		`{"w":{` + okW + `},"w":{` + okW + `}}`,
		`{"b":{"dtype":"I64","shape":[1],"data_offsets":[4,12]},"a":{` + okW + `}}   `,
	}
	for _, s := range seeds {
		f.Add([]byte(s), uint16(4), false)
		f.Add(rawFile(s, 4), uint16(0), true)
	}
	for _, name := range []string{"f32.safetensors", "f16.safetensors", "mixed.safetensors", "narrow.safetensors"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b, uint16(0), true)
			n := binary.LittleEndian.Uint64(b)
			f.Add(b[8:8+n], uint16(len(b)-8-int(n)), false)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, dataLen uint16, whole bool) {
		file := in
		if !whole {
			file = make([]byte, 8, 8+len(in)+int(dataLen))
			binary.LittleEndian.PutUint64(file, uint64(len(in)))
			file = append(file, in...)
			file = append(file, make([]byte, dataLen)...)
		}
		h, err := parseHeader(file)
		if err != nil {
			if h != nil {
				t.Fatal("header returned with an error")
			}
			if _, ok := err.(*FormatError); !ok {
				t.Fatalf("error %T is not a *FormatError: %v", err, err)
			}
			return
		}
		checkInvariants(t, h, file)
		agreeWithEncodingJSON(t, h, file[8:h.dataStart])
		// Whatever we accept we can write back, and it parses again.
		var tensors []Tensor
		for _, ti := range h.tensors {
			b := file[h.dataStart+ti.Offsets[0] : h.dataStart+ti.Offsets[1]]
			tensors = append(tensors, Tensor{Name: ti.Name, DType: ti.DType, Shape: ti.Shape, Raw: append([]byte{}, b...)})
		}
		var buf writeBuf
		if err := Write(&buf, tensors, h.metadata); err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		h2, err := parseHeader(buf)
		if err != nil {
			t.Fatalf("reparse: %v", err)
		}
		if !slices.Equal(h.names, h2.names) {
			t.Fatalf("names changed: %q → %q", h.names, h2.names)
		}
	})
}

// agreeWithEncodingJSON cross-checks the hand-written scanner: what it
// accepts must be valid JSON that encoding/json decodes to the same names,
// entries and metadata.
func agreeWithEncodingJSON(t *testing.T, h *header, hdr []byte) {
	t.Helper()
	if !json.Valid(hdr) {
		t.Fatalf("accepted invalid JSON %q", hdr)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &top); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	nmeta := 0
	if raw, ok := top[metadataKey]; ok {
		nmeta = 1
		var md map[string]string
		if err := json.Unmarshal(raw, &md); err != nil {
			t.Fatalf("metadata: %v", err)
		}
		if len(md) != len(h.metadata) || (md == nil) != (h.metadata == nil) {
			t.Fatalf("metadata %q, encoding/json %q", h.metadata, md)
		}
		for k, v := range md {
			if h.metadata[k] != v {
				t.Fatalf("metadata %q, encoding/json %q", h.metadata, md)
			}
		}
	}
	if len(top) != len(h.tensors)+nmeta {
		t.Fatalf("%d tensors, encoding/json sees %d keys", len(h.tensors), len(top))
	}
	for _, ti := range h.tensors {
		raw, ok := top[ti.Name]
		if !ok {
			t.Fatalf("tensor %q unknown to encoding/json", ti.Name)
		}
		var e struct {
			DType   string   `json:"dtype"`
			Shape   []int64  `json:"shape"`
			Offsets [2]int64 `json:"data_offsets"`
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("tensor %q: encoding/json: %v", ti.Name, err)
		}
		if e.DType != ti.DType.String() || !slices.Equal(e.Shape, ti.Shape) || e.Offsets != ti.Offsets {
			t.Fatalf("tensor %q: %v %v %v, encoding/json %+v", ti.Name, ti.DType, ti.Shape, ti.Offsets, e)
		}
	}
}

type writeBuf []byte

func (w *writeBuf) Write(p []byte) (int, error) { *w = append(*w, p...); return len(p), nil }
