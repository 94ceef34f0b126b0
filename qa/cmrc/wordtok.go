package cmrc

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// wordTokenize is NLTK's word tokenizer (nltk.tokenize.NLTKWordTokenizer,
// NLTK 3.10, without converting parentheses) on one sentence: a chain of
// substitutions that pad punctuation, quotes and clitics with spaces, then
// a split on white space. Python's regular expressions are Unicode-aware
// and have look-arounds; Go's are neither, so the rules that need them are
// written out by hand and the character classes spell out Python's
// meaning (see the helpers below).
func wordTokenize(text string) []string {
	// Starting quotes.
	text = reOpenQuotes.ReplaceAllString(text, " $1 ")
	if strings.HasPrefix(text, `"`) {
		text = "``" + text[1:]
	}
	text = strings.ReplaceAll(text, "``", " `` ")
	text = reQuoteAfterOpen.ReplaceAllString(text, "$1 `` ")
	text = splitLeadingApostrophe(text)

	// Punctuation.
	text = reFinalPeriod.ReplaceAllString(text, "$1 $2 $3 ")
	text = reColonComma.ReplaceAllString(text, " $1 $2")
	text = reColonCommaEnd.ReplaceAllString(text, " $1 $2")
	text = reEllipsis.ReplaceAllString(text, " $0 ")
	text = reSymbols.ReplaceAllString(text, " $0 ")
	text = reDashes.ReplaceAllString(text, " $0 ")
	text = reFinalPeriod2.ReplaceAllString(text, "$1 $2$3 ")
	text = reQuestionBang.ReplaceAllString(text, " $0 ")
	text = reApostropheSpace.ReplaceAllString(text, "$1 ' ")
	text = strings.ReplaceAll(text, "*", " * ")

	// Parentheses and brackets, double dashes.
	text = reBrackets.ReplaceAllString(text, " $0 ")
	text = strings.ReplaceAll(text, "--", " -- ")

	// Ending quotes, on the text padded with a space either side.
	text = " " + text + " "
	text = reCloseQuotes.ReplaceAllString(text, " $1 ")
	text = strings.ReplaceAll(text, "''", " '' ")
	text = strings.ReplaceAll(text, `"`, " '' ")
	text = reSpaces.ReplaceAllString(text, " ")
	text = reClitics1.ReplaceAllString(text, "$1 $2 ")
	text = reClitics2.ReplaceAllString(text, "$1 $2 ")

	// Contractions: "cannot" is "can not", "'tis" is "'t is".
	for _, c := range contractions {
		text = c.apply(text)
	}
	return strings.FieldsFunc(text, isSpace)
}

// pySpace is Python's \s in the regex module: Unicode White_Space.
const pySpace = `[\t\n\v\f\r \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]`

var (
	reOpenQuotes     = regexp.MustCompile("([«“‘„]|`+)")
	reQuoteAfterOpen = regexp.MustCompile(`([ (\[{<])("|'')`)
	// Python's $ also matches before a final newline; the optional \n
	// group carries it through.
	reFinalPeriod     = regexp.MustCompile(`([^.])(\.)([\])}>"'»”’ ]*)` + pySpace + `*$`)
	reColonComma      = regexp.MustCompile(`([:,])([^\p{Nd}])`)
	reColonCommaEnd   = regexp.MustCompile(`([:,])(\n?)$`)
	reEllipsis        = regexp.MustCompile(`\.{2,}`)
	reSymbols         = regexp.MustCompile(`[;@#$%&]`)
	reDashes          = regexp.MustCompile(`[\x{2012}-\x{2015}]`)
	reFinalPeriod2    = regexp.MustCompile(`([^.])(\.)([\])}>"']*)` + pySpace + `*$`)
	reQuestionBang    = regexp.MustCompile(`[?!]`)
	reApostropheSpace = regexp.MustCompile(`([^'])' `)
	reBrackets        = regexp.MustCompile(`[\]\[(){}<>]`)
	reCloseQuotes     = regexp.MustCompile(`([»”’])`)
	reSpaces          = regexp.MustCompile(pySpace + `+`)
	reClitics1        = regexp.MustCompile(`([^' ])('[sS]|'[mM]|'[dD]|') `)
	reClitics2        = regexp.MustCompile(`([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) `)
)

