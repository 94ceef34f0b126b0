package tokenizer

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Option adjusts loading.
type Option func(*loadOpts)

type loadOpts struct {
	config map[string]any
}

// WithConfig overrides tokenizer_config.json entries, as keyword arguments
// to transformers' from_pretrained do (e.g. {"do_lower_case": false}).
func WithConfig(kv map[string]any) Option {
	return func(o *loadOpts) {
		if o.config == nil {
			o.config = map[string]any{}
		}
		for k, v := range kv {
			o.config[k] = v
		}
	}
}

// LoadFile loads a tokenizer.json as the tokenizers library does
// (Tokenizer.from_file): no tokenizer_config.json overrides.
func LoadFile(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	t, err := parseTokenizerJSON(data)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	t.config = Config{ModelMaxLength: VeryLargeInteger, PaddingSide: "right"}
	t.config.ModelInputNames = t.defaultInputNames("")
	return t, nil
}

// Load loads a tokenizer from a model folder or a tokenizer.json file.
func Load(path string, opts ...Option) (*Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	if st.IsDir() {
		return LoadDir(path, opts...)
	}
	if len(opts) == 0 {
		return LoadFile(path)
	}
	t, err := LoadFile(path)
	if err != nil {
		return nil, err
	}
	var o loadOpts
	for _, f := range opts {
		f(&o)
	}
	if err := t.applyConfig(o.config, ""); err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return t, nil
}

// LoadDir loads the tokenizer of a model folder the way transformers' fast
// tokenizers do: tokenizer.json when present (else a SentencePiece
// spiece.model/spm.model/sentencepiece.bpe.model, else vocab.txt, else
// vocab.json + merges.txt), then the class-specific overrides read from
// tokenizer_config.json, special_tokens_map.json and config.json.
func LoadDir(dir string, opts ...Option) (*Tokenizer, error) {
	var o loadOpts
	for _, f := range opts {
		f(&o)
	}
	cfg := map[string]any{}
	for _, name := range []string{"special_tokens_map.json", "tokenizer_config.json"} {
		m, err := readJSONMap(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", dir, err)
		}
		for k, v := range m {
			cfg[k] = v
		}
	}
	for k, v := range o.config {
		cfg[k] = v
	}
	modelType := ""
	if m, err := readJSONMap(filepath.Join(dir, "config.json")); err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	} else if s, ok := m["model_type"].(string); ok {
		modelType = s
	}
	class := tokenizerClass(cfg, modelType)

	var t *Tokenizer
	tj := filepath.Join(dir, "tokenizer.json")
	switch {
	case exists(tj):
		data, err := os.ReadFile(tj)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", dir, err)
		}
		if t, err = parseTokenizerJSON(data); err != nil {
			return nil, fmt.Errorf("load %s: %w", tj, err)
		}
	case findSPModel(dir, class) != "":
		var err error
		if t, err = loadSentencePiece(findSPModel(dir, class), cfg, class); err != nil {
			return nil, fmt.Errorf("load %s: %w", dir, err)
		}
	case exists(filepath.Join(dir, "vocab.txt")):
		var err error
		if t, err = loadBertVocab(filepath.Join(dir, "vocab.txt"), cfg); err != nil {
			return nil, fmt.Errorf("load %s: %w", dir, err)
		}
		if class == "" {
			class = "BertTokenizerFast"
		}
	case exists(filepath.Join(dir, "vocab.json")) && exists(filepath.Join(dir, "merges.txt")):
		var err error
		if t, err = loadByteLevelBPE(dir, cfg, class); err != nil {
			return nil, fmt.Errorf("load %s: %w", dir, err)
		}
	default:
		return nil, fmt.Errorf("load %s: no tokenizer.json, SentencePiece .model, vocab.txt or vocab.json+merges.txt", dir)
	}
	if err := t.applyConfig(cfg, class); err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	return t, nil
}

func exists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func readJSONMap(p string) (map[string]any, error) {
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Base(p), err)
	}
	return m, nil
}

