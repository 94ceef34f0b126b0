package sentence

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
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
		f.pooling = pooling{modes: []string{"mean"}, includePrompt: true}
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

// pooling is sentence-transformers' Pooling module: each of its modes
// contributes a vector, concatenated in the order the config lists them.
type pooling struct {
	dim           int
	modes         []string // of poolingModes
	includePrompt bool
}

// poolingModes are sentence-transformers' mode names, in the order its
// legacy boolean keys are read.
var poolingModes = []struct{ name, legacyKey string }{
	{"cls", "pooling_mode_cls_token"},
	{"max", "pooling_mode_max_tokens"},
	{"mean", "pooling_mode_mean_tokens"},
	{"mean_sqrt_len_tokens", "pooling_mode_mean_sqrt_len_tokens"},
	{"weightedmean", "pooling_mode_weightedmean_tokens"},
	{"lasttoken", "pooling_mode_lasttoken"},
}

func readPooling(fsys fs.FS, dir string) (pooling, error) {
	name := path.Join(dir, "config.json")
	raw, err := fs.ReadFile(fsys, name)
	if err != nil {
		return pooling{}, fmt.Errorf("pooling module: %w", err)
	}
	var c map[string]json.RawMessage
	if err := json.Unmarshal(raw, &c); err != nil {
		return pooling{}, fmt.Errorf("%s: %w", name, err)
	}
	p := pooling{includePrompt: true}
	for _, key := range []string{"embedding_dimension", "word_embedding_dimension"} {
		if v, ok := c[key]; ok {
			if err := json.Unmarshal(v, &p.dim); err != nil {
				return pooling{}, fmt.Errorf("%s: %s: %w", name, key, err)
			}
		}
	}
	if v, ok := c["include_prompt"]; ok {
		if err := json.Unmarshal(v, &p.includePrompt); err != nil {
			return pooling{}, fmt.Errorf("%s: include_prompt: %w", name, err)
		}
	}
	if v, ok := c["pooling_mode"]; ok {
		// A mode name or a list of them.
		var one string
		if json.Unmarshal(v, &one) == nil {
			p.modes = []string{one}
		} else if err := json.Unmarshal(v, &p.modes); err != nil {
			return pooling{}, fmt.Errorf("%s: pooling_mode must be a mode name or a list of them: %w", name, err)
		}
		for _, m := range p.modes {
			if !slices.ContainsFunc(poolingModes, func(pm struct{ name, legacyKey string }) bool { return pm.name == m }) {
				return pooling{}, fmt.Errorf("%s: unknown pooling mode %q (known: cls, max, mean, mean_sqrt_len_tokens, weightedmean, lasttoken)", name, m)
			}
		}
	} else {
		for _, pm := range poolingModes {
			var on bool
			if v, ok := c[pm.legacyKey]; ok {
				if err := json.Unmarshal(v, &on); err != nil {
					return pooling{}, fmt.Errorf("%s: %s: %w", name, pm.legacyKey, err)
				}
			}
			if on {
				p.modes = append(p.modes, pm.name)
			}
		}
	}
	if len(p.modes) == 0 {
		// sentence-transformers' default.
		p.modes = []string{"mean"}
	}
	return p, nil
}

// name describes the pooling for embed.Info.
func (p pooling) name() string { return strings.Join(p.modes, "+") }
