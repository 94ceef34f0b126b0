// Package engine loads a Hugging Face checkpoint folder into a
// model.Encoder, dispatching on config.json's model_type. Adding an
// architecture is one package under model/ and one case here.
package engine

import (
	"fmt"
	"runtime/debug"

	"github.com/askqa/ask/model"
	"github.com/askqa/ask/model/albert"
	"github.com/askqa/ask/model/bert"
	"github.com/askqa/ask/model/debertav2"
	"github.com/askqa/ask/model/distilbert"
)

// Options tune loading.
type Options struct {
	// Threads is the number of goroutines a forward pass uses; 0 means one
	// per CPU.
	Threads int
	// HiddenStates drops a task head the checkpoint may have (a QA model's
	// span classifier, say) and yields the last hidden state: what sentence
	// embeddings pool.
	HiddenStates bool
	// Quantize is "int8" to run the encoder's Linear layers in int8
	// (weights per output channel at load, activations per row at run
	// time), or "" for fp32. See ParseQuantize.
	Quantize string
}

// ParseQuantize checks a --quantize / ASK_QUANTIZE value.
func ParseQuantize(v string) (string, error) {
	switch v {
	case "", "none", "fp32":
		return "", nil
	case "int8":
		return v, nil
	}
	return "", fmt.Errorf("quantize %q: want int8, or none for fp32", v)
}

// SupportedTypes lists the model_type values Load accepts.
func SupportedTypes() []string {
	return []string{"albert", "bert", "deberta-v2", "distilbert", "electra", "roberta", "xlm-roberta"}
}

// Load reads dir (config.json + model.safetensors or shards) and returns a
// ready encoder. Matrices are packed and everything else copied, so the
// files may change afterwards.
func Load(dir string, opts Options) (model.Encoder, error) {
	cfg, err := model.ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	if _, err := loader(cfg); err != nil {
		return nil, err
	}
	w, err := model.OpenWeights(dir)
	if err != nil {
		return nil, err
	}
	enc, err := LoadFrom(cfg, w, opts)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	return enc, nil
}

// LoadFrom builds an encoder from a parsed config and opened weights (for
// checkpoints that are not a folder, such as the ones embedded in the
// binary). It closes w: everything the model keeps is copied or packed, so
// resident memory is then the model, not the model plus the file.
func LoadFrom(cfg *model.Config, w *model.Weights, opts Options) (model.Encoder, error) {
	defer w.Close()
	int8File := w.Int8()
	load, err := loader(cfg)
	if err != nil {
		return nil, err
	}
	arch, head, err := load(cfg, w)
	if err != nil {
		return nil, err
	}
	if opts.HiddenStates {
		head = nil
	}
	if err := quantize(arch, w, opts.Quantize, int8File); err != nil {
		return nil, err
	}
	if int8File || opts.Quantize == "int8" {
		// Quantizing dropped the float32 copies of the weights (and an
		// int8 file was read through them): return those pages now, so a
		// model loaded in int8 is resident at its int8 size, not at the
		// peak of the load.
		debug.FreeOSMemory()
	}
	return model.NewEncoder(arch, head, opts.Threads), nil
}

type loadFunc func(*model.Config, *model.Weights) (model.Arch, *model.QAHead, error)

func loader(cfg *model.Config) (loadFunc, error) {
	switch {
	case bert.Supports(cfg.ModelType):
		return func(c *model.Config, w *model.Weights) (model.Arch, *model.QAHead, error) {
			return wrap(bert.Load(c, w))
		}, nil
	case cfg.ModelType == "distilbert":
		return func(c *model.Config, w *model.Weights) (model.Arch, *model.QAHead, error) {
			return wrap(distilbert.Load(c, w))
		}, nil
	case cfg.ModelType == "albert":
		return func(c *model.Config, w *model.Weights) (model.Arch, *model.QAHead, error) {
			return wrap(albert.Load(c, w))
		}, nil
	case cfg.ModelType == "deberta-v2":
		return func(c *model.Config, w *model.Weights) (model.Arch, *model.QAHead, error) {
			return wrap(debertav2.Load(c, w))
		}, nil
	}
	return nil, fmt.Errorf("%s: unknown model_type %q; supported: %v", cfg.Path, cfg.ModelType, SupportedTypes())
}

// wrap converts an architecture's concrete result into the interface without
// turning a nil pointer into a non-nil interface.
func wrap[A model.Arch](a A, h *model.QAHead, err error) (model.Arch, *model.QAHead, error) {
	if err != nil {
		return nil, nil, err
	}
	return a, h, nil
}