// tokenizerClass names the transformers class that would load this folder,
// normalized to its Fast name; "" when unknown.
func tokenizerClass(cfg map[string]any, modelType string) string {
	if s, ok := cfg["tokenizer_class"].(string); ok && s != "" {
		if !strings.HasSuffix(s, "Fast") {
			s += "Fast"
		}
		return s
	}
	switch modelType {
	case "bert":
		return "BertTokenizerFast"
	case "distilbert":
		return "DistilBertTokenizerFast"
	case "electra":
		return "ElectraTokenizerFast"
	case "roberta":
		return "RobertaTokenizerFast"
	case "xlm-roberta":
		return "XLMRobertaTokenizerFast"
	case "albert":
		return "AlbertTokenizerFast"
	case "xlnet":
		return "XLNetTokenizerFast"
	case "deberta-v2":
		return "DebertaV2TokenizerFast"
	case "t5":
		return "T5TokenizerFast"
	}
	return ""
}

func isBertFamily(class string) bool {
	switch class {
	case "BertTokenizerFast", "DistilBertTokenizerFast", "ElectraTokenizerFast", "MobileBertTokenizerFast",
		"SqueezeBertTokenizerFast", "LxmertTokenizerFast", "RetriBertTokenizerFast", "FunnelTokenizerFast", "LayoutLMTokenizerFast":
		return true
	}
	return false
}

func cfgBool(cfg map[string]any, key string, def bool) bool {
	if v, ok := cfg[key].(bool); ok {
		return v
	}
	return def
}

// cfgOptBool returns nil for an absent or null key.
func cfgOptBool(cfg map[string]any, key string) *bool {
	if v, ok := cfg[key].(bool); ok {
		return &v
	}
	return nil
}

func cfgToken(cfg map[string]any, key string) (string, bool) {
	switch v := cfg[key].(type) {
	case string:
		return v, true
	case map[string]any:
		if s, ok := v["content"].(string); ok {
			return s, true
		}
	}
	return "", false
}

// applyConfig applies the load-time overrides of transformers' fast
// tokenizer classes and records the QA-relevant settings.
func (t *Tokenizer) applyConfig(cfg map[string]any, class string) error {
	t.config = Config{ModelMaxLength: VeryLargeInteger, PaddingSide: "right", Class: class}
	for _, k := range []string{"model_max_length", "max_len"} {
		if v, ok := cfg[k].(float64); ok {
			if v >= 1e18 {
				t.config.ModelMaxLength = VeryLargeInteger
			} else {
				t.config.ModelMaxLength = int(v)
			}
			break
		}
	}
	if s, ok := cfg["padding_side"].(string); ok {
		if s != "left" && s != "right" {
			return fmt.Errorf("padding_side %q is neither left nor right", s)
		}
		t.config.PaddingSide = s
	}
	if isBertFamily(class) {
		// BertTokenizerFast.__init__: rebuild the normalizer when the
		// config disagrees with tokenizer.json; do_lower_case defaults to
		// true, so a cased repo must say do_lower_case: false.
		if bn, ok := t.normalizer.(*bertNormalizer); ok {
			lower := cfgBool(cfg, "do_lower_case", true)
			chinese := cfgBool(cfg, "tokenize_chinese_chars", true)
			strip := cfgOptBool(cfg, "strip_accents")
			stripEff := lower
			if strip != nil {
				stripEff = *strip
			}
			// The reference compares the serialized strip_accents (null
			// when it follows lowercase) with the kwarg.
			if bn.lowercase != lower || bn.chinese != chinese || bn.stripSet != (strip != nil) || (strip != nil && bn.stripAccents != *strip) {
				t.normalizer = &bertNormalizer{cleanText: bn.cleanText, chinese: chinese, stripAccents: stripEff, stripSet: strip != nil, lowercase: lower}
				t.refreshAdded()
			}
		}
	}
	if class == "RobertaTokenizerFast" {
		aps := cfgBool(cfg, "add_prefix_space", false)
		trimOff := cfgBool(cfg, "trim_offsets", true)
		if bl, ok := t.pre.(byteLevelPreTokenizer); ok && bl.addPrefixSpace != aps {
			bl.addPrefixSpace = aps
			t.pre = bl
		}
		if tp, ok := t.post.(*trimOffsets); ok {
			if tp.addPrefixSpace != aps {
				tp.addPrefixSpace = aps
			}
			if !trimOff {
				t.post = tp.inner
			}
		}
	}
	if names, ok := cfg["model_input_names"].([]any); ok {
		for _, n := range names {
			if s, ok := n.(string); ok {
				t.config.ModelInputNames = append(t.config.ModelInputNames, s)
			}
		}
	} else {
		t.config.ModelInputNames = t.defaultInputNames(class)
	}
	return nil
}

