package safetensors

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// jscan is a minimal strict JSON scanner for safetensors headers. The
// header grammar is tiny (objects, arrays of integers, strings, one null),
// so a scanner a few hundred lines long is cheaper to trust than to
// out-guess encoding/json's duplicate-key and performance behaviour. It
// accepts a subset of what encoding/json accepts (FuzzParseHeader checks
// this differentially) and, like serde_json, rejects lone UTF-16
// surrogates in \u escapes. The input must already be valid UTF-8.
type jscan struct {
	b []byte
	i int
}

var errJSONEnd = errors.New("header JSON: unexpected end of JSON")

// next skips whitespace and returns the next byte, or 0 at the end.
func (s *jscan) next() byte {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return c
		}
	}
	return 0
}

// consume skips whitespace and then c, reporting whether c was there.
func (s *jscan) consume(c byte) bool {
	if s.next() == c && s.i < len(s.b) {
		s.i++
		return true
	}
	return false
}

// syntax describes what was found where want was expected.
func (s *jscan) syntax(want string) error {
	if s.next() == 0 && s.i >= len(s.b) {
		return errJSONEnd
	}
	return fmt.Errorf("header JSON: expected %s at byte %d, found %q", want, s.i, s.b[s.i])
}

// null consumes a null literal if one is next.
func (s *jscan) null() bool {
	if s.next() == 'n' && len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// describe names the value at the cursor for a type error, e.g.
// `string "1"` or "an array". It may move the cursor; callers give up
// parsing after it.
func (s *jscan) describe() string {
	switch c := s.next(); {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		if v, err := s.str(); err == nil {
			return "string " + strconv.Quote(v)
		}
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		if lit, err := s.number(); err == nil {
			return "number " + lit
		}
		return "a number"
	case c == 0 && s.i >= len(s.b):
		return "the end of the header"
	default:
		return strconv.QuoteRune(rune(c))
	}
}

// number scans a JSON number literal (RFC 8259 grammar) and returns it.
func (s *jscan) number() (string, error) {
	s.next()
	start := s.i
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i >= len(s.b):
		return "", errJSONEnd
	case s.b[s.i] == '0':
		s.i++
	case s.b[s.i] >= '1' && s.b[s.i] <= '9':
		digits()
	default:
		return "", fmt.Errorf("header JSON: invalid number at byte %d", start)
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return "", fmt.Errorf("header JSON: invalid number at byte %d", start)
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return "", fmt.Errorf("header JSON: invalid number at byte %d", start)
		}
	}
	return string(s.b[start:s.i]), nil
}

// str scans a string. Strings without escapes (all real tensor names) are
// sliced out directly.
func (s *jscan) str() (string, error) {
	if s.next() != '"' {
		return "", s.syntax("string")
	}
	s.i++
	start := s.i
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			v := string(s.b[start:s.i])
			s.i++
			return v, nil
		case c == '\\':
			return s.strEscaped(start)
		case c < 0x20:
			return "", fmt.Errorf("header JSON: control character %#02x in string at byte %d", c, s.i)
		}
		s.i++
	}
	return "", errJSONEnd
}

func (s *jscan) strEscaped(start int) (string, error) {
	buf := append([]byte(nil), s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return string(buf), nil
		case c < 0x20:
			return "", fmt.Errorf("header JSON: control character %#02x in string at byte %d", c, s.i)
		case c != '\\':
			buf = append(buf, c)
			s.i++
			continue
		}
		if s.i+1 >= len(s.b) {
			return "", errJSONEnd
		}
		at := s.i
		e := s.b[s.i+1]
		s.i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return "", fmt.Errorf("header JSON: invalid \\u escape at byte %d", at)
			}
			if utf16.IsSurrogate(r) {
				var r2 rune = -1
				if r < 0xdc00 && len(s.b)-s.i >= 2 && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
					s.i += 2
					if r2, ok = s.hex4(); !ok {
						return "", fmt.Errorf("header JSON: invalid \\u escape at byte %d", s.i-2)
					}
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return "", fmt.Errorf("header JSON: lone UTF-16 surrogate in \\u escape at byte %d", at)
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", fmt.Errorf("header JSON: invalid escape \\%c at byte %d", e, at)
		}
	}
	return "", errJSONEnd
}

func (s *jscan) hex4() (rune, bool) {
	if len(s.b)-s.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	s.i += 4
	return r, true
}
