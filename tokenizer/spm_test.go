package tokenizer

import (
	"os"
	"path/filepath"
	"testing"
)

// spmGoldens mirrors TOKENIZERS in tools/reference/gen_spm_goldens.py:
// folders holding only a SentencePiece .model (and config.json), whose
// reference is the tokenizer transformers 5.2.0 converts from that file.
var spmGoldens = []struct {
	name, dir string // dir under ../shared/data/tokenizers when shared
	shared    bool
	cfg       map[string]any
	corpora   []string
}{
	{"spm-xlnet-base-cased", "xlnet-base-cased", true, map[string]any{"tokenizer_class": "XLNetTokenizer"}, []string{"squad1", "cmrc", "drcd"}},
	{"spm-deberta-v3", "testdata/spm/deberta-v3", false, nil, []string{"squad1", "cmrc"}},
	{"spm-xlm-roberta", "testdata/spm/xlm-roberta", false, nil, []string{"squad1", "drcd"}},
	{"spm-albert", "testdata/spm/albert", false, nil, []string{"squad1"}},
}

func loadSPMGolden(t *testing.T, i int) *Tokenizer {
	t.Helper()
	g := spmGoldens[i]
	dir := g.dir
	if g.shared {
		dir = filepath.Join(sharedData(t), "tokenizers", g.dir)
	}
	var opts []Option
	if g.cfg != nil {
		opts = append(opts, WithConfig(g.cfg))
	}
	tk, err := LoadDir(dir, opts...)
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	return tk
}

// TestSPMGoldenAdversarial compares single and pair encodings of the
// adversarial strings with transformers' (ids, offsets, word and type ids,
// overflow windows).
func TestSPMGoldenAdversarial(t *testing.T) {
	for i, g := range spmGoldens {
		t.Run(g.name, func(t *testing.T) {
			tk := loadSPMGolden(t, i)
			recs := readGolden(t, filepath.Join("testdata", "golden", g.name+".adversarial.jsonl.gz"))
			var c parityCount
			fails := 0
			fail := func(format string, args ...any) {
				if fails++; fails <= 8 {
					t.Errorf(format, args...)
				}
			}
			for j := range recs {
				r := &recs[j]
				if r.Text != nil {
					c.singles++
					e, err := tk.Encode(*r.Text, true)
					if err != nil {
						fail("%s %q: %v", r.K, *r.Text, err)
					} else if d := singleMismatch(e, r); d != "" {
						fail("%s %q: %s", r.K, *r.Text, d)
					} else {
						c.singlesOK++
					}
					continue
				}
				c.pairs++
				if spmPairMatches(t, tk, *r.A, *r.B, r, fail) {
					c.pairsOK++
				}
				c.windows += len(r.Windows)
			}
			t.Logf("PARITY %s adversarial: singles %d/%d identical, pair encodings %d/%d identical (%d windows)",
				g.name, c.singlesOK, c.singles, c.pairsOK, c.pairs, c.windows)
		})
	}
}

func spmPairMatches(t *testing.T, tk *Tokenizer, a, b string, r *goldenRec, fail func(string, ...any)) bool {
	opts := PairOptions{MaxLength: r.MaxLen, Stride: r.Stride}
	if r.Strategy == "only_first" {
		opts.Strategy = OnlyFirst
	}
	ws, err := tk.EncodePair(a, b, opts)
	if r.Err != nil {
		if err == nil {
			fail("%s: reference failed (%s), we returned %d windows", r.K, *r.Err, len(ws))
			return false
		}
		return true
	}
	if err != nil {
		fail("%s: %v", r.K, err)
		return false
	}
	if len(ws) != len(r.Windows) {
		fail("%s: %d windows, want %d", r.K, len(ws), len(r.Windows))
		return false
	}
	for w := range ws {
		if d := diffWindow(windowLists(ws[w]), r.Windows[w]); d != "" {
			fail("%s window %d (a=%q b=%q): %s", r.K, w, a, b, d)
			return false
		}
	}
	return true
}

