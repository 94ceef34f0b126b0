package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// SentencePiece model files are turned into the tokenizer transformers
// 5.2.0 builds from them when a folder has no tokenizer.json:
// TokenizersBackend.convert_to_native_format reads the pieces with
// SentencePieceExtractor (every piece with its score, the trainer's unk_id,
// CONTROL and USER_DEFINED pieces as added tokens), the converter's
// convert_from_spm reorders the vocabulary for fairseq-style classes
// (XLM-R), and the tokenizer class's __init__ assembles normalizer,
// pre-tokenizer, decoder and template. We write that assembly as a
// tokenizer.json document and parse it, so .model folders run through
// exactly the code tokenizer.json folders do.
//
// transformers 5.2 builds a Unigram model for all four classes (also from
// BPE-trained files, reading their scores) and no longer applies the
// model's precompiled charsmap: each class's normalizer stands in for it.

// spmFiles are the names transformers' classes give their SentencePiece
// file, the class's own first.
var spmFileNames = map[string]string{
	"XLNetTokenizerFast":      "spiece.model",
	"AlbertTokenizerFast":     "spiece.model",
	"DebertaV2TokenizerFast":  "spm.model",
	"XLMRobertaTokenizerFast": "sentencepiece.bpe.model",
}

// findSPModel returns the SentencePiece file of dir that class would load,
// or "" when there is none. transformers only looks for the class's own
// name; we accept the other two names as well, since a folder with a
// renamed file otherwise fails with no better option.
func findSPModel(dir, class string) string {
	names := []string{"spiece.model", "spm.model", "sentencepiece.bpe.model"}
	if own, ok := spmFileNames[class]; ok {
		names = append([]string{own}, names...)
	}
	for _, n := range names {
		if p := filepath.Join(dir, n); exists(p) {
			return p
		}
	}
	return ""
}

// spmDefaults are a class's special tokens and the config defaults its
// __init__ declares.
type spmClass struct {
	specials map[string]string // bos_token … mask_token → default content
	inputs   []string          // model_input_names
	padLeft  bool
}

