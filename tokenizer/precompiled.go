package tokenizer

import (
	"encoding/binary"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// precompiled is SentencePiece's compiled normalization rule set
// (normalizers/precompiled.rs over huggingface/spm_precompiled): a Darts
// double-array trie mapping byte strings to offsets of NUL-terminated
// replacements.
type precompiled struct {
	units      []uint32
	normalized []byte
}

func newPrecompiled(b []byte) (*precompiled, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("charsmap of %d bytes is too short", len(b))
	}
	size := binary.LittleEndian.Uint32(b)
	b = b[4:]
	if uint64(size) > uint64(len(b)) || size%4 != 0 {
		return nil, fmt.Errorf("charsmap trie size %d does not fit in %d bytes", size, len(b))
	}
	p := &precompiled{units: make([]uint32, size/4), normalized: b[size:]}
	for i := range p.units {
		p.units[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	if len(p.units) == 0 {
		return nil, fmt.Errorf("charsmap has an empty trie")
	}
	return p, nil
}

func unitHasLeaf(u uint32) bool  { return (u>>8)&1 == 1 }
func unitValue(u uint32) uint32  { return u & ((1 << 31) - 1) }
func unitLabel(u uint32) uint32  { return u & ((1 << 31) | 0xFF) }
func unitOffset(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }

// lookup returns the replacement of the first (shortest) prefix of key that
// the trie holds, as the reference does, and whether there was one.
func (p *precompiled) lookup(key []byte) ([]byte, bool) {
	pos := uint32(0)
	u := p.units[0]
	pos ^= unitOffset(u)
	for _, c := range key {
		if c == 0 {
			break
		}
		pos ^= uint32(c)
		if int(pos) >= len(p.units) {
			return nil, false
		}
		u = p.units[pos]
		if unitLabel(u) != uint32(c) {
			return nil, false
		}
		pos ^= unitOffset(u)
		if unitHasLeaf(u) {
			if int(pos) >= len(p.units) {
				return nil, false
			}
			idx := int(unitValue(p.units[pos]))
			if idx > len(p.normalized) {
				return nil, false
			}
			end := idx
			for end < len(p.normalized) && p.normalized[end] != 0 {
				end++
			}
			return p.normalized[idx:end], true
		}
	}
	return nil, false
}

// normalize walks extended grapheme clusters: a cluster under 6 bytes is
// looked up whole, otherwise (or on a miss) each char is looked up alone.
func (p *precompiled) normalize(n *normStr) {
	var out []rc
	modified := false
	var buf []byte
	for i := 0; i < len(n.r); {
		j := graphemeEnd(n.r, i)
		buf = buf[:0]
		for _, r := range n.r[i:j] {
			buf = utf8.AppendRune(buf, r)
		}
		if len(buf) < 6 {
			if rep, ok := p.lookup(buf); ok {
				modified = true
				out = replaceRC(out, j-i, rep)
				i = j
				continue
			}
		}
		for _, r := range n.r[i:j] {
			var tmp [utf8.UTFMax]byte
			w := utf8.EncodeRune(tmp[:], r)
			if rep, ok := p.lookup(tmp[:w]); ok {
				modified = true
				out = replaceRC(out, 1, rep)
			} else {
				out = append(out, rc{r, 0})
			}
		}
		i = j
	}
	if modified {
		n.transform(out, 0)
	}
}

// replaceRC is the reference's `replace` helper: the new chars replace the
// old ones one-for-one; extra new chars are insertions and missing ones are
// folded into the last change (possibly the previous grapheme's).
func replaceRC(out []rc, oldCount int, rep []byte) []rc {
	start := len(out)
	for len(rep) > 0 {
		r, w := utf8.DecodeRune(rep)
		rep = rep[w:]
		out = append(out, rc{r, 0})
	}
	diff := (len(out) - start) - oldCount
	switch {
	case diff > 0:
		for k := 0; k < diff && len(out)-1-k >= 0; k++ {
			out[len(out)-1-k].ch = 1
		}
	case diff < 0:
		if len(out) > 0 {
			out[len(out)-1].ch += int32(diff)
		}
	}
	return out
}

// Grapheme cluster boundaries (UAX #29), with the property tables derived
// from Go's unicode package: enough for the <6-byte clusters Precompiled
// looks up whole (combining sequences, Hangul syllables, CR LF).
type gcb uint8

const (
	gcbOther gcb = iota
	gcbCR
	gcbLF
	gcbControl
	gcbExtend
	gcbZWJ
	gcbRI
	gcbPrepend
	gcbSpacingMark
	gcbL
	gcbV
	gcbT
	gcbLV
	gcbLVT
	gcbExtPict
)

func gcbOf(r rune) gcb {
	switch {
	case r == '\r':
		return gcbCR
	case r == '\n':
		return gcbLF
	case r == 0x200D:
		return gcbZWJ
	case r < 0x20 || (r >= 0x7F && r < 0xA0):
		return gcbControl
	case r < 0x300:
		if r == 0xA9 || r == 0xAE {
			return gcbExtPict
		}
		if r == 0xAD {
			return gcbControl
		}
		return gcbOther
	case r >= 0x1100 && r <= 0x115F, r >= 0xA960 && r <= 0xA97C:
		return gcbL
	case r >= 0x1160 && r <= 0x11A7, r >= 0xD7B0 && r <= 0xD7C6:
		return gcbV
	case r >= 0x11A8 && r <= 0x11FF, r >= 0xD7CB && r <= 0xD7FB:
		return gcbT
	case r >= 0xAC00 && r <= 0xD7A3:
		if (r-0xAC00)%28 == 0 {
			return gcbLV
		}
		return gcbLVT
	case r >= 0x1F1E6 && r <= 0x1F1FF:
		return gcbRI
	case r >= 0x1F3FB && r <= 0x1F3FF, r == 0x200C:
		return gcbExtend
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Other_Grapheme_Extend):
		return gcbExtend
	case unicode.Is(unicode.Mc, r):
		return gcbSpacingMark
	case r == 0x0E33 || r == 0x0EB3:
		return gcbSpacingMark
	case unicode.In(r, unicode.Zl, unicode.Zp, unicode.Cc, unicode.Cf):
		return gcbControl
	case r >= 0x1F000 && r <= 0x1FAFF, r >= 0x2600 && r <= 0x27BF, r >= 0x2190 && r <= 0x21FF,
		r >= 0x2300 && r <= 0x23FF, r >= 0x2B00 && r <= 0x2BFF, r == 0x203C || r == 0x2049:
		return gcbExtPict
	}
	return gcbOther
}

// graphemeEnd returns the end (exclusive) of the cluster starting at i.
func graphemeEnd(r []rune, i int) int {
	if i >= len(r) {
		return i
	}
	prev := gcbOf(r[i])
	ri := 0
	if prev == gcbRI {
		ri = 1
	}
	pict := prev == gcbExtPict
	j := i + 1
	for ; j < len(r); j++ {
		cur := gcbOf(r[j])
		brk := true
		switch {
		case prev == gcbCR && cur == gcbLF:
			brk = false
		case prev == gcbControl || prev == gcbCR || prev == gcbLF:
			brk = true
		case cur == gcbControl || cur == gcbCR || cur == gcbLF:
			brk = true
		case prev == gcbL && (cur == gcbL || cur == gcbV || cur == gcbLV || cur == gcbLVT):
			brk = false
		case (prev == gcbLV || prev == gcbV) && (cur == gcbV || cur == gcbT):
			brk = false
		case (prev == gcbLVT || prev == gcbT) && cur == gcbT:
			brk = false
		case cur == gcbExtend || cur == gcbZWJ || cur == gcbSpacingMark:
			brk = false
		case prev == gcbPrepend:
			brk = false
		case prev == gcbZWJ && cur == gcbExtPict && pict:
			brk = false
		case prev == gcbRI && cur == gcbRI && ri%2 == 1:
			brk = false
		}
		if brk {
			break
		}
		if cur == gcbRI {
			ri++
		}
		if cur == gcbExtPict {
			pict = true
		} else if cur != gcbExtend && cur != gcbZWJ {
			pict = false
		}
		prev = cur
	}
	return j
}
