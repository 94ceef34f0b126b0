package tokenizer

import (
	"path/filepath"
	"sync"
	"testing"
)

var fuzzTokenizers struct {
	once sync.Once
	tks  []*Tokenizer
}

func fuzzSet(t testing.TB) []*Tokenizer {
	data := sharedData(t)
	fuzzTokenizers.once.Do(func() {
		for _, gt := range goldenTokenizers {
			tk, err := LoadDir(filepath.Join(data, "tokenizers", gt.folder), WithConfig(gt.cfg))
			if err != nil {
				t.Fatalf("load %s: %v", gt.folder, err)
			}
			fuzzTokenizers.tks = append(fuzzTokenizers.tks, tk)
		}
	})
	return fuzzTokenizers.tks
}

// checkOffsets asserts the invariants every encoding must hold: offsets
// inside the text (in code points and bytes), start <= end, and starts
// non-decreasing within each sequence.
func checkOffsets(t *testing.T, e *Encoding, texts ...string) {
	t.Helper()
	last := map[int]int{}
	for i := range e.IDs {
		seq := e.SequenceIDs[i]
		if e.SpecialMask[i] == 1 || seq < 0 {
			continue
		}
		if seq >= len(texts) {
			t.Fatalf("token %d: sequence id %d with %d texts", i, seq, len(texts))
		}
		text := texts[seq]
		o, bo := e.Offsets[i], e.ByteOffsets[i]
		nr := len([]rune(text))
		if o[0] < 0 || o[0] > o[1] || o[1] > nr {
			t.Fatalf("token %d %q: offsets %v outside [0,%d] of %q", i, e.Tokens[i], o, nr, text)
		}
		if bo[0] < 0 || bo[0] > bo[1] || bo[1] > len(text) {
			t.Fatalf("token %d %q: byte offsets %v outside [0,%d] of %q", i, e.Tokens[i], bo, len(text), text)
		}
		if p, ok := last[seq]; ok && o[0] < p {
			t.Fatalf("token %d %q: start %d before previous start %d in %q (offsets %v)", i, e.Tokens[i], o[0], p, text, e.Offsets)
		}
		last[seq] = o[0]
	}
}

func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "Hello world", "naïve café 你好 🤗", "a\u0301\u0323 İ", "[SEP]</s><unk>",
		"\xff\xfe bad utf8 \xc3", "  \u00a0\u2028\u0085 ", "'s 're ll", "ﬁ ① Ａ", "한국어 ㄱㅏ"} {
		f.Add(s, "question?")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, tk := range fuzzSet(t) {
			e, err := tk.Encode(a, true)
			if err != nil {
				t.Fatalf("encode %q: %v", a, err)
			}
			checkOffsets(t, e, a)
			ws, err := tk.EncodePair(b, a, PairOptions{MaxLength: 64, Stride: 16})
			if err != nil {
				continue // too-short room for the windows is a legitimate error
			}
			texts := []string{b, a}
			if a == "" { // an empty second text encodes the first alone, like transformers
				texts = []string{b}
			}
			for _, w := range ws {
				if w.Len() > 64 {
					t.Fatalf("window of %d tokens > 64", w.Len())
				}
				checkOffsets(t, w, texts...)
			}
		}
	})
}
