package tokenizer

import (
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"
)

// Tokenizer is a loaded tokenization pipeline: added tokens, normalizer,
// pre-tokenizer, model and post-processor. It is immutable after loading and
// safe for concurrent use.
type Tokenizer struct {
	normalizer normalizer
	pre        preTokenizer
	model      model
	post       postProcessor
	decoder    decoder

	added    []AddedToken
	addedIDs map[int32]int // id -> index in added
	rawMatch *addedMatcher // tokens matched in raw text
	nrmMatch *addedMatcher // tokens matched in normalized text

	config Config

	pool sync.Pool // *scratch
}

// Config is what transformers reads beside tokenizer.json and the QA
// pipeline needs: limits, padding side, which inputs the model takes.
type Config struct {
	// ModelMaxLength is tokenizer_config.json's model_max_length (legacy
	// max_len); VeryLargeInteger (1e30 in Python) when absent.
	ModelMaxLength int
	// PaddingSide is "right" or "left"; it decides question-first order.
	PaddingSide string
	// ModelInputNames lists the tensors the model is fed, e.g.
	// input_ids, token_type_ids, attention_mask.
	ModelInputNames []string
	// Class is the transformers tokenizer class the loader recognised
	// (e.g. "BertTokenizerFast"), empty when unknown.
	Class string
}

// VeryLargeInteger stands in for transformers' int(1e30) "no limit".
const VeryLargeInteger = 1 << 62

// Encoding is one encoded sequence (or one window of a pair). All slices
// have the same length. Offsets are code-point indices into the original
// string of the token's sequence (what Python returns); ByteOffsets index the
// same text in bytes. Specials and padding get (0,0), word and sequence id -1.
type Encoding struct {
	IDs           []int32
	TypeIDs       []int32
	Tokens        []string
	Offsets       [][2]int
	ByteOffsets   [][2]int
	WordIDs       []int
	SequenceIDs   []int
	SpecialMask   []int8
	AttentionMask []int8

	// overflow marks a window after the first; the reference's
	// TemplateProcessing leaves those windows' type ids as encoded.
	overflow bool
}

// Len is the number of tokens.
func (e *Encoding) Len() int { return len(e.IDs) }

func (e *Encoding) grow(n int) {
	e.IDs = make([]int32, 0, n)
	e.TypeIDs = make([]int32, 0, n)
	e.Tokens = make([]string, 0, n)
	e.Offsets = make([][2]int, 0, n)
	e.ByteOffsets = make([][2]int, 0, n)
	e.WordIDs = make([]int, 0, n)
	e.SequenceIDs = make([]int, 0, n)
	e.SpecialMask = make([]int8, 0, n)
	e.AttentionMask = make([]int8, 0, n)
}

func (e *Encoding) appendRange(src *Encoding, i, j int) {
	e.IDs = append(e.IDs, src.IDs[i:j]...)
	e.TypeIDs = append(e.TypeIDs, src.TypeIDs[i:j]...)
	e.Tokens = append(e.Tokens, src.Tokens[i:j]...)
	e.Offsets = append(e.Offsets, src.Offsets[i:j]...)
	e.ByteOffsets = append(e.ByteOffsets, src.ByteOffsets[i:j]...)
	e.WordIDs = append(e.WordIDs, src.WordIDs[i:j]...)
	e.SequenceIDs = append(e.SequenceIDs, src.SequenceIDs[i:j]...)
	e.SpecialMask = append(e.SpecialMask, src.SpecialMask[i:j]...)
	e.AttentionMask = append(e.AttentionMask, src.AttentionMask[i:j]...)
}

func (e *Encoding) appendSpecial(id int32, tok string, typeID int32) {
	e.IDs = append(e.IDs, id)
	e.TypeIDs = append(e.TypeIDs, typeID)
	e.Tokens = append(e.Tokens, tok)
	e.Offsets = append(e.Offsets, [2]int{})
	e.ByteOffsets = append(e.ByteOffsets, [2]int{})
	e.WordIDs = append(e.WordIDs, -1)
	e.SequenceIDs = append(e.SequenceIDs, -1)
	e.SpecialMask = append(e.SpecialMask, 1)
	e.AttentionMask = append(e.AttentionMask, 1)
}

// TokenToWord returns the word id of token i (-1 for specials, padding or
// out of range).
func (e *Encoding) TokenToWord(i int) int {
	if i < 0 || i >= len(e.WordIDs) {
		return -1
	}
	return e.WordIDs[i]
}

