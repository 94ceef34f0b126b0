package lexical

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkOffsets verifies the invariants every sentence promises: its text is
// the byte slice and the code-point slice of the input.
func checkOffsets(t *testing.T, text string, ss []Sentence) {
	t.Helper()
	runes := []rune(text)
	prevEnd := 0
	for i, s := range ss {
		if s.Text != text[s.ByteStart:s.ByteEnd] {
			t.Errorf("sentence %d: bytes [%d,%d) = %q, Text %q", i, s.ByteStart, s.ByteEnd, text[s.ByteStart:s.ByteEnd], s.Text)
		}
		if got := string(runes[s.Start:s.End]); got != s.Text {
			t.Errorf("sentence %d: code points [%d,%d) = %q, Text %q", i, s.Start, s.End, got, s.Text)
		}
		if s.Start < prevEnd {
			t.Errorf("sentence %d overlaps the previous one", i)
		}
		if strings.TrimSpace(s.Text) != s.Text || s.Text == "" {
			t.Errorf("sentence %d not trimmed or empty: %q", i, s.Text)
		}
		prevEnd = s.End
	}
}

func texts(ss []Sentence) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Text
	}
	return out
}

func TestSentences(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string
	}{
		{"seed", "HuggingFace was founded in Paris.", []string{"HuggingFace was founded in Paris."}},
		{"two", "It rained. Then it stopped!  Did it? ", []string{"It rained.", "Then it stopped!", "Did it?"}},
		{"no final stop", "One. Two", []string{"One.", "Two"}},
		{"abbreviations", "Dr. Smith met Mr. Jones at 5 p.m. in the U.S. embassy. They talked.",
			[]string{"Dr. Smith met Mr. Jones at 5 p.m. in the U.S. embassy.", "They talked."}},
		{"initials", "J. R. R. Tolkien wrote it. It sold well.", []string{"J. R. R. Tolkien wrote it.", "It sold well."}},
		{"decimal", "Pi is about 3.14 today. Yes.", []string{"Pi is about 3.14 today.", "Yes."}},
		{"quote closes", `He said "stop." Then he left.`, []string{`He said "stop."`, "Then he left."}},
		{"ellipsis and mixed", "Wait... what?! Fine.", []string{"Wait...", "what?!", "Fine."}},
		{"lowercase continuation", "It costs approx. five dollars, i.e. cheap. Buy.", []string{"It costs approx. five dollars, i.e. cheap.", "Buy."}},
		{"blank line", "Title\n\nBody text here. More", []string{"Title", "Body text here.", "More"}},
		{"wrapped line", "A line that\nwraps. Next.", []string{"A line that\nwraps.", "Next."}},
		{"cjk", "東京は日本の首都です。人口は多い。", []string{"東京は日本の首都です。", "人口は多い。"}},
		{"emoji", "🤗 Transformers is a library. It is 🚀.", []string{"🤗 Transformers is a library.", "It is 🚀."}},
		{"only space", "   \n\t ", nil},
		{"empty", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Sentences(tc.in)
			checkOffsets(t, tc.in, got)
			if g := texts(got); !equal(g, tc.want) {
				t.Errorf("Sentences(%q)\n got %q\nwant %q", tc.in, g, tc.want)
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Offsets count code points, not bytes or UTF-16 units: "🤗" is one.
func TestSentenceOffsetsAreCodePoints(t *testing.T) {
	text := "é🤗 x. Ünïcödé here."
	ss := Sentences(text)
	if len(ss) != 2 {
		t.Fatalf("got %q", texts(ss))
	}
	if ss[1].Start != 6 || ss[1].End != 19 || ss[1].ByteStart != 10 {
		t.Errorf("second sentence = %+v", ss[1])
	}
}

// A run without punctuation is cut into bounded pieces at spaces.
func TestLongSentenceIsCut(t *testing.T) {
	text := strings.Repeat("word ", 1000)
	ss := Sentences(text)
	checkOffsets(t, text, ss)
	if len(ss) < 10 {
		t.Fatalf("got %d pieces", len(ss))
	}
	for _, s := range ss {
		if n := s.End - s.Start; n > maxSentenceRunes {
			t.Errorf("piece of %d code points", n)
		}
	}
}

func TestTerms(t *testing.T) {
	got := Terms("Where was HuggingFace's first office? The libraries, 2016 東京")
	want := []string{"huggingface", "first", "office", "library", "2016", "東", "京"}
	if !equal(got, want) {
		t.Errorf("Terms = %q, want %q", got, want)
	}
}

// Score against hand-computed BM25: three one-word documents, the query term
// in one of them. idf = ln(1 + (3−1+0.5)/(1+0.5)) and, for a document of
// average length with tf 1, the BM25 term weight is exactly idf; normalised
// by the query's idf sum it is 1.
func TestScoreHandComputed(t *testing.T) {
	docs := [][]string{{"paris"}, {"london"}, {"rome"}}
	s := Score([]string{"paris"}, docs)
	if math.Abs(s[0]-1) > 1e-12 || s[1] != 0 || s[2] != 0 {
		t.Errorf("scores = %v, want [1 0 0]", s)
	}
	// Two query terms, one absent from the context: coverage halves-ish.
	s = Score([]string{"paris", "berlin"}, docs)
	idfP := math.Log(1 + 2.5/1.5)
	idfB := math.Log(1 + 3.5/0.5)
	if want := idfP / (idfP + idfB); math.Abs(s[0]-want) > 1e-12 {
		t.Errorf("score = %v, want %v", s[0], want)
	}
	// Longer documents are penalised: same tf, more words.
	docs = [][]string{{"paris", "x"}, {"paris", "x", "y", "z", "w", "v"}}
	s = Score([]string{"paris"}, docs)
	if !(s[0] > s[1]) {
		t.Errorf("length normalisation: %v", s)
	}
	if s := Score(nil, docs); s[0] != 0 || s[1] != 0 {
		t.Errorf("empty query scored %v", s)
	}
}

func TestRankSeed(t *testing.T) {
	ms, words := Rank("Where was HuggingFace founded?",
		"HuggingFace is a company. HuggingFace was founded in Paris. It makes 🤗 Transformers.")
	if len(ms) != 3 || words != 12 {
		t.Fatalf("Rank = %+v, %d words", ms, words)
	}
	a := ms[0]
	if a.Text != "HuggingFace was founded in Paris." || a.Start != 26 || a.End != 59 || a.ByteStart != 26 || a.ByteEnd != 59 {
		t.Errorf("best = %+v", a)
	}
	if a.Score <= 0 || a.Score > 1 {
		t.Errorf("score %v outside (0,1]", a.Score)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].Score > ms[i-1].Score {
			t.Errorf("not sorted: %+v", ms)
		}
	}
}

// Equal scores keep the text's order, so the earlier sentence wins a tie.
func TestRankTies(t *testing.T) {
	ms, _ := Rank("Guernica?", "Rome is in Italy. Paris is in France.")
	if len(ms) != 2 || ms[0].Start != 0 || ms[0].Score != 0 {
		t.Errorf("Rank = %+v", ms)
	}
	if ms, words := Rank("q", ""); len(ms) != 0 || words != 0 {
		t.Errorf("empty text: %+v, %d", ms, words)
	}
}

// squadPath is the shared SQuAD v1.1 dev set, beside the repository.
func squadPath(t *testing.T) string {
	t.Helper()
	p := filepath.Join("..", "..", "shared", "data", "squad", "dev-v1.1-public.json")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("SQuAD dev set not found at %s (../shared is absent): %v", p, err)
	}
	return p
}

type squadFile struct {
	Data []struct {
		Title      string `json:"title"`
		Paragraphs []struct {
			Context string `json:"context"`
			QAs     []struct {
				Question string `json:"question"`
				Answers  []struct {
					Text  string `json:"text"`
					Start int    `json:"answer_start"`
				} `json:"answers"`
			} `json:"qas"`
		} `json:"paragraphs"`
	} `json:"data"`
}

// On real text the splitter keeps its offsets exact, and the best BM25
// sentence holds a gold answer for most SQuAD questions (sentence retrieval
// is what BM25 is good at; a QA model then narrows the span).
func TestSquadParagraphs(t *testing.T) {
	raw, err := os.ReadFile(squadPath(t))
	if err != nil {
		t.Fatal(err)
	}
	var f squadFile
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	questions, hits := 0, 0
	for _, art := range f.Data[:5] {
		for _, p := range art.Paragraphs {
			ss := Sentences(p.Context)
			checkOffsets(t, p.Context, ss)
			for _, qa := range p.QAs {
				ms, _ := Rank(qa.Question, p.Context)
				a := ms[0]
				questions++
				for _, g := range qa.Answers {
					if g.Start >= a.Start && g.Start < a.End {
						hits++
						break
					}
				}
			}
		}
	}
	rate := float64(hits) / float64(questions)
	t.Logf("best sentence holds a gold answer for %d of %d questions (%.1f%%)", hits, questions, 100*rate)
	if rate < 0.75 {
		t.Errorf("sentence hit rate %.3f < 0.75", rate)
	}
	// The first paragraph of the dev set, sentence by sentence.
	first := f.Data[0].Paragraphs[0].Context
	ss := Sentences(first)
	if len(ss) < 4 || !strings.HasPrefix(ss[0].Text, "Super Bowl 50 was an American football game") {
		t.Errorf("first paragraph split into %q", texts(ss))
	}
}

func BenchmarkRank(b *testing.B) {
	q := "Which NFL team represented the AFC at Super Bowl 50?"
	text := strings.Repeat("Super Bowl 50 was an American football game to determine the champion of the NFL. The Denver Broncos defeated the Carolina Panthers. ", 20)
	for b.Loop() {
		Rank(q, text)
	}
}
