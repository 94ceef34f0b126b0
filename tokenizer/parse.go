package tokenizer

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// jsonObj is one component object of tokenizer.json.
type jsonObj map[string]json.RawMessage

func (o jsonObj) str(k string) (string, bool) {
	v, ok := o[k]
	if !ok || string(v) == "null" {
		return "", false
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false
	}
	return s, true
}

func (o jsonObj) boolOr(k string, def bool) bool {
	v, ok := o[k]
	if !ok || string(v) == "null" {
		return def
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		return def
	}
	return b
}

func (o jsonObj) optBool(k string) *bool {
	v, ok := o[k]
	if !ok || string(v) == "null" {
		return nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		return nil
	}
	return &b
}

func (o jsonObj) intOr(k string, def int) int {
	v, ok := o[k]
	if !ok || string(v) == "null" {
		return def
	}
	var n int
	if err := json.Unmarshal(v, &n); err != nil {
		return def
	}
	return n
}

func (o jsonObj) typ() string { s, _ := o.str("type"); return s }

func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

func parseObj(raw json.RawMessage, what string) (jsonObj, error) {
	var o jsonObj
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return o, nil
}

// parseTokenizerJSON builds a Tokenizer from tokenizer.json bytes, current
// or older layouts (a model without "type", Metaspace with
// add_prefix_space instead of prepend_scheme, merges as strings or pairs).
func parseTokenizerJSON(data []byte) (*Tokenizer, error) {
	var top struct {
		AddedTokens []struct {
			ID         int32  `json:"id"`
			Content    string `json:"content"`
			SingleWord bool   `json:"single_word"`
			LStrip     bool   `json:"lstrip"`
			RStrip     bool   `json:"rstrip"`
			Normalized *bool  `json:"normalized"`
			Special    bool   `json:"special"`
		} `json:"added_tokens"`
		Normalizer    json.RawMessage `json:"normalizer"`
		PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
		Model         json.RawMessage `json:"model"`
		PostProcessor json.RawMessage `json:"post_processor"`
		Decoder       json.RawMessage `json:"decoder"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("parse tokenizer.json: %w", err)
	}
	t := &Tokenizer{}
	var err error
	if !isNull(top.Normalizer) {
		if t.normalizer, err = parseNormalizer(top.Normalizer); err != nil {
			return nil, err
		}
	}
	if !isNull(top.PreTokenizer) {
		if t.pre, err = parsePreTokenizer(top.PreTokenizer); err != nil {
			return nil, err
		}
	}
	if isNull(top.Model) {
		return nil, fmt.Errorf("tokenizer.json has no model")
	}
	if t.model, err = parseModel(top.Model); err != nil {
		return nil, err
	}
	if !isNull(top.PostProcessor) {
		if t.post, err = parsePostProcessor(top.PostProcessor); err != nil {
			return nil, err
		}
	}
	if !isNull(top.Decoder) {
		if t.decoder, err = parseDecoder(top.Decoder); err != nil {
			return nil, err
		}
	}
	var added []AddedToken
	for _, a := range top.AddedTokens {
		norm := !a.Special
		if a.Normalized != nil {
			norm = *a.Normalized
		}
		added = append(added, AddedToken{Content: a.Content, ID: a.ID, Special: a.Special, Normalized: norm,
			LStrip: a.LStrip, RStrip: a.RStrip, SingleWord: a.SingleWord})
	}
	t.setAdded(added)
	return t, nil
}

func parseNormalizer(raw json.RawMessage) (normalizer, error) {
	o, err := parseObj(raw, "normalizer")
	if err != nil {
		return nil, err
	}
	switch ty := o.typ(); ty {
	case "BertNormalizer":
		lower := o.boolOr("lowercase", true)
		strip := o.optBool("strip_accents")
		eff := lower
		if strip != nil {
			eff = *strip
		}
		return &bertNormalizer{cleanText: o.boolOr("clean_text", true), chinese: o.boolOr("handle_chinese_chars", true),
			stripAccents: eff, stripSet: strip != nil, lowercase: lower}, nil
	case "Lowercase":
		return lowercaseNormalizer{}, nil
	case "NFC", "NFD", "NFKC", "NFKD":
		return unicodeNormalizer{form: ty}, nil
	case "StripAccents":
		return stripAccentsNormalizer{}, nil
	case "Strip":
		return stripNormalizer{left: o.boolOr("strip_left", true), right: o.boolOr("strip_right", true)}, nil
	case "Prepend":
		s, _ := o.str("prepend")
		return prependNormalizer{s: s}, nil
	case "Replace":
		p, err := parsePattern(o["pattern"])
		if err != nil {
			return nil, fmt.Errorf("normalizer Replace: %w", err)
		}
		c, _ := o.str("content")
		return replaceNormalizer{pat: p, content: []rune(c)}, nil
	case "Precompiled":
		s, _ := o.str("precompiled_charsmap")
		if s == "" {
			return sequenceNormalizer{}, nil // an empty charsmap is the identity
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("normalizer Precompiled: charsmap: %w", err)
		}
		p, err := newPrecompiled(b)
		if err != nil {
			return nil, fmt.Errorf("normalizer Precompiled: %w", err)
		}
		return p, nil
	case "ByteLevel":
		return byteLevelNormalizer{}, nil
	case "Sequence":
		var list []json.RawMessage
		if err := json.Unmarshal(o["normalizers"], &list); err != nil {
			return nil, fmt.Errorf("normalizer Sequence: %w", err)
		}
		seq := make(sequenceNormalizer, 0, len(list))
		for i, r := range list {
			n, err := parseNormalizer(r)
			if err != nil {
				return nil, fmt.Errorf("normalizer Sequence[%d]: %w", i, err)
			}
			seq = append(seq, n)
		}
		return seq, nil
	default:
		return nil, unknownType("normalizer", ty)
	}
}

func parsePattern(raw json.RawMessage) (pattern, error) {
	var p struct {
		String *string `json:"String"`
		Regex  *string `json:"Regex"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return pattern{}, fmt.Errorf("pattern: %w", err)
	}
	return newPattern(p.String, p.Regex)
}