// WordToChars returns the code-point span of word w of sequence seq, over
// the tokens present in this encoding (as Python's word_to_chars).
func (e *Encoding) WordToChars(w, seq int) (start, end int, ok bool) {
	first := true
	for i, wid := range e.WordIDs {
		if wid != w || e.SequenceIDs[i] != seq {
			continue
		}
		if first {
			start, first = e.Offsets[i][0], false
		}
		end = e.Offsets[i][1]
	}
	return start, end, !first
}

func (t *Tokenizer) getScratch() *scratch {
	if s, ok := t.pool.Get().(*scratch); ok {
		return s
	}
	return &scratch{}
}

// encodeSeq runs added-token extraction, normalization, pre-tokenization and
// the model on one sequence; type id and sequence id are set by the caller.
func (t *Tokenizer) encodeSeq(text string, sc *scratch) *Encoding {
	pieces := t.pretokenize(text, sc)
	var toks []mtoken
	n := 0
	for i := range pieces {
		p := &pieces[i]
		if !p.done {
			start := len(toks)
			toks = t.model.tokenize(toks, p.n.r, sc)
			p.toks = toks[start:len(toks):len(toks)]
		}
		n += len(p.toks)
	}
	e := &Encoding{}
	e.grow(n)
	conv := newCharConv(text)
	for w, p := range pieces {
		for _, tk := range p.toks {
			var bo [2]int
			if tk.s < tk.e && int(tk.e) <= len(p.n.a) {
				bo = [2]int{int(p.n.a[tk.s].s), int(p.n.a[tk.e-1].e)}
			} else if len(p.n.a) > 0 {
				// Empty token range: the reference returns the normalized
				// range shifted by the piece's original start.
				base := int(p.n.a[0].s)
				bo = [2]int{base + int(tk.s), base + int(tk.e)}
			}
			var tokStr string
			if p.done {
				tokStr = string(p.n.r) // the matched text, as the reference's token value
			} else {
				tokStr, _ = t.model.idToToken(tk.id)
			}
			e.IDs = append(e.IDs, tk.id)
			e.TypeIDs = append(e.TypeIDs, 0)
			e.Tokens = append(e.Tokens, tokStr)
			e.ByteOffsets = append(e.ByteOffsets, bo)
			e.Offsets = append(e.Offsets, conv.convert(bo))
			e.WordIDs = append(e.WordIDs, w)
			e.SequenceIDs = append(e.SequenceIDs, 0)
			e.SpecialMask = append(e.SpecialMask, 0)
			e.AttentionMask = append(e.AttentionMask, 1)
		}
	}
	return e
}

// pretokenize returns the final pieces of text in order; added tokens are
// pieces with done set.
func (t *Tokenizer) pretokenize(text string, sc *scratch) []piece {
	whole := newNormStr(text, 0)
	var segs []piece
	if ms := t.rawMatch.find(whole.r, sc); ms != nil {
		for _, m := range ms {
			if m.e <= m.s {
				continue
			}
			p := piece{n: whole.slice(m.s, m.e)}
			if m.tok >= 0 {
				p.done = true
				p.toks = []mtoken{{t.rawMatch.toks[m.tok].ID, 0, int32(m.e - m.s)}}
			}
			segs = append(segs, p)
		}
	} else if whole.len() > 0 {
		segs = append(segs, piece{n: whole})
	}
	// Normalize the free segments, then look for normalized added tokens.
	var out []piece
	for _, p := range segs {
		if p.done {
			out = append(out, p)
			continue
		}
		if t.normalizer != nil {
			// p.n is a capacity-limited slice of the freshly decoded text
			// that nothing else references, so normalizing in place is safe.
			t.normalizer.normalize(&p.n)
		}
		if p.n.len() == 0 {
			continue
		}
		if ms := t.nrmMatch.find(p.n.r, sc); ms != nil {
			for _, m := range ms {
				if m.e <= m.s {
					continue
				}
				q := piece{n: p.n.slice(m.s, m.e)}
				if m.tok >= 0 {
					q.done = true
					q.toks = []mtoken{{t.nrmMatch.toks[m.tok].ID, 0, int32(m.e - m.s)}}
				}
				out = append(out, q)
			}
			continue
		}
		out = append(out, p)
	}
	if t.pre == nil {
		return out
	}
	final := make([]piece, 0, len(out)*4)
	for _, p := range out {
		if p.done {
			final = append(final, p)
			continue
		}
		final = t.pre.split(final, p)
	}
	return final
}

func (t *Tokenizer) idToToken(id int32) (string, bool) {
	if i, ok := t.addedIDs[id]; ok {
		return t.added[i].Content, true
	}
	return t.model.idToToken(id)
}

