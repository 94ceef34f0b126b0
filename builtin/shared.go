package builtin

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/askqa/ask/safetensors"
)

// manifestName is the file in a built-in model's folder that lists what
// the model takes from the built-in embedder instead of carrying a copy.
// The multilingual QA model and the embedder are both multilingual-e5-small
// with the same pruned vocabulary, and the QA training froze the word
// embeddings: the two share their tokenizer.json and their int8
// word-embedding table (15 MB), so the binary carries them once. The
// model's folder appears whole, as transformers would save it, only once
// unpacked (unpack assembles it).
const manifestName = "shared.json"

// SharesWithEmbedder reports whether dir is a model folder that leaves out
// what it shares with the built-in embedder (builtin/multilingual in a
// checkout): it is not loadable as it is, only as the built-in model.
func SharesWithEmbedder(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, manifestName))
	return err == nil
}

// manifest is shared.json.
type manifest struct {
	// Files maps a file of the model's folder to the embedder's file it is
	// a copy of.
	Files map[string]string `json:"files"`
	// Tensors maps a tensor of the model's model.safetensors to the
	// embedder's tensor it is (same dtype, shape and bytes).
	Tensors map[string]string `json:"tensors"`
}

// embedderParts is where shared files and tensors come from: the built-in
// embedder (builtinEmbedder), or a fake in tests.
type embedderParts struct {
	files   fs.FS
	weights []byte
}

func builtinEmbedder() embedderParts {
	return embedderParts{files: EmbedderFiles(), weights: EmbedderWeights()}
}

// readManifest reads fsys's shared.json; nil, nil when there is none.
func readManifest(fsys fs.FS) (*manifest, error) {
	b, err := fs.ReadFile(fsys, manifestName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", manifestName, err)
	}
	return &m, nil
}

// assemble writes into dir the files m takes from the embedder and the
// whole model.safetensors: fsys's tensors plus the embedder's that m
// names, with fsys's metadata. safetensors.Write lays a file out
// canonically, so the result is the file the exporter would have written
// with every tensor in it.
func assemble(fsys fs.FS, m *manifest, emb embedderParts, dir string) error {
	for _, name := range slices.Sorted(maps.Keys(m.Files)) {
		b, err := fs.ReadFile(emb.files, m.Files[name])
		if err != nil {
			return fmt.Errorf("shared file %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	own, err := fs.ReadFile(fsys, "model.safetensors")
	if err != nil {
		return err
	}
	model, err := safetensors.OpenBytes("model.safetensors", own)
	if err != nil {
		return err
	}
	embedder, err := safetensors.OpenBytes("the embedder's model.safetensors", emb.weights)
	if err != nil {
		return err
	}
	var tensors []safetensors.Tensor
	for _, name := range model.Names() {
		raw, info, err := model.Bytes(name)
		if err != nil {
			return err
		}
		tensors = append(tensors, safetensors.Tensor{Name: name, DType: info.DType, Shape: info.Shape, Raw: raw})
	}
	for _, name := range slices.Sorted(maps.Keys(m.Tensors)) {
		if _, ok := model.Info(name); ok {
			return fmt.Errorf("shared tensor %s: the model has its own", name)
		}
		raw, info, err := embedder.Bytes(m.Tensors[name])
		if err != nil {
			return fmt.Errorf("shared tensor %s: %w", name, err)
		}
		tensors = append(tensors, safetensors.Tensor{Name: name, DType: info.DType, Shape: info.Shape, Raw: raw})
	}
	f, err := os.Create(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := safetensors.Write(w, tensors, model.Metadata()); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// hashShared adds to h what a model with manifest m is made of besides its
// own model.safetensors: the manifest, the embedder's files it copies and
// the embedder's weights (whose tensors it takes).
func hashShared(h io.Writer, fsys fs.FS, m *manifest, emb embedderParts) error {
	b, err := fs.ReadFile(fsys, manifestName)
	if err != nil {
		return err
	}
	h.Write(b)
	for _, name := range slices.Sorted(maps.Keys(m.Files)) {
		b, err := fs.ReadFile(emb.files, m.Files[name])
		if err != nil {
			return fmt.Errorf("shared file %s: %w", name, err)
		}
		h.Write(b)
	}
	h.Write(emb.weights)
	return nil
}
