package kb

import (
	"strings"
	"unicode"
)

// IsCJK reports the scripts written without spaces between words, which
// the backends' lexical indexes split into one token per character.
func IsCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana)
}

// IndexText is the text a backend's lexical index is built from: the
// chunk's text with every CJK character set apart by spaces, so that word
// tokenizers made for spaced scripts see each character as a token.
func IndexText(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	for _, r := range s {
		if IsCJK(r) {
			b.WriteByte(' ')
			b.WriteRune(r)
			b.WriteByte(' ')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