func (t *Tokenizer) defaultInputNames(class string) []string {
	with := []string{"input_ids", "token_type_ids", "attention_mask"}
	without := []string{"input_ids", "attention_mask"}
	switch {
	case isBertFamily(class) && class != "DistilBertTokenizerFast":
		return with
	case class == "DistilBertTokenizerFast", class == "RobertaTokenizerFast", class == "XLMRobertaTokenizerFast",
		class == "T5TokenizerFast", class == "GPT2TokenizerFast", class == "BartTokenizerFast", class == "CamembertTokenizerFast":
		return without
	case class == "AlbertTokenizerFast", class == "DebertaV2TokenizerFast", class == "ElectraTokenizerFast", class == "XLNetTokenizerFast":
		return with
	}
	// Unknown class: feed token types when the pair template uses them.
	if tp := t.template(); tp != nil {
		for _, p := range tp.pair {
			if p.typeID != 0 {
				return with
			}
		}
	}
	return without
}

func (t *Tokenizer) template() *templateProcessing {
	switch p := t.post.(type) {
	case *templateProcessing:
		return p
	case *trimOffsets:
		if tp, ok := p.inner.(*templateProcessing); ok {
			return tp
		}
	}
	return nil
}

// ---------------------------------------------------------------- legacy

// loadBertVocab is transformers' BertConverter on a vocab.txt.
func loadBertVocab(path string, cfg map[string]any) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vocab := map[string]int32{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	id := int32(0)
	for sc.Scan() {
		// load_vocab keeps the token up to the newline; a later duplicate
		// wins, like a Python dict assignment.
		tok := strings.TrimRight(sc.Text(), "\r")
		vocab[tok] = id
		id++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	tokOr := func(key, def string) string {
		if s, ok := cfgToken(cfg, key); ok {
			return s
		}
		return def
	}
	unk, sep, cls, pad, mask := tokOr("unk_token", "[UNK]"), tokOr("sep_token", "[SEP]"), tokOr("cls_token", "[CLS]"), tokOr("pad_token", "[PAD]"), tokOr("mask_token", "[MASK]")
	wp, err := newWordPiece(vocab, unk, "##", 100)
	if err != nil {
		return nil, err
	}
	lower := cfgBool(cfg, "do_lower_case", true)
	strip := cfgOptBool(cfg, "strip_accents")
	stripEff := lower
	if strip != nil {
		stripEff = *strip
	}
	t := &Tokenizer{
		normalizer: &bertNormalizer{cleanText: true, chinese: cfgBool(cfg, "tokenize_chinese_chars", true), stripAccents: stripEff, stripSet: strip != nil, lowercase: lower},
		pre:        bertPreTokenizer{},
		model:      wp,
		decoder:    wordPieceDecoder{prefix: "##", cleanup: true},
	}
	clsID, sepID := vocab[cls], vocab[sep]
	t.post = &templateProcessing{
		single:   []tplPiece{{special: cls}, {}, {special: sep}},
		pair:     []tplPiece{{special: cls}, {}, {special: sep}, {seqB: true, typeID: 1}, {special: sep, typeID: 1}},
		specials: map[string]tplSpecial{cls: {[]int32{clsID}, []string{cls}}, sep: {[]int32{sepID}, []string{sep}}},

		overflowKeepsTypes: true,
	}
	var added []AddedToken
	for _, s := range []string{pad, unk, cls, sep, mask} {
		if id, ok := vocab[s]; ok {
			added = append(added, AddedToken{Content: s, ID: id, Special: true})
		}
	}
	t.setAdded(added)
	return t, nil
}

// loadByteLevelBPE is the RobertaConverter / GPT2Converter on vocab.json +
// merges.txt.
func loadByteLevelBPE(dir string, cfg map[string]any, class string) (*Tokenizer, error) {
	data, err := os.ReadFile(filepath.Join(dir, "vocab.json"))
	if err != nil {
		return nil, err
	}
	var vocab map[string]int32
	if err := json.Unmarshal(data, &vocab); err != nil {
		return nil, fmt.Errorf("parse vocab.json: %w", err)
	}
	mdata, err := os.ReadFile(filepath.Join(dir, "merges.txt"))
	if err != nil {
		return nil, err
	}
	var merges [][2]string
	for i, line := range strings.Split(string(mdata), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || (i == 0 && strings.HasPrefix(line, "#version")) {
			continue
		}
		a, b, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("merges.txt line %d: %q is not two tokens", i+1, line)
		}
		merges = append(merges, [2]string{a, b})
	}
	m, err := newBPE(vocab, merges, bpeOpts{})
	if err != nil {
		return nil, err
	}
	aps := cfgBool(cfg, "add_prefix_space", false)
	t := &Tokenizer{model: m, pre: byteLevelPreTokenizer{addPrefixSpace: aps, useRegex: true}, decoder: byteLevelDecoder{}}
	tokOr := func(key, def string) string {
		if s, ok := cfgToken(cfg, key); ok {
			return s
		}
		return def
	}
	var added []AddedToken
	if class == "RobertaTokenizerFast" || class == "" {
		bos, eos, sep, cls, unk, pad, mask := tokOr("bos_token", "<s>"), tokOr("eos_token", "</s>"), tokOr("sep_token", "</s>"), tokOr("cls_token", "<s>"), tokOr("unk_token", "<unk>"), tokOr("pad_token", "<pad>"), tokOr("mask_token", "<mask>")
		tp := &templateProcessing{
			single:   []tplPiece{{special: cls}, {}, {special: sep}},
			pair:     []tplPiece{{special: cls}, {}, {special: sep}, {special: sep}, {seqB: true}, {special: sep}},
			specials: map[string]tplSpecial{cls: {[]int32{vocab[cls]}, []string{cls}}, sep: {[]int32{vocab[sep]}, []string{sep}}},
		}
		t.post = &trimOffsets{addPrefixSpace: aps, inner: tp}
		for _, s := range []string{bos, pad, eos, unk} {
			if id, ok := vocab[s]; ok {
				added = append(added, AddedToken{Content: s, ID: id, Special: true})
			}
		}
		if id, ok := vocab[mask]; ok {
			added = append(added, AddedToken{Content: mask, ID: id, Special: true, LStrip: true})
		}
	} else {
		t.post = &trimOffsets{addPrefixSpace: aps}
		if s, ok := cfgToken(cfg, "eos_token"); ok {
			if id, ok := vocab[s]; ok {
				added = append(added, AddedToken{Content: s, ID: id, Special: true})
			}
		}
	}
	t.setAdded(added)
	return t, nil
}

