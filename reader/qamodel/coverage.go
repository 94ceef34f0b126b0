package qamodel

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/askqa/ask/tokenizer"
)

// Coverage is how much of a text a model's tokenizer knows: the non-space
// characters of the text and how many of them fall in unknown tokens
// ([UNK], <unk>), by script.
type Coverage struct {
	Chars, Unknown int
	// UnknownByScript counts the unknown characters per language name
	// (see language).
	UnknownByScript map[string]int
}

// Share is the fraction of the characters that are unknown (0 for an
// empty text).
func (c Coverage) Share() float64 {
	if c.Chars == 0 {
		return 0
	}
	return float64(c.Unknown) / float64(c.Chars)
}

// Language names the language (or script) most of the unknown characters
// belong to, or "" when none are unknown.
func (c Coverage) Language() string {
	best, n := "", 0
	for l, k := range c.UnknownByScript {
		if k > n || (k == n && l < best) {
			best, n = l, k
		}
	}
	return best
}

// coverageSample bounds the characters of a passage that Measure reads:
// the language of a passage shows in its first few thousand characters,
// and a long one is not tokenized a second time whole.
const coverageSample = 4096

// Measure tokenizes text (its first 4,096 characters) and counts the
// characters that land in unknown tokens.
func Measure(tok *tokenizer.Tokenizer, text string) (Coverage, error) {
	rs := []rune(text)
	if len(rs) > coverageSample {
		rs = rs[:coverageSample]
		text = string(rs)
	}
	c := Coverage{UnknownByScript: map[string]int{}}
	for _, r := range rs {
		if !unicode.IsSpace(r) {
			c.Chars++
		}
	}
	unk, ok := tok.UnkID()
	if !ok || c.Chars == 0 {
		return c, nil
	}
	enc, err := tok.Encode(text, false)
	if err != nil {
		return c, fmt.Errorf("measure the tokenizer's coverage: %w", err)
	}
	seen := make([]bool, len(rs))
	for i, id := range enc.IDs {
		if id != unk {
			continue
		}
		o := enc.Offsets[i]
		for k := max(o[0], 0); k < min(o[1], len(rs)); k++ {
			if seen[k] || unicode.IsSpace(rs[k]) {
				continue
			}
			seen[k] = true
			c.Unknown++
			c.UnknownByScript[language(rs[k])]++
		}
	}
	return c, nil
}

// minCoverage is the share of a text's characters a model must know to
// cover its language: an English text with a foreign name or two stays far
// above it, a Chinese text read by an English vocabulary (which knows
// about a third of the characters in CMRC 2018 contexts) far below.
const minCoverage = 0.8

// scripts name the languages for the warning, by script.
var scripts = []struct {
	t    *unicode.RangeTable
	name string
}{
	{unicode.Han, "Chinese"}, {unicode.Hiragana, "Japanese"}, {unicode.Katakana, "Japanese"}, {unicode.Hangul, "Korean"},
	{unicode.Cyrillic, "Cyrillic-script text"}, {unicode.Arabic, "Arabic"}, {unicode.Hebrew, "Hebrew"},
	{unicode.Greek, "Greek"}, {unicode.Devanagari, "Devanagari-script text"}, {unicode.Thai, "Thai"},
	{unicode.Bengali, "Bengali"}, {unicode.Tamil, "Tamil"}, {unicode.Georgian, "Georgian"}, {unicode.Armenian, "Armenian"},
	{unicode.Ethiopic, "Ethiopic-script text"}, {unicode.Khmer, "Khmer"}, {unicode.Lao, "Lao"}, {unicode.Myanmar, "Burmese"},
}

// language names the language of r's script for the warning.
func language(r rune) string {
	for _, s := range scripts {
		if unicode.Is(s.t, r) {
			return s.name
		}
	}
	if unicode.IsLetter(r) {
		return "this language"
	}
	return "these symbols"
}

// Warning is the warning for a question and passage that model (its id)
// does not cover: empty when its tokenizer knows at least 80% of the
// non-space characters of the question and of the passage (its first
// 4,096 characters), else a sentence naming the language and what to use
// instead. It is a heuristic, not a language detector: a byte-level BPE
// tokenizer, which has no unknown token, never warns.
func Warning(tok *tokenizer.Tokenizer, model, question, passage string) (string, error) {
	for _, part := range []struct{ name, text string }{{"question", question}, {"context", passage}} {
		c, err := Measure(tok, part.text)
		if err != nil {
			return "", err
		}
		if c.Chars == 0 || 1-c.Share() >= minCoverage {
			continue
		}
		lang := c.Language()
		return fmt.Sprintf("the model %q does not cover %s: %.0f%% of the %s's characters are unknown to its tokenizer, so this answer is unreliable; "+
			"use a %s or multilingual question-answering model instead (--model, or ASK_MODEL for ask serve), for example %s",
			model, lang, 100*c.Share(), part.name, suggestName(lang), suggestion), nil
	}
	return "", nil
}

// suggestion is a multilingual extractive QA model that ask runs
// (XLM-RoBERTa, SQuAD 2.0), covering Chinese among 100 languages.
const suggestion = "deepset/xlm-roberta-base-squad2"

// suggestName is the kind of model to suggest for lang.
func suggestName(lang string) string {
	switch lang {
	case "this language", "these symbols":
		return "suitable"
	}
	return strings.TrimSuffix(lang, " text")
}
