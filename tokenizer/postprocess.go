package tokenizer

// postProcessor adds special tokens and fixes type ids / offsets after the
// model ran (and after truncation).
type postProcessor interface {
	// addedTokens is how many specials process adds (single or pair).
	addedTokens(pair bool) int
	// process merges a and optional b into a new encoding.
	process(a, b *Encoding, addSpecial bool) *Encoding
}

type tplPiece struct {
	special string // special token name, or "" for a sequence
	seqB    bool
	typeID  int32
}

type tplSpecial struct {
	ids    []int32
	tokens []string
}

// templateProcessing is processors/template.rs; BertProcessing and
// RobertaProcessing are built as templates too.
type templateProcessing struct {
	single, pair []tplPiece
	specials     map[string]tplSpecial
	// overflowKeepsTypes reproduces a quirk of the reference's
	// TemplateProcessing: it sets the type ids of the main window's
	// sequences only, so overflow windows keep the ids they were encoded
	// with (0 for the first sequence, 1 for the second). RobertaProcessing
	// does not have it.
	overflowKeepsTypes bool
}

func (tp *templateProcessing) addedTokens(pair bool) int {
	tpl := tp.single
	if pair {
		tpl = tp.pair
	}
	n := 0
	for _, p := range tpl {
		if p.special != "" {
			n += len(tp.specials[p.special].ids)
		}
	}
	return n
}

func (tp *templateProcessing) process(a, b *Encoding, addSpecial bool) *Encoding {
	tpl := tp.single
	if b != nil {
		tpl = tp.pair
	}
	n := a.Len()
	if b != nil {
		n += b.Len()
	}
	out := &Encoding{}
	out.grow(n + 4)
	for _, p := range tpl {
		if p.special == "" {
			src, seq := a, 0
			if p.seqB {
				src, seq = b, 1
			}
			if src == nil {
				continue
			}
			start := out.Len()
			out.appendRange(src, 0, src.Len())
			keep := tp.overflowKeepsTypes && src.overflow
			for i := start; i < out.Len(); i++ {
				if !keep {
					out.TypeIDs[i] = p.typeID
				}
				out.SequenceIDs[i] = seq
			}
			continue
		}
		if !addSpecial {
			continue
		}
		sp := tp.specials[p.special]
		for i, id := range sp.ids {
			out.appendSpecial(id, sp.tokens[i], p.typeID)
		}
	}
	return out
}

// trimOffsets is the ByteLevel post-processor's offset trimming: tokens that
// start or end with spaces (as byte-level 'Ġ' or real whitespace) do not
// claim them.
type trimOffsets struct {
	addPrefixSpace bool
	inner          postProcessor // may be nil
}

func (t *trimOffsets) addedTokens(pair bool) int {
	if t.inner == nil {
		return 0
	}
	return t.inner.addedTokens(pair)
}

func (t *trimOffsets) process(a, b *Encoding, addSpecial bool) *Encoding {
	a = trim(a, t.addPrefixSpace)
	if b != nil {
		b = trim(b, t.addPrefixSpace)
	}
	if t.inner != nil {
		return t.inner.process(a, b, addSpecial)
	}
	return defaultProcess(a, b)
}

func defaultProcess(a, b *Encoding) *Encoding {
	out := &Encoding{}
	n := a.Len()
	if b != nil {
		n += b.Len()
	}
	out.grow(n)
	out.appendRange(a, 0, a.Len())
	if b != nil {
		s := out.Len()
		out.appendRange(b, 0, b.Len())
		for i := s; i < out.Len(); i++ {
			out.SequenceIDs[i] = 1
		}
	}
	return out
}

func isTrimSpace(r rune) bool { return r == 'Ġ' || isWhitespace(r) }

// trim applies process_offsets to a copy of one sequence encoding (windows
// share their sources, so trimming in place would trim twice). Both the
// code-point and byte offsets are adjusted by the same number of chars,
// which is exact because trimmed chars are spaces: one byte each in the
// original (Ġ stands for the byte 0x20).
func trim(src *Encoding, addPrefixSpace bool) *Encoding {
	e := *src
	e.Offsets = append([][2]int(nil), src.Offsets...)
	e.ByteOffsets = append([][2]int(nil), src.ByteOffsets...)
	for i, tok := range e.Tokens {
		lead, trail := 0, 0
		rs := []rune(tok)
		for _, r := range rs {
			if !isTrimSpace(r) {
				break
			}
			lead++
		}
		for j := len(rs) - 1; j >= 0; j-- {
			if !isTrimSpace(rs[j]) {
				break
			}
			trail++
		}
		if lead == 0 && trail == 0 {
			continue
		}
		o, bo := e.Offsets[i], e.ByteOffsets[i]
		if lead > 0 {
			isFirst := i == 0 || o[0] == 0
			if isFirst && addPrefixSpace && lead == 1 {
				lead = 0
			}
			o[0] = min(o[0]+lead, o[1])
			bo[0] = min(bo[0]+lead, bo[1])
		}
		if trail > 0 && o[1] >= trail {
			o[1] = max(o[1]-trail, o[0])
		}
		if trail > 0 && bo[1] >= trail {
			bo[1] = max(bo[1]-trail, bo[0])
		}
		e.Offsets[i], e.ByteOffsets[i] = o, bo
	}
	return &e
}

type sequenceProcessor []postProcessor

func (s sequenceProcessor) addedTokens(pair bool) int {
	n := 0
	for _, p := range s {
		n += p.addedTokens(pair)
	}
	return n
}

func (s sequenceProcessor) process(a, b *Encoding, addSpecial bool) *Encoding {
	// Every processor but the last only rewrites offsets in place; the
	// last one merges.
	for i, p := range s {
		if i == len(s)-1 {
			return p.process(a, b, addSpecial)
		}
		if t, ok := p.(*trimOffsets); ok && t.inner == nil {
			a = trim(a, t.addPrefixSpace)
			if b != nil {
				b = trim(b, t.addPrefixSpace)
			}
		}
	}
	return defaultProcess(a, b)
}

// postProcess runs the configured processor (or the default merge).
func (t *Tokenizer) postProcess(a, b *Encoding, addSpecial bool) *Encoding {
	if t.post == nil {
		return defaultProcess(a, b)
	}
	return t.post.process(a, b, addSpecial)
}

// NumSpecialTokens is how many special tokens the post-processor adds to a
// single sequence or a pair (the S of the QA window arithmetic).
func (t *Tokenizer) NumSpecialTokens(pair bool) int {
	if t.post == nil {
		return 0
	}
	return t.post.addedTokens(pair)
}
