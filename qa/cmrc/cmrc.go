// Package cmrc scores predictions with the official CMRC 2018 metric
// (cmrc2018_evaluate.py, "v5 - special" for SQuAD-style files), the metric
// of Chinese extractive QA (CMRC 2018, DRCD):
//
//   - F1 over a mixed segmentation: each CJK character (U+4E00–U+9FA5) is
//     one token, each run of other characters is cut by NLTK's word
//     tokenizer (so "1990年" is "1990", "年"); the script's punctuation list
//     is dropped first, and precision and recall come from the longest
//     common substring of tokens (not a bag of tokens as in SQuAD);
//   - EM after lower-casing, trimming and removing the same punctuation list;
//   - both the maximum over the gold answers.
//
// The SQuAD metric (package squad) splits on spaces, so a Chinese answer is
// a single token there and its F1 is all or nothing; this one is not.
// Scores match the official script to 1e-9 (see testdata/cmrc_metric.json,
// written by tools/reference/gen_cmrc_goldens.py from the script as PyPI
// ships it), with one documented difference: the script splits each
// non-CJK run into sentences with NLTK's Punkt model before tokenizing, and
// this package treats the run as one sentence (Segment's doc says when
// that matters).
package cmrc

import (
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"

	"github.com/askqa/ask/qa/squad"
)

// punct is the script's sp_char list: the characters that EM removes and
// that F1 drops before segmenting. The script's list also holds "……", two
// characters, which it compares with single characters and so never
// matches: a lone "…" stays.
var punct = map[rune]bool{
	'-': true, ':': true, '_': true, '*': true, '^': true, '/': true, '\\': true, '~': true, '`': true, '+': true, '=': true,
	'，': true, '。': true, '：': true, '？': true, '！': true, '“': true, '”': true, '；': true, '’': true, '《': true, '》': true,
	'·': true, '、': true, '「': true, '」': true, '（': true, '）': true, '－': true, '～': true, '『': true, '』': true,
}

// IsPunct reports whether r is in the metric's punctuation list.
func IsPunct(r rune) bool { return punct[r] }

// isCJK is the script's test, [\u4e00-\u9fa5]: the CJK Unified Ideographs
// block as it was in Unicode 4.1, nothing else.
func isCJK(r rune) bool { return r >= 0x4e00 && r <= 0x9fa5 }

// isSpace is Python's str.isspace (str.strip and str.split).
func isSpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

// prepare is the script's str(s).lower().strip().
func prepare(s string) string {
	// A Caser keeps state: one per call keeps the package safe for
	// concurrent use.
	return strings.TrimFunc(cases.Lower(language.Und).String(s), isSpace)
}

// Segment is the script's mixed_segmentation: s lower-cased and trimmed,
// each CJK character and each punctuation character one token, each run of
// other characters cut by NLTK's word tokenizer. With removePunct the
// punctuation characters are dropped instead, without ending the run they
// sit in ("a-b" is one token "ab"), as the script does for F1.
//
// The script's word_tokenize also splits a run into sentences with Punkt
// first; here a run is one sentence. The two differ only for a run with
// ".", "?" or "!" followed by a space and more text that Punkt takes for a
// sentence end ("it ended. then" but not "dr. who"), which the testdata
// records as rare in CMRC and DRCD answers.
func Segment(s string, removePunct bool) []string {
	var out []string
	var run strings.Builder
	flush := func() {
		if run.Len() > 0 {
			out = append(out, wordTokenize(run.String())...)
			run.Reset()
		}
	}
	for _, r := range prepare(s) {
		p := punct[r]
		if removePunct && p {
			continue
		}
		if isCJK(r) || p {
			flush()
			out = append(out, string(r))
			continue
		}
		run.WriteRune(r)
	}
	flush()
	return out
}

// RemovePunctuation is the script's remove_punctuation: s lower-cased and
// trimmed, the punctuation list removed. Spaces inside s stay.
func RemovePunctuation(s string) string {
	return strings.Map(func(r rune) rune {
		if punct[r] {
			return -1
		}
		return r
	}, prepare(s))
}

// ExactMatch is 1 when pred equals one of golds after RemovePunctuation.
func ExactMatch(pred string, golds []string) float64 {
	p := RemovePunctuation(pred)
	for _, g := range golds {
		if RemovePunctuation(g) == p {
			return 1
		}
	}
	return 0
}

// F1 is the best F1 of pred over golds: for each gold, the longest common
// substring of the two segmentations (punctuation dropped) over the
// prediction's length (precision) and the gold's (recall). Empty on either
// side scores 0; no golds scores 0 (the script fails there).
func F1(pred string, golds []string) float64 {
	p := Segment(pred, true)
	best := 0.0
	for _, g := range golds {
		gs := Segment(g, true)
		n := longestCommonSubstring(gs, p)
		if n == 0 {
			continue
		}
		prec := 1.0 * float64(n) / float64(len(p))
		rec := 1.0 * float64(n) / float64(len(gs))
		best = max(best, (2*prec*rec)/(prec+rec))
	}
	return best
}

// longestCommonSubstring is the length of the longest run of tokens that a
// and b share contiguously (the script's find_lcs), in O(len(b)) memory.
func longestCommonSubstring(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	best := 0
	for i := range a {
		for j := range b {
			if a[i] == b[j] {
				cur[j+1] = prev[j] + 1
				best = max(best, cur[j+1])
			} else {
				cur[j+1] = 0
			}
		}
		prev, cur = cur, prev
	}
	return best
}

// Result is the official script's output: F1 and EM in percent over all
// questions, a question without a prediction scoring 0 (the script's
// SKIP, here Missing).
type Result struct {
	ExactMatch float64 `json:"exact_match"`
	F1         float64 `json:"f1"`
	Total      int     `json:"total"`
	Missing    int     `json:"missing"`
}

// Evaluate scores preds ({question id: answer}) against f's gold answers,
// as the script's evaluate does: ids are matched after trimming spaces.
func Evaluate(f *squad.File, preds map[string]string) Result {
	var r Result
	var em, f1 float64
	for _, a := range f.Data {
		for _, p := range a.Paragraphs {
			for _, q := range p.QAs {
				r.Total++
				pred, ok := preds[strings.TrimFunc(q.ID, isSpace)]
				if !ok {
					r.Missing++
					continue
				}
				golds := make([]string, len(q.Answers))
				for i, g := range q.Answers {
					golds[i] = g.Text
				}
				f1 += F1(pred, golds)
				em += ExactMatch(pred, golds)
			}
		}
	}
	if r.Total > 0 {
		r.F1 = 100 * f1 / float64(r.Total)
		r.ExactMatch = 100 * em / float64(r.Total)
	}
	return r
}

// IsChinese reports whether most of the letters of the file's contexts
// are CJK characters (Han, of any block): the files that the CMRC metric,
// not the SQuAD one, should score. It reads at most the first 200,000
// characters of contexts.
func IsChinese(f *squad.File) bool {
	han, letters, seen := 0, 0, 0
	for _, a := range f.Data {
		for _, p := range a.Paragraphs {
			for _, r := range p.Context {
				if seen >= 200_000 {
					return han*2 > letters
				}
				seen++
				switch {
				case unicode.Is(unicode.Han, r):
					han++
					letters++
				case unicode.IsLetter(r):
					letters++
				}
			}
		}
	}
	return letters > 0 && han*2 > letters
}
