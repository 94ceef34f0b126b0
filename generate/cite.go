package generate

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Citation is one passage cited by one sentence of the answer. Offsets into
// the answer are code points (Python string indices, as everywhere in the
// API); offsets into the passage are in its source document's frame:
// Passage.Start plus the code points into Passage.Text.
type Citation struct {
	// Number is n as the model wrote it in [n].
	Number int `json:"number"`
	// Passage indexes the request's passages (Number-1); -1 in Missing.
	Passage int `json:"passage"`
	// Source and Title are the cited passage's.
	Source string `json:"source,omitempty"`
	Title  string `json:"title,omitempty"`
	// Start and End bound the part of the passage the model was shown.
	Start int `json:"start"`
	End   int `json:"end"`
	// SupportStart and SupportEnd bound the sentence of the passage that
	// shares the most words with the citing sentence: what a page would
	// highlight. They equal Start and End when no sentence shares a word.
	SupportStart int `json:"support_start"`
	SupportEnd   int `json:"support_end"`
	// MarkerStart and MarkerEnd bound the bracketed marker in the answer.
	MarkerStart int `json:"marker_start"`
	MarkerEnd   int `json:"marker_end"`
	// SentenceStart and SentenceEnd bound the citing sentence in the answer.
	SentenceStart int `json:"sentence_start"`
	SentenceEnd   int `json:"sentence_end"`
}

