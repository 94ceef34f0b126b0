package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/askqa/ask/model"
	"github.com/askqa/ask/safetensors"
)

// writeSmoothed copies the tiny BERT QA checkpoint with every encoder
// Linear stored as W/f per input channel and the factors f under
// InScaleName: the same function as the original, written as a SmoothQuant
// checkpoint would be (in F32 here, so that the fp32 load can be compared
// exactly).
func writeSmoothed(t *testing.T, f func(r *rand.Rand) float32) string {
	t.Helper()
	src := filepath.Join("..", "model", "testdata", "tiny", "bert-qa")
	set, err := safetensors.OpenDir(src)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	parts := map[string]string{
		"attention.self.query": "qkv", "attention.self.key": "qkv", "attention.self.value": "qkv",
		"attention.output.dense": "out", "intermediate.dense": "ff1", "output.dense": "ff2",
	}
	r := rand.New(rand.NewPCG(7, 7))
	factors := map[string][]float32{}
	var out []safetensors.Tensor
	for _, name := range set.Names() {
		view, shape, err := set.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		v := append([]float32(nil), view...) // F32 tensors are views of the read-only mapping
		var layer int
		var mod string
		if n, _ := fmt.Sscanf(name, "bert.encoder.layer.%d.", &layer); n == 1 && len(shape) == 2 {
			rest := name[strings.Index(name, fmt.Sprintf(".%d.", layer))+len(fmt.Sprintf(".%d.", layer)):]
			mod = strings.TrimSuffix(rest, ".weight")
		}
		if part, ok := parts[mod]; ok {
			key := InScaleName(layer, part)
			in := int(shape[1])
			fs, seen := factors[key]
			if !seen {
				fs = make([]float32, in)
				for k := range fs {
					fs[k] = f(r)
				}
				factors[key] = fs
				out = append(out, safetensors.Tensor{Name: key, DType: safetensors.F32, Shape: []int64{int64(in)}, Data: fs})
			}
			for i := range v {
				v[i] /= fs[i%in]
			}
		}
		out = append(out, safetensors.Tensor{Name: name, DType: safetensors.F32, Shape: shape, Data: v})
	}
	if len(factors) != 8 {
		t.Fatalf("found %d Linear groups in the tiny checkpoint, want 8 (2 layers × 4)", len(factors))
	}
	dir := t.TempDir()
	cfg, err := os.ReadFile(filepath.Join(src, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Create(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if err := safetensors.Write(fh, out, nil); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func startLogits(t *testing.T, dir, quantize string) []float32 {
	t.Helper()
	enc, err := Load(dir, Options{Threads: 1, Quantize: quantize})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	b := model.Batch{Size: 1, SeqLen: 9, InputIDs: []int32{2, 15, 27, 33, 3, 41, 52, 60, 3}, TokenTypeIDs: []int32{0, 0, 0, 0, 0, 1, 1, 1, 1}}
	var out model.Output
	if err := enc.Forward(context.Background(), &b, &out); err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), out.StartLogits...)
}

// TestInScaleCheckpoint loads a checkpoint that carries activation factors:
// in fp32 they are folded back into the weights (the same logits as the
// original, to float rounding); in int8 they scale the activations before
// quantization (close to fp32).
func TestInScaleCheckpoint(t *testing.T) {
	dir := writeSmoothed(t, func(r *rand.Rand) float32 { return float32(math.Exp2(4*r.Float64() - 2)) })
	want := startLogits(t, filepath.Join("..", "model", "testdata", "tiny", "bert-qa"), "")
	worst := func(got []float32) (d float64) {
		for i := range got {
			d = max(d, math.Abs(float64(got[i]-want[i])))
		}
		return d
	}
	if d := worst(startLogits(t, dir, "")); d > 1e-4 {
		t.Errorf("fp32 with the factors folded back: max |Δ| %.3g from the original", d)
	}
	plain, smooth := worst(startLogits(t, filepath.Join("..", "model", "testdata", "tiny", "bert-qa"), "int8")), worst(startLogits(t, dir, "int8"))
	t.Logf("int8 max |Δ| to fp32: plain %.3g, with factors %.3g", plain, smooth)
	// Random factors (¼ to 4) do not help the rounding as calibrated ones
	// do, but they must not break it: ignoring them would be off by the
	// factors themselves.
	if smooth > 4*plain {
		t.Errorf("int8 with factors: max |Δ| %.3g to fp32, plain int8 %.3g", smooth, plain)
	}
}

func TestInScaleCheckpointRejectsBadFactors(t *testing.T) {
	dir := writeSmoothed(t, func(*rand.Rand) float32 { return -1 })
	_, err := Load(dir, Options{Threads: 1})
	if err == nil || !strings.Contains(err.Error(), "positive") {
		t.Fatalf("negative factors: err = %v", err)
	}
}

// TestMode: an int8 checkpoint (the built-in model) runs in int8 unless
// told "none"; a float one runs in fp32 unless told "int8".
func TestMode(t *testing.T) {
	tiny := filepath.Join("..", "model", "testdata", "tiny", "bert-qa")
	int8Dir := filepath.Join("..", "builtin", "model")
	for _, c := range []struct{ dir, mode, want string }{
		{tiny, "", ""},
		{tiny, "int8", "int8"},
		{tiny, "none", ""},
		{int8Dir, "", "int8"},
		{int8Dir, "none", ""},
		{int8Dir, "int8", "int8"},
	} {
		got, err := Mode(c.dir, c.mode)
		if err != nil || got != c.want {
			t.Errorf("Mode(%s, %q) = %q, %v; want %q", c.dir, c.mode, got, err, c.want)
		}
	}
	if _, err := Mode(tiny, "int4"); err == nil {
		t.Error("Mode accepted int4")
	}
	if _, err := Mode(t.TempDir(), ""); err == nil {
		t.Error("Mode of an empty folder: no error")
	}
}
