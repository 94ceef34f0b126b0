package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Config is the subset of a transformers config.json the encoders read.
// Fields that an architecture names differently (DistilBERT's dim, n_layers…)
// are kept under their own names; each architecture package maps them.
type Config struct {
	ModelType     string   `json:"model_type"`
	Architectures []string `json:"architectures"`

	HiddenSize            int      `json:"hidden_size"`
	NumHiddenLayers       int      `json:"num_hidden_layers"`
	NumAttentionHeads     int      `json:"num_attention_heads"`
	IntermediateSize      int      `json:"intermediate_size"`
	HiddenAct             string   `json:"hidden_act"`
	MaxPositionEmbeddings int      `json:"max_position_embeddings"`
	TypeVocabSize         int      `json:"type_vocab_size"`
	VocabSize             int      `json:"vocab_size"`
	LayerNormEps          *float64 `json:"layer_norm_eps"`
	PadTokenID            *int     `json:"pad_token_id"`
	PositionEmbeddingType string   `json:"position_embedding_type"`
	EmbeddingSize         int      `json:"embedding_size"`

	// ALBERT
	NumHiddenGroups int `json:"num_hidden_groups"`
	InnerGroupNum   int `json:"inner_group_num"`

	// DistilBERT
	Dim                int    `json:"dim"`
	NLayers            int    `json:"n_layers"`
	NHeads             int    `json:"n_heads"`
	HiddenDim          int    `json:"hidden_dim"`
	Activation         string `json:"activation"`
	SinusoidalPosEmbds bool   `json:"sinusoidal_pos_embds"`

	// Path is the file the config was read from, for error messages.
	Path string `json:"-"`
	// Raw is the whole config.json, for the fields only one architecture
	// reads (DeBERTa's relative attention): loading from memory (an
	// embedded checkpoint, engine.LoadFrom) must not go back to Path.
	Raw []byte `json:"-"`
}

// ReadConfig reads dir/config.json.
func ReadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no config.json: a model folder needs config.json, model.safetensors and tokenizer files", dir)
		}
		return nil, fmt.Errorf("read model config: %w", err)
	}
	return ParseConfig(data, path)
}

// ParseConfig parses the contents of a config.json; path names it in errors.
func ParseConfig(data []byte, path string) (*Config, error) {
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", path, err)
	}
	c.Path = path
	c.Raw = data
	if c.ModelType == "" {
		return nil, fmt.Errorf("%s: no model_type", path)
	}
	return &c, nil
}

// HeadFor decides the head from the architectures entry of config.json.
// family lists the class-name prefixes of the architecture (e.g. "Bert").
func (c *Config) HeadFor(families ...string) (Head, string, error) {
	if len(c.Architectures) == 0 {
		return HeadNone, "", nil
	}
	name := c.Architectures[0]
	for _, f := range families {
		rest, ok := strings.CutPrefix(name, f)
		if !ok {
			continue
		}
		switch rest {
		case "ForQuestionAnswering":
			return HeadQuestionAnswering, name, nil
		case "Model", "ForMaskedLM", "ForPreTraining", "ForMaskedLanguageModeling", "ForSequenceClassification", "ForTokenClassification":
			// Their encoder weights are the same; the head is not used.
			return HeadNone, name, nil
		}
	}
	return 0, "", fmt.Errorf("%s: unsupported architecture %q for model_type %q (supported: %sForQuestionAnswering, %sModel)",
		c.Path, name, c.ModelType, families[0], families[0])
}

// Eps returns layer_norm_eps or def when absent.
func (c *Config) Eps(def float64) float32 {
	if c.LayerNormEps != nil {
		return float32(*c.LayerNormEps)
	}
	return float32(def)
}

// CheckPositionType rejects relative position embeddings, which no
// architecture here implements.
func (c *Config) CheckPositionType() error {
	switch c.PositionEmbeddingType {
	case "", "absolute":
		return nil
	}
	return fmt.Errorf("%s: position_embedding_type %q is not supported (only \"absolute\")", c.Path, c.PositionEmbeddingType)
}