func parsePreTokenizer(raw json.RawMessage) (preTokenizer, error) {
	o, err := parseObj(raw, "pre_tokenizer")
	if err != nil {
		return nil, err
	}
	switch ty := o.typ(); ty {
	case "BertPreTokenizer":
		return bertPreTokenizer{}, nil
	case "Whitespace":
		return whitespacePreTokenizer{}, nil
	case "WhitespaceSplit":
		return whitespaceSplitPreTokenizer{}, nil
	case "ByteLevel":
		return byteLevelPreTokenizer{addPrefixSpace: o.boolOr("add_prefix_space", true), useRegex: o.boolOr("use_regex", true)}, nil
	case "Metaspace":
		rep := '▁'
		if s, ok := o.str("replacement"); ok {
			r := []rune(s)
			if len(r) != 1 {
				return nil, fmt.Errorf("pre_tokenizer Metaspace: replacement %q is not one char", s)
			}
			rep = r[0]
		}
		m := metaspacePreTokenizer{replacement: rep, prepend: prependAlways, doSplit: o.boolOr("split", true)}
		if s, ok := o.str("prepend_scheme"); ok {
			switch s {
			case "always":
			case "first":
				m.prepend = prependFirst
			case "never":
				m.prepend = prependNever
			default:
				return nil, fmt.Errorf("pre_tokenizer Metaspace: unknown prepend_scheme %q", s)
			}
		} else if !o.boolOr("add_prefix_space", true) {
			m.prepend = prependNever
		}
		return m, nil
	case "Punctuation":
		b := splitIsolated
		if s, ok := o.str("behavior"); ok {
			var ok2 bool
			if b, ok2 = parseBehavior(s); !ok2 {
				return nil, fmt.Errorf("pre_tokenizer Punctuation: unknown behavior %q", s)
			}
		}
		return punctuationPreTokenizer{behavior: b}, nil
	case "Digits":
		return digitsPreTokenizer{individual: o.boolOr("individual_digits", false)}, nil
	case "Split":
		p, err := parsePattern(o["pattern"])
		if err != nil {
			return nil, fmt.Errorf("pre_tokenizer Split: %w", err)
		}
		s, _ := o.str("behavior")
		b, ok := parseBehavior(s)
		if !ok {
			return nil, fmt.Errorf("pre_tokenizer Split: unknown behavior %q", s)
		}
		return splitPreTokenizer{pat: p, behavior: b, invert: o.boolOr("invert", false)}, nil
	case "Sequence":
		var list []json.RawMessage
		if err := json.Unmarshal(o["pretokenizers"], &list); err != nil {
			return nil, fmt.Errorf("pre_tokenizer Sequence: %w", err)
		}
		seq := make(sequencePreTokenizer, 0, len(list))
		for i, r := range list {
			p, err := parsePreTokenizer(r)
			if err != nil {
				return nil, fmt.Errorf("pre_tokenizer Sequence[%d]: %w", i, err)
			}
			seq = append(seq, p)
		}
		return seq, nil
	default:
		return nil, unknownType("pre_tokenizer", ty)
	}
}

