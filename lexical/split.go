// Package lexical ranks the sentences of a text against a question with
// BM25. It needs no weights, starts instantly and answers in microseconds;
// the reader package builds on it the fallback reader "ask serve" answers
// with when no model is loaded (whole sentences, not the short spans a QA
// model extracts). It knows nothing of requests, HTTP or the API's types.
package lexical

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sentence is a span of the text with its offsets: Start and End count code
// points (Python string indices, as the QA pipeline reports), ByteStart and
// ByteEnd count UTF-8 bytes. Ends are exclusive; Text is
// text[ByteStart:ByteEnd].
type Sentence struct {
	Text               string
	Start, End         int
	ByteStart, ByteEnd int
}

// maxSentenceRunes bounds a sentence: text without punctuation (a list, a
// table, a transcript) would otherwise come back as one enormous "answer".
// Longer runs are cut at the last space before the limit.
const maxSentenceRunes = 400

// isAbbreviation reports words (lowercase, without the final period) whose
// period does not end a sentence. A switch rather than a map: no package
// state to mutate.
func isAbbreviation(w string) bool {
	switch w {
	case "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "etc", "e.g", "i.e", "cf",
		"al", "inc", "ltd", "co", "corp", "no", "fig", "vol", "approx", "u.s", "u.k", "u.n", "a.m",
		"p.m", "gen", "gov", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
		"nov", "dec", "ca", "ed":
		return true
	}
	return false
}

// isTerminator reports sentence-ending punctuation. The full-width forms end
// a sentence without a following space (Chinese and Japanese use none).
func isTerminator(r rune) bool {
	switch r {
	case '.', '!', '?', '…', '‼', '⁇', '⁈', '⁉', '。', '！', '？', '｡':
		return true
	}
	return false
}

func isWideTerminator(r rune) bool {
	switch r {
	case '。', '！', '？', '｡':
		return true
	}
	return false
}

// isCloser is punctuation that stays with the sentence it closes: `He said
// "stop." Then` ends after the quote.
func isCloser(r rune) bool {
	switch r {
	case '"', '\'', '”', '’', ')', ']', '}', '»', '」', '』', '）', '】':
		return true
	}
	return false
}

// runeAt is a decoded rune with its byte and code-point positions.
type runeAt struct {
	r        rune
	b, c     int // byte offset, code-point offset
	size     int
	ws, wide bool
}

// Sentences splits text into sentences, trimming the white space between
// them. It is a rule-based splitter (terminators, closing quotes, blank
// lines, a list of abbreviations, initials, a lowercase continuation), good
// enough to pick an answer sentence, not a linguistic tool.
func Sentences(text string) []Sentence {
	rs := make([]runeAt, 0, len(text))
	c := 0
	for b, r := range text {
		size := utf8.RuneLen(r)
		if r == utf8.RuneError {
			_, size = utf8.DecodeRuneInString(text[b:])
		}
		rs = append(rs, runeAt{r: r, b: b, c: c, size: size, ws: unicode.IsSpace(r), wide: isWideTerminator(r)})
		c++
	}
	var out []Sentence
	emit := func(from, to int) { // rune indices, to exclusive
		for from < to && rs[from].ws {
			from++
		}
		for to > from && rs[to-1].ws {
			to--
		}
		for from < to {
			end := to
			if end-from > maxSentenceRunes {
				end = from + maxSentenceRunes
				for k := end - 1; k > from+maxSentenceRunes/2; k-- {
					if rs[k].ws {
						end = k
						break
					}
				}
			}
			last := rs[end-1]
			out = append(out, Sentence{
				Text:  text[rs[from].b : last.b+last.size],
				Start: rs[from].c, End: last.c + 1,
				ByteStart: rs[from].b, ByteEnd: last.b + last.size,
			})
			from = end
			for from < to && rs[from].ws {
				from++
			}
		}
	}
	start := 0
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if r.r == '\n' && blankLineAfter(rs, i) {
			emit(start, i)
			start = i + 1
			continue
		}
		if !isTerminator(r.r) {
			continue
		}
		j := i + 1
		for j < len(rs) && (isTerminator(rs[j].r) || isCloser(rs[j].r)) {
			j++
		}
		atEnd := j == len(rs)
		if !atEnd && !rs[j].ws && !r.wide && !rs[j-1].wide {
			i = j - 1
			continue // "3.5", "e.g.x", "U.S.-led": not an end
		}
		if r.r == '.' && j == i+1 && !atEnd && !endsSentence(rs, start, i) {
			i = j - 1
			continue
		}
		emit(start, j)
		start = j
		i = j - 1
	}
	emit(start, len(rs))
	return out
}

// blankLineAfter reports whether the newline at i starts a blank line: only
// white space up to the next newline. Paragraph breaks end a sentence even
// without punctuation (headings, list items); single newlines are often just
// wrapping and do not.
func blankLineAfter(rs []runeAt, i int) bool {
	for k := i + 1; k < len(rs); k++ {
		switch {
		case rs[k].r == '\n':
			return true
		case !rs[k].ws:
			return false
		}
	}
	return false
}

// endsSentence decides whether the period at i (followed by white space)
// ends a sentence: not after a known abbreviation or a single-letter
// initial, and not when the next word starts in lowercase.
func endsSentence(rs []runeAt, start, i int) bool {
	k := i
	for k > start && !rs[k-1].ws && !isCloser(rs[k-1].r) && rs[k-1].r != '(' {
		k--
	}
	var w strings.Builder
	letters := 0
	for _, r := range rs[k:i] {
		w.WriteRune(unicode.ToLower(r.r))
		if unicode.IsLetter(r.r) {
			letters++
		}
	}
	word := w.String()
	if isAbbreviation(word) {
		return false
	}
	if letters == 1 && utf8.RuneCountInString(word) == 1 && unicode.IsUpper(rs[k].r) {
		return false // an initial: "J. R. R. Tolkien"
	}
	for n := i + 1; n < len(rs); n++ {
		if rs[n].ws || isCloser(rs[n].r) || rs[n].r == '(' {
			continue
		}
		return !unicode.IsLower(rs[n].r)
	}
	return true
}