// TestSPMGoldenCorpora compares SQuAD, CMRC and DRCD questions, contexts
// and question/context windows (384 tokens, stride 128).
func TestSPMGoldenCorpora(t *testing.T) {
	data := sharedData(t)
	if testing.Short() {
		t.Skip("corpus parity is long; run without -short")
	}
	for i, g := range spmGoldens {
		t.Run(g.name, func(t *testing.T) {
			tk := loadSPMGolden(t, i)
			for _, corpus := range g.corpora {
				items := loadSquad(t, filepath.Join(data, corpusFiles[corpus]))
				recs := readGolden(t, filepath.Join("testdata", "golden", g.name+"."+corpus+".jsonl.gz"))
				byKey := make(map[string]*goldenRec, len(recs))
				for j := range recs {
					byKey[recs[j].K] = &recs[j]
				}
				var c parityCount
				fails := 0
				fail := func(format string, args ...any) {
					if fails++; fails <= 6 {
						t.Errorf(corpus+": "+format, args...)
					}
				}
				for _, it := range items {
					key := string(it.kind) + it.key
					r := byKey[key]
					if r == nil || r.H != textHash(it.text) {
						fail("%s: missing or stale golden", key)
						continue
					}
					c.singles++
					e, _ := tk.Encode(it.text, true)
					if d := singleMismatch(e, r); d != "" {
						fail("%s %.80q: %s", key, it.text, d)
					} else {
						c.singlesOK++
					}
					if it.kind != 'q' {
						continue
					}
					c.pairs++
					pr := byKey["p"+it.key]
					if pr == nil || pr.H != textHash(it.text+"\x00"+it.context) {
						fail("p%s: missing or stale golden", it.key)
						continue
					}
					ws, err := tk.EncodePair(it.text, it.context, PairOptions{MaxLength: 384, Stride: 128})
					if pr.Err != nil {
						if err != nil {
							c.pairsOK++
						} else {
							fail("p%s: reference failed (%s), we did not", it.key, *pr.Err)
						}
						continue
					}
					if err != nil {
						fail("p%s: %v", it.key, err)
						continue
					}
					c.windows += len(pr.WH)
					ok := len(ws) == len(pr.WH)
					for w := 0; ok && w < len(ws); w++ {
						ok = windowHash(ws[w]) == pr.WH[w]
					}
					if !ok {
						fail("p%s: %d windows, hashes differ (want %d)", it.key, len(ws), len(pr.WH))
						continue
					}
					c.pairsOK++
				}
				t.Logf("PARITY %s %s: singles %d/%d identical, pairs %d/%d identical (%d windows)",
					g.name, corpus, c.singlesOK, c.singles, c.pairsOK, c.pairs, c.windows)
			}
		})
	}
}

// TestSPMConfig checks the class defaults that come with a .model folder.
func TestSPMConfig(t *testing.T) {
	tests := []struct {
		dir       string
		cfg       map[string]any
		padding   string
		inputs    int
		wantClass string
	}{
		{"testdata/spm/deberta-v3", nil, "right", 3, "DebertaV2TokenizerFast"},
		{"testdata/spm/xlm-roberta", nil, "right", 2, "XLMRobertaTokenizerFast"},
		{"testdata/spm/albert", map[string]any{"padding_side": "left"}, "left", 2, "AlbertTokenizerFast"},
	}
	for _, tt := range tests {
		tk, err := LoadDir(tt.dir, WithConfig(tt.cfg))
		if err != nil {
			t.Fatal(err)
		}
		c := tk.Config()
		if c.PaddingSide != tt.padding || len(c.ModelInputNames) != tt.inputs || c.Class != tt.wantClass {
			t.Errorf("%s: padding %s, inputs %v, class %s", tt.dir, c.PaddingSide, c.ModelInputNames, c.Class)
		}
	}
	// A .model with no class to say how to convert it is refused.
	dir := t.TempDir()
	raw, err := os.ReadFile("testdata/spm/albert/spiece.model")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "spiece.model"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); err == nil {
		t.Fatal("a .model without a tokenizer class loaded")
	}
}
