package lexical

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/askqa/ask/api"
)

// BM25 constants: the usual defaults (Robertson et al.; Lucene, Elastic).
const (
	k1 = 1.2
	b  = 0.75
)

// ModelID is the id the lexical reader reports in /v1/models.
const ModelID = "lexical-bm25"

// Reader answers with the context's best-matching sentences. It implements
// the server's Reader interface; it is stateless and safe for concurrent use.
type Reader struct{}

// New returns a lexical reader.
func New() *Reader { return &Reader{} }

// Describe reports the reader for /v1/models and /readyz.
func (*Reader) Describe() api.ModelInfo {
	return api.ModelInfo{
		ID:          ModelID,
		Reader:      api.ReaderLexical,
		Description: "sentence retrieval with BM25 (k1=1.2, b=0.75) over the context; answers are whole sentences",
	}
}

// Answer scores every sentence of the context against the question and
// returns the top_k best as answers. Scores are in [0,1]: a sentence's BM25
// score divided by the sum of the IDFs of the question's terms, which is
// what an average-length sentence containing each question term once would
// score; so 1 means "covers the whole question", and terms of the question
// absent from the context lower every score. Model-only parameters
// (max_answer_len, doc_stride, max_seq_len, align_to_words) have no effect.
func (r *Reader) Answer(ctx context.Context, req api.AnswerRequest) (api.AnswerResponse, error) {
	t0 := time.Now()
	if strings.TrimSpace(req.Question) == "" {
		return api.AnswerResponse{}, api.Errorf(http.StatusBadRequest, api.CodeEmptyField, "question must not be empty")
	}
	if strings.TrimSpace(req.Context) == "" {
		return api.AnswerResponse{}, api.Errorf(http.StatusBadRequest, api.CodeEmptyField, "context must not be empty")
	}
	if err := req.Params.Validate(); err != nil {
		return api.AnswerResponse{}, err
	}
	if err := ctx.Err(); err != nil {
		return api.AnswerResponse{}, fmt.Errorf("lexical: %w", err)
	}

	sents := Sentences(req.Context)
	docs := make([][]string, len(sents))
	contextTokens := 0
	for i, s := range sents {
		var n int
		docs[i], n = terms(s.Text)
		contextTokens += n
	}
	query, _ := terms(req.Question)
	t1 := time.Now()
	if err := ctx.Err(); err != nil {
		return api.AnswerResponse{}, fmt.Errorf("lexical: %w", err)
	}

	scores := Score(query, docs)
	t2 := time.Now()

	order := make([]int, len(sents))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { // best first; earlier sentence on ties
		switch {
		case scores[x] > scores[y]:
			return -1
		case scores[x] < scores[y]:
			return 1
		}
		return 0
	})
	topK := req.Params.TopKValue()
	var answers []api.Span
	for _, i := range order {
		if len(answers) == topK {
			break
		}
		if scores[i] <= 0 && len(answers) > 0 {
			break // only the best sentence stands in when nothing matches
		}
		s := sents[i]
		answers = append(answers, api.Span{Answer: s.Text, Score: scores[i],
			Start: s.Start, End: s.End, ByteStart: s.ByteStart, ByteEnd: s.ByteEnd})
	}
	if req.Params.HandleImpossibleAnswerValue() {
		best := 0.0
		if len(answers) > 0 {
			best = answers[0].Score
		}
		// As in the Python pipeline: the empty answer joins the candidates,
		// then a stable sort by score keeps the top_k.
		answers = append(answers, api.Span{Score: 1 - best})
		slices.SortStableFunc(answers, func(x, y api.Span) int {
			switch {
			case x.Score > y.Score:
				return -1
			case x.Score < y.Score:
				return 1
			}
			return 0
		})
		answers = answers[:min(len(answers), topK)]
	}
	t3 := time.Now()
	return api.AnswerResponse{
		Answers:       answers,
		Reader:        api.ReaderLexical,
		Windows:       1,
		ContextTokens: contextTokens,
		Timings: api.Timings{
			TokenizeMS: ms(t1.Sub(t0)),
			ComputeMS:  ms(t2.Sub(t1)),
			DecodeMS:   ms(t3.Sub(t2)),
			TotalMS:    ms(t3.Sub(t0)),
		},
	}, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Score returns each document's BM25 score for the query terms, normalised
