package safetensors

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkOpen opens and closes F32 checkpoints of 1 MB and 256 MB with
// the same number of tensors. With mmap the two cost the same: Open is
// O(header), the data is never read. (Under -tags safetensors_nommap the
// large file is read in full and the gap is the cost of reading it.)
func BenchmarkOpen(b *testing.B) {
	const tensors = 128
	dir := b.TempDir()
	for _, size := range []int{1 << 20, 256 << 20} {
		per := size / tensors
		raw := make([]byte, per)
		for i := range raw {
			raw[i] = byte(i)
		}
		ts := make([]Tensor, tensors)
		for i := range ts {
			ts[i] = Tensor{Name: fmt.Sprintf("encoder.layer.%d.weight", i), DType: F32, Shape: []int64{int64(per / 4)}, Raw: raw}
		}
		path := filepath.Join(dir, fmt.Sprintf("%d.safetensors", size))
		if err := WriteFile(path, ts, map[string]string{"format": "pt"}); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dMB", size>>20), func(b *testing.B) {
			for b.Loop() {
				f, err := Open(path)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := f.Float32("encoder.layer.7.weight"); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	}
}

func benchConvert(b *testing.B, dtype DType) {
	const n = 1 << 20
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(i%1000) * 0.37
	}
	path := filepath.Join(b.TempDir(), "c.safetensors")
	if err := WriteFile(path, []Tensor{{Name: "x", DType: dtype, Shape: []int64{n}, Data: data}}, nil); err != nil {
		b.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.SetBytes(n * 4) // float32 output bytes
	for b.Loop() {
		if _, _, err := f.Float32("x"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFloat32F16(b *testing.B)  { benchConvert(b, F16) }
func BenchmarkFloat32BF16(b *testing.B) { benchConvert(b, BF16) }
func BenchmarkFloat32F32(b *testing.B)  { benchConvert(b, F32) }

// BenchmarkParseHeader measures header parsing alone for a BERT-base-sized
// header (~200 tensors); b.SetBytes makes the rate per header byte.
func BenchmarkParseHeader(b *testing.B) {
	ts := make([]Tensor, 200)
	for i := range ts {
		ts[i] = Tensor{Name: fmt.Sprintf("bert.encoder.layer.%d.attention.self.query.weight", i), DType: F32, Shape: []int64{1, 1}, Data: []float32{1}}
	}
	var buf writeBuf
	if err := Write(&buf, ts, map[string]string{"format": "pt"}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if _, err := parseHeader(buf); err != nil {
			b.Fatal(err)
		}
	}
}
