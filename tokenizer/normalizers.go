package tokenizer

import (
	"fmt"
	"regexp"
	"sort"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizer rewrites a normStr in place, keeping alignments.
type normalizer interface {
	normalize(n *normStr)
}

// isChineseChar is BertNormalizer's CJK test: these code points get a space on
// each side so that each becomes its own word.
func isChineseChar(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B920 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}

// isWhitespace is Rust's char::is_whitespace (the White_Space property).
func isWhitespace(r rune) bool {
	if r < 0x80 {
		return r == ' ' || (r >= '\t' && r <= '\r')
	}
	return unicode.Is(refWhiteSpace, r)
}

// isBertPunct is BertPreTokenizer's punctuation test: any ASCII punctuation
// (which includes $+<=>^`|~, not P* in Unicode) or the reference's P*.
func isBertPunct(r rune) bool {
	if r < 0x80 {
		return (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126)
	}
	return unicode.Is(refBertPunct, r)
}

// lowerRune appends Rust's char::to_lowercase(r): the full (one-to-many)
// mapping without context, so U+0130 becomes "i\u0307" and final sigma is
// not applied.
func lowerRune(dst []rc, r rune) []rc {
	if r < 0x80 {
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(dst, rc{r, 0})
	}
	if r == 0x130 {
		return append(dst, rc{'i', 0}, rc{0x307, 1})
	}
	if s, ok := overrideLower[r]; ok {
		for i, c := range []rune(s) {
			dst = append(dst, rc{c, int32(min(i, 1))})
		}
		return dst
	}
	return append(dst, rc{unicode.ToLower(r), 0})
}

// decompose appends the canonical (or compatibility) decomposition of the
// runes in n with the change codes the reference's
// unicode-normalization-alignments produces: the first rune of each
// decomposition replaces its source, the rest are inserted; canonical
// reordering then moves runes together with their codes.
func decompose(dst []rc, runes []rune, compat bool) []rc {
	f := norm.NFD
	if compat {
		f = norm.NFKD
	}
	var buf [utf8.UTFMax]byte
	start := len(dst)
	for _, r := range runes {
		if r < 0xA0 || (!compat && r < 0xC0) {
			dst = append(dst, rc{r, 0})
			continue
		}
		if r >= 0xAC00 && r <= 0xD7A3 {
			// Hangul syllables decompose algorithmically; x/text's
			// Properties.Decomposition does not cover them.
			si := r - 0xAC00
			dst = append(dst, rc{0x1100 + si/588, 0}, rc{0x1161 + (si%588)/28, 1})
			if t := si % 28; t != 0 {
				dst = append(dst, rc{0x11A7 + t, 1})
			}
			continue
		}
		ov := overrideNFD
		if compat {
			ov = overrideNFKD
		}
		if s, ok := ov[r]; ok {
			for i, c := range []rune(s) {
				dst = append(dst, rc{c, int32(min(i, 1))})
			}
			continue
		}
		w := utf8.EncodeRune(buf[:], r)
		p := f.Properties(buf[:w])
		d := p.Decomposition()
		if len(d) == 0 {
			dst = append(dst, rc{r, 0})
			continue
		}
		first := true
		for len(d) > 0 {
			c, n := utf8.DecodeRune(d)
			d = d[n:]
			if first {
				dst = append(dst, rc{c, 0})
				first = false
			} else {
				dst = append(dst, rc{c, 1})
			}
		}
	}
	// Canonical ordering: stable sort each run of non-starters by ccc.
	out := dst[start:]
	for i := 0; i < len(out); {
		if ccc(out[i].r) == 0 {
			i++
			continue
		}
		j := i
		for j < len(out) && ccc(out[j].r) != 0 {
			j++
		}
		if j-i > 1 {
			seg := out[i:j]
			sort.SliceStable(seg, func(a, b int) bool { return ccc(seg[a].r) < ccc(seg[b].r) })
		}
		i = j
	}
	return dst
}

func ccc(r rune) uint8 {
	if r < 0x300 {
		return 0
	}
	var buf [utf8.UTFMax]byte
	w := utf8.EncodeRune(buf[:], r)
	return norm.NFD.Properties(buf[:w]).CCC()
}

// compose applies NFC/NFKC. Alignments follow the reference's convention for
// many-to-one replacements: each output rune of a changed segment replaces
// one input rune, and the last one absorbs the rest.
func compose(n *normStr, compat bool) {
	var dec []rc
	dec = decompose(dec, n.r, compat)
	n.transform(dec, 0)
	f := norm.NFC
	if compat {
		f = norm.NFKC
	}
	out := make([]rc, 0, len(n.r))
	changed := false
	for i := 0; i < len(n.r); {
		j := i + 1
		for j < len(n.r) && !f.Properties([]byte(string(n.r[j]))).BoundaryBefore() {
			j++
		}
		seg := string(n.r[i:j])
		c := f.String(seg)
		if c == seg {
			for _, r := range n.r[i:j] {
				out = append(out, rc{r, 0})
			}
		} else {
			changed = true
			cr := []rune(c)
			start := len(out)
			for k, r := range cr {
				ch := int32(0)
				if k >= j-i {
					ch = 1
				}
				out = append(out, rc{r, ch})
			}
			// The composed starter absorbed the marks that are gone; the
			// marks left over keep their own places, as in the reference's
			// recomposition (a+U+0323+U+0301 → U+1EA1 [a, U+0323], U+0301).
			if d := (j - i) - len(cr); d > 0 {
				out[start].ch = -int32(d)
			}
		}
		i = j
	}
	if changed {
		n.transform(out, 0)
	}
}

// bertNormalizer is normalizers/bert.rs.
type bertNormalizer struct {
	cleanText, chinese, stripAccents, lowercase bool
	// stripSet records whether strip_accents was explicit (not null), which
	// the BertTokenizerFast override compares.
	stripSet bool
}

func (b *bertNormalizer) normalize(n *normStr) {
	if b.cleanText {
		for _, r := range n.r {
			if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || (r >= 0x7F && unicode.Is(refBertRemoved, r)) {
				n.filter(func(r rune) bool { return !unicode.Is(refBertRemoved, r) })
				break
			}
		}
		for i, r := range n.r {
			if r >= 0x80 && unicode.Is(refBertSpace, r) || r == '\t' || r == '\n' || r == '\r' {
				n.r[i] = ' '
			}
		}
	}
	if b.chinese {
		has := false
		for _, r := range n.r {
			if isChineseChar(r) {
				has = true
				break
			}
		}
		if has {
			dst := make([]rc, 0, len(n.r)+16)
			for _, r := range n.r {
				if isChineseChar(r) {
					dst = append(dst, rc{' ', 0}, rc{r, 1}, rc{' ', 1})
				} else {
					dst = append(dst, rc{r, 0})
				}
			}
			n.transform(dst, 0)
		}
	}
	if b.stripAccents {
		if !allBelow(n.r, 0xC0) {
			n.transform(decompose(nil, n.r, false), 0)
			n.filter(func(r rune) bool { return r < 0x300 || !unicode.Is(refBertMn, r) })
		}
	}
	if b.lowercase {
		lowercase(n)
	}
}

func allBelow(rs []rune, lim rune) bool {
	for _, r := range rs {
		if r >= lim {
			return false
		}
	}
	return true
}

func lowercase(n *normStr) {
	if allBelow(n.r, 0x80) {
		for i, r := range n.r {
			if r >= 'A' && r <= 'Z' {
				n.r[i] = r + 'a' - 'A'
			}
		}
		return
	}
	multi := false
	for _, r := range n.r {
		if r == 0x130 {
			multi = true
			break
		}
		if _, ok := overrideLower[r]; ok {
			multi = true
			break
		}
	}
	if !multi {
		for i, r := range n.r {
			n.r[i] = unicode.ToLower(r)
		}
		return
	}
	dst := make([]rc, 0, len(n.r)+4)
	for _, r := range n.r {
		dst = lowerRune(dst, r)
	}
	n.transform(dst, 0)
}

type lowercaseNormalizer struct{}

func (lowercaseNormalizer) normalize(n *normStr) { lowercase(n) }

type unicodeNormalizer struct{ form string }

func (u unicodeNormalizer) normalize(n *normStr) {
	switch u.form {
	case "NFD":
		n.transform(decompose(nil, n.r, false), 0)
	case "NFKD":
		n.transform(decompose(nil, n.r, true), 0)
	case "NFC":
		compose(n, false)
	case "NFKC":
		compose(n, true)
	}
}

type stripAccentsNormalizer struct{}

func (stripAccentsNormalizer) normalize(n *normStr) {
	n.filter(func(r rune) bool { return r < 0x300 || !unicode.Is(refCombiningMark, r) })
}

type stripNormalizer struct{ left, right bool }

func (s stripNormalizer) normalize(n *normStr) {
	i, j := 0, len(n.r)
	if s.left {
		for i < j && isWhitespace(n.r[i]) {
			i++
		}
	}
	if s.right {
		for j > i && isWhitespace(n.r[j-1]) {
			j--
		}
	}
	if i > 0 || j < len(n.r) {
		*n = normStr{r: append([]rune(nil), n.r[i:j]...), a: append([]span(nil), n.a[i:j]...)}
	}
}

type prependNormalizer struct{ s string }

func (p prependNormalizer) normalize(n *normStr) { n.prepend(p.s) }

type sequenceNormalizer []normalizer

func (s sequenceNormalizer) normalize(n *normStr) {
	for _, x := range s {
		x.normalize(n)
	}
}

// pattern finds matches in a rune slice. It is either a literal string or a
// regular expression; Go's RE2 lacks look-around, which the loader reports.
type pattern struct {
	lit []rune
	re  *regexp.Regexp
}

func newPattern(lit *string, re *string) (pattern, error) {
	switch {
	case lit != nil:
		return pattern{lit: []rune(*lit)}, nil
	case re != nil:
		x, err := regexp.Compile(*re)
		if err != nil {
			return pattern{}, fmt.Errorf("regex %q is not supported by Go's RE2: %w", *re, err)
		}
		return pattern{re: x}, nil
	}
	return pattern{}, fmt.Errorf("pattern has neither String nor Regex")
}

// cover returns the full cover of r by matches and gaps, like the
// reference's Pattern::find_matches.
func (p pattern) cover(r []rune) []match {
	if len(r) == 0 {
		return []match{{0, 0, false}}
	}
	var ms []match
	prev := 0
	if p.re != nil {
		s := string(r)
		// Byte offset -> rune index.
		idx := make([]int, len(s)+1)
		k := 0
		for b := range s {
			idx[b] = k
			k++
		}
		idx[len(s)] = k
		for b := len(s) - 1; b >= 0; b-- {
			if !utf8.RuneStart(s[b]) {
				idx[b] = idx[b+1]
			}
		}
		for _, m := range p.re.FindAllStringIndex(s, -1) {
			st, en := idx[m[0]], idx[m[1]]
			if prev != st {
				ms = append(ms, match{prev, st, false})
			}
			ms = append(ms, match{st, en, true})
			prev = en
		}
	} else if len(p.lit) > 0 {
		for i := 0; i+len(p.lit) <= len(r); {
			if runesHasPrefix(r[i:], p.lit) {
				if prev != i {
					ms = append(ms, match{prev, i, false})
				}
				ms = append(ms, match{i, i + len(p.lit), true})
				i += len(p.lit)
				prev = i
				continue
			}
			i++
		}
	}
	if prev != len(r) {
		ms = append(ms, match{prev, len(r), false})
	}
	return ms
}

func runesHasPrefix(r, p []rune) bool {
	if len(r) < len(p) {
		return false
	}
	for i := range p {
		if r[i] != p[i] {
			return false
		}
	}
	return true
}

type replaceNormalizer struct {
	pat     pattern
	content []rune
}

func (x replaceNormalizer) normalize(n *normStr) {
	ms := x.pat.cover(n.r)
	for _, m := range ms {
		if m.isMatch {
			n.replaceMatches(ms, x.content)
			return
		}
	}
}

// byteLevelNormalizer maps every UTF-8 byte to its printable stand-in.
type byteLevelNormalizer struct{}

func (byteLevelNormalizer) normalize(n *normStr) { byteLevelTransform(n) }

func unknownType(kind, typ string) error {
	if typ == "" {
		return fmt.Errorf("%s without a \"type\"", kind)
	}
	return fmt.Errorf("unsupported %s type %q", kind, typ)
}
