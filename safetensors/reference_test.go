package safetensors

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The fixtures under testdata were written by testdata/gen.py with the
// reference library; expected.json holds torch's (and numpy's) float32
// results as bit patterns.

type expectedTensor struct {
	DType        string   `json:"dtype"` // torch spelling, e.g. "float16"
	Shape        []int64  `json:"shape"`
	F32Bits      []uint32 `json:"f32_bits"`
	NumpyF32Bits []uint32 `json:"numpy_f32_bits"`
}

type expectedFile struct {
	Metadata  map[string]string         `json:"metadata"`
	Tensors   map[string]expectedTensor `json:"tensors"`
	Shards    []string                  `json:"shards"`
	WeightMap map[string]string         `json:"weight_map"`
}

type expectedJSON struct {
	Files      map[string]expectedFile `json:"files"`
	Exhaustive map[string]string       `json:"exhaustive"`
}

func loadExpected(t *testing.T) expectedJSON {
	t.Helper()
	b, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var e expectedJSON
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

var torchDType = map[string]DType{
	"float32": F32, "float16": F16, "bfloat16": BF16, "float64": F64, "int64": I64,
	"int32": I32, "int16": I16, "int8": I8, "uint8": U8, "bool": BOOL,
	"float8_e4m3fn": F8_E4M3, "float8_e5m2": F8_E5M2, "uint16": U16, "uint32": U32,
	"uint64": U64, "complex64": C64,
}

func f32sBits(v []float32) []uint32 {
	out := make([]uint32, len(v))
	for i, x := range v {
		out[i] = math.Float32bits(x)
	}
	return out
}

func isNaNBits(b uint32) bool { return b&0x7fffffff > 0x7f800000 }

// checkTensors compares every tensor of r with the expectations.
func checkTensors(t *testing.T, r Reader, want map[string]expectedTensor) {
	t.Helper()
	if got, w := r.Names(), slices.Sorted(mapsKeys(want)); !slices.Equal(got, w) {
		t.Fatalf("names %q, want %q", got, w)
	}
	for name, w := range want {
		info, ok := r.Info(name)
		if !ok {
			t.Fatalf("Info(%q) missing", name)
		}
		if info.DType != torchDType[w.DType] || !slices.Equal(info.Shape, w.Shape) {
			t.Errorf("%q: %v %v, want %s %v", name, info.DType, info.Shape, w.DType, w.Shape)
		}
		if w.F32Bits == nil {
			if _, _, err := r.Float32(name); err == nil {
				t.Errorf("%q: Float32 of %v succeeded", name, info.DType)
			}
			continue
		}
		vals, shape, err := r.Float32(name)
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if !slices.Equal(shape, w.Shape) {
			t.Errorf("%q: shape %v, want %v", name, shape, w.Shape)
		}
		got := f32sBits(vals)
		if !slices.Equal(got, w.F32Bits) {
			for i := range got {
				if i < len(w.F32Bits) && got[i] != w.F32Bits[i] {
					t.Errorf("%q[%d] = %#08x, torch %#08x", name, i, got[i], w.F32Bits[i])
				}
			}
			t.Fatalf("%q: %d values differ from torch (len %d vs %d)", name, countDiff(got, w.F32Bits), len(got), len(w.F32Bits))
		}
		// numpy agrees except on signalling NaN bits (it keeps them signalling).
		for i, nb := range w.NumpyF32Bits {
			if nb != got[i] && !(isNaNBits(nb) && isNaNBits(got[i])) {
				t.Errorf("%q[%d] = %#08x, numpy %#08x", name, i, got[i], nb)
			}
		}
	}
}

func countDiff(a, b []uint32) int {
	n := 0
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			n++
		}
	}
	return n + max(len(a), len(b)) - min(len(a), len(b))
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestReferenceFiles(t *testing.T) {
	exp := loadExpected(t)
	for _, name := range []string{"f32.safetensors", "f16.safetensors", "bf16.safetensors", "mixed.safetensors", "narrow.safetensors"} {
		t.Run(name, func(t *testing.T) {
			want, ok := exp.Files[name]
			if !ok {
				t.Fatalf("expected.json lacks %s", name)
			}
			f, err := Open(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			checkTensors(t, f, want.Tensors)
			if md := f.Metadata(); !mapsEqual(md, want.Metadata) {
				t.Errorf("metadata %v, want %v", md, want.Metadata)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestWriterMatchesReference rewrites each reference file from what we read
// and requires identical bytes: same layout order, header JSON, escaping
// and padding as the Python writer.
func TestWriterMatchesReference(t *testing.T) {
	for _, name := range []string{"f32.safetensors", "f16.safetensors", "bf16.safetensors", "mixed.safetensors", "narrow.safetensors",
		"sharded/model-00001-of-00002.safetensors", "sharded/model-00002-of-00002.safetensors"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var tensors []Tensor
			for _, n := range f.Names() {
				info, _ := f.Info(n)
				tn := Tensor{Name: n, DType: info.DType, Shape: info.Shape}
				if info.DType == F32 {
					// Exercise the float32 path: F32 round-trips exactly.
					v, _, err := f.Float32(n)
					if err != nil {
						t.Fatal(err)
					}
					tn.Data = slices.Clone(v)
				} else {
					raw, _, err := f.Bytes(n)
					if err != nil {
						t.Fatal(err)
					}
					tn.Raw = slices.Clone(raw)
				}
				tensors = append(tensors, tn)
			}
			var buf bytes.Buffer
			if err := Write(&buf, tensors, f.Metadata()); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), orig) {
				n := binary.LittleEndian.Uint64(orig)
				t.Fatalf("bytes differ from the reference writer\n got %q\nwant %q", buf.Bytes()[:min(uint64(buf.Len()), 8+n)], orig[:8+n])
			}
		})
	}
}

// TestNarrowingMatchesTorch checks Float32ToF16/BF16 (and Write's Data
// path) against torch's .half() and .bfloat16() on edge inputs.
func TestNarrowingMatchesTorch(t *testing.T) {
	f, err := Open("testdata/narrow.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, _, err := f.Float32("src")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tensor string
		conv   func(float32) uint16
		dtype  DType
	}{{"as_f16", Float32ToF16, F16}, {"as_bf16", Float32ToBF16, BF16}} {
		raw, _, err := f.Bytes(c.tensor)
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range src {
			want := binary.LittleEndian.Uint16(raw[2*i:])
			if got := c.conv(x); got != want {
				t.Errorf("%s(%#08x) = %#04x, torch %#04x", c.tensor, math.Float32bits(x), got, want)
			}
		}
		var buf bytes.Buffer
		if err := Write(&buf, []Tensor{{Name: "x", DType: c.dtype, Shape: []int64{int64(len(src))}, Data: src}}, nil); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasSuffix(buf.Bytes(), raw) {
			t.Errorf("Write(%v) data differs from torch", c.dtype)
		}
	}
}

// TestExhaustiveConversions compares every 16-bit pattern widened, and
// 2^20 float32 patterns narrowed, with torch via SHA-256 of the outputs.
func TestExhaustiveConversions(t *testing.T) {
	exp := loadExpected(t).Exhaustive
	sum := func(n int, put func(b []byte, i int) []byte) string {
		h := sha256.New()
		var b []byte
		for i := range n {
			b = put(b[:0], i)
			h.Write(b)
		}
		return hex.EncodeToString(h.Sum(nil))
	}
	check := func(key, got string) {
		t.Helper()
		if exp[key] == "" {
			t.Fatalf("expected.json lacks exhaustive.%s", key)
		}
		if got != exp[key] {
			t.Errorf("%s: sha256 %s, reference %s", key, got, exp[key])
		}
	}
	check("f16_to_f32_torch", sum(1<<16, func(b []byte, i int) []byte {
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(F16ToFloat32(uint16(i))))
	}))
	check("bf16_to_f32_torch", sum(1<<16, func(b []byte, i int) []byte {
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(BF16ToFloat32(uint16(i))))
	}))
	// numpy differs from torch only on NaN bits: it keeps signalling NaNs.
	check("f16_to_f32_numpy", sum(1<<16, func(b []byte, i int) []byte {
		v := math.Float32bits(F16ToFloat32(uint16(i)))
		if isNaNBits(v) {
			v &^= 0x00400000
			v |= uint32(i&0x200) << 13 // numpy: the half's own quiet bit
		}
		return binary.LittleEndian.AppendUint32(b, v)
	}))
	in := func(i int) float32 { return math.Float32frombits(uint32(uint64(i) * 2654435761)) }
	check("f32_to_f16_torch", sum(1<<20, func(b []byte, i int) []byte {
		return binary.LittleEndian.AppendUint16(b, Float32ToF16(in(i)))
	}))
	check("f32_to_bf16_torch", sum(1<<20, func(b []byte, i int) []byte {
		return binary.LittleEndian.AppendUint16(b, Float32ToBF16(in(i)))
	}))
}

func TestReferenceShards(t *testing.T) {
	want := loadExpected(t).Files["sharded"]
	for _, open := range []struct {
		name string
		fn   func() (*Set, error)
	}{
		{"OpenDir", func() (*Set, error) { return OpenDir("testdata/sharded") }},
		{"OpenIndex", func() (*Set, error) { return OpenIndex("testdata/sharded/" + IndexFileName) }},
	} {
		t.Run(open.name, func(t *testing.T) {
			s, err := open.fn()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if len(s.Files()) != 2 || len(want.Shards) != 2 {
				t.Fatalf("files %v, reference shards %v", s.Files(), want.Shards)
			}
			for i, p := range s.Files() {
				if filepath.Base(p) != want.Shards[i] {
					t.Errorf("shard %d is %s, want %s", i, p, want.Shards[i])
				}
			}
			checkTensors(t, s, want.Tensors)
			for name, shard := range want.WeightMap {
				if s.owner[name].path != filepath.Join("testdata/sharded", shard) {
					t.Errorf("%q served from %s, index says %s", name, s.owner[name].path, shard)
				}
			}
			if md := s.Metadata(); md["format"] != "pt" {
				t.Errorf("metadata %v", md)
			}
		})
	}
}