// to [0,1] as described on Answer. IDF is computed over docs themselves (the
// context's sentences), with Lucene's non-negative form
// ln(1 + (N − n + 0.5)/(n + 0.5)). Repeated query terms count once.
func Score(query []string, docs [][]string) []float64 {
	scores := make([]float64, len(docs))
	if len(docs) == 0 {
		return scores
	}
	seen := map[string]bool{}
	var q []string
	for _, t := range query {
		if !seen[t] {
			seen[t] = true
			q = append(q, t)
		}
	}
	df := make(map[string]int, len(q))
	totalLen := 0
	for _, d := range docs {
		totalLen += len(d)
		inDoc := map[string]bool{}
		for _, t := range d {
			if seen[t] && !inDoc[t] {
				inDoc[t] = true
				df[t]++
			}
		}
	}
	n := float64(len(docs))
	avg := float64(totalLen) / n
	if avg == 0 {
		return scores
	}
	idf := make(map[string]float64, len(q))
	norm := 0.0
	for _, t := range q {
		idf[t] = math.Log(1 + (n-float64(df[t])+0.5)/(float64(df[t])+0.5))
		norm += idf[t]
	}
	if norm == 0 {
		return scores
	}
	for i, d := range docs {
		tf := map[string]int{}
		for _, t := range d {
			if seen[t] {
				tf[t]++
			}
		}
		s := 0.0
		lenNorm := k1 * (1 - b + b*float64(len(d))/avg)
		for t, f := range tf {
			s += idf[t] * float64(f) * (k1 + 1) / (float64(f) + lenNorm)
		}
		scores[i] = min(1, s/norm)
	}
	return scores
}

// Terms returns the index terms of text: lowercased words with stopwords
// removed and a minimal English plural stemming.
func Terms(text string) []string {
	t, _ := terms(text)
	return t
}

// terms returns the index terms and the number of words seen (stopwords
// included). A word is a run of letters, digits and marks; each Han or kana
// character stands alone, since those scripts put no spaces between words
// and single characters are the usual index unit.
func terms(text string) ([]string, int) {
	var out []string
	words := 0
	var w []rune
	flush := func() {
		if len(w) == 0 {
			return
		}
		words++
		t := strings.ToLower(string(w))
		w = w[:0]
		if !isStopword(t) {
			out = append(out, stem(t))
		}
	}
	for _, r := range text {
		switch {
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana):
			flush()
			w = append(w, r)
			flush()
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			w = append(w, r)
		default:
			flush()
		}
	}
	flush()
	return out, words
}

// stem strips English plural endings (Lucene's EnglishMinimalStemmer), so
// "libraries" meets "library" and "founders" meets "founder". Anything
// heavier would mangle names, which are what questions ask about.
func stem(w string) string {
	n := len(w)
	if n < 4 || w[n-1] != 's' {
		return w
	}
	switch {
	case strings.HasSuffix(w, "ies") && !strings.HasSuffix(w, "eies") && !strings.HasSuffix(w, "aies"):
		return w[:n-3] + "y"
	case strings.HasSuffix(w, "es") && !strings.HasSuffix(w, "aes") && !strings.HasSuffix(w, "ees") && !strings.HasSuffix(w, "oes"):
		return w[:n-1]
	case strings.HasSuffix(w, "us") || strings.HasSuffix(w, "ss"):
		return w
	}
	return w[:n-1]
}

// isStopword is a short English list: question words and function words
// that match everywhere and say nothing about where the answer is.
func isStopword(w string) bool {
	switch w {
	case "a", "an", "the", "is", "are", "was", "were", "be", "been", "being", "am",
		"of", "in", "on", "at", "to", "for", "by", "with", "from", "into", "onto", "about", "as",
		"and", "or", "but", "nor", "so", "if", "than", "then",
		"that", "this", "these", "those", "it", "its", "there", "their", "they", "them",
		"he", "she", "his", "her", "him", "i", "you", "we", "our", "your", "my", "me", "us",
		"what", "which", "who", "whom", "whose", "when", "where", "why", "how",
		"do", "does", "did", "done", "has", "have", "had", "can", "could", "would", "should",
		"will", "shall", "may", "might", "must", "s", "t", "d", "ll", "re", "ve", "m":
		return true
	}
	return false
}