type bpeOpts struct {
	unk          *string
	contPrefix   string
	endSuffix    string
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
}

func newBPE(vocab map[string]int32, merges [][2]string, o bpeOpts) (*bpe, error) {
	m := &bpe{vocab: vocab, rev: reverseVocab(vocab), merges: make(map[uint64]bpeMerge, len(merges)),
		contPrefix: o.contPrefix, endSuffix: o.endSuffix, fuseUnk: o.fuseUnk, byteFallback: o.byteFallback, ignoreMerges: o.ignoreMerges}
	if o.unk != nil {
		m.unk, m.hasUnk = *o.unk, true
	}
	plen := len(o.contPrefix)
	for rank, mg := range merges {
		a, ok1 := vocab[mg[0]]
		b, ok2 := vocab[mg[1]]
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("bpe: merge %d (%q %q) uses a token missing from the vocabulary", rank, mg[0], mg[1])
		}
		// The merged token drops the second part's continuation prefix.
		right := mg[1]
		if plen > 0 && strings.HasPrefix(right, o.contPrefix) {
			right = right[plen:]
		}
		nid, ok := vocab[mg[0]+right]
		if !ok {
			return nil, fmt.Errorf("bpe: merge %d result %q is missing from the vocabulary", rank, mg[0]+right)
		}
		k := pairKey(a, b)
		if _, dup := m.merges[k]; !dup {
			m.merges[k] = bpeMerge{int32(rank), nid}
		}
	}
	for i := range m.byteIDs {
		m.byteIDs[i] = -1
		if id, ok := vocab[fmt.Sprintf("<0x%02X>", i)]; ok {
			m.byteIDs[i] = id
		}
	}
	return m, nil
}

