package model

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/askqa/ask/safetensors"
	"github.com/askqa/ask/torchbin"
)

// Weights reads named tensors of a checkpoint, checking shapes, and
// remembers the first error so loaders read like a list of tensors.
type Weights struct {
	set    safetensors.Reader
	dir    string
	Prefix string
	err    error
	params int64
}

// OpenWeights opens model.safetensors (or its shards) in dir, else
// pytorch_model.bin (or its shards), read without running its pickle.
func OpenWeights(dir string) (*Weights, error) {
	s, err := safetensors.OpenDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if b, berr := torchbin.OpenDir(dir); berr == nil {
			return &Weights{set: b, dir: dir}, nil
		} else if !errors.Is(berr, fs.ErrNotExist) {
			return nil, fmt.Errorf("open weights: %w", berr)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open weights: %w", err)
	}
	return &Weights{set: s, dir: dir}, nil
}

// NewWeights reads the tensors of an opened set; name (a folder, or what
// stands for one) appears in error messages. The Weights own the set.
func NewWeights(s *safetensors.Set, name string) *Weights {
	return &Weights{set: s, dir: name}
}

// Close releases the mapping: views returned by View are invalid after it,
// copies returned by Get are not.
func (w *Weights) Close() error { return w.set.Close() }

// Has reports whether a tensor exists under the full name.
func (w *Weights) Has(name string) bool {
	_, ok := w.set.Info(name)
	return ok
}

// DetectPrefix picks the prefix under which probe exists: the head models
// store the encoder under e.g. "bert.", the bare models at the top level.
func (w *Weights) DetectPrefix(probe string, prefixes ...string) {
	for _, p := range prefixes {
		if w.Has(p + probe) {
			w.Prefix = p
			return
		}
	}
	if w.err == nil {
		w.err = fmt.Errorf("%s: tensor %q not found under any of the prefixes %q: is this checkpoint the architecture config.json says?", w.dir, probe, prefixes)
	}
}

// Err is the first error met.
func (w *Weights) Err() error { return w.err }

// Params is the number of float32 values read so far.
func (w *Weights) Params() int64 { return w.params }

// Get returns a private copy of Prefix+name after checking its shape.
func (w *Weights) Get(name string, shape ...int) []float32 {
	return w.own(w.Prefix+name, w.GetAbs(w.Prefix+name, shape...))
}

// own returns v, which GetAbs read for name, as memory of the model's own:
// float16 and bfloat16 tensors were converted into a new slice already, so
// only float32 views of the mapping are copied.
func (w *Weights) own(name string, v []float32) []float32 {
	if v == nil {
		return nil
	}
	if info, ok := w.set.Info(name); ok && info.DType != safetensors.F32 {
		return v
	}
	return cloneFloats(v)
}

// cloneFloats copies in 64 KiB steps: a single copy of a 100 MB embedding
// table is one memmove that cannot be preempted, which stalls every
// stop-the-world of the garbage collector (and so the other loading
// goroutines) for its whole duration.
func cloneFloats(v []float32) []float32 {
	out := make([]float32, len(v))
	const step = 1 << 14
	for i := 0; i < len(v); i += step {
		copy(out[i:min(i+step, len(v))], v[i:])
	}
	return out
}

// View is Get without the copy: for float32 files it points into the
// memory-mapped file and is valid until Close. Loaders use it for matrices
// they pack (a copy of their own), so a model's resident memory is its
// packed weights plus what it keeps, not the file as well.
func (w *Weights) View(name string, shape ...int) []float32 {
	return w.GetAbs(w.Prefix+name, shape...)
}

// GetAbs reads a tensor by its full name and checks its shape; the result
// is a view as with View.
func (w *Weights) GetAbs(name string, shape ...int) []float32 {
	if w.err != nil {
		return nil
	}
	data, got, err := w.float32(name)
	if err != nil {
		if _, ok := w.set.Info(name); !ok {
			w.err = fmt.Errorf("%s: missing tensor %q", w.dir, name)
		} else {
			w.err = fmt.Errorf("%s: tensor %q: %w", w.dir, name, err)
		}
		return nil
	}
	want := make([]int64, len(shape))
	for i, d := range shape {
		want[i] = int64(d)
	}
	if !slices.Equal(got, want) {
		w.err = fmt.Errorf("%s: tensor %q has shape %v, config.json implies %v", w.dir, name, got, want)
		return nil
	}
	w.params += int64(len(data))
	return data
}

// Norm reads a LayerNorm, accepting the legacy gamma/beta names.
func (w *Weights) Norm(name string, n int) (g, b []float32) {
	if w.err != nil {
		return nil, nil
	}
	full := w.Prefix + name
	if !w.Has(full+".weight") && w.Has(full+".gamma") {
		return w.own(full+".gamma", w.GetAbs(full+".gamma", n)), w.own(full+".beta", w.GetAbs(full+".beta", n))
	}
	return w.own(full+".weight", w.GetAbs(full+".weight", n)), w.own(full+".bias", w.GetAbs(full+".bias", n))
}

// HasPrefix reports whether any tensor name starts with p.
func (w *Weights) HasPrefix(p string) bool {
	for _, n := range w.set.Names() {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}
