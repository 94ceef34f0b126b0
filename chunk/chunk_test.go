package chunk_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/askqa/ask/chunk"
	"github.com/askqa/ask/tokenizer"
)

// check verifies the invariants of a split: spans in order, trimmed, inside
// the text, within the token budget, counting their tokens exactly, and
// together covering every token of the text.
func check(t *testing.T, text string, tok chunk.Tokenizer, opt chunk.Options, spans []chunk.Span) {
	t.Helper()
	all, _ := tok.TokenSpans(text)
	covered := make([]bool, len(all))
	for i, s := range spans {
		if s.Start < 0 || s.End > len(text) || s.Start >= s.End {
			t.Fatalf("span %d [%d,%d) outside a text of %d bytes", i, s.Start, s.End, len(text))
		}
		piece := text[s.Start:s.End]
		if strings.TrimSpace(piece) != piece {
			t.Errorf("span %d %q is not trimmed", i, piece)
		}
		if i > 0 && s.Start <= spans[i-1].Start {
			t.Errorf("span %d starts at %d, not after span %d at %d", i, s.Start, i-1, spans[i-1].Start)
		}
		n := 0
		for j, a := range all {
			if a[0] >= s.Start && a[1] <= s.End {
				n++
				covered[j] = true
			}
		}
		if n != s.Tokens {
			t.Errorf("span %d %q: Tokens %d, it holds %d", i, piece, s.Tokens, n)
		}
		if s.Tokens > opt.MaxTokens {
			t.Errorf("span %d: %d tokens, max %d", i, s.Tokens, opt.MaxTokens)
		}
	}
	for j, c := range covered {
		if !c {
			t.Fatalf("token %d %q at %v is in no chunk", j, text[all[j][0]:all[j][1]], all[j])
		}
	}
}

func TestSplitSentencesAndParagraphs(t *testing.T) {
	text := "First sentence here. Second one follows! A third?\n\nNew paragraph starts. It goes on.\n\n\n  Last words."
	opt := chunk.Options{MaxTokens: 12, Overlap: 4}
	spans, err := chunk.Split(text, chunk.Words{}, opt)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range spans {
		got = append(got, text[s.Start:s.End])
	}
	want := []string{
		"First sentence here. Second one follows! A third?",
		"New paragraph starts. It goes on.\n\n\n  Last words.",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("chunks:\n%q\nwant\n%q", got, want)
	}
	check(t, text, chunk.Words{}, opt, spans)
}

func TestSplitOverlap(t *testing.T) {
	var b strings.Builder
	for i := range 20 {
		fmt.Fprintf(&b, "Sentence number %d has five. ", i)
	}
	text := strings.TrimSpace(b.String())
	opt := chunk.Options{MaxTokens: 20, Overlap: 6}
	spans, err := chunk.Split(text, chunk.Words{}, opt)
	if err != nil {
		t.Fatal(err)
	}
	check(t, text, chunk.Words{}, opt, spans)
	for i := 1; i < len(spans); i++ {
		if spans[i].Start >= spans[i-1].End {
			t.Errorf("chunk %d does not overlap chunk %d", i, i-1)
		}
		if !strings.HasPrefix(text[spans[i].Start:], "Sentence") {
			t.Errorf("chunk %d starts mid-sentence: %q", i, text[spans[i].Start:spans[i].End])
		}
	}
}

func TestSplitLongSentence(t *testing.T) {
	text := strings.Repeat("word ", 100) + "end"
	opt := chunk.Options{MaxTokens: 30, Overlap: 5}
	spans, err := chunk.Split(text, chunk.Words{}, opt)
	if err != nil {
		t.Fatal(err)
	}
	check(t, text, chunk.Words{}, opt, spans)
	if len(spans) != 4 { // 101 tokens, steps of 25
		t.Errorf("%d chunks, want 4", len(spans))
	}
}

func TestSplitChinese(t *testing.T) {
	text := "长城是中国古代的军事防御工程。它东起山海关，西至嘉峪关。\n\n大熊猫主要生活在四川。它们吃竹子！"
	opt := chunk.Options{MaxTokens: 16, Overlap: 4}
	spans, err := chunk.Split(text, chunk.Words{}, opt)
	if err != nil {
		t.Fatal(err)
	}
	check(t, text, chunk.Words{}, opt, spans)
	for _, s := range spans {
		piece := text[s.Start:s.End]
		if !strings.HasSuffix(piece, "。") && !strings.HasSuffix(piece, "！") {
			t.Errorf("chunk %q does not end a sentence", piece)
		}
	}
}