// setAdded installs the added tokens and builds their matchers.
func (t *Tokenizer) setAdded(toks []AddedToken) {
	t.added = toks
	t.addedIDs = make(map[int32]int, len(toks))
	for i, a := range toks {
		t.addedIDs[a.ID] = i
	}
	t.refreshAdded()
}

// refreshAdded rebuilds the matchers; normalized tokens are matched in their
// normalized form, so this reruns when the normalizer changes.
func (t *Tokenizer) refreshAdded() {
	// The reference matches special tokens first, then the others, each
	// group in insertion order; leftmost-longest makes order matter only
	// for identical contents.
	var raw, nrm []AddedToken
	for _, a := range t.added {
		if a.Normalized {
			nrm = append(nrm, a)
		} else {
			raw = append(raw, a)
		}
	}
	sort.SliceStable(raw, func(i, j int) bool { return raw[i].Special && !raw[j].Special })
	sort.SliceStable(nrm, func(i, j int) bool { return nrm[i].Special && !nrm[j].Special })
	t.rawMatch = newAddedMatcher(raw, func(a AddedToken) string { return a.Content })
	t.nrmMatch = newAddedMatcher(nrm, func(a AddedToken) string {
		if t.normalizer == nil {
			return a.Content
		}
		n := newNormStr(a.Content, 0)
		t.normalizer.normalize(&n)
		return string(n.r)
	})
}