// charConv turns byte offsets into code-point offsets the way the Python
// bindings do (BytesToCharOffsetConverter).
type charConv struct {
	ascii bool
	text  string
	idx   []int32 // byte -> char index
}

func newCharConv(text string) charConv {
	ascii := true
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	c := charConv{ascii: ascii, text: text}
	if !ascii {
		c.idx = make([]int32, len(text))
		k := int32(0)
		for i := 0; i < len(text); {
			_, w := utf8.DecodeRuneInString(text[i:])
			for j := 0; j < w; j++ {
				c.idx[i+j] = k
			}
			k++
			i += w
		}
	}
	return c
}

func (c charConv) convert(o [2]int) [2]int {
	if c.ascii {
		return o
	}
	n := len(c.idx)
	if o[0] < 0 || o[0] >= n {
		return o // the reference leaves such offsets in bytes
	}
	s := int(c.idx[o[0]])
	switch {
	case o[1] < n && o[1] >= 0:
		return [2]int{s, int(c.idx[o[1]])}
	case o[1] > 0 && o[1]-1 < n:
		return [2]int{s, int(c.idx[o[1]-1]) + 1}
	}
	return [2]int{s, s + 1}
}

// Encode tokenizes one text, adding the post-processor's special tokens when
// addSpecial is set.
func (t *Tokenizer) Encode(text string, addSpecial bool) (*Encoding, error) {
	sc := t.getScratch()
	defer t.pool.Put(sc)
	e := t.encodeSeq(text, sc)
	return t.postProcess(e, nil, addSpecial), nil
}

// Truncation is the strategy for pair truncation.
type Truncation int

const (
	// OnlySecond truncates the second sequence (the context when the
	// question comes first); what the QA pipeline uses for right padding.
	OnlySecond Truncation = iota
	// OnlyFirst truncates the first sequence (context first, left padding).
	OnlyFirst
)

// PairOptions controls EncodePair. The zero value means: add specials, no
// truncation, no padding.
type PairOptions struct {
	// MaxLength bounds each window including special tokens; 0 = no limit.
	MaxLength int
	// Stride is how many tokens consecutive windows of the truncated
	// sequence overlap.
	Stride int
	// Strategy picks the sequence to truncate.
	Strategy Truncation
	// TruncateLeft cuts from the left instead of the right.
	TruncateLeft bool
	// NoSpecialTokens skips the post-processor's special tokens.
	NoSpecialTokens bool
	// PadTo pads every window to this length (0 = no padding), on the
	// tokenizer's padding side.
	PadTo int
}

// ErrSequenceTooShort is returned when the non-truncated sequence plus the
// special tokens already fill MaxLength (the reference's
// "Sequence to truncate too short to respect the provided max_length").
var ErrSequenceTooShort = errors.New("tokenizer: sequence to truncate too short to respect the provided max_length")

// ErrStrideTooLarge is returned when Stride does not leave room for
// progress (the reference panics).
var ErrStrideTooLarge = errors.New("tokenizer: stride must be strictly less than the room left for the truncated sequence")

// EncodePair tokenizes a and b as a pair. With MaxLength set it returns the
// main window then the overflowing windows, as transformers does with
// return_overflowing_tokens. Offsets and word ids stay relative to each full
// sequence.
//
// An empty b encodes a alone, as transformers does (it tests text_pair for
// truthiness); truncating it then needs Strategy OnlyFirst.
func (t *Tokenizer) EncodePair(a, b string, opts PairOptions) ([]*Encoding, error) {
	if b == "" {
		return t.encodeSingleWindows(a, opts)
	}
	sc := t.getScratch()
	ea := t.encodeSeq(a, sc)
	eb := t.encodeSeq(b, sc)
	t.pool.Put(sc)
	for i := range eb.TypeIDs {
		eb.TypeIDs[i] = 1
		eb.SequenceIDs[i] = 1
	}
	addSpecial := !opts.NoSpecialTokens
	var wa, wb []*Encoding
	if opts.MaxLength > 0 {
		limit := opts.MaxLength
		if addSpecial {
			limit -= t.NumSpecialTokens(true)
		}
		total := ea.Len() + eb.Len()
		wa, wb = []*Encoding{ea}, []*Encoding{eb}
		if total > limit {
			toRemove := total - limit
			target := eb
			if opts.Strategy == OnlyFirst {
				target = ea
			}
			if target.Len() <= toRemove {
				return nil, fmt.Errorf("encode pair (%d+%d tokens, max_length %d): %w", ea.Len(), eb.Len(), opts.MaxLength, ErrSequenceTooShort)
			}
			keep := target.Len() - toRemove
			if opts.Stride >= keep {
				return nil, fmt.Errorf("encode pair (stride %d, room %d): %w", opts.Stride, keep, ErrStrideTooLarge)
			}
			ws := windows(target, keep, opts.Stride, opts.TruncateLeft)
			if opts.Strategy == OnlyFirst {
				wa = ws
			} else {
				wb = ws
			}
		}
	} else {
		wa, wb = []*Encoding{ea}, []*Encoding{eb}
	}
	// The reference's merge order: main with main, then each overflow of
	// the first with the pair (and its overflows), then the first with each
	// overflow of the pair.
	var out []*Encoding
	out = append(out, t.postProcess(wa[0], wb[0], addSpecial))
	for _, x := range wa[1:] {
		out = append(out, t.postProcess(x, wb[0], addSpecial))
		for _, y := range wb[1:] {
			out = append(out, t.postProcess(x, y, addSpecial))
		}
	}
	for _, y := range wb[1:] {
		out = append(out, t.postProcess(wa[0], y, addSpecial))
	}
	if opts.PadTo > 0 {
		for _, e := range out {
			t.pad(e, opts.PadTo)
		}
	}
	return out, nil
}

