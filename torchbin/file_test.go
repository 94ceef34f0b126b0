package torchbin

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/askqa/ask/safetensors"
)

type expected struct {
	DType  string    `json:"dtype"`
	Shape  []int64   `json:"shape"`
	Values []float64 `json:"values"`
}

func readExpected(t *testing.T, name string) map[string]expected {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]expected
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

var dtypes = map[string]safetensors.DType{
	"float32": safetensors.F32, "float16": safetensors.F16, "bfloat16": safetensors.BF16, "int64": safetensors.I64,
}

// compare checks every tensor of r against what torch.load returned.
func compare(t *testing.T, r safetensors.Reader, want map[string]expected) {
	t.Helper()
	var names []string
	for k := range want {
		names = append(names, k)
	}
	slices.Sort(names)
	if got := r.Names(); !slices.Equal(got, names) {
		t.Fatalf("names %q, want %q", got, names)
	}
	for _, name := range names {
		w := want[name]
		info, ok := r.Info(name)
		if !ok {
			t.Fatalf("%s: no info", name)
		}
		if info.DType != dtypes[w.DType] || !slices.Equal(info.Shape, w.Shape) {
			t.Errorf("%s: %s %v, want %s %v", name, info.DType, info.Shape, w.DType, w.Shape)
			continue
		}
		var got []float64
		if info.DType == safetensors.I64 {
			b, _, err := r.Bytes(name)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for i := 0; i+8 <= len(b); i += 8 {
				var v int64
				for j := 7; j >= 0; j-- {
					v = v<<8 | int64(b[i+j])
				}
				got = append(got, float64(v))
			}
		} else {
			v, shape, err := r.Float32(name)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !slices.Equal(shape, w.Shape) {
				t.Errorf("%s: Float32 shape %v", name, shape)
			}
			for _, x := range v {
				got = append(got, float64(x))
			}
		}
		if len(got) != len(w.Values) {
			t.Errorf("%s: %d values, want %d", name, len(got), len(w.Values))
			continue
		}
		for i := range got {
			// torch widened each value to float32 exactly; so do we.
			if got[i] != w.Values[i] && !(math.IsNaN(got[i]) && math.IsNaN(w.Values[i])) {
				t.Errorf("%s[%d] = %v, want %v", name, i, got[i], w.Values[i])
				break
			}
		}
	}
}

func TestMixed(t *testing.T) {
	f, err := Open(filepath.Join("testdata", "mixed.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	compare(t, f, readExpected(t, "mixed.json"))
}

func TestSharded(t *testing.T) {
	s, err := OpenDir(filepath.Join("testdata", "sharded"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	compare(t, s, readExpected(t, "sharded.json"))
	if len(s.Files()) != 2 {
		t.Errorf("files %v", s.Files())
	}
}

func TestOpenDirMissing(t *testing.T) {
	_, err := OpenDir(t.TempDir())
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotExist", err)
	}
}

func TestClosed(t *testing.T) {
	f, err := Open(filepath.Join("testdata", "mixed.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Float32("a.weight"); err == nil {
		t.Fatal("read after Close succeeded")
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestRefused(t *testing.T) {
	// torch.save pickles with protocol 2, which spells globals by their
	// Python 2 names: subprocess.call is written commands.call.
	tests := []struct {
		file string
		want error
		msg  string
	}{
		{"evil_subprocess.bin", ErrUnsafe, "commands.call"},
		{"evil_eval.bin", ErrUnsafe, "__builtin__.eval"},
		{"legacy.bin", ErrLegacy, "torch.save(torch.load"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := Open(filepath.Join("testdata", tt.file))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tt.want, tt.msg)
			}
		})
	}
}

// archive wraps a pickle in a torch-style zip with the given storages.
func archive(t testing.TB, pkl []byte, storages map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, b []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	add("archive/data.pkl", pkl)
	add("archive/byteorder", []byte("little"))
	for k, v := range storages {
		add("archive/data/"+k, v)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The pickle torch writes for {"w": float32 tensor of shape (2,)}, protocol 2.
const goodPickle = "\x80\x02}q\x00X\x01\x00\x00\x00wq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02((X\x07\x00\x00\x00storageq\x03ctorch\nFloatStorage\nq\x04X\x01\x00\x00\x000q\x05X\x03\x00\x00\x00cpuq\x06K\x02tq\x07QK\x00K\x02\x85q\x08K\x01\x85q\t\x89ccollections\nOrderedDict\nq\n)Rq\x0btq\x0cRq\rs."

func TestHandWritten(t *testing.T) {
	two := []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40} // 1.0, 2.0
	tests := []struct {
		name    string
		pkl     string
		storage []byte
		wantErr string
	}{
		{"good", goodPickle, two, ""},
		{"short storage", goodPickle, two[:4], "entry has 4 bytes"},
		{"os.system", "\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R.", nil, "os.system is refused"},
		{"posix.system", "cposix\nsystem\n(S'id'\ntR.", nil, "posix.system is refused"},
		{"builtins.getattr", "\x80\x04\x8c\x08builtins\x8c\x07getattr\x93.", nil, "builtins.getattr is refused"},
		{"reduce non-global", "\x80\x02}q\x00)R.", nil, "call of a dict"},
		{"BUILD attribute", "\x80\x02ccollections\nOrderedDict\n)R}X\x04\x00\x00\x00evilNsb.", nil, "BUILD sets attribute evil"},
		{"BUILD tuple", "\x80\x02ccollections\nOrderedDict\n)RK\x01\x85b.", nil, "BUILD with a tuple"},
		{"INST opcode", "(cos\nsystem\ni.", nil, "refused"},
		{"no STOP", "\x80\x02}", nil, "no STOP"},
		{"not a dict", "\x80\x02K\x01.", nil, "not a state dict"},
		{"underflow", "\x80\x02s.", nil, "underflow"},
		{"bad memo", "\x80\x02h\x05.", nil, "memo key 5"},
		{"protocol 9", "\x80\x09}.", nil, "protocol 9"},
		{"value not tensor", "\x80\x02}X\x01\x00\x00\x00wK\x01s.", nil, "not a tensor"},
		{"missing storage", goodPickle, nil, "no data/0 entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := map[string][]byte{}
			if tt.storage != nil {
				st["0"] = tt.storage
			}
			b := archive(t, []byte(tt.pkl), st)
			f, err := newFile("test.bin", bytes.NewReader(b), int64(len(b)))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			v, shape, err := f.Float32("w")
			if err != nil || !slices.Equal(v, []float32{1, 2}) || !slices.Equal(shape, []int64{2}) {
				t.Fatalf("Float32 = %v %v %v", v, shape, err)
			}
		})
	}
}
