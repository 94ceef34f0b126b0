package sentence

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"

	"github.com/askqa/ask/builtin"
	"github.com/askqa/ask/engine"
	"github.com/askqa/ask/model"
	"github.com/askqa/ask/safetensors"
	"github.com/askqa/ask/tokenizer"
)

// LoadOptions tune loading.
type LoadOptions struct {
	// Threads is the number of goroutines a forward pass uses; 0 means one
	// per CPU.
	Threads int
	// Logger hears about defaults the folder did not state (no
	// modules.json: mean pooling); nil logs nothing.
	Logger *slog.Logger
	// Quantize is engine.Options.Quantize: "int8" runs the encoder's
	// Linear layers in int8, "" or "none" in fp32 (an int8 checkpoint
	// runs in int8 unless "none" is asked).
	Quantize string
}

// Load reads a sentence-transformers folder (modules.json, 1_Pooling,
// 2_Normalize, sentence_bert_config.json,
// config_sentence_transformers.json) or a plain encoder folder, which is
// pooled by mean, as sentence-transformers does for one.
func Load(dir string, opts LoadOptions) (*Model, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("embed: %s is a file, not a model folder", dir)
	}
	f, err := readFolder(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("embed: %s: %w", dir, err)
	}
	encDir := filepath.Join(dir, filepath.FromSlash(f.encoderPath))
	enc, err := engine.Load(encDir, engine.Options{Threads: opts.Threads, HiddenStates: true, Quantize: opts.Quantize})
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	tok, err := tokenizer.LoadDir(encDir)
	if err != nil {
		enc.Close()
		return nil, fmt.Errorf("embed: %w", err)
	}
	return finish(dir, enc, tok, f, opts)
}

// LoadFS loads a model whose folder is an fs.FS and whose model.safetensors
// is held in memory (weights must not change while the model lives), such
// as the one built into the binary: nothing is written to disk.
func LoadFS(name string, fsys fs.FS, weights []byte, opts LoadOptions) (*Model, error) {
	f, err := readFolder(fsys)
	if err != nil {
		return nil, fmt.Errorf("embed: %s: %w", name, err)
	}
	encFS := fsys
	if f.encoderPath != "." {
		if encFS, err = fs.Sub(fsys, f.encoderPath); err != nil {
			return nil, fmt.Errorf("embed: %s: %w", name, err)
		}
	}
	raw, err := fs.ReadFile(encFS, "config.json")
	if err != nil {
		return nil, fmt.Errorf("embed: %s: %w", name, err)
	}
	cfg, err := model.ParseConfig(raw, path.Join(name, f.encoderPath, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	file, err := safetensors.OpenBytes(path.Join(name, f.encoderPath, "model.safetensors"), weights)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	set, err := safetensors.SetOf(file)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	enc, err := engine.LoadFrom(cfg, model.NewWeights(set, name), engine.Options{Threads: opts.Threads, HiddenStates: true, Quantize: opts.Quantize})
	if err != nil {
		return nil, fmt.Errorf("embed: load %s: %w", name, err)
	}
	tok, err := tokenizer.LoadFS(encFS, name)
	if err != nil {
		enc.Close()
		return nil, fmt.Errorf("embed: %w", err)
	}
	return finish(name, enc, tok, f, opts)
}

// LoadBuiltin loads the embedder built into the binary
// (multilingual-e5-small, int8 weights and word embeddings: int8 unless
// opts.Quantize is "none") from memory. It reports itself as
// builtin.EmbedderID.
func LoadBuiltin(opts LoadOptions) (*Model, error) {
	return LoadFS(builtin.EmbedderID, builtin.EmbedderFiles(), builtin.EmbedderWeights(), opts)
}

func finish(name string, enc model.Encoder, tok *tokenizer.Tokenizer, f *folder, opts LoadOptions) (*Model, error) {
	m, err := newModel(name, enc, tok, f)
	if err != nil {
		enc.Close()
		return nil, err
	}
	if f.plain && opts.Logger != nil {
		opts.Logger.Info("no modules.json: a plain encoder, pooled by the mean of its token states and not normalised, as sentence-transformers does", "model", name)
	}
	return m, nil
}