// encodeSingleWindows is EncodePair for a lone sequence.
func (t *Tokenizer) encodeSingleWindows(a string, opts PairOptions) ([]*Encoding, error) {
	sc := t.getScratch()
	ea := t.encodeSeq(a, sc)
	t.pool.Put(sc)
	addSpecial := !opts.NoSpecialTokens
	ws := []*Encoding{ea}
	if opts.MaxLength > 0 {
		limit := opts.MaxLength
		if addSpecial {
			limit -= t.NumSpecialTokens(false)
		}
		if ea.Len() > limit {
			if opts.Strategy != OnlyFirst {
				return nil, fmt.Errorf("encode (%d tokens, max_length %d): truncation only_second needs a second sequence", ea.Len(), opts.MaxLength)
			}
			if limit <= 0 {
				return nil, fmt.Errorf("encode (%d tokens, max_length %d): %w", ea.Len(), opts.MaxLength, ErrSequenceTooShort)
			}
			if opts.Stride >= limit {
				return nil, fmt.Errorf("encode (stride %d, room %d): %w", opts.Stride, limit, ErrStrideTooLarge)
			}
			ws = windows(ea, limit, opts.Stride, opts.TruncateLeft)
		}
	}
	out := make([]*Encoding, len(ws))
	for i, w := range ws {
		out[i] = t.postProcess(w, nil, addSpecial)
		if opts.PadTo > 0 {
			t.pad(out[i], opts.PadTo)
		}
	}
	return out, nil
}

// windows cuts e into windows of at most size tokens overlapping by stride,
// like Encoding::truncate: the first is the main window.
func windows(e *Encoding, size, stride int, left bool) []*Encoding {
	n := e.Len()
	step := size - stride
	var ranges [][2]int
	if !left {
		for start := 0; start < n; start += step {
			stop := min(start+size, n)
			ranges = append(ranges, [2]int{start, stop})
			if stop == n {
				break
			}
		}
	} else {
		for stop := n; stop > 0; stop -= step {
			start := max(stop-size, 0)
			ranges = append(ranges, [2]int{start, stop})
			if start == 0 {
				break
			}
		}
	}
	out := make([]*Encoding, len(ranges))
	for i, r := range ranges {
		w := &Encoding{}
		w.grow(r[1] - r[0])
		w.appendRange(e, r[0], r[1])
		w.overflow = i > 0
		out[i] = w
	}
	return out
}

// pad pads e to length n on the configured side.
func (t *Tokenizer) pad(e *Encoding, n int) {
	k := n - e.Len()
	if k <= 0 {
		return
	}
	id, tok := t.padToken()
	p := &Encoding{}
	p.grow(n)
	add := func() {
		for i := 0; i < k; i++ {
			p.appendSpecial(id, tok, 0)
			p.AttentionMask[len(p.AttentionMask)-1] = 0
		}
	}
	if t.config.PaddingSide == "left" {
		add()
		p.appendRange(e, 0, e.Len())
	} else {
		p.appendRange(e, 0, e.Len())
		add()
	}
	*e = *p
}

func (t *Tokenizer) padToken() (int32, string) {
	for _, name := range []string{"[PAD]", "<pad>", "<|pad|>", "<|endoftext|>"} {
		if id, ok := t.TokenToID(name); ok {
			return id, name
		}
	}
	return 0, ""
}
