package lexical

import (
	"math"
	"slices"
	"strings"
	"unicode"
)

// BM25 constants: the usual defaults (Robertson et al.; Lucene, Elastic).
const (
	k1 = 1.2
	b  = 0.75
)

// Match is a sentence of a text with its score against a question.
type Match struct {
	Sentence
	// Score is in [0,1]; see Score.
	Score float64
}

// Rank scores every sentence of text against question and returns them
// best first (the earlier sentence on ties), with the number of words of
// text (stopwords included). Scores are in [0,1]: a sentence's BM25 score
// divided by the sum of the IDFs of the question's terms, which is what an
// average-length sentence containing each question term once would score;
// so 1 means "covers the whole question", and terms of the question absent
// from the text lower every score.
func Rank(question, text string) (matches []Match, words int) {
	sents := Sentences(text)
	docs := make([][]string, len(sents))
	for i, s := range sents {
		var n int
		docs[i], n = terms(s.Text)
		words += n
	}
	query, _ := terms(question)
	scores := Score(query, docs)
	matches = make([]Match, len(sents))
	for i, s := range sents {
		matches[i] = Match{Sentence: s, Score: scores[i]}
	}
	slices.SortStableFunc(matches, func(x, y Match) int { // best first; earlier sentence on ties
		switch {
		case x.Score > y.Score:
			return -1
		case x.Score < y.Score:
			return 1
		}
		return 0
	})
	return matches, words
}

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
