package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
)

// LoadFS loads the tokenizer of a model folder held in an fs.FS (one
// embedded in the binary, say) the way LoadDir does, from tokenizer.json and
// the class-specific overrides of tokenizer_config.json,
// special_tokens_map.json and config.json. Only the tokenizer.json layout is
// read: the legacy vocabulary files need LoadDir.
func LoadFS(fsys fs.FS, name string) (*Tokenizer, error) {
	cfg := map[string]any{}
	for _, f := range []string{"special_tokens_map.json", "tokenizer_config.json"} {
		m, err := readJSONMapFS(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", name, err)
		}
		for k, v := range m {
			cfg[k] = v
		}
	}
	modelType := ""
	if m, err := readJSONMapFS(fsys, "config.json"); err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	} else if s, ok := m["model_type"].(string); ok {
		modelType = s
	}
	data, err := fs.ReadFile(fsys, "tokenizer.json")
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	t, err := parseTokenizerJSON(data)
	if err != nil {
		return nil, fmt.Errorf("load %s/tokenizer.json: %w", name, err)
	}
	if err := t.applyConfig(cfg, tokenizerClass(cfg, modelType)); err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	return t, nil
}

func readJSONMapFS(fsys fs.FS, name string) (map[string]any, error) {
	data, err := fs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	return m, nil
}

// EncodeTruncated tokenizes one text with the post-processor's special
// tokens, keeping at most maxLength tokens in all (the specials included) by
// cutting the text's tokens on the right: transformers' single-sequence
// truncation=True, max_length=maxLength. It reports whether tokens were cut.
// Unlike EncodePair it builds no overflow windows, so a megabyte of text
// costs its tokenization and no more.
func (t *Tokenizer) EncodeTruncated(text string, maxLength int) (*Encoding, bool, error) {
	sc := t.getScratch()
	e := t.encodeSeq(text, sc)
	t.pool.Put(sc)
	limit := maxLength - t.NumSpecialTokens(false)
	if limit <= 0 {
		return nil, false, fmt.Errorf("encode (max_length %d): %w", maxLength, ErrSequenceTooShort)
	}
	cut := e.Len() > limit
	if cut {
		w := &Encoding{}
		w.grow(limit)
		w.appendRange(e, 0, limit)
		e = w
	}
	return t.postProcess(e, nil, true), cut, nil
}
