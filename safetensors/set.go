package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
)

// Standard file names of a Hugging Face checkpoint folder.
const (
	SingleFileName = "model.safetensors"
	IndexFileName  = "model.safetensors.index.json"
)

// Set presents one or more files (the shards of a checkpoint) as a single
// collection of uniquely named tensors. It is safe for concurrent use; the
// view rules of File apply.
type Set struct {
	files []*File          // shard order: sorted by file name
	owner map[string]*File // tensor name → shard
	names []string         // sorted
}

// OpenDir opens the checkpoint in a model folder: model.safetensors if it
// exists, else the shards listed by model.safetensors.index.json. That is
// transformers' precedence, so we load what Python would load.
func OpenDir(dir string) (*Set, error) {
	single := filepath.Join(dir, SingleFileName)
	if _, err := os.Stat(single); err == nil {
		f, err := Open(single)
		if err != nil {
			return nil, err
		}
		return &Set{files: []*File{f}, owner: ownerMap(f), names: f.Names()}, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	index := filepath.Join(dir, IndexFileName)
	if _, err := os.Stat(index); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("safetensors: %s: neither %s nor %s present: %w", dir, SingleFileName, IndexFileName, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return OpenIndex(index)
}

func ownerMap(f *File) map[string]*File {
	m := make(map[string]*File, len(f.hdr.names))
	for _, n := range f.hdr.names {
		m[n] = f
	}
	return m
}

// OpenIndex opens a sharded checkpoint from its index file, whose
// weight_map maps each tensor name to a shard file in the index's folder.
//
// The index and shards must agree exactly: a shard that is missing, a
// tensor absent from its shard, or a shard tensor the index does not list
// (or assigns elsewhere) is an error. A partial download or shards mixed
// from two revisions otherwise load as a silently wrong model.
func OpenIndex(indexPath string) (_ *Set, err error) {
	raw, err := os.ReadFile(indexPath)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	weightMap, err := parseIndex(raw)
	if err != nil {
		return nil, withPath(err, indexPath)
	}
	dir := filepath.Dir(indexPath)

	// Group tensors by shard, in sorted order for deterministic errors.
	byShard := map[string][]string{}
	for _, name := range slices.Sorted(maps.Keys(weightMap)) {
		shard := weightMap[name]
		byShard[shard] = append(byShard[shard], name)
	}
	s := &Set{owner: make(map[string]*File, len(weightMap))}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	for _, shard := range slices.Sorted(maps.Keys(byShard)) {
		want := byShard[shard]
		f, err := Open(filepath.Join(dir, filepath.FromSlash(shard)))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, &FormatError{Path: indexPath, Tensor: want[0], HasTensor: true,
					Reason: fmt.Sprintf("mapped to shard %q, which is missing (%d tensors map there)", shard, len(want))}
			}
			return nil, err
		}
		s.files = append(s.files, f)
		for _, name := range want {
			if _, ok := f.hdr.byName[name]; !ok {
				return nil, &FormatError{Path: indexPath, Tensor: name, HasTensor: true,
					Reason: fmt.Sprintf("mapped to shard %q, which does not contain it", shard)}
			}
			s.owner[name] = f
		}
		for _, name := range f.hdr.names {
			if weightMap[name] != shard {
				if other, listed := weightMap[name]; listed {
					return nil, &FormatError{Path: f.path, Tensor: name, HasTensor: true,
						Reason: fmt.Sprintf("also present in this shard, but %s maps it to %q", IndexFileName, other)}
				}
				return nil, &FormatError{Path: f.path, Tensor: name, HasTensor: true,
					Reason: "present in this shard but not listed in " + IndexFileName}
			}
		}
	}
	s.names = slices.Sorted(maps.Keys(s.owner))
	return s, nil
}