// Sentence is a span of the answer, in code points.
type Sentence struct {
	Text  string `json:"text"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// Citations is what checking an answer's citations found.
type Citations struct {
	// Cited lists the citations of passages the model was shown, in the
	// order they appear.
	Cited []Citation `json:"citations"`
	// Uncited lists the sentences that state something and cite no passage
	// the model was shown.
	Uncited []Sentence `json:"uncited"`
	// Missing lists citations of passages the model was not shown: numbers
	// beyond the prompt's passages, or 0.
	Missing []Citation `json:"missing"`
}

// citeGroup matches one bracketed citation: [1], [1, 2], [1,2; 4], [2-4],
// and the wordier [passage 1] or [Source 2] some models write. Numbers have
// at most 6 digits so that parsing cannot overflow.
var citeGroup = regexp.MustCompile(`(?i)\[\s*(?:(?:passages?|sources?|docs?|documents?)\s*)?#?\d{1,6}(?:\s*(?:[,;]|-|–|and)\s*#?\d{1,6})*\s*\]`)

var citeNumber = regexp.MustCompile(`\d{1,6}`)

// maxRange bounds what a range such as [1-4] expands to, so a marker like
// [1-999999] cannot make a million citations.
const maxRange = 50

// CheckCitations splits answer into sentences, maps each [n] to passage n-1
// of passages (n counts from 1, as in the prompt), and reports what is
// uncited or cites a passage the model was not shown. shown is how many
// code points of each passage's text the model saw, as PromptInfo.Passages
// reports; a passage past its end was not shown.
func CheckCitations(answer string, passages []Passage, shown []ShownPassage) Citations {
	out := Citations{Cited: []Citation{}, Uncited: []Sentence{}, Missing: []Citation{}}
	pos := newRuneIndex(answer)
	for _, s := range splitSentences(answer) {
		text := answer[s.start:s.end]
		var words map[string]bool // the sentence's words, for support spans
		cited := false
		for _, m := range citeGroup.FindAllStringIndex(text, -1) {
			for _, n := range markerNumbers(text[m[0]:m[1]]) {
				c := Citation{
					Number: n, Passage: -1,
					MarkerStart: pos.at(s.start + m[0]), MarkerEnd: pos.at(s.start + m[1]),
					SentenceStart: pos.at(s.start), SentenceEnd: pos.at(s.end),
				}
				if n < 1 || n > len(shown) || n > len(passages) {
					out.Missing = append(out.Missing, c)
					continue
				}
				p := passages[n-1]
				c.Passage, c.Source, c.Title = n-1, p.Source, p.Title
				c.Start, c.End = p.Start, p.Start+shown[n-1].Chars
				if words == nil {
					words = wordSet(citeGroup.ReplaceAllString(text, " "))
				}
				ss, se := support(p.Text, shown[n-1].Chars, words)
				c.SupportStart, c.SupportEnd = p.Start+ss, p.Start+se
				out.Cited = append(out.Cited, c)
				cited = true
			}
		}
		if !cited && strings.IndexFunc(citeGroup.ReplaceAllString(text, ""), isWordRune) >= 0 {
			out.Uncited = append(out.Uncited, Sentence{Text: text, Start: pos.at(s.start), End: pos.at(s.end)})
		}
	}
	return out
}

// markerNumbers lists the passage numbers of one bracketed marker, ranges
// expanded, each once.
func markerNumbers(marker string) []int {
	locs := citeNumber.FindAllStringIndex(marker, -1)
	var out []int
	seen := map[int]bool{}
	add := func(n int) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for i, l := range locs {
		n, _ := strconv.Atoi(marker[l[0]:l[1]]) // ≤ 6 digits: cannot fail
		if i > 0 {
			sep := marker[locs[i-1][1]:l[0]]
			if strings.ContainsAny(sep, "-–") {
				prev, _ := strconv.Atoi(marker[locs[i-1][0]:locs[i-1][1]])
				if n > prev && n-prev <= maxRange {
					for k := prev + 1; k < n; k++ {
						add(k)
					}
				}
			}
		}
		add(n)
	}
	return out
}

// span is a byte range.
type span struct{ start, end int }

// splitSentences cuts text into sentences, as byte ranges without the
// surrounding white space. A sentence ends at a line break, or at a
// terminator followed by white space, the end, or a citation; closing
// quotes and brackets and the citations that follow the terminator belong
// to the sentence before them ("... in 1889. [2]"). A point between two
// digits or letters ("3.5", "e.g.x") ends nothing.
func splitSentences(text string) []span {
	var out []span
	start := 0
	emit := func(end int) {
		s := strings.TrimSpace(text[start:end])
		if s != "" {
			lead := start + strings.Index(text[start:end], s)
			out = append(out, span{lead, lead + len(s)})
		}
		start = end
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		next := i + size
		switch {
		case r == '\n':
			emit(i)
			start = next
		case isTerminator(r):
			j := next
			for j < len(text) {
				c, n := utf8.DecodeRuneInString(text[j:])
				if !isTerminator(c) && !isCloser(c) {
					break
				}
				j += n
			}
			// Citations after the terminator, with spaces between, belong to
			// this sentence.
			k := j
			for {
				rest := text[k:]
				trimmed := strings.TrimLeft(rest, " \t")
				loc := citeGroup.FindStringIndex(trimmed)
				if loc == nil || loc[0] != 0 {
					break
				}
				k += len(rest) - len(trimmed) + loc[1]
			}
			if k > j {
				j = k
			}
			if j == len(text) || isWideTerminator(r) || unicode.IsSpace(firstRune(text[j:])) {
				// Trailing punctuation after the citations ("[1].") stays too.
				for j < len(text) && isTerminator(firstRune(text[j:])) {
					j += utf8.RuneLen(firstRune(text[j:]))
				}
				emit(j)
				next = j
			}
		}
		i = next
	}
	emit(len(text))
	return out
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

func isTerminator(r rune) bool {
	switch r {
	case '.', '!', '?', '…':
		return true
	}
	return isWideTerminator(r)
}

// isWideTerminator reports the full-width terminators of Chinese and
// Japanese, which end a sentence with no space after them.
func isWideTerminator(r rune) bool {
	switch r {
	case '。', '！', '？', '｡':
		return true
	}
	return false
}

func isCloser(r rune) bool {
	switch r {
	case '"', '\'', ')', ']', '»', '”', '’', '」', '』', '）':
		return true
	}
	return false
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// wordSet returns the lower-cased words of s, dropping one-letter words
// (articles and the like would otherwise make every sentence match).
func wordSet(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !isWordRune(r) }) {
		if utf8.RuneCountInString(w) > 1 || w[0] >= utf8.RuneSelf {
			out[w] = true
		}
	}
	return out
}

// support returns the code-point range, within the first chars of text, of
// the sentence sharing the most words with words; the whole shown range
// when none shares one.
func support(text string, chars int, words map[string]bool) (int, int) {
	shownBytes := len(text)
	if chars < utf8.RuneCountInString(text) {
		shownBytes = 0
		for k := 0; k < chars; k++ {
			_, n := utf8.DecodeRuneInString(text[shownBytes:])
			shownBytes += n
		}
	}
	shownText := text[:shownBytes]
	best, bestScore := span{0, shownBytes}, 0
	for _, s := range splitSentences(shownText) {
		score := 0
		for w := range wordSet(shownText[s.start:s.end]) {
			if words[w] {
				score++
			}
		}
		if score > bestScore {
			best, bestScore = s, score
		}
	}
	if bestScore == 0 {
		return 0, chars
	}
	return utf8.RuneCountInString(shownText[:best.start]), utf8.RuneCountInString(shownText[:best.end])
}

// runeIndex converts byte offsets of one string to code-point offsets,
// cheaply when asked in increasing order (as CheckCitations does).
type runeIndex struct {
	s           string
	byte, runes int
}

func newRuneIndex(s string) *runeIndex { return &runeIndex{s: s} }

func (x *runeIndex) at(b int) int {
	if b < x.byte {
		x.byte, x.runes = 0, 0
	}
	x.runes += utf8.RuneCountInString(x.s[x.byte:b])
	x.byte = b
	return x.runes
}
