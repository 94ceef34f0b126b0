package safetensors

import (
	"bytes"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

func writeTemp(t *testing.T, dir, name string, tensors []Tensor, md map[string]string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := WriteFile(path, tensors, md); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRoundTrip(t *testing.T) {
	halfIn := []float32{0, float32(math.Copysign(0, -1)), 1, -2.5, 65504, 1e-7, float32(math.Inf(-1)), 3.140625}
	tensors := []Tensor{
		{Name: "w", DType: F32, Shape: []int64{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "scalar", DType: F32, Shape: []int64{}, Data: []float32{42}},
		{Name: "empty", DType: F32, Shape: []int64{0, 5}, Data: []float32{}},
		{Name: "h", DType: F16, Shape: []int64{8}, Data: halfIn},
		{Name: "b", DType: BF16, Shape: []int64{2, 2}, Data: []float32{1, -1, 0.5, 3.0e38}},
		{Name: "ids", DType: I64, Shape: []int64{2}, Raw: []byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0}},
	}
	md := map[string]string{"format": "pt", "z": "last", "a": "first"}
	path := writeTemp(t, t.TempDir(), "rt.safetensors", tensors, md)
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.Names(); !slices.Equal(got, []string{"b", "empty", "h", "ids", "scalar", "w"}) {
		t.Errorf("names %q", got)
	}
	if !mapsEqual(f.Metadata(), md) {
		t.Errorf("metadata %v", f.Metadata())
	}
	for _, tn := range tensors {
		info, ok := f.Info(tn.Name)
		if !ok || info.DType != tn.DType || !slices.Equal(info.Shape, tn.Shape) || info.Name != tn.Name {
			t.Fatalf("Info(%q) = %+v, %v", tn.Name, info, ok)
		}
		if tn.Raw != nil {
			raw, _, err := f.Bytes(tn.Name)
			if err != nil || !bytes.Equal(raw, tn.Raw) {
				t.Errorf("Bytes(%q) = %v, %v", tn.Name, raw, err)
			}
			continue
		}
		got, shape, err := f.Float32(tn.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(shape, tn.Shape) || len(got) != len(tn.Data) {
			t.Fatalf("%q: shape %v len %d", tn.Name, shape, len(got))
		}
		for i, v := range tn.Data {
			want := v
			switch tn.DType {
			case F16:
				want = F16ToFloat32(Float32ToF16(v))
			case BF16:
				want = BF16ToFloat32(Float32ToBF16(v))
			}
			if math.Float32bits(got[i]) != math.Float32bits(want) {
				t.Errorf("%q[%d] = %v, want %v", tn.Name, i, got[i], want)
			}
		}
	}
	// Spot-check the halves: exactly representable values survive.
	h, _, _ := f.Float32("h")
	if h[2] != 1 || h[3] != -2.5 || h[4] != 65504 || h[7] != 3.140625 || !math.Signbit(float64(h[1])) {
		t.Errorf("halves %v", h)
	}
	// The header is 8-byte aligned and space padded.
	raw, _ := os.ReadFile(path)
	n := int(raw[0]) | int(raw[1])<<8
	if n%8 != 0 || raw[8] != '{' {
		t.Errorf("header length %d", n)
	}
	if s := strings.TrimRight(string(raw[8:8+n]), " "); !strings.HasSuffix(s, "}") {
		t.Errorf("header %q", s)
	}
}

// TestF32View checks the zero-copy path really aliases the file, and the
// copy path handles data that is not 4-byte aligned (legal; the reference
// writer never produces it, other tools may).
func TestF32View(t *testing.T) {
	dir := t.TempDir()
	path := writeTemp(t, dir, "a.safetensors", []Tensor{{Name: "x", DType: F32, Shape: []int64{3}, Data: []float32{1, 2, 3}}}, nil)
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := f.Float32("x")
	if err != nil {
		t.Fatal(err)
	}
	raw, _, _ := f.Bytes("x")
	if nativeLittleEndian && unsafe.Pointer(&v[0]) != unsafe.Pointer(&raw[0]) {
		t.Error("aligned F32 was copied, want a view")
	}
	f.Close()
	if _, _, err := f.Float32("x"); !errors.Is(err, ErrClosed) {
		t.Errorf("Float32 after Close: %v", err)
	}
	if _, _, err := f.Bytes("x"); !errors.Is(err, ErrClosed) {
		t.Errorf("Bytes after Close: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// One U8 byte, then two F32 at data offset 1: misaligned.
	data := []byte{7}
	data = append(data, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0) // 1.0, -2.0
	hdr := `{"u":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"x":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}}`
	for len(hdr)%8 != 0 {
		hdr += " "
	}
	file := rawFile(hdr, 0)
	file = append(file, data...)
	mis := filepath.Join(dir, "mis.safetensors")
	if err := os.WriteFile(mis, file, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err = Open(mis)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, _, err = f.Float32("x")
	if err != nil || !slices.Equal(v, []float32{1, -2}) {
		t.Fatalf("misaligned F32 = %v, %v", v, err)
	}
	if uintptr(unsafe.Pointer(&v[0]))%4 != 0 {
		t.Error("misaligned view returned")
	}
}

func TestLookupErrors(t *testing.T) {
	f, err := Open("testdata/mixed.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, _, err = f.Float32("position_ids")
	if !errors.Is(err, ErrUnsupportedDType) || !strings.Contains(err.Error(), "I64") ||
		!strings.Contains(err.Error(), `"position_ids"`) || !strings.Contains(err.Error(), "mixed.safetensors") {
		t.Errorf("Float32 of I64: %v", err)
	}
	raw, info, err := f.Bytes("position_ids")
	if err != nil || info.DType != I64 || len(raw) != 40 || raw[8] != 1 {
		t.Errorf("Bytes(position_ids) = %v, %+v, %v", raw, info, err)
	}
	if _, _, err := f.Float32("nope"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("missing tensor: %v", err)
	}
	if _, ok := f.Info("nope"); ok {
		t.Error("Info of a missing tensor")
	}
	// Info returns copies.
	info, _ = f.Info("position_ids")
	info.Shape[0] = 99
	if again, _ := f.Info("position_ids"); again.Shape[0] != 1 {
		t.Error("Info shares its Shape")
	}
	if _, err := Open("testdata/does-not-exist"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open missing file: %v", err)
	}
	if _, err := Open("testdata"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open directory: %v", err)
	}
}

func TestConcurrentReads(t *testing.T) {
	s, err := OpenDir("testdata/sharded")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				for _, n := range s.Names() {
					if _, _, err := s.Float32(n); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Float32("head.bias"); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestOpenDir(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenDir(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty dir: %v", err)
	}
	one := []Tensor{{Name: "only", DType: F32, Shape: []int64{1}, Data: []float32{1}}}
	writeTemp(t, dir, SingleFileName, one, map[string]string{"format": "pt"})
	// A stale index next to model.safetensors is ignored, as transformers does.
	if err := os.WriteFile(filepath.Join(dir, IndexFileName), []byte(`{"weight_map":{"x":"gone.safetensors"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !slices.Equal(s.Names(), []string{"only"}) || s.Metadata()["format"] != "pt" {
		t.Errorf("names %v metadata %v", s.Names(), s.Metadata())
	}
	if _, ok := s.Info("only"); !ok {
		t.Error("Info")
	}
	if _, _, err := s.Bytes("x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Bytes missing: %v", err)
	}
}

func TestIndexErrors(t *testing.T) {
	a := []Tensor{{Name: "a", DType: F32, Shape: []int64{1}, Data: []float32{1}}}
	ab := append(slices.Clone(a), Tensor{Name: "b", DType: F32, Shape: []int64{1}, Data: []float32{2}})
	c := []Tensor{{Name: "c", DType: F32, Shape: []int64{1}, Data: []float32{3}}}
	tests := []struct {
		name   string
		index  string
		shards map[string][]Tensor
		path   string // file the message must name; "" means the index
		tensor string
		want   string
	}{
		{"missing shard", `{"weight_map":{"a":"s1.safetensors","c":"s2.safetensors"}}`,
			map[string][]Tensor{"s1.safetensors": a}, "", "c", `shard "s2.safetensors", which is missing`},
		{"tensor not in shard", `{"weight_map":{"a":"s1.safetensors","b":"s1.safetensors"}}`,
			map[string][]Tensor{"s1.safetensors": a}, "", "b", `shard "s1.safetensors", which does not contain it`},
		{"unlisted tensor", `{"weight_map":{"a":"s1.safetensors"}}`,
			map[string][]Tensor{"s1.safetensors": ab}, "s1.safetensors", "b", "not listed in model.safetensors.index.json"},
		{"tensor in two shards", `{"weight_map":{"a":"s1.safetensors","c":"s2.safetensors"}}`,
			map[string][]Tensor{"s1.safetensors": a, "s2.safetensors": append(slices.Clone(c), a...)}, "s2.safetensors", "a", `maps it to "s1.safetensors"`},
		{"escaping path", `{"weight_map":{"a":"../s1.safetensors"}}`, nil, "", "a", "not a file inside the checkpoint folder"},
		{"absolute path", `{"weight_map":{"a":"/etc/passwd"}}`, nil, "", "a", "not a file inside"},
		{"duplicate tensor", `{"weight_map":{"a":"s1.safetensors","a":"s1.safetensors"}}`, nil, "", "a", "listed twice"},
		{"duplicate weight_map", `{"weight_map":{"a":"s1.safetensors"},"weight_map":{}}`, nil, "", "", `duplicate key "weight_map"`},
		{"no weight_map", `{"metadata":{"total_size":4}}`, nil, "", "", "no weight_map"},
		{"empty weight_map", `{"weight_map":{}}`, nil, "", "", "weight_map is empty"},
		{"weight_map not object", `{"weight_map":[]}`, nil, "", "", "weight_map must be an object"},
		{"shard not string", `{"weight_map":{"a":1}}`, nil, "", "a", "must be a shard file name, got number 1"},
		{"not json", `weights`, nil, "", "", "index JSON"},
		{"truncated", `{"weight_map":{"a":"s1.safetensors"`, nil, "", "", "index JSON"},
		{"trailing", `{"weight_map":{"a":"s1.safetensors"}} {}`, map[string][]Tensor{"s1.safetensors": a}, "", "", "trailing data"},
		{"corrupt shard", `{"weight_map":{"a":"s1.safetensors"}}`, map[string][]Tensor{"s1.safetensors": nil}, "s1.safetensors", "", "shorter than the 8-byte"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, ts := range tc.shards {
				if ts == nil {
					os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644)
					continue
				}
				writeTemp(t, dir, name, ts, nil)
			}
			index := filepath.Join(dir, IndexFileName)
			if err := os.WriteFile(index, []byte(tc.index), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := OpenDir(dir)
			if err == nil {
				s.Close()
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not match ErrInvalid", err)
			}
			msg := err.Error()
			wantPath := index
			if tc.path != "" {
				wantPath = filepath.Join(dir, tc.path)
			}
			if !strings.Contains(msg, wantPath) {
				t.Errorf("message %q does not name %s", msg, wantPath)
			}
			if tc.tensor != "" && !strings.Contains(msg, `tensor "`+tc.tensor+`"`) {
				t.Errorf("message %q does not name tensor %q", msg, tc.tensor)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("message %q lacks %q", msg, tc.want)
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	f32 := func(name string, shape []int64, data []float32) Tensor {
		return Tensor{Name: name, DType: F32, Shape: shape, Data: data}
	}
	tests := []struct {
		name    string
		tensors []Tensor
		md      map[string]string
		want    string
	}{
		{"duplicate", []Tensor{f32("a", []int64{1}, []float32{1}), f32("a", []int64{1}, []float32{1})}, nil, `tensor "a": duplicate name`},
		{"reserved", []Tensor{f32(metadataKey, nil, []float32{1})}, nil, "reserved"},
		{"bad utf8 name", []Tensor{f32("\xff", nil, []float32{1})}, nil, "not valid UTF-8"},
		{"bad utf8 metadata", nil, map[string]string{"k": "\xff"}, "not valid UTF-8"},
		{"negative dim", []Tensor{f32("a", []int64{-1}, nil)}, nil, "negative dimension"},
		{"wrong count", []Tensor{f32("a", []int64{2}, []float32{1})}, nil, "Data has 1 values, shape [2] needs 2"},
		{"raw size", []Tensor{{Name: "a", DType: I32, Shape: []int64{2}, Raw: []byte{1}}}, nil, "Raw has 1 bytes"},
		{"both", []Tensor{{Name: "a", DType: F32, Shape: []int64{1}, Data: []float32{1}, Raw: []byte{0, 0, 0, 0}}}, nil, "both Data and Raw"},
		{"data for int", []Tensor{{Name: "a", DType: I64, Shape: []int64{1}, Data: []float32{1}}}, nil, "I64 needs Raw"},
		{"invalid dtype", []Tensor{{Name: "a", Shape: []int64{1}, Data: []float32{1}}}, nil, "invalid dtype"},
		{"sub-byte", []Tensor{{Name: "a", DType: F4, Shape: []int64{1}, Raw: []byte{}}}, nil, "whole number of bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tc.tensors, tc.md)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Write: %v, want %q", err, tc.want)
			}
		})
	}
	// WriteFile leaves nothing behind on error.
	dir := t.TempDir()
	if err := WriteFile(filepath.Join(dir, "x.safetensors"), tests[0].tensors, nil); err == nil {
		t.Error("WriteFile accepted duplicates")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left %v", ents)
	}
}

func TestWriteMetadataForms(t *testing.T) {
	for _, c := range []struct {
		md   map[string]string
		want string
	}{
		{nil, `{}      `},
		{map[string]string{}, `{"__metadata__":{}}     `},
		{map[string]string{"b": "2", "a": "\"1\"\n"}, `{"__metadata__":{"a":"\"1\"\n","b":"2"}}`},
	} {
		var buf bytes.Buffer
		if err := Write(&buf, nil, c.md); err != nil {
			t.Fatal(err)
		}
		if got := buf.String()[8:]; got != c.want {
			t.Errorf("metadata %v: header %q, want %q", c.md, got, c.want)
		}
	}
}
