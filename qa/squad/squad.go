// Package squad reads SQuAD-format data sets and scores predictions with
// the official metrics: v1.1 (exact match and F1, max over gold answers) and
// v2.0 (with unanswerable questions, HasAns/NoAns splits and the best
// no-answer threshold). See docs/QA_PIPELINE.md §6.
package squad

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// File is a SQuAD JSON file.
type File struct {
	Version string    `json:"version"`
	Data    []Article `json:"data"`
}

// Article is one titled document.
type Article struct {
	Title      string      `json:"title"`
	Paragraphs []Paragraph `json:"paragraphs"`
}

// Paragraph is one context with its questions.
type Paragraph struct {
	Context string     `json:"context"`
	QAs     []Question `json:"qas"`
}

// Question is one question with its gold answers.
type Question struct {
	ID               string       `json:"id"`
	Question         string       `json:"question"`
	Answers          []GoldAnswer `json:"answers"`
	IsImpossible     bool         `json:"is_impossible"`
	PlausibleAnswers []GoldAnswer `json:"plausible_answers,omitempty"`
}

// GoldAnswer is one annotated answer.
type GoldAnswer struct {
	Text        string `json:"text"`
	AnswerStart int    `json:"answer_start"`
}

// Read parses a SQuAD file.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read SQuAD file: %w", err)
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: not a SQuAD JSON file: %w", path, err)
	}
	if len(f.Data) == 0 {
		return nil, fmt.Errorf("%s: no articles under \"data\"", path)
	}
	return &f, nil
}

// Questions returns the number of questions.
func (f *File) Questions() int {
	n := 0
	for _, a := range f.Data {
		for _, p := range a.Paragraphs {
			n += len(p.QAs)
		}
	}
	return n
}

// punctuation is Python's string.punctuation: ASCII only, as the official
// script removes.
const punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

// isWord is Python's Unicode \w.
func isWord(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' }

// isSpace is Python's str.isspace, which adds the information separators
// U+001C–U+001F to Unicode White_Space.
func isSpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

// Normalize is the official normalize_answer: lower case, drop ASCII
// punctuation, drop the articles a/an/the as whole words, collapse
// whitespace.
func Normalize(s string) string {
	// A Caser keeps state, so each call makes its own: Normalize is safe for
	// concurrent use.
	s = cases.Lower(language.Und).String(s)
	s = strings.Map(func(r rune) rune {
		if r < 128 && strings.ContainsRune(punctuation, r) {
			return -1
		}
		return r
	}, s)
	// \b(a|an|the)\b → " ": a maximal run of word characters equal to an
	// article is replaced by a space.
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); {
		if !isWord(rs[i]) {
			b.WriteRune(rs[i])
			i++
			continue
		}
		j := i
		for j < len(rs) && isWord(rs[j]) {
			j++
		}
		switch w := string(rs[i:j]); w {
		case "a", "an", "the":
			b.WriteByte(' ')
		default:
			b.WriteString(w)
		}
		i = j
	}
	return strings.Join(strings.FieldsFunc(b.String(), isSpace), " ")
}

func tokens(s string) []string { return strings.FieldsFunc(Normalize(s), isSpace) }

// ExactMatch is 1 if the normalized strings are equal.
func ExactMatch(pred, gold string) float64 {
	if Normalize(pred) == Normalize(gold) {
		return 1
	}
	return 0
}

// F1v1 is the v1.1 token F1 (0 when either side has no tokens).
func F1v1(pred, gold string) float64 {
	p, g := tokens(pred), tokens(gold)
	return f1(p, g)
}

// F1v2 is the v2.0 token F1: two empty answers agree.
func F1v2(pred, gold string) float64 {
	p, g := tokens(pred), tokens(gold)
	if len(p) == 0 || len(g) == 0 {
		if len(p) == len(g) {
			return 1
		}
		return 0
	}
	return f1(p, g)
}

func f1(p, g []string) float64 {
	counts := map[string]int{}
	for _, t := range g {
		counts[t]++
	}
	same := 0
	for _, t := range p {
		if counts[t] > 0 {
			counts[t]--
			same++
		}
	}
	if same == 0 {
		return 0
	}
	prec := float64(same) / float64(len(p))
	rec := float64(same) / float64(len(g))
	return 2 * prec * rec / (prec + rec)
}

// ResultV1 is the official v1.1 output.
type ResultV1 struct {
	ExactMatch float64 `json:"exact_match"`
	F1         float64 `json:"f1"`
	Total      int     `json:"total"`
	Missing    int     `json:"missing"`
}

// EvaluateV1 is the official v1.1 evaluation: missing predictions score 0.
func EvaluateV1(f *File, preds map[string]string) ResultV1 {
	var em, f1s float64
	var r ResultV1
	for _, a := range f.Data {
		for _, p := range a.Paragraphs {
			for _, q := range p.QAs {
				r.Total++
				pred, ok := preds[q.ID]
				if !ok {
					r.Missing++
					continue
				}
				var bestEM, bestF1 float64
				for _, g := range q.Answers {
					bestEM = max(bestEM, ExactMatch(pred, g.Text))
					bestF1 = max(bestF1, F1v1(pred, g.Text))
				}
				em += bestEM
				f1s += bestF1
			}
		}
	}
	if r.Total > 0 {
		r.ExactMatch = 100 * em / float64(r.Total)
		r.F1 = 100 * f1s / float64(r.Total)
	}
	return r
}