func parseModel(raw json.RawMessage) (model, error) {
	o, err := parseObj(raw, "model")
	if err != nil {
		return nil, err
	}
	ty := o.typ()
	if ty == "" {
		// Older files have no model type: infer it from the fields.
		switch {
		case o["merges"] != nil:
			ty = "BPE"
		case len(bytes.TrimSpace(o["vocab"])) > 0 && bytes.TrimSpace(o["vocab"])[0] == '[':
			ty = "Unigram"
		case o["continuing_subword_prefix"] != nil || o["max_input_chars_per_word"] != nil:
			ty = "WordPiece"
		default:
			ty = "WordLevel"
		}
	}
	switch ty {
	case "WordPiece":
		var vocab map[string]int32
		if err := json.Unmarshal(o["vocab"], &vocab); err != nil {
			return nil, fmt.Errorf("model WordPiece: vocab: %w", err)
		}
		unk, ok := o.str("unk_token")
		if !ok {
			unk = "[UNK]"
		}
		prefix, ok := o.str("continuing_subword_prefix")
		if !ok {
			prefix = "##"
		}
		return newWordPiece(vocab, unk, prefix, o.intOr("max_input_chars_per_word", 100))
	case "BPE":
		var vocab map[string]int32
		if err := json.Unmarshal(o["vocab"], &vocab); err != nil {
			return nil, fmt.Errorf("model BPE: vocab: %w", err)
		}
		var rawMerges []json.RawMessage
		if err := json.Unmarshal(o["merges"], &rawMerges); err != nil {
			return nil, fmt.Errorf("model BPE: merges: %w", err)
		}
		merges := make([][2]string, 0, len(rawMerges))
		for i, r := range rawMerges {
			var s string
			if err := json.Unmarshal(r, &s); err == nil {
				a, b, ok := strings.Cut(s, " ")
				if !ok {
					return nil, fmt.Errorf("model BPE: merge %d %q is not two tokens", i, s)
				}
				merges = append(merges, [2]string{a, b})
				continue
			}
			var pair []string
			if err := json.Unmarshal(r, &pair); err != nil || len(pair) != 2 {
				return nil, fmt.Errorf("model BPE: merge %d is neither \"a b\" nor [a, b]", i)
			}
			merges = append(merges, [2]string{pair[0], pair[1]})
		}
		bo := bpeOpts{fuseUnk: o.boolOr("fuse_unk", false), byteFallback: o.boolOr("byte_fallback", false), ignoreMerges: o.boolOr("ignore_merges", false)}
		if s, ok := o.str("unk_token"); ok {
			bo.unk = &s
		}
		bo.contPrefix, _ = o.str("continuing_subword_prefix")
		bo.endSuffix, _ = o.str("end_of_word_suffix")
		m, err := newBPE(vocab, merges, bo)
		if err != nil {
			return nil, fmt.Errorf("model BPE: %w", err)
		}
		return m, nil
	case "Unigram":
		var vocab [][2]json.RawMessage
		if err := json.Unmarshal(o["vocab"], &vocab); err != nil {
			return nil, fmt.Errorf("model Unigram: vocab: %w", err)
		}
		pieces := make([]string, len(vocab))
		scores := make([]float64, len(vocab))
		for i, v := range vocab {
			if err := json.Unmarshal(v[0], &pieces[i]); err != nil {
				return nil, fmt.Errorf("model Unigram: vocab[%d]: %w", i, err)
			}
			if err := json.Unmarshal(v[1], &scores[i]); err != nil {
				return nil, fmt.Errorf("model Unigram: vocab[%d] score: %w", i, err)
			}
		}
		unk := int32(o.intOr("unk_id", -1))
		m, err := newUnigram(pieces, scores, unk, o.boolOr("byte_fallback", false))
		if err != nil {
			return nil, fmt.Errorf("model Unigram: %w", err)
		}
		return m, nil
	case "WordLevel":
		var vocab map[string]int32
		if err := json.Unmarshal(o["vocab"], &vocab); err != nil {
			return nil, fmt.Errorf("model WordLevel: vocab: %w", err)
		}
		w := &wordLevel{vocab: vocab, rev: reverseVocab(vocab), unkID: -1}
		if s, ok := o.str("unk_token"); ok {
			if id, ok := vocab[s]; ok {
				w.unkID = id
			}
		}
		return w, nil
	default:
		return nil, unknownType("model", ty)
	}
}

func parseSpecialPair(raw json.RawMessage) (string, int32, error) {
	var v [2]json.RawMessage
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", 0, err
	}
	var s string
	var id int32
	if err := json.Unmarshal(v[0], &s); err != nil {
		return "", 0, err
	}
	if err := json.Unmarshal(v[1], &id); err != nil {
		return "", 0, err
	}
	return s, id, nil
}

