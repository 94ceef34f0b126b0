package tokenizer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// tinyBert is a self-contained tokenizer.json so these tests run without
// ../shared/data.
const tinyBert = `{
  "version": "1.0",
  "added_tokens": [
    {"id": 0, "content": "[PAD]", "special": true, "normalized": false, "lstrip": false, "rstrip": false, "single_word": false},
    {"id": 1, "content": "[UNK]", "special": true, "normalized": false, "lstrip": false, "rstrip": false, "single_word": false},
    {"id": 2, "content": "[CLS]", "special": true, "normalized": false, "lstrip": false, "rstrip": false, "single_word": false},
    {"id": 3, "content": "[SEP]", "special": true, "normalized": false, "lstrip": false, "rstrip": false, "single_word": false}
  ],
  "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
  "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
  "model": {"unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
    "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, "world": 5, "!": 6, "na": 7, "##ive": 8, "you": 9, "你": 10}}
}`

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func loadTiny(t *testing.T) *Tokenizer {
	t.Helper()
	tk, err := LoadFile(writeTemp(t, "tokenizer.json", tinyBert))
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestEncodeTiny(t *testing.T) {
	tk := loadTiny(t)
	e, err := tk.Encode("Hello, WORLD! Naïve 你 [SEP]x", true)
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{2, 4, 1, 5, 6, 7, 8, 10, 3, 1, 3}
	if len(e.IDs) != len(want) {
		t.Fatalf("ids %v (%q), want %v", e.IDs, e.Tokens, want)
	}
	for i := range want {
		if e.IDs[i] != want[i] {
			t.Fatalf("ids %v (%q), want %v", e.IDs, e.Tokens, want)
		}
	}
	// "Naïve" spans code points 14..19 but bytes 14..20.
	if e.Offsets[5] != [2]int{14, 16} || e.Offsets[6] != [2]int{16, 19} || e.ByteOffsets[6] != [2]int{16, 20} {
		t.Errorf("offsets %v bytes %v", e.Offsets, e.ByteOffsets)
	}
	if e.WordIDs[0] != -1 || e.WordIDs[5] != 4 || e.WordIDs[6] != 4 || e.SequenceIDs[0] != -1 {
		t.Errorf("word ids %v seq %v", e.WordIDs, e.SequenceIDs)
	}
	if got := tk.Decode(e.IDs, true); got != "hello world! naive 你" { // [UNK] is special too
		t.Errorf("decode %q", got)
	}
}

// Invalid UTF-8 is read as one U+FFFD per bad byte; BertNormalizer deletes
// it, and offsets still index the caller's bytes.
func TestInvalidUTF8(t *testing.T) {
	tk := loadTiny(t)
	e, err := tk.Encode("\xffhello\xc3 world", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.IDs) != 2 || e.IDs[0] != 4 || e.IDs[1] != 5 {
		t.Fatalf("ids %v", e.IDs)
	}
	if e.ByteOffsets[0] != [2]int{1, 6} || e.ByteOffsets[1] != [2]int{8, 13} {
		t.Errorf("byte offsets %v", e.ByteOffsets)
	}
	if e.Offsets[0] != [2]int{1, 6} || e.Offsets[1] != [2]int{8, 13} {
		t.Errorf("char offsets %v (each bad byte counts as one code point)", e.Offsets)
	}
}

func TestPairWindows(t *testing.T) {
	tk := loadTiny(t)
	ctx := strings.Repeat("hello world ", 10) // 20 tokens
	ws, err := tk.EncodePair("you", ctx, PairOptions{MaxLength: 12, Stride: 2})
	if err != nil {
		t.Fatal(err)
	}
	// W = 12 - 3 - 1 = 8, step 6: windows start at 0, 6, 12 -> 3 windows.
	if len(ws) != 3 {
		t.Fatalf("%d windows, want 3", len(ws))
	}
	for i, w := range ws {
		if w.Len() > 12 || w.IDs[0] != 2 || w.TypeIDs[w.Len()-1] != 1 || w.SequenceIDs[2] != -1 || w.SequenceIDs[3] != 1 {
			t.Errorf("window %d: ids %v types %v seq %v", i, w.IDs, w.TypeIDs, w.SequenceIDs)
		}
	}
	if ws[1].WordIDs[3] != 6 || ws[1].Offsets[3] != [2]int{36, 41} {
		t.Errorf("second window keeps full-context word ids/offsets: words %v offsets %v", ws[1].WordIDs, ws[1].Offsets)
	}
	if _, err := tk.EncodePair(strings.Repeat("you ", 10), ctx, PairOptions{MaxLength: 12}); !errors.Is(err, ErrSequenceTooShort) {
		t.Errorf("got %v, want ErrSequenceTooShort", err)
	}
	if _, err := tk.EncodePair("you", ctx, PairOptions{MaxLength: 12, Stride: 8}); !errors.Is(err, ErrStrideTooLarge) {
		t.Errorf("got %v, want ErrStrideTooLarge", err)
	}
	ws, err = tk.EncodePair("you", "hello", PairOptions{MaxLength: 12, PadTo: 8})
	if err != nil || ws[0].Len() != 8 || ws[0].AttentionMask[7] != 0 || ws[0].IDs[7] != 0 {
		t.Errorf("padding: %v %+v", err, ws)
	}
}

func TestUnknownComponent(t *testing.T) {
	bad := strings.Replace(tinyBert, `"type": "BertPreTokenizer"`, `"type": "FancySplitter"`, 1)
	_, err := LoadFile(writeTemp(t, "tokenizer.json", bad))
	if err == nil || !strings.Contains(err.Error(), `"FancySplitter"`) || !strings.Contains(err.Error(), "pre_tokenizer") {
		t.Fatalf("error %v should name the pre_tokenizer type", err)
	}
	bad = strings.Replace(tinyBert, `"type": "BertNormalizer"`, `"type": "Nmt"`, 1)
	if _, err := LoadFile(writeTemp(t, "tokenizer.json", bad)); err == nil || !strings.Contains(err.Error(), `"Nmt"`) {
		t.Fatalf("error %v should name the normalizer type", err)
	}
}

// A BERT-family class without do_lower_case gets lowercased, as
// BertTokenizerFast does; do_lower_case:false keeps case.
func TestBertOverrides(t *testing.T) {
	cased := strings.Replace(tinyBert, `"lowercase": true`, `"lowercase": false`, 1)
	dir := filepath.Dir(writeTemp(t, "tokenizer.json", cased))
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"tokenizer_class": "BertTokenizer", "model_max_length": 512}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tk, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := tk.Encode("Hello", false)
	if e.IDs[0] != 4 {
		t.Errorf("do_lower_case should default to true: %v", e.Tokens)
	}
	if tk.ModelMaxLength() != 512 || !tk.UsesTokenTypeIDs() || tk.PaddingSide() != "right" {
		t.Errorf("config %+v", tk.Config())
	}
	tk, err = LoadDir(dir, WithConfig(map[string]any{"do_lower_case": false}))
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := tk.Encode("Hello", false); e.IDs[0] != 1 {
		t.Errorf("do_lower_case false should keep case: %v", e.Tokens)
	}
	cls, _ := tk.CLSID()
	sep, _ := tk.SEPID()
	pad, _ := tk.PadID()
	if cls != 2 || sep != 3 || pad != 0 || tk.NumSpecialTokens(true) != 3 || tk.NumSpecialTokens(false) != 2 {
		t.Errorf("cls %d sep %d pad %d specials %d/%d", cls, sep, pad, tk.NumSpecialTokens(true), tk.NumSpecialTokens(false))
	}
	if unk, ok := tk.UnkID(); !ok || unk != 1 {
		t.Errorf("UnkID = %d, %v; want [UNK]'s 1", unk, ok)
	}
}