// isWordRegex is \w of Python's regex module (NLTK's starting-quote rule):
// alphabetic, marks, decimal digits, connector punctuation, joiners.
func isWordRegex(r rune) bool {
	return unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) || unicode.IsMark(r) || unicode.Is(unicode.Nd, r) ||
		unicode.Is(unicode.Pc, r) || r == 0x200c || r == 0x200d
}

// isWordRe is \w of Python's re module (NLTK's contraction rules):
// str.isalnum or "_".
func isWordRe(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' }

// splitLeadingApostrophe is (?i)(?<!\w)(')(?!(?:re|ve|ll|m|t|s|d|n)\b)(?=\w)
// → "' ": an apostrophe that opens a word, unless it begins a clitic.
func splitLeadingApostrophe(text string) string {
	if !strings.Contains(text, "'") {
		return text
	}
	rs := []rune(text)
	var b strings.Builder
	for i, r := range rs {
		b.WriteRune(r)
		if r != '\'' || (i > 0 && isWordRegex(rs[i-1])) || i+1 >= len(rs) || !isWordRegex(rs[i+1]) {
			continue
		}
		clitic := false
		for _, c := range []string{"re", "ve", "ll", "m", "t", "s", "d", "n"} {
			n := len([]rune(c))
			if i+1+n <= len(rs) && strings.EqualFold(string(rs[i+1:i+1+n]), c) &&
				(i+1+n == len(rs) || !isWordRegex(rs[i+1+n])) {
				clitic = true
				break
			}
		}
		if !clitic {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// contraction is one of NLTK's MacIntyre contractions: two parts matched
// case-insensitively, replaced by " part1 part2 ", with Python's Unicode
// \b (or a following white space, or a leading space) around them.
type contraction struct {
	re *regexp.Regexp
	// leftSpace: the match starts with a space (CONTRACTIONS3), so no
	// word boundary is checked on the left.
	leftSpace bool
	// rightSpace: a white space must follow ((?=\s)) instead of \b.
	rightSpace bool
}

var contractions = []contraction{
	{re: regexp.MustCompile(`(?i)(can)(not)`)},
	{re: regexp.MustCompile(`(?i)(d)('ye)`)},
	{re: regexp.MustCompile(`(?i)(gim)(me)`)},
	{re: regexp.MustCompile(`(?i)(gon)(na)`)},
	{re: regexp.MustCompile(`(?i)(got)(ta)`)},
	{re: regexp.MustCompile(`(?i)(lem)(me)`)},
	{re: regexp.MustCompile(`(?i)(more)('n)`)},
	{re: regexp.MustCompile(`(?i)(wan)(na)`), rightSpace: true},
	{re: regexp.MustCompile(`(?i) ('t)(is)`), leftSpace: true},
	{re: regexp.MustCompile(`(?i) ('t)(was)`), leftSpace: true},
}

// apply replaces the matches left to right without overlap, the way
// Python's re.sub does, trying the next position when a boundary fails.
func (c contraction) apply(text string) string {
	var b strings.Builder
	last, pos := 0, 0
	for pos <= len(text) {
		m := c.re.FindStringSubmatchIndex(text[pos:])
		if m == nil {
			break
		}
		for k := range m {
			m[k] += pos
		}
		if c.boundaries(text, m[0], m[1]) {
			b.WriteString(text[last:m[0]])
			b.WriteString(" " + text[m[2]:m[3]] + " " + text[m[4]:m[5]] + " ")
			last, pos = m[1], m[1]
			continue
		}
		_, size := utf8.DecodeRuneInString(text[m[0]:])
		pos = m[0] + size
	}
	b.WriteString(text[last:])
	return b.String()
}

func (c contraction) boundaries(text string, start, end int) bool {
	if !c.leftSpace {
		// \b before a word character: the previous one is not one.
		if start > 0 {
			r, _ := utf8.DecodeLastRuneInString(text[:start])
			if isWordRe(r) {
				return false
			}
		}
	}
	if end < len(text) {
		r, _ := utf8.DecodeRuneInString(text[end:])
		if c.rightSpace {
			return isSpace(r)
		}
		// \b after a word character: the next one is not one.
		return !isWordRe(r)
	}
	return !c.rightSpace
}
