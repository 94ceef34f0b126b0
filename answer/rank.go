package answer

import (
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/askqa/ask/reader"
	"github.com/askqa/ask/retrieve"
)

// Why a ranker: the reader's score is a probability within one window, so
// a passage that does not hold the answer still offers a confident span of
// the right type ("Baltimore Ravens" for a question about another team).
// Ranking the spans of ten passages by that score alone gave F1 21.6 on
// the held-out SQuAD articles, against 61.3 for the same reader given the
// gold paragraph. The ranker adds what a person would look at: how much of
// the question the span's sentence repeats, how highly the retrievers put
// its passage, how many passages give the same answer, and the reader's
// no-answer score. Its weights are a listwise logistic fit by
// tools/kbrank/fit.py on questions from articles other than the held-out
// ones; with them the held-out F1 is 56.9 (93% of the oracle's). See
// BENCHMARKS.md ("Knowledge base").

// rankWeights weigh the features of rankFeatures, in order, as printed by
// tools/kbrank/fit.py.
var rankWeights = [numFeatures]float64{0.797164, 0.568823, 2.60837, 0.231268, -0.387027, 1.97245, 2.11801, 1.74035, 0.434706, 3.10265, -1.38586}

const numFeatures = 11

// readerTopK is how many spans the asker asks of each passage: the ranker
// needs the alternatives and the no-answer entry to weigh a span.
const readerTopK = 5

// stopWords are left out of the word overlaps (as in tools/kbrank/fit.py).
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields("a an the of in on at to for by with from and or is are was were be been what which who whom whose " +
		"when where why how did do does that this these those it its as than into during after before about over under between") {
		m[w] = true
	}
	return m
}()

// articles matches what the SQuAD normalisation drops.
var articles = regexp.MustCompile(`\b(a|an|the)\b`)

// squadNorm is SQuAD's answer normalisation: lower case, no ASCII
// punctuation, no articles, single spaces.
func squadNorm(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 128 && unicode.IsPunct(r) || r < 128 && unicode.IsSymbol(r) {
			return -1
		}
		return r
	}, strings.ToLower(s))
	return strings.Join(strings.Fields(articles.ReplaceAllString(s, " ")), " ")
}

// contentWords are the lower-cased words of s (letters, digits and _), stop
// words left out.
func contentWords(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_')
	}) {
		if !stopWords[w] {
			m[w] = true
		}
	}
	return m
}

func bigrams(s string) map[[2]string]bool {
	f := strings.Fields(strings.ToLower(s))
	m := map[[2]string]bool{}
	for i := 1; i < len(f); i++ {
		m[[2]string{f[i-1], f[i]}] = true
	}
	return m
}

// overlap is the share of q's entries that are in s but not in minus.
func overlap[K comparable](q, s, minus map[K]bool) float64 {
	n := 0
	for k := range q {
		if s[k] && !minus[k] {
			n++
		}
	}
	return float64(n) / float64(max(len(q), 1))
}

// sentenceAround is the sentence of text (code points) holding [start,end):
// from after the last ". " or newline before start to the next ". ".
func sentenceAround(text []rune, start, end int) []rune {
	a := max(lastIndex(text[:start], []rune(". ")), lastIndex(text[:start], []rune("\n")))
	if a < 0 {
		a = 0
	} else {
		a++
	}
	b := index(text[end:], []rune(". "))
	if b < 0 {
		b = len(text)
	} else {
		b += end
	}
	return text[a:b]
}

func index(s, sub []rune) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if slices.Equal(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

func lastIndex(s, sub []rune) int {
	for i := len(s) - len(sub); i >= 0; i-- {
		if slices.Equal(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// rankFeatures computes the features of every non-empty span the reader
// found in ps (results[i] read ps[i]), in passage order then span order;
// cands receives the spans in the same order.
func rankFeatures(question string, ps []retrieve.Passage, results []reader.Result) (feats [][numFeatures]float64, cands []candidate) {
	qw := contentWords(question)
	qb := bigrams(question)
	// The retrieval feature is the passage's RRF score relative to the
	// first passage's (what the weights were fitted on: hybrid retrieval).
	// A single retriever's raw scores (BM25, cosine) are on other scales, so
	// its ranks stand in, as RRF would fuse them alone.
	fused := func(i int) float64 {
		if ps[i].Scores.Fused > 0 {
			return ps[i].Scores.Fused
		}
		return 1 / float64(retrieve.RRFK+i+1)
	}
	top := 0.0
	if len(ps) > 0 {
		top = fused(0)
	}
	support := map[string]float64{}
	for _, res := range results {
		for _, an := range res.Answers {
			if an.Text != "" {
				support[squadNorm(an.Text)] += an.Score
			}
		}
	}
	for i, res := range results {
		null, minScore, best, spans := -1.0, math.Inf(1), 0.0, 0
		for _, an := range res.Answers {
			minScore = min(minScore, an.Score)
			if an.Text == "" {
				null = an.Score
				continue
			}
			best = max(best, an.Score)
			spans++
		}
		if spans == 0 {
			continue
		}
		if null < 0 {
			// The no-answer entry fell below the top spans: bound it by them.
			null = minScore
		}
		p := &ps[i]
		text := []rune(p.Text)
		retr := math.Log(1e-9)
		if f := fused(i); top > 0 && f > 0 {
			retr = math.Log(f/top + 1e-9)
		}
		inv := func(rank int) float64 {
			if rank == 0 {
				return 0
			}
			return 1 / float64(rank)
		}
		for _, an := range res.Answers {
			if an.Text == "" {
				continue
			}
			s, e := min(max(an.Start, 0), len(text)), min(max(an.End, 0), len(text))
			sent := sentenceAround(text, s, max(s, e))
			aw := contentWords(an.Text)
			near := contentWords(string(text[max(0, s-80):min(len(text), e+80)]))
			feats = append(feats, [numFeatures]float64{
				math.Log(an.Score/best + 1e-6),
				overlap(qw, near, aw),
				overlap(qb, bigrams(string(sent)), nil),
				math.Log(an.Score + 1e-6),
				math.Log(null + 1e-6),
				retr,
				inv(p.Scores.LexicalRank),
				inv(p.Scores.DenseRank),
				math.Log(support[squadNorm(an.Text)] + 1e-6),
				overlap(qw, contentWords(string(sent)), aw),
				float64(min(len(strings.Fields(an.Text)), 10)) / 10,
			})
			cands = append(cands, candidate{ans: an, rank: i + 1, p: p})
		}
	}
	return feats, cands
}

// rankScore is a candidate's ranking score: higher is better.
func rankScore(f [numFeatures]float64) float64 {
	s := 0.0
	for i, x := range f {
		s += rankWeights[i] * x
	}
	return s
}
