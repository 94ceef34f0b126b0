package torchbin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/askqa/ask/safetensors"
)

// The file names transformers gives PyTorch checkpoints.
const (
	SingleFileName = "pytorch_model.bin"
	IndexFileName  = "pytorch_model.bin.index.json"
)

// Set presents the shards of a checkpoint as one collection of tensors.
type Set struct {
	files []*File
	owner map[string]*File
	names []string
}

var _ safetensors.Reader = (*Set)(nil)

// OpenDir opens pytorch_model.bin in dir, else the shards listed by
// pytorch_model.bin.index.json, transformers' precedence. A missing
// checkpoint matches fs.ErrNotExist.
func OpenDir(dir string) (*Set, error) {
	single := filepath.Join(dir, SingleFileName)
	if _, err := os.Stat(single); err == nil {
		f, err := Open(single)
		if err != nil {
			return nil, err
		}
		return newSet([]*File{f})
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("torchbin: %w", err)
	}
	index := filepath.Join(dir, IndexFileName)
	raw, err := os.ReadFile(index)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("torchbin: %s: neither %s nor %s present: %w", dir, SingleFileName, IndexFileName, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("torchbin: %w", err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("torchbin: %s: %w", index, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("torchbin: %s: empty weight_map", index)
	}
	var shards []string
	for name, shard := range idx.WeightMap {
		if !filepath.IsLocal(shard) || filepath.Base(shard) != shard {
			return nil, fmt.Errorf("torchbin: %s: tensor %q: shard %q is not a file name in the folder", index, name, shard)
		}
		if !slices.Contains(shards, shard) {
			shards = append(shards, shard)
		}
	}
	slices.Sort(shards)
	var files []*File
	for _, s := range shards {
		f, err := Open(filepath.Join(dir, s))
		if err != nil {
			for _, o := range files {
				o.Close()
			}
			return nil, err
		}
		files = append(files, f)
	}
	s, err := newSet(files)
	if err != nil {
		return nil, fmt.Errorf("torchbin: %s: %w", index, err)
	}
	for name, shard := range idx.WeightMap {
		if f, ok := s.owner[name]; !ok || filepath.Base(f.path) != shard {
			s.Close()
			return nil, fmt.Errorf("torchbin: %s: tensor %q is not in shard %s", index, name, shard)
		}
	}
	return s, nil
}

func newSet(files []*File) (*Set, error) {
	s := &Set{files: files, owner: map[string]*File{}}
	for _, f := range files {
		for _, n := range f.names {
			if o, dup := s.owner[n]; dup {
				s.Close()
				return nil, fmt.Errorf("tensor %q is in both %s and %s", n, o.path, f.path)
			}
			s.owner[n] = f
			s.names = append(s.names, n)
		}
	}
	slices.Sort(s.names)
	return s, nil
}

// Files lists the shard paths in order.
func (s *Set) Files() []string {
	out := make([]string, len(s.files))
	for i, f := range s.files {
		out[i] = f.path
	}
	return out
}

// Names lists every tensor name, sorted.
func (s *Set) Names() []string { return slices.Clone(s.names) }

// Info is File.Info on the shard holding name.
func (s *Set) Info(name string) (safetensors.TensorInfo, bool) {
	f, ok := s.owner[name]
	if !ok {
		return safetensors.TensorInfo{}, false
	}
	return f.Info(name)
}

// Float32 is File.Float32 on the shard holding name.
func (s *Set) Float32(name string) ([]float32, []int64, error) {
	f, ok := s.owner[name]
	if !ok {
		return nil, nil, fmt.Errorf("torchbin: tensor %q: %w", name, safetensors.ErrNotFound)
	}
	return f.Float32(name)
}

// Bytes is File.Bytes on the shard holding name.
func (s *Set) Bytes(name string) ([]byte, safetensors.TensorInfo, error) {
	f, ok := s.owner[name]
	if !ok {
		return nil, safetensors.TensorInfo{}, fmt.Errorf("torchbin: tensor %q: %w", name, safetensors.ErrNotFound)
	}
	return f.Bytes(name)
}

// Metadata is nil: state dicts carry none.
func (s *Set) Metadata() map[string]string { return nil }

// Close closes every shard.
func (s *Set) Close() error {
	var errs []error
	for _, f := range s.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}
