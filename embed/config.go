package embed

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// folder is what a sentence-transformers folder says about its modules:
// which encoder, how its token states are pooled, whether the result is
// normalised, the longest input, and the named prompts.
type folder struct {
	// encoderPath is the Transformer module's folder inside the model folder
	// ("." for the folder itself, the usual layout).
	encoderPath string
	pooling     pooling
	normalize   bool
	maxSeqLen   int // 0: not set, take the model's limit
	lowerCase   bool
	prompts     map[string]string
	defaultName string
	similarity  string
	// plain reports a folder without modules.json: a bare encoder, pooled
	// by mean as sentence-transformers does for one.
	plain bool
}

type module struct {
	Path string `json:"path"`
	Type string `json:"type"`
}

// readFolder reads modules.json and the configs it points to. A folder
// without modules.json is a plain encoder: mean pooling, no normalisation.
func readFolder(fsys fs.FS) (*folder, error) {
	f := &folder{encoderPath: ".", similarity: "cosine"}
	raw, err := fs.ReadFile(fsys, "modules.json")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f.plain = true
		f.pooling = pooling{mean: true, includePrompt: true}
		if err := f.readSentenceConfig(fsys); err != nil {
			return nil, err
		}
		return f, nil
	case err != nil:
		return nil, err
	}
	var mods []module
	if err := json.Unmarshal(raw, &mods); err != nil {
		return nil, fmt.Errorf("modules.json: %w", err)
	}
	seen := map[string]bool{}
	for _, m := range mods {
		kind := m.Type[strings.LastIndex(m.Type, ".")+1:]
		dir := path.Clean("./" + m.Path)
		switch kind {
		case "Transformer":
			f.encoderPath = dir
		case "Pooling":
			p, err := readPooling(fsys, dir)
			if err != nil {
				return nil, err
			}
			f.pooling = p
		case "Normalize":
			f.normalize = true
		default:
			return nil, fmt.Errorf("modules.json: module %q of type %s is not supported (supported: Transformer, Pooling, Normalize)", m.Path, m.Type)
		}
		seen[kind] = true
	}
	if !seen["Transformer"] {
		return nil, errors.New("modules.json lists no sentence_transformers.models.Transformer module")
	}
	if !seen["Pooling"] {
		return nil, errors.New("modules.json lists no sentence_transformers.models.Pooling module: token embeddings without pooling are not sentence embeddings")
	}
	if err := f.readSentenceConfig(fsys); err != nil {
		return nil, err
	}
	if err := f.readSTConfig(fsys); err != nil {
		return nil, err
	}
	return f, nil
}

// readSentenceConfig reads sentence_bert_config.json from the encoder's
// folder, where sentence-transformers' Transformer module keeps it.
func (f *folder) readSentenceConfig(fsys fs.FS) error {
	name := path.Join(f.encoderPath, "sentence_bert_config.json")
	raw, err := fs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var c struct {
		MaxSeqLength *int `json:"max_seq_length"`
		DoLowerCase  bool `json:"do_lower_case"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if c.MaxSeqLength != nil {
		if *c.MaxSeqLength < 3 {
			return fmt.Errorf("%s: max_seq_length %d leaves no room for text", name, *c.MaxSeqLength)
		}
		f.maxSeqLen = *c.MaxSeqLength
	}
	f.lowerCase = c.DoLowerCase
	return nil
}

func (f *folder) readSTConfig(fsys fs.FS) error {
	raw, err := fs.ReadFile(fsys, "config_sentence_transformers.json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var c struct {
		Prompts           map[string]string `json:"prompts"`
		DefaultPromptName *string           `json:"default_prompt_name"`
		Similarity        *string           `json:"similarity_fn_name"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("config_sentence_transformers.json: %w", err)
	}
	f.prompts = c.Prompts
	if c.DefaultPromptName != nil && *c.DefaultPromptName != "" {
		if _, ok := c.Prompts[*c.DefaultPromptName]; !ok {
			return fmt.Errorf("config_sentence_transformers.json: default_prompt_name %q is not one of its prompts", *c.DefaultPromptName)
		}
		f.defaultName = *c.DefaultPromptName
	}
	if c.Similarity != nil && *c.Similarity != "" {
		switch *c.Similarity {
		case "cosine", "dot", "euclidean", "manhattan":
			f.similarity = *c.Similarity
		default:
			return fmt.Errorf("config_sentence_transformers.json: unknown similarity_fn_name %q", *c.Similarity)
		}
	}
	return nil
}

// pooling is sentence-transformers' Pooling module: every mode switched on
// contributes its vector, concatenated in the module's fixed order.
type pooling struct {
	dim                                          int
	cls, max, mean, meanSqrt, weightedMean, last bool
	includePrompt                                bool
}

func readPooling(fsys fs.FS, dir string) (pooling, error) {
	name := path.Join(dir, "config.json")
	raw, err := fs.ReadFile(fsys, name)
	if err != nil {
		return pooling{}, fmt.Errorf("pooling module: %w", err)
	}
	var c struct {
		Dim           int     `json:"word_embedding_dimension"`
		Mode          *string `json:"pooling_mode"`
		CLS           bool    `json:"pooling_mode_cls_token"`
		Mean          bool    `json:"pooling_mode_mean_tokens"`
		Max           bool    `json:"pooling_mode_max_tokens"`
		MeanSqrt      bool    `json:"pooling_mode_mean_sqrt_len_tokens"`
		WeightedMean  bool    `json:"pooling_mode_weightedmean_tokens"`
		LastToken     bool    `json:"pooling_mode_lasttoken"`
		IncludePrompt *bool   `json:"include_prompt"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return pooling{}, fmt.Errorf("%s: %w", name, err)
	}
	p := pooling{dim: c.Dim, cls: c.CLS, max: c.Max, mean: c.Mean, meanSqrt: c.MeanSqrt, weightedMean: c.WeightedMean, last: c.LastToken, includePrompt: true}
	if c.IncludePrompt != nil {
		p.includePrompt = *c.IncludePrompt
	}
	if c.Mode != nil {
		// The short form, which sentence-transformers' Pooling also takes.
		switch *c.Mode {
		case "cls":
			p.cls = true
		case "mean":
			p.mean = true
		case "max":
			p.max = true
		case "mean_sqrt_len_tokens":
			p.meanSqrt = true
		case "weightedmean":
			p.weightedMean = true
		case "lasttoken":
			p.last = true
		default:
			return pooling{}, fmt.Errorf("%s: unknown pooling_mode %q", name, *c.Mode)
		}
	}
	if p.modes() == 0 {
		return pooling{}, fmt.Errorf("%s: no pooling mode is switched on", name)
	}
	return p, nil
}

func (p pooling) modes() int {
	n := 0
	for _, on := range []bool{p.cls, p.max, p.mean, p.meanSqrt, p.weightedMean, p.last} {
		if on {
			n++
		}
	}
	return n
}

// name describes the pooling for Info.
func (p pooling) name() string {
	var parts []string
	for _, m := range []struct {
		on   bool
		name string
	}{{p.cls, "cls"}, {p.max, "max"}, {p.mean, "mean"}, {p.meanSqrt, "mean_sqrt_len"}, {p.weightedMean, "weightedmean"}, {p.last, "lasttoken"}} {
		if m.on {
			parts = append(parts, m.name)
		}
	}
	return strings.Join(parts, "+")
}
