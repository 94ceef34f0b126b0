package safetensors

import (
	"bytes"
	"errors"
	"testing"
)

func TestOpenBytesMatchesWrite(t *testing.T) {
	var buf bytes.Buffer
	err := Write(&buf, []Tensor{
		{Name: "a", DType: F32, Shape: []int64{2}, Data: []float32{1, 2}},
		{Name: "b", DType: F16, Shape: []int64{1}, Data: []float32{1}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := OpenBytes("mem", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	s, err := SetOf(f)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, shape, err := s.Float32("a")
	if err != nil || len(shape) != 1 || a[0] != 1 || a[1] != 2 {
		t.Fatalf("a = %v %v %v", a, shape, err)
	}
	b, _, err := s.Float32("b")
	if err != nil || b[0] != 1 {
		t.Fatalf("b = %v %v", b, err)
	}
}

func TestOpenBytesRejectsGarbage(t *testing.T) {
	for _, data := range [][]byte{nil, {1, 2, 3}, []byte("\xff\xff\xff\xff\xff\xff\xff\x7fxxxx")} {
		if _, err := OpenBytes("mem", data); !errors.Is(err, ErrInvalid) {
			t.Errorf("OpenBytes(%q) = %v, want ErrInvalid", data, err)
		}
	}
}

func TestSetOfRejectsDuplicates(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, []Tensor{{Name: "a", DType: F32, Shape: []int64{1}, Data: []float32{0}}}, nil); err != nil {
		t.Fatal(err)
	}
	f1, _ := OpenBytes("one", buf.Bytes())
	f2, _ := OpenBytes("two", buf.Bytes())
	if _, err := SetOf(f1, f2); err == nil {
		t.Fatal("SetOf accepted a tensor held twice")
	}
	if _, err := SetOf(); err == nil {
		t.Fatal("SetOf accepted no files")
	}
}