func parsePostProcessor(raw json.RawMessage) (postProcessor, error) {
	o, err := parseObj(raw, "post_processor")
	if err != nil {
		return nil, err
	}
	switch ty := o.typ(); ty {
	case "BertProcessing":
		sep, sepID, err1 := parseSpecialPair(o["sep"])
		cls, clsID, err2 := parseSpecialPair(o["cls"])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("post_processor BertProcessing: bad sep/cls")
		}
		return &templateProcessing{
			single:             []tplPiece{{special: cls}, {}, {special: sep}},
			pair:               []tplPiece{{special: cls}, {}, {special: sep}, {seqB: true, typeID: 1}, {special: sep, typeID: 1}},
			specials:           map[string]tplSpecial{cls: {[]int32{clsID}, []string{cls}}, sep: {[]int32{sepID}, []string{sep}}},
			overflowKeepsTypes: true,
		}, nil
	case "RobertaProcessing":
		sep, sepID, err1 := parseSpecialPair(o["sep"])
		cls, clsID, err2 := parseSpecialPair(o["cls"])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("post_processor RobertaProcessing: bad sep/cls")
		}
		tp := &templateProcessing{
			single:   []tplPiece{{special: cls}, {}, {special: sep}},
			pair:     []tplPiece{{special: cls}, {}, {special: sep}, {special: sep}, {seqB: true}, {special: sep}},
			specials: map[string]tplSpecial{cls: {[]int32{clsID}, []string{cls}}, sep: {[]int32{sepID}, []string{sep}}},
		}
		if !o.boolOr("trim_offsets", true) {
			return tp, nil
		}
		return &trimOffsets{addPrefixSpace: o.boolOr("add_prefix_space", true), inner: tp}, nil
	case "ByteLevel":
		if !o.boolOr("trim_offsets", true) {
			return sequenceProcessor{}, nil
		}
		return &trimOffsets{addPrefixSpace: o.boolOr("add_prefix_space", true)}, nil
	case "TemplateProcessing":
		tp := &templateProcessing{specials: map[string]tplSpecial{}, overflowKeepsTypes: true}
		var err error
		if tp.single, err = parseTemplate(o["single"]); err != nil {
			return nil, fmt.Errorf("post_processor TemplateProcessing: single: %w", err)
		}
		if tp.pair, err = parseTemplate(o["pair"]); err != nil {
			return nil, fmt.Errorf("post_processor TemplateProcessing: pair: %w", err)
		}
		var sp map[string]struct {
			ID     string   `json:"id"`
			IDs    []int32  `json:"ids"`
			Tokens []string `json:"tokens"`
		}
		if err := json.Unmarshal(o["special_tokens"], &sp); err != nil {
			return nil, fmt.Errorf("post_processor TemplateProcessing: special_tokens: %w", err)
		}
		for k, v := range sp {
			if len(v.IDs) != len(v.Tokens) {
				return nil, fmt.Errorf("post_processor TemplateProcessing: special token %q has %d ids and %d tokens", k, len(v.IDs), len(v.Tokens))
			}
			tp.specials[k] = tplSpecial{v.IDs, v.Tokens}
		}
		for _, p := range append(append([]tplPiece(nil), tp.single...), tp.pair...) {
			if _, ok := tp.specials[p.special]; p.special != "" && !ok {
				return nil, fmt.Errorf("post_processor TemplateProcessing: missing special token %q", p.special)
			}
		}
		return tp, nil
	case "Sequence":
		var list []json.RawMessage
		if err := json.Unmarshal(o["processors"], &list); err != nil {
			return nil, fmt.Errorf("post_processor Sequence: %w", err)
		}
		seq := make(sequenceProcessor, 0, len(list))
		for i, r := range list {
			p, err := parsePostProcessor(r)
			if err != nil {
				return nil, fmt.Errorf("post_processor Sequence[%d]: %w", i, err)
			}
			seq = append(seq, p)
		}
		return seq, nil
	default:
		return nil, unknownType("post_processor", ty)
	}
}

func parseTemplate(raw json.RawMessage) ([]tplPiece, error) {
	var list []struct {
		SpecialToken *struct {
			ID     string `json:"id"`
			TypeID int32  `json:"type_id"`
		} `json:"SpecialToken"`
		Sequence *struct {
			ID     string `json:"id"`
			TypeID int32  `json:"type_id"`
		} `json:"Sequence"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, err
	}
	out := make([]tplPiece, 0, len(list))
	for _, p := range list {
		switch {
		case p.SpecialToken != nil:
			out = append(out, tplPiece{special: p.SpecialToken.ID, typeID: p.SpecialToken.TypeID})
		case p.Sequence != nil:
			out = append(out, tplPiece{seqB: p.Sequence.ID == "B", typeID: p.Sequence.TypeID})
		default:
			return nil, fmt.Errorf("template piece is neither SpecialToken nor Sequence")
		}
	}
	return out, nil
}
