package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// piece is one pre-token: a normalized substring with its alignments, and,
// once the model ran (or it is an added token), its tokens.
type piece struct {
	n      normStr
	toks   []mtoken
	done   bool // tokens already assigned (added tokens)
	offset int  // original byte offset of the segment's start (for Metaspace "first")
}

// mtoken is a model token: an id and the normalized rune range it covers.
type mtoken struct {
	id   int32
	s, e int32
}

// preTokenizer splits pieces further. split is called once per piece that
// has no tokens yet; it appends the resulting sub-pieces to dst.
type preTokenizer interface {
	split(dst []piece, p piece) []piece
}

// splitPiece applies a cover and behavior to p, dropping empty results.
func splitPiece(dst []piece, p piece, ms []match, b splitBehavior) []piece {
	for _, m := range applyBehavior(ms, b) {
		if m.isMatch || m.e <= m.s {
			continue
		}
		dst = append(dst, piece{n: p.n.slice(m.s, m.e), offset: p.offset})
	}
	return dst
}

type bertPreTokenizer struct{}

func (bertPreTokenizer) split(dst []piece, p piece) []piece {
	// Whitespace removed, then each punctuation char isolated: one pass.
	r := p.n.r
	start := -1
	for i, c := range r {
		switch {
		case isWhitespace(c):
			if start >= 0 {
				dst = append(dst, piece{n: p.n.slice(start, i), offset: p.offset})
				start = -1
			}
		case isBertPunct(c):
			if start >= 0 {
				dst = append(dst, piece{n: p.n.slice(start, i), offset: p.offset})
				start = -1
			}
			dst = append(dst, piece{n: p.n.slice(i, i+1), offset: p.offset})
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		dst = append(dst, piece{n: p.n.slice(start, len(r)), offset: p.offset})
	}
	return dst
}

// isWordChar is the regex crate's Unicode \w: Alphabetic, marks, decimal
// numbers, connector punctuation and Join_Control.
func isWordChar(r rune) bool {
	if r < 0x80 {
		return r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
	}
	return unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_Alphabetic, r) ||
		unicode.IsMark(r) || unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Pc, r) || r == 0x200C || r == 0x200D
}

// whitespacePreTokenizer is `\w+|[^\w\s]+`, keeping the matches.
type whitespacePreTokenizer struct{}

func (whitespacePreTokenizer) split(dst []piece, p piece) []piece {
	r := p.n.r
	for i := 0; i < len(r); {
		c := r[i]
		if isWhitespace(c) {
			i++
			continue
		}
		w := isWordChar(c)
		j := i + 1
		for j < len(r) && !isWhitespace(r[j]) && isWordChar(r[j]) == w {
			j++
		}
		dst = append(dst, piece{n: p.n.slice(i, j), offset: p.offset})
		i = j
	}
	return dst
}

type whitespaceSplitPreTokenizer struct{}

