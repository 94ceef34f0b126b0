package tokenizer

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// decoder turns token strings back into text (decoders/*.rs decode_chain).
type decoder interface {
	decodeChain(toks []string) []string
}

type wordPieceDecoder struct {
	prefix  string
	cleanup bool
}

func (d wordPieceDecoder) decodeChain(toks []string) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		if i > 0 {
			if strings.HasPrefix(t, d.prefix) {
				t = strings.Replace(t, d.prefix, "", 1)
			} else {
				t = " " + t
			}
		}
		if d.cleanup {
			t = cleanupSpaces(t)
		}
		out[i] = t
	}
	return out
}

// cleanupSpaces is the decoders' clean_up_tokenization.
func cleanupSpaces(s string) string {
	r := strings.NewReplacer(" .", ".", " ?", "?", " !", "!", " ,", ",", " ' ", "'", " n't", "n't", " 'm", "'m", " 's", "'s", " 've", "'ve", " 're", "'re")
	return r.Replace(s)
}

type byteLevelDecoder struct{}

func (byteLevelDecoder) decodeChain(toks []string) []string {
	var b []byte
	for _, t := range toks {
		start := len(b)
		ok := true
		for _, r := range t {
			c, found := charBytes[r]
			if !found {
				ok = false
				break
			}
			b = append(b, c)
		}
		if !ok {
			b = append(b[:start], t...)
		}
	}
	return []string{strings.ToValidUTF8(string(b), "\uFFFD")}
}

type metaspaceDecoder struct {
	replacement rune
	prependAll  bool // prepend_scheme != never
}

func (d metaspaceDecoder) decodeChain(toks []string) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		var sb strings.Builder
		for j, r := range t {
			if r == d.replacement {
				if i == 0 && j == 0 && d.prependAll {
					continue
				}
				sb.WriteRune(' ')
			} else {
				sb.WriteRune(r)
			}
		}
		out[i] = sb.String()
	}
	return out
}

type replaceDecoder struct {
	pat     pattern
	content string
}

func (d replaceDecoder) decodeChain(toks []string) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		n := newNormStr(t, 0)
		replaceNormalizer{pat: d.pat, content: []rune(d.content)}.normalize(&n)
		out[i] = string(n.r)
	}
	return out
}

type byteFallbackDecoder struct{}

func (byteFallbackDecoder) decodeChain(toks []string) []string {
	var out []string
	var pend []byte
	flush := func() {
		if len(pend) > 0 {
			if utf8.Valid(pend) {
				out = append(out, string(pend))
			} else {
				for range pend {
					out = append(out, "\uFFFD")
				}
			}
			pend = pend[:0]
		}
	}
	for _, t := range toks {
		if len(t) == 6 && strings.HasPrefix(t, "<0x") && t[5] == '>' {
			if v, err := strconv.ParseUint(t[3:5], 16, 8); err == nil {
				pend = append(pend, byte(v))
				continue
			}
		}
		flush()
		out = append(out, t)
	}
	flush()
	return out
}

type fuseDecoder struct{}

func (fuseDecoder) decodeChain(toks []string) []string { return []string{strings.Join(toks, "")} }

type stripDecoder struct {
	content     rune
	start, stop int
}

func (d stripDecoder) decodeChain(toks []string) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		r := []rune(t)
		s, e := 0, len(r)
		for k := 0; k < d.start && s < e && r[s] == d.content; k++ {
			s++
		}
		for k := 0; k < d.stop && e > s && r[e-1] == d.content; k++ {
			e--
		}
		out[i] = string(r[s:e])
	}
	return out
}

type sequenceDecoder []decoder

func (s sequenceDecoder) decodeChain(toks []string) []string {
	for _, d := range s {
		toks = d.decodeChain(toks)
	}
	return toks
}

func parseDecoder(raw json.RawMessage) (decoder, error) {
	o, err := parseObj(raw, "decoder")
	if err != nil {
		return nil, err
	}
	switch ty := o.typ(); ty {
	case "WordPiece":
		p, ok := o.str("prefix")
		if !ok {
			p = "##"
		}
		return wordPieceDecoder{prefix: p, cleanup: o.boolOr("cleanup", true)}, nil
	case "ByteLevel":
		return byteLevelDecoder{}, nil
	case "Metaspace":
		rep := '▁'
		if s, ok := o.str("replacement"); ok && utf8.RuneCountInString(s) == 1 {
			rep, _ = utf8.DecodeRuneInString(s)
		}
		all := o.boolOr("add_prefix_space", true)
		if s, ok := o.str("prepend_scheme"); ok {
			all = s != "never"
		}
		return metaspaceDecoder{replacement: rep, prependAll: all}, nil
	case "Replace":
		p, err := parsePattern(o["pattern"])
		if err != nil {
			return nil, fmt.Errorf("decoder Replace: %w", err)
		}
		c, _ := o.str("content")
		return replaceDecoder{pat: p, content: c}, nil
	case "ByteFallback":
		return byteFallbackDecoder{}, nil
	case "Fuse":
		return fuseDecoder{}, nil
	case "Strip":
		c, _ := o.str("content")
		r, _ := utf8.DecodeRuneInString(c)
		return stripDecoder{content: r, start: o.intOr("start", 0), stop: o.intOr("stop", 0)}, nil
	case "Sequence":
		var list []json.RawMessage
		if err := json.Unmarshal(o["decoders"], &list); err != nil {
			return nil, fmt.Errorf("decoder Sequence: %w", err)
		}
		seq := make(sequenceDecoder, 0, len(list))
		for i, r := range list {
			d, err := parseDecoder(r)
			if err != nil {
				return nil, fmt.Errorf("decoder Sequence[%d]: %w", i, err)
			}
			seq = append(seq, d)
		}
		return seq, nil
	default:
		return nil, unknownType("decoder", ty)
	}
}

// Decode turns ids back into text, skipping special tokens when asked.
func (t *Tokenizer) Decode(ids []int32, skipSpecial bool) string {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		if i, ok := t.addedIDs[id]; ok && skipSpecial && t.added[i].Special {
			continue
		}
		if s, ok := t.idToToken(id); ok {
			toks = append(toks, s)
		}
	}
	if t.decoder == nil {
		return strings.Join(toks, " ")
	}
	return strings.Join(t.decoder.decodeChain(toks), "")
}
