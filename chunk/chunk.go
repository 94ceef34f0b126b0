// Package chunk cuts a document's text into passages sized in tokens for
// the models that read them (the embedder's and the reader's windows),
// ending them at paragraph, then sentence boundaries, overlapping
// neighbours by whole sentences, and keeping exact byte offsets into the
// text so that every passage can be shown in its document.
package chunk

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/askqa/ask/tokenizer"
)

// Tokenizer gives the byte span of each token of a text, in order.
type Tokenizer interface {
	TokenSpans(text string) ([][2]int, error)
}

// FromTokenizer counts tokens with a model's tokenizer, without special
// tokens.
func FromTokenizer(t *tokenizer.Tokenizer) Tokenizer { return modelTokens{t} }

type modelTokens struct{ t *tokenizer.Tokenizer }

func (m modelTokens) TokenSpans(text string) ([][2]int, error) {
	e, err := m.t.Encode(text, false)
	if err != nil {
		return nil, err
	}
	return e.ByteOffsets, nil
}

// Words is a Tokenizer without a model: every run of letters and digits is
// a token, and so is every CJK character and every other non-space
// character. It approximates a WordPiece count from below.
type Words struct{}

// TokenSpans implements Tokenizer.
func (Words) TokenSpans(text string) ([][2]int, error) {
	var out [][2]int
	start := -1
	for i, r := range text {
		word := (unicode.IsLetter(r) || unicode.IsNumber(r)) && !isCJK(r)
		if start >= 0 && !word {
			out = append(out, [2]int{start, i})
			start = -1
		}
		switch {
		case word:
			if start < 0 {
				start = i
			}
		case !unicode.IsSpace(r):
			out = append(out, [2]int{i, i + utf8.RuneLen(r)})
		}
	}
	if start >= 0 {
		out = append(out, [2]int{start, len(text)})
	}
	return out, nil
}

func isCJK(r rune) bool { return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) }

// Options size the chunks.
type Options struct {
	// MaxTokens bounds a chunk's tokens (default 192): leave room for the
	// special tokens of the embedder and, for the reader, the question.
	MaxTokens int
	// Overlap is how many tokens of whole sentences at the end of a chunk
	// the next one repeats at most (default MaxTokens/6); within a sentence
	// longer than MaxTokens, the pieces overlap by this many tokens.
	Overlap int
}

func (o Options) withDefaults() (Options, error) {
	if o.MaxTokens == 0 {
		o.MaxTokens = 192
	}
	if o.Overlap == 0 {
		o.Overlap = o.MaxTokens / 6
	}
	if o.MaxTokens < 8 || o.Overlap < 0 || o.Overlap >= o.MaxTokens/2 {
		return o, fmt.Errorf("chunk: %d max tokens with an overlap of %d: want at least 8 tokens and an overlap under half of them", o.MaxTokens, o.Overlap)
	}
	return o, nil
}

// Span is one chunk: text[Start:End], without leading or trailing space.
type Span struct {
	Start, End int
	Tokens     int
}

// unit is a sentence (or a piece of an over-long one).
type unit struct {
	start, end int // bytes, trimmed
	tok0, tok1 int // its tokens are spans[tok0:tok1]
	paraStart  bool
}

// Split cuts text into chunks. Chunks follow the text, each of at most
// opt.MaxTokens tokens; text without any token yields none. The text must
// be valid UTF-8.
func Split(text string, tok Tokenizer, opt Options) ([]Span, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	if !utf8.ValidString(text) {
		return nil, fmt.Errorf("chunk: the text is not valid UTF-8")
	}
	// Tokenize paragraph by paragraph: a whole book in one call would hold
	// all its tokens' strings at once.
	var spans [][2]int
	var units []unit
	for _, p := range paragraphs(text) {
		ps, err := tok.TokenSpans(text[p[0]:p[1]])
		if err != nil {
			return nil, fmt.Errorf("chunk: tokenize: %w", err)
		}
		base := len(spans)
		for _, s := range ps {
			spans = append(spans, [2]int{s[0] + p[0], s[1] + p[0]})
		}
		first := true
		for _, s := range sentences(text, p[0], p[1]) {
			u := unit{start: s[0], end: s[1], tok0: base, paraStart: first}
			for base < len(spans) && spans[base][0] < s[1] {
				base++
			}
			u.tok1 = base
			if u.tok1 == u.tok0 {
				continue // no token (punctuation a tokenizer drops, say)
			}
			first = false
			units = append(units, splitLong(u, spans, opt)...)
		}
	}
	return pack(units, spans, opt), nil
}