// parseIndex reads weight_map from an index file, rejecting duplicate
// keys (encoding/json would keep the last silently) and shard paths that
// escape the folder (a hostile repository must not make us open
// /etc/passwd or ../../other-model).
func parseIndex(raw []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fileErr("index JSON: " + err.Error())
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fileErr("index must be a JSON object")
	}
	var wm map[string]string
	seen := map[string]bool{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, fileErr("index JSON: " + err.Error())
		}
		key := kt.(string)
		if seen[key] {
			return nil, fileErr(fmt.Sprintf("duplicate key %q in index", key))
		}
		seen[key] = true
		if key != "weight_map" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fileErr("index JSON: " + err.Error())
			}
			continue
		}
		if tok, err = dec.Token(); err != nil {
			return nil, fileErr("index JSON: " + err.Error())
		}
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			return nil, fileErr("weight_map must be an object of tensor name → shard file")
		}
		wm = map[string]string{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, fileErr("index JSON: " + err.Error())
			}
			name := kt.(string)
			vt, err := dec.Token()
			if err != nil {
				return nil, fileErr("index JSON: " + err.Error())
			}
			shard, ok := vt.(string)
			if !ok {
				return nil, tensorErr(name, fmt.Sprintf("weight_map value must be a shard file name, got %s", describeToken(vt)))
			}
			if _, dup := wm[name]; dup {
				return nil, tensorErr(name, "listed twice in weight_map")
			}
			if !filepath.IsLocal(filepath.FromSlash(shard)) {
				return nil, tensorErr(name, fmt.Sprintf("shard %q is not a file inside the checkpoint folder", shard))
			}
			wm[name] = path.Clean(shard) // "./a" and "a" are one shard
		}
		if _, err := dec.Token(); err != nil {
			return nil, fileErr("index JSON: " + err.Error())
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, fileErr("index JSON: " + err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fileErr("index has trailing data after the JSON object")
	}
	if wm == nil {
		return nil, fileErr("index has no weight_map")
	}
	if len(wm) == 0 {
		return nil, fileErr("index weight_map is empty")
	}
	return wm, nil
}

// Files lists the paths of the underlying files, in shard order.
func (s *Set) Files() []string {
	out := make([]string, len(s.files))
	for i, f := range s.files {
		out[i] = f.path
	}
	return out
}

// Names lists all tensor names, sorted. The slice is the caller's.
func (s *Set) Names() []string { return slices.Clone(s.names) }

// Info describes a tensor; Offsets are relative to its own shard.
func (s *Set) Info(name string) (TensorInfo, bool) {
	f, ok := s.owner[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Info(name)
}

// Float32 is File.Float32 on the shard holding name.
func (s *Set) Float32(name string) ([]float32, []int64, error) {
	f, ok := s.owner[name]
	if !ok {
		return nil, nil, fmt.Errorf("safetensors: tensor %q: %w", name, ErrNotFound)
	}
	return f.Float32(name)
}

// Bytes is File.Bytes on the shard holding name.
func (s *Set) Bytes(name string) ([]byte, TensorInfo, error) {
	f, ok := s.owner[name]
	if !ok {
		return nil, TensorInfo{}, fmt.Errorf("safetensors: tensor %q: %w", name, ErrNotFound)
	}
	return f.Bytes(name)
}

// Metadata merges the shards' __metadata__ (in practice each holds the same
// {"format": "pt"}); on a conflicting key the first shard wins. Nil if no
// shard has metadata. The index's own "metadata" (total_size) is not
// string-valued and is not included.
func (s *Set) Metadata() map[string]string {
	var out map[string]string
	for _, f := range s.files {
		for k, v := range f.hdr.metadata {
			if out == nil {
				out = map[string]string{}
			}
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	return out
}

// Close closes every shard; views from any of them become invalid.
func (s *Set) Close() error {
	var errs []error
	for _, f := range s.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// describeToken names a JSON token's type for error messages.
func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "number " + string(v)
	case string:
		return "string " + strconv.Quote(v)
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		if v == '[' {
			return "an array"
		}
	}
	return fmt.Sprintf("%v", tok)
}