func (whitespaceSplitPreTokenizer) split(dst []piece, p piece) []piece {
	r := p.n.r
	start := -1
	for i, c := range r {
		if isWhitespace(c) {
			if start >= 0 {
				dst = append(dst, piece{n: p.n.slice(start, i), offset: p.offset})
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		dst = append(dst, piece{n: p.n.slice(start, len(r)), offset: p.offset})
	}
	return dst
}

type punctuationPreTokenizer struct{ behavior splitBehavior }

func (x punctuationPreTokenizer) split(dst []piece, p piece) []piece {
	return splitPiece(dst, p, coverByPred(p.n.r, isBertPunct, nil), x.behavior)
}

type digitsPreTokenizer struct{ individual bool }

func isNumeric(r rune) bool {
	if r < 0x80 {
		return r >= '0' && r <= '9'
	}
	return unicode.IsNumber(r)
}

func (x digitsPreTokenizer) split(dst []piece, p piece) []piece {
	b := splitContiguous
	if x.individual {
		b = splitIsolated
	}
	return splitPiece(dst, p, coverByPred(p.n.r, isNumeric, nil), b)
}

type splitPreTokenizer struct {
	pat      pattern
	behavior splitBehavior
	invert   bool
}

func (x splitPreTokenizer) split(dst []piece, p piece) []piece {
	ms := x.pat.cover(p.n.r)
	if x.invert {
		for i := range ms {
			ms[i].isMatch = !ms[i].isMatch
		}
	}
	return splitPiece(dst, p, ms, x.behavior)
}

type sequencePreTokenizer []preTokenizer

func (s sequencePreTokenizer) split(dst []piece, p piece) []piece {
	cur := []piece{p}
	for _, pt := range s {
		var next []piece
		for _, q := range cur {
			next = pt.split(next, q)
		}
		cur = next
	}
	return append(dst, cur...)
}

// Metaspace prepend schemes.
const (
	prependAlways = iota
	prependFirst
	prependNever
)

type metaspacePreTokenizer struct {
	replacement rune
	prepend     int
	doSplit     bool
}

func (m metaspacePreTokenizer) split(dst []piece, p piece) []piece {
	n := p.n
	// ' ' -> replacement, one-for-one, keeping the space's alignment.
	has := false
	for _, c := range n.r {
		if c == ' ' {
			has = true
			break
		}
	}
	if has {
		nr := make([]rune, len(n.r))
		for i, c := range n.r {
			if c == ' ' {
				c = m.replacement
			}
			nr[i] = c
		}
		n = normStr{r: nr, a: n.a}
	}
	if len(n.r) > 0 && n.r[0] != m.replacement {
		switch m.prepend {
		case prependAlways:
			n.prepend(string(m.replacement))
		case prependFirst:
			if n.a[0].s == 0 {
				n.prepend(string(m.replacement))
			}
		}
	}
	q := piece{n: n, offset: p.offset}
	if !m.doSplit {
		if len(n.r) == 0 {
			return dst
		}
		return append(dst, q)
	}
	return splitPiece(dst, q, coverByPred(n.r, func(r rune) bool { return r == m.replacement }, nil), splitMergedWithNext)
}

// byteLevelPreTokenizer is pre_tokenizers/byte_level.rs.
type byteLevelPreTokenizer struct {
	addPrefixSpace bool
	useRegex       bool
}

func (b byteLevelPreTokenizer) split(dst []piece, p piece) []piece {
	n := p.n
	if b.addPrefixSpace && (len(n.r) == 0 || n.r[0] != ' ') {
		n.prepend(" ")
	}
	start := len(dst)
	if b.useRegex {
		dst = gpt2Split(dst, piece{n: n, offset: p.offset})
	} else if len(n.r) > 0 {
		dst = append(dst, piece{n: n, offset: p.offset})
	}
	for i := start; i < len(dst); i++ {
		byteLevelTransform(&dst[i].n)
	}
	return dst
}

func isL(r rune) bool {
	if r < 0x80 {
		return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
	}
	return unicode.IsLetter(r)
}

func isN(r rune) bool {
	if r < 0x80 {
		return r >= '0' && r <= '9'
	}
	return unicode.IsNumber(r)
}

// isS is Oniguruma's Unicode \s.
func isS(r rune) bool { return isWhitespace(r) }

// gpt2Split hand-codes the GPT-2 pattern
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// with Oniguruma's first-alternative-wins semantics (RE2 has no look-ahead).
func gpt2Split(dst []piece, p piece) []piece {
	r := p.n.r
	n := len(r)
	emit := func(i, j int) { dst = append(dst, piece{n: p.n.slice(i, j), offset: p.offset}) }
	other := func(c rune) bool { return !isS(c) && !isL(c) && !isN(c) }
	for i := 0; i < n; {
		c := r[i]
		if c == '\'' && i+1 < n {
			c1 := r[i+1]
			l := 0
			switch c1 {
			case 's', 't', 'm', 'd':
				l = 2
			case 'r', 'v':
				if i+2 < n && r[i+2] == 'e' {
					l = 3
				}
			case 'l':
				if i+2 < n && r[i+2] == 'l' {
					l = 3
				}
			}
			if l > 0 {
				emit(i, i+l)
				i += l
				continue
			}
		}
		j := i
		if c == ' ' && i+1 < n {
			j = i + 1
		}
		d := r[j]
		{
			switch {
			case isL(d):
				k := j + 1
				for k < n && isL(r[k]) {
					k++
				}
				emit(i, k)
				i = k
				continue
			case isN(d):
				k := j + 1
				for k < n && isN(r[k]) {
					k++
				}
				emit(i, k)
				i = k
				continue
			case other(d):
				k := j + 1
				for k < n && other(r[k]) {
					k++
				}
				emit(i, k)
				i = k
				continue
			}
		}
		// c is whitespace here (a lone ' ' at the end falls through too).
		k := i + 1
		for k < n && isS(r[k]) {
			k++
		}
		if k == n || k-i == 1 {
			emit(i, k)
			i = k
			continue
		}
		// \s+(?!\S): give back the last whitespace char.
		emit(i, k-1)
		i = k - 1
	}
	return dst
}

// bytesChar is GPT-2's byte -> printable rune table.
var bytesChar = func() [256]rune {
	var t [256]rune
	var used [256]bool
	for b := '!'; b <= '~'; b++ {
		t[b], used[b] = b, true
	}
	for b := 0xA1; b <= 0xAC; b++ {
		t[b], used[b] = rune(b), true
	}
	for b := 0xAE; b <= 0xFF; b++ {
		t[b], used[b] = rune(b), true
	}
	n := 0
	for b := 0; b < 256; b++ {
		if !used[b] {
			t[b] = rune(256 + n)
			n++
		}
	}
	return t
}()

var charBytes = func() map[rune]byte {
	m := make(map[rune]byte, 256)
	for b, r := range bytesChar {
		m[r] = byte(b)
	}
	return m
}()

// byteLevelTransform replaces each rune by one rune per UTF-8 byte; all of
// them keep the source rune's alignment.
func byteLevelTransform(n *normStr) {
	ascii := true
	for _, c := range n.r {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		nr := make([]rune, len(n.r))
		for i, c := range n.r {
			nr[i] = bytesChar[c]
		}
		n.r = nr
		return
	}
	nr := make([]rune, 0, len(n.r)*2)
	na := make([]span, 0, len(n.r)*2)
	var buf [utf8.UTFMax]byte
	for i, c := range n.r {
		w := utf8.EncodeRune(buf[:], c)
		for k := 0; k < w; k++ {
			nr = append(nr, bytesChar[buf[k]])
			na = append(na, n.a[i])
		}
	}
	n.r, n.a = nr, na
}