// splitLong cuts a unit of more than MaxTokens tokens into pieces of
// MaxTokens tokens overlapping by Overlap.
func splitLong(u unit, spans [][2]int, opt Options) []unit {
	if u.tok1-u.tok0 <= opt.MaxTokens {
		return []unit{u}
	}
	var out []unit
	for t := u.tok0; ; t += opt.MaxTokens - opt.Overlap {
		e := min(t+opt.MaxTokens, u.tok1)
		p := unit{start: spans[t][0], end: spans[e-1][1], tok0: t, tok1: e, paraStart: u.paraStart && t == u.tok0}
		if t == u.tok0 {
			p.start = u.start
		}
		if e == u.tok1 {
			p.end = u.end
		}
		out = append(out, p)
		if e == u.tok1 {
			return out
		}
	}
}

// pack groups consecutive units into chunks of at most MaxTokens tokens.
// A chunk that would cut a paragraph ends at the last paragraph start
// instead when that keeps it at least half full; the next chunk starts
// with the last sentences of the previous one, up to Overlap tokens, unless
// it starts a paragraph.
func pack(units []unit, spans [][2]int, opt Options) []Span {
	var out []Span
	emit := func(a, b int) { // units[a:b]
		out = append(out, Span{Start: units[a].start, End: units[b-1].end, Tokens: units[b-1].tok1 - units[a].tok0})
	}
	first := 0
	for first < len(units) {
		// Grow the chunk as far as it fits.
		end := first + 1
		for end < len(units) && units[end].tok1-units[first].tok0 <= opt.MaxTokens {
			end++
		}
		if end < len(units) && !units[end].paraStart {
			for b := end - 1; b > first; b-- {
				if units[b].paraStart {
					if 2*(units[b-1].tok1-units[first].tok0) >= opt.MaxTokens {
						end = b
					}
					break
				}
			}
		}
		emit(first, end)
		if end == len(units) {
			break
		}
		// Overlap: back up over whole sentences while they fit in Overlap
		// and leave the next chunk room for one new unit. A chunk that ends
		// a paragraph needs no overlap: the next starts a new thought.
		next := end
		for !units[end].paraStart && next-1 > first && units[end-1].tok1-units[next-1].tok0 <= opt.Overlap &&
			units[end].tok1-units[next-1].tok0 <= opt.MaxTokens {
			next--
		}
		first = next
	}
	return out
}

// paragraphs returns the byte ranges of the paragraphs of text, which
// blank lines separate, without their surrounding blank lines.
func paragraphs(text string) [][2]int {
	var out [][2]int
	start, lastEnd := -1, 0
	for pos := 0; pos < len(text); {
		lineEnd, next := len(text), len(text)
		if nl := strings.IndexByte(text[pos:], '\n'); nl >= 0 {
			lineEnd, next = pos+nl, pos+nl+1
		}
		if strings.TrimSpace(text[pos:lineEnd]) == "" {
			if start >= 0 {
				out = append(out, [2]int{start, lastEnd})
				start = -1
			}
		} else {
			if start < 0 {
				start = pos
			}
			lastEnd = lineEnd
		}
		pos = next
	}
	if start >= 0 {
		out = append(out, [2]int{start, lastEnd})
	}
	return out
}

// sentences returns the trimmed byte ranges of the sentences of
// text[start:end]: a sentence ends after '.', '!' or '?' (and closing
// quotes or brackets) followed by a space, or after a CJK full stop,
// question or exclamation mark.
func sentences(text string, start, end int) [][2]int {
	var out [][2]int
	s := start
	add := func(a, b int) {
		for a < b {
			r, n := utf8.DecodeRuneInString(text[a:b])
			if !unicode.IsSpace(r) {
				break
			}
			a += n
		}
		for b > a {
			r, n := utf8.DecodeLastRuneInString(text[a:b])
			if !unicode.IsSpace(r) {
				break
			}
			b -= n
		}
		if b > a {
			out = append(out, [2]int{a, b})
		}
	}
	for i := start; i < end; {
		r, n := utf8.DecodeRuneInString(text[i:end])
		i += n
		switch r {
		case '。', '！', '？', '；':
			for i < end {
				c, m := utf8.DecodeRuneInString(text[i:end])
				if !strings.ContainsRune("”’」』）)", c) {
					break
				}
				i += m
			}
			add(s, i)
			s = i
		case '.', '!', '?':
			j := i
			for j < end && strings.IndexByte(`"')]`, text[j]) >= 0 {
				j++
			}
			if j < end && (text[j] == ' ' || text[j] == '\n' || text[j] == '\t') {
				add(s, j)
				s = j
				i = j
			}
		case '\n':
			// A single newline inside a paragraph: a list item or a
			// heading line ends a sentence when the next line starts a new
			// one (Markdown bullets, numbered lists, headings).
			if i < end && (text[i] == '-' || text[i] == '*' || text[i] == '#' || text[i] == '|' || (text[i] >= '0' && text[i] <= '9')) {
				add(s, i)
				s = i
			}
		}
	}
	add(s, end)
	return out
}
