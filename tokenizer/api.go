package tokenizer

// TokenToID returns the id of a token string (added tokens first).
func (t *Tokenizer) TokenToID(s string) (int32, bool) {
	for _, a := range t.added {
		if a.Content == s {
			return a.ID, true
		}
	}
	return t.model.tokenToID(s)
}

// IDToToken returns the string of an id.
func (t *Tokenizer) IDToToken(id int32) (string, bool) { return t.idToToken(id) }

// VocabSize is the model vocabulary plus added tokens that lie outside it.
func (t *Tokenizer) VocabSize() int {
	n := t.model.vocabSize()
	for _, a := range t.added {
		if _, ok := t.model.idToToken(a.ID); !ok {
			n++
		}
	}
	return n
}

// Config returns what was read from tokenizer_config.json and friends.
func (t *Tokenizer) Config() Config {
	c := t.config
	c.ModelInputNames = append([]string(nil), c.ModelInputNames...)
	return c
}

// ModelMaxLength is model_max_length (VeryLargeInteger when unset).
func (t *Tokenizer) ModelMaxLength() int { return t.config.ModelMaxLength }

// PaddingSide is "right" or "left"; the QA pipeline puts the question first
// when it is "right".
func (t *Tokenizer) PaddingSide() string { return t.config.PaddingSide }

// ModelInputNames lists the inputs the model takes.
func (t *Tokenizer) ModelInputNames() []string {
	return append([]string(nil), t.config.ModelInputNames...)
}

// UsesTokenTypeIDs reports whether token_type_ids are fed to the model.
func (t *Tokenizer) UsesTokenTypeIDs() bool {
	for _, n := range t.config.ModelInputNames {
		if n == "token_type_ids" {
			return true
		}
	}
	return false
}

// specialID finds the id the post-processor (or the added tokens) uses for
// one of the given names.
func (t *Tokenizer) specialID(names ...string) (int32, bool) {
	for _, n := range names {
		if id, ok := t.TokenToID(n); ok {
			return id, true
		}
	}
	return -1, false
}

// CLSID is the id of the classifier token ([CLS] or <s>); the QA pipeline
// keeps it selectable. ok is false when the tokenizer has none.
func (t *Tokenizer) CLSID() (int32, bool) {
	if tp := t.template(); tp != nil && len(tp.single) > 0 && tp.single[0].special != "" {
		if sp := tp.specials[tp.single[0].special]; len(sp.ids) > 0 {
			return sp.ids[0], true
		}
	}
	return t.specialID("[CLS]", "<s>", "<cls>")
}

// SEPID is the id of the separator token ([SEP] or </s>).
func (t *Tokenizer) SEPID() (int32, bool) {
	if tp := t.template(); tp != nil && len(tp.single) > 0 {
		if last := tp.single[len(tp.single)-1]; last.special != "" {
			if sp := tp.specials[last.special]; len(sp.ids) > 0 {
				return sp.ids[0], true
			}
		}
	}
	return t.specialID("[SEP]", "</s>", "<sep>")
}

// PadID is the id of the padding token.
func (t *Tokenizer) PadID() (int32, bool) { return t.specialID("[PAD]", "<pad>") }

// UnkID is the id of the unknown token, across tokenizer families
// (WordPiece's [UNK], SentencePiece's and BPE's <unk>). Byte-level BPE
// tokenizers have none (ok false): they cover every text, byte by byte.
func (t *Tokenizer) UnkID() (int32, bool) {
	return t.specialID("[UNK]", "<unk>", "<UNK>", "[unk]")
}

// AddedTokens lists the tokens matched in text before the model runs
// (specials such as [SEP] and </s>, and user-added tokens).
func (t *Tokenizer) AddedTokens() []AddedToken { return append([]AddedToken(nil), t.added...) }