func TestLegacyVocabTxt(t *testing.T) {
	dir := filepath.Dir(writeTemp(t, "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n##s\n"))
	tk, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := tk.Encode("HELLOS", true)
	if got := e.IDs; len(got) != 4 || got[1] != 5 || got[2] != 6 {
		t.Errorf("ids %v tokens %q", got, e.Tokens)
	}
}

func TestConcurrentEncode(t *testing.T) {
	tk := loadTiny(t)
	want, _ := tk.Encode("hello world naive 你", true)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				e, _ := tk.Encode("hello world naive 你", true)
				if len(e.IDs) != len(want.IDs) {
					t.Errorf("concurrent encode differs")
					return
				}
			}
		}()
	}
	wg.Wait()
}

// The real files: tokenizer.json vs vocab.txt of bert-base-cased agree, and
// the README's facts hold.
func TestSharedFacts(t *testing.T) {
	data := sharedData(t)
	tk, err := LoadDir(filepath.Join(data, "tokenizers", "bert-base-cased"))
	if err != nil {
		t.Fatal(err)
	}
	e, _ := tk.Encode("Hello world", true)
	if got := e.IDs; len(got) != 4 || got[0] != 101 || got[1] != 8667 || got[2] != 1362 || got[3] != 102 {
		t.Errorf("bert-base-cased Hello world = %v", got)
	}
	rb, err := LoadDir(filepath.Join(data, "tokenizers", "roberta-base"))
	if err != nil {
		t.Fatal(err)
	}
	e, _ = rb.Encode("Hello world", true)
	if got := e.IDs; len(got) != 4 || got[1] != 31414 || got[2] != 232 || rb.UsesTokenTypeIDs() || rb.ModelMaxLength() != 512 || rb.NumSpecialTokens(true) != 4 {
		t.Errorf("roberta Hello world = %v, inputs %v", got, rb.ModelInputNames())
	}
	t5, err := LoadDir(filepath.Join(data, "tokenizers", "t5-small"))
	if err != nil {
		t.Fatal(err)
	}
	e, _ = t5.Encode("Hello", false)
	if len(e.IDs) != 1 || e.IDs[0] != 8774 {
		t.Errorf("t5 Hello = %v %q", e.IDs, e.Tokens)
	}
}