var spmClasses = map[string]spmClass{
	"XLNetTokenizerFast": {
		specials: map[string]string{"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "<sep>", "pad_token": "<pad>", "cls_token": "<cls>", "mask_token": "<mask>"},
		inputs:   []string{"input_ids", "attention_mask"},
		padLeft:  true,
	},
	"AlbertTokenizerFast": {
		specials: map[string]string{"bos_token": "[CLS]", "eos_token": "[SEP]", "unk_token": "<unk>", "sep_token": "[SEP]", "pad_token": "<pad>", "cls_token": "[CLS]", "mask_token": "[MASK]"},
		inputs:   []string{"input_ids", "attention_mask"},
	},
	"DebertaV2TokenizerFast": {
		specials: map[string]string{"bos_token": "[CLS]", "eos_token": "[SEP]", "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"},
		inputs:   []string{"input_ids", "attention_mask", "token_type_ids"},
	},
	"XLMRobertaTokenizerFast": {
		specials: map[string]string{"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>", "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>"},
		inputs:   []string{"input_ids", "attention_mask"},
	},
}

// specialOrder is the order TokenizersBackend registers special tokens in.
var specialOrder = []string{"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}

// loadSentencePiece builds class's tokenizer from the .model file at path.
// It fills cfg's padding_side and model_input_names with the class's
// defaults when the folder's config does not set them.
func loadSentencePiece(path string, cfg map[string]any, class string) (*Tokenizer, error) {
	sc, ok := spmClasses[class]
	if !ok {
		var names []string
		for n := range spmClasses {
			names = append(names, n)
		}
		slices.Sort(names)
		if class == "" {
			class = "unknown"
		}
		return nil, fmt.Errorf("%s: a SentencePiece model for tokenizer class %s is not supported (supported: %v); "+
			"set tokenizer_class in tokenizer_config.json or provide a tokenizer.json", path, class, names)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := parseSPModel(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	doc, err := spmTokenizerJSON(m, cfg, class, sc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t, err := parseTokenizerJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, ok := cfg["padding_side"]; !ok && sc.padLeft {
		cfg["padding_side"] = "left"
	}
	if _, ok := cfg["model_input_names"]; !ok {
		names := make([]any, len(sc.inputs))
		for i, n := range sc.inputs {
			names[i] = n
		}
		cfg["model_input_names"] = names
	}
	return t, nil
}

type jsonAdded struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type obj = map[string]any

func replaceNorm(kind, pat, content string) obj {
	return obj{"type": "Replace", "pattern": obj{kind: pat}, "content": content}
}

// oniguruma's \s (which the reference's Regex uses) is Unicode White_Space;
// Go's \s is ASCII only, so the class is spelled out.
const uniSpace = `[\t-\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]`

func metaspace(scheme string) obj {
	return obj{"type": "Metaspace", "replacement": "▁", "prepend_scheme": scheme, "split": true}
}

func templatePiece(special string, seq string, typ int) obj {
	if special != "" {
		return obj{"SpecialToken": obj{"id": special, "type_id": typ}}
	}
	return obj{"Sequence": obj{"id": seq, "type_id": typ}}
}

// spmTokenizerJSON is the tokenizer.json that class's __init__ assembles.
func spmTokenizerJSON(m *spModel, cfg map[string]any, class string, sc spmClass) ([]byte, error) {
	tok := func(key string) string {
		if s, ok := cfgToken(cfg, key); ok {
			return s
		}
		return sc.specials[key]
	}
	type vocabEntry struct {
		piece string
		score float64
	}
	vocab := make([]vocabEntry, 0, len(m.pieces)+1)
	for _, p := range m.pieces {
		vocab = append(vocab, vocabEntry{p.piece, float64(p.score)})
	}
	unkID := m.unkID
	var normalizers, pretok []obj
	var decoder obj
	var post obj
	switch class {
	case "XLNetTokenizerFast":
		normalizers = []obj{replaceNorm("String", "``", `"`), replaceNorm("String", "''", `"`), {"type": "NFKD"}, {"type": "StripAccents"}}
		if cfgBool(cfg, "do_lower_case", false) {
			normalizers = append(normalizers, obj{"type": "Lowercase"})
		}
		normalizers = append(normalizers, replaceNorm("Regex", " {2,}", " "))
		pretok = []obj{{"type": "WhitespaceSplit"}, metaspace("always")}
		decoder = metaspace("always")
		sep, cls := tok("sep_token"), tok("cls_token")
		post = obj{"type": "TemplateProcessing",
			"single": []obj{templatePiece("", "A", 0), templatePiece(sep, "", 0), templatePiece(cls, "", 2)},
			"pair": []obj{templatePiece("", "A", 0), templatePiece(sep, "", 0), templatePiece("", "B", 1),
				templatePiece(sep, "", 1), templatePiece(cls, "", 2)},
			"special": []string{sep, cls}}
	case "AlbertTokenizerFast":
		unkID = 1
		// transformers 5.2 lists the accent, case and space rules twice,
		// the first time unconditionally; kept as written.
		normalizers = []obj{replaceNorm("String", "``", `"`), replaceNorm("String", "''", `"`), {"type": "NFKD"}, {"type": "StripAccents"},
			{"type": "Lowercase"}, replaceNorm("Regex", " {2,}", " ")}
		if !cfgBool(cfg, "keep_accents", false) {
			normalizers = append(normalizers, obj{"type": "NFKD"}, obj{"type": "StripAccents"})
		}
		if cfgBool(cfg, "do_lower_case", true) {
			normalizers = append(normalizers, obj{"type": "Lowercase"})
		}
		normalizers = append(normalizers, replaceNorm("Regex", " {2,}", " "))
		scheme := "never"
		if cfgBool(cfg, "add_prefix_space", true) {
			scheme = "always"
		}
		pretok = []obj{{"type": "WhitespaceSplit"}, metaspace(scheme)}
		decoder = metaspace(scheme)
		cls, sep := tok("cls_token"), tok("sep_token")
		post = obj{"type": "TemplateProcessing",
			"single": []obj{templatePiece(cls, "", 0), templatePiece("", "A", 0), templatePiece(sep, "", 0)},
			"pair": []obj{templatePiece(cls, "", 0), templatePiece("", "A", 0), templatePiece(sep, "", 0),
				templatePiece("", "B", 1), templatePiece(sep, "", 1)},
			"special": []string{cls, sep}}
	case "DebertaV2TokenizerFast":
		unk := tok("unk_token")
		for i, v := range vocab {
			if v.piece == unk && v.score == 0 {
				unkID = i
				break
			}
		}
		if cfgBool(cfg, "do_lower_case", false) {
			normalizers = append(normalizers, obj{"type": "Lowercase"})
		}
		normalizers = append(normalizers, replaceNorm("Regex", uniSpace+`{2,}|[\n\r\t]`, " "), obj{"type": "NFC"},
			obj{"type": "Strip", "strip_left": false, "strip_right": true})
		if cfgBool(cfg, "split_by_punct", false) {
			pretok = append(pretok, obj{"type": "Punctuation", "behavior": "Isolated"})
		}
		scheme := "first"
		if cfgBool(cfg, "add_prefix_space", true) {
			scheme = "always"
		}
		pretok = append(pretok, metaspace(scheme))
		decoder = metaspace(scheme)
		// The class sets no template: encodings carry no [CLS]/[SEP].
		post = obj{"type": "TemplateProcessing",
			"single": []obj{templatePiece("", "A", 0)},
			"pair":   []obj{templatePiece("", "A", 0), templatePiece("", "B", 1)}}
	case "XLMRobertaTokenizerFast":
		// XLMRobertaConverter.convert_from_spm: fairseq's four specials,
		// the pieces after the model's first three, then the mask.
		bos, pad, eos, unk, mask := tok("bos_token"), tok("pad_token"), tok("eos_token"), tok("unk_token"), tok("mask_token")
		re := []vocabEntry{{bos, 0}, {pad, 0}, {eos, 0}, {unk, 0}}
		if len(vocab) > 3 {
			re = append(re, vocab[3:]...)
		}
		vocab = append(re, vocabEntry{mask, 0})
		unkID = 3
		// The pattern is a literal string in transformers 5.2, matching
		// only the text " {2,}" itself; kept as written.
		normalizers = []obj{{"type": "Strip", "strip_left": false, "strip_right": true}, replaceNorm("String", " {2,}", "▁")}
		scheme := "never"
		if cfgBool(cfg, "add_prefix_space", true) {
			scheme = "always"
		}
		pretok = []obj{{"type": "WhitespaceSplit"}, metaspace(scheme)}
		decoder = metaspace(scheme)
		post = obj{"type": "TemplateProcessing",
			"single":  []obj{templatePiece(bos, "", 0), templatePiece("", "A", 0), templatePiece(eos, "", 0)},
			"pair":    []obj{templatePiece(bos, "", 0), templatePiece("", "A", 0), templatePiece(eos, "", 0), templatePiece("", "B", 0), templatePiece(eos, "", 0)},
			"special": []string{bos, eos}}
	}

	ids := make(map[string]int32, len(vocab))
	for i := len(vocab) - 1; i >= 0; i-- {
		ids[vocab[i].piece] = int32(i) // the first of duplicate pieces wins, as in the reference's vocab map
	}
	// Added tokens: the model's CONTROL and USER_DEFINED pieces (special
	// only when CONTROL), then the class's special tokens, which are
	// special; a special token missing from the vocabulary gets a new id.
	added := map[string]*jsonAdded{}
	var order []string
	next := int32(len(vocab))
	add := func(content string, special bool) {
		if a, ok := added[content]; ok {
			a.Special = a.Special || special
			return
		}
		id, ok := ids[content]
		if !ok {
			id = next
			next++
		}
		added[content] = &jsonAdded{ID: id, Content: content, Special: special}
		order = append(order, content)
	}
	for _, p := range m.pieces {
		if p.typ == spControl || p.typ == spUserDefined {
			add(p.piece, p.typ == spControl)
		}
	}
	for _, key := range specialOrder {
		add(tok(key), true)
	}
	var addedList []*jsonAdded
	for _, c := range order {
		addedList = append(addedList, added[c])
	}
	slices.SortStableFunc(addedList, func(a, b *jsonAdded) int { return int(a.ID) - int(b.ID) })

	// The template's special tokens resolve to ids now, as the class does
	// with token_to_id.
	if names, ok := post["special"].([]string); ok {
		delete(post, "special")
		sp := obj{}
		for _, n := range names {
			a, ok := added[n]
			if !ok {
				return nil, fmt.Errorf("special token %q of the template is not in the vocabulary", n)
			}
			sp[n] = obj{"id": n, "ids": []int32{a.ID}, "tokens": []string{n}}
		}
		post["special_tokens"] = sp
	} else {
		post["special_tokens"] = obj{}
	}

	vj := make([][2]any, len(vocab))
	for i, v := range vocab {
		vj[i] = [2]any{v.piece, v.score}
	}
	doc := obj{
		"version":        "1.0",
		"added_tokens":   addedList,
		"normalizer":     obj{"type": "Sequence", "normalizers": normalizers},
		"pre_tokenizer":  obj{"type": "Sequence", "pretokenizers": pretok},
		"post_processor": post,
		"decoder":        decoder,
		"model":          obj{"type": "Unigram", "unk_id": unkID, "vocab": vj, "byte_fallback": false},
	}
	return json.Marshal(doc)
}