func TestSplitEmpty(t *testing.T) {
	for _, text := range []string{"", "   \n\n\t ", "\n"} {
		spans, err := chunk.Split(text, chunk.Words{}, chunk.Options{})
		if err != nil || len(spans) != 0 {
			t.Errorf("Split(%q) = %v, %v; want no chunks", text, spans, err)
		}
	}
	if _, err := chunk.Split("x", chunk.Words{}, chunk.Options{MaxTokens: 10, Overlap: 6}); err == nil {
		t.Error("an overlap over half the chunk: no error")
	}
}

func randomText(r *rand.Rand) string {
	words := []string{"alpha", "beta", "Gamma", "x", "42", "長城", "是", "中国", "。", "！", ".", "?", "!", ",", "\"", ")", "\n", "\n\n", " \n \n", "\t", "é", "ﬁ", "—", "-", "#", "1."}
	var b strings.Builder
	for range r.IntN(400) {
		b.WriteString(words[r.IntN(len(words))])
		if r.IntN(3) > 0 {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// TestSplitProperties checks the invariants on random texts with both
// tokenizers: doc.Text[Start:End] is the chunk, every token is in a chunk,
// no chunk exceeds its budget.
func TestSplitProperties(t *testing.T) {
	toks := map[string]chunk.Tokenizer{"words": chunk.Words{}}
	if tk, err := tokenizer.LoadDir("../builtin/model"); err == nil {
		toks["builtin"] = chunk.FromTokenizer(tk)
	} else {
		t.Logf("builtin tokenizer: %v", err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	for name, tok := range toks {
		for i := range 300 {
			text := randomText(r)
			opt := chunk.Options{MaxTokens: 8 + r.IntN(60)}
			opt.Overlap = r.IntN(opt.MaxTokens / 2)
			spans, err := chunk.Split(text, tok, opt)
			if err != nil {
				t.Fatalf("%s %d: %v", name, i, err)
			}
			check(t, text, tok, opt, spans)
		}
	}
}

func FuzzSplit(f *testing.F) {
	f.Add("Hello world. Bye!\n\nNext.", 10, 2)
	f.Add("长城。山海关！", 8, 1)
	f.Add("a\n\n\n\nb", 8, 0)
	f.Fuzz(func(t *testing.T, text string, max, overlap int) {
		opt := chunk.Options{MaxTokens: int(uint(max)%200) + 8, Overlap: int(uint(overlap) % 4)}
		spans, err := chunk.Split(text, chunk.Words{}, opt)
		if !utf8.ValidString(text) {
			if err == nil {
				t.Fatal("invalid UTF-8: no error")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		check(t, text, chunk.Words{}, opt, spans)
	})
}

// TestSplitSquadArticles chunks real articles with the built-in model's
// tokenizer and checks the invariants and the boundaries: most chunks end a
// sentence.
func TestSplitSquadArticles(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "data", "docs", "squad-v1.1-dev-public-articles.jsonl")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("the SQuAD articles are not here (%v): see ../shared/data/README.md", err)
	}
	tk, err := tokenizer.LoadDir("../builtin/model")
	if err != nil {
		t.Fatal(err)
	}
	tok := chunk.FromTokenizer(tk)
	opt := chunk.Options{MaxTokens: 192, Overlap: 32}
	chunks, ends := 0, 0
	for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if i == 6 {
			break
		}
		var a struct{ Text string }
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatal(err)
		}
		spans, err := chunk.Split(a.Text, tok, opt)
		if err != nil {
			t.Fatal(err)
		}
		check(t, a.Text, tok, opt, spans)
		for _, s := range spans {
			chunks++
			last := []rune(a.Text[s.Start:s.End])
			if r := last[len(last)-1]; unicode.IsPunct(r) {
				ends++
			}
		}
	}
	t.Logf("%d chunks, %d end on punctuation", chunks, ends)
	if ends*10 < chunks*9 {
		t.Errorf("only %d of %d chunks end a sentence", ends, chunks)
	}
}

func ExampleSplit() {
	text := "Rome is the capital of Italy. It has the Colosseum.\n\nParis is the capital of France."
	spans, _ := chunk.Split(text, chunk.Words{}, chunk.Options{MaxTokens: 14, Overlap: 2})
	for _, s := range spans {
		fmt.Printf("[%d,%d) %d tokens: %s\n", s.Start, s.End, s.Tokens, text[s.Start:s.End])
	}
	// Output:
	// [0,51) 12 tokens: Rome is the capital of Italy. It has the Colosseum.
	// [53,84) 7 tokens: Paris is the capital of France.
}