// The legacy loaders must build the same pipeline as the tokenizer.json of
// the same model (which the goldens verify against the reference).
func TestLegacyMatchesTokenizerJSON(t *testing.T) {
	data := sharedData(t)
	recs := readGolden(t, filepath.Join("testdata", "golden", "roberta-base.adversarial.jsonl.gz"))
	for _, c := range []struct {
		folder string
		files  []string
		cfg    map[string]any
	}{
		{"roberta-base", []string{"vocab.json", "merges.txt", "tokenizer_config.json"}, nil},
		{"bert-base-cased", []string{"vocab.txt"}, map[string]any{"do_lower_case": false}},
		{"bert-base-uncased", []string{"vocab.txt"}, nil},
	} {
		src := filepath.Join(data, "tokenizers", c.folder)
		dir := t.TempDir()
		for _, f := range c.files {
			b, err := os.ReadFile(filepath.Join(src, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		legacy, err := LoadDir(dir, WithConfig(c.cfg))
		if err != nil {
			t.Fatalf("%s legacy: %v", c.folder, err)
		}
		ref, err := LoadFile(filepath.Join(src, "tokenizer.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			texts := []string{}
			if r.Text != nil {
				texts = append(texts, *r.Text)
			} else {
				texts = append(texts, *r.A, *r.B)
			}
			for _, s := range texts {
				a, _ := legacy.Encode(s, true)
				b, _ := ref.Encode(s, true)
				if d := diffWindow(windowLists(a), windowLists(b)); d != "" {
					t.Fatalf("%s %q: legacy differs from tokenizer.json: %s", c.folder, s, d)
				}
			}
		}
	}
}
