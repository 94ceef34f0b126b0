package tokenizer

import (
	"unicode"
)

// AddedToken is a token matched in raw (or normalized) text before the model
// sees it, e.g. "[SEP]" or "<mask>".
type AddedToken struct {
	Content    string
	ID         int32
	Special    bool
	Normalized bool // match against normalized text instead of raw text
	LStrip     bool // swallow whitespace on the left
	RStrip     bool // swallow whitespace on the right
	SingleWord bool // only match when not inside a word
}

// addedMatcher finds added tokens with Aho-Corasick's leftmost-longest
// semantics (what the reference builds), via a byte trie: for typical
// vocabularies of a handful of specials this is as fast and far simpler.
type addedMatcher struct {
	trie  *byteTrie
	toks  []AddedToken // indexed by the trie's ids
	first [256]bool    // bytes that can start a match
}

func newAddedMatcher(toks []AddedToken, key func(AddedToken) string) *addedMatcher {
	m := &addedMatcher{trie: newByteTrie()}
	seen := map[string]bool{}
	for _, t := range toks {
		k := key(t)
		if k == "" || seen[k] {
			continue // the first token with a given content wins
		}
		seen[k] = true
		m.toks = append(m.toks, t)
		m.trie.insert(k, int32(len(m.toks)-1))
		m.first[k[0]] = true
	}
	if len(m.toks) == 0 {
		return nil
	}
	m.trie.freeze()
	return m
}

// addedSplit is a piece of a segment: [s,e) in runes, and the added token
// index or -1.
type addedSplit struct {
	s, e int
	tok  int
}

// find mirrors AddedVocabulary::find_matches on the runes of one segment.
func (m *addedMatcher) find(r []rune, sc *scratch) []addedSplit {
	if m == nil || len(r) == 0 {
		return nil
	}
	b := sc.encodeRunes(r)
	pos := sc.pos
	var raw []addedSplit // non-overlapping leftmost-longest matches, bytes
	for i := 0; i < len(b); {
		if !m.first[b[i]] {
			i++
			continue
		}
		node := int32(0)
		bestEnd, best := -1, int32(-1)
		for j := i; j < len(b); j++ {
			node = m.trie.child(node, b[j])
			if node < 0 {
				break
			}
			if id := m.trie.ids[node]; id >= 0 {
				bestEnd, best = j+1, id
			}
		}
		if bestEnd < 0 {
			i++
			continue
		}
		raw = append(raw, addedSplit{int(pos[i]), int(pos[bestEnd]), int(best)})
		i = bestEnd
	}
	if len(raw) == 0 {
		return nil
	}
	var out []addedSplit
	startOffset := 0
	for _, mt := range raw {
		t := m.toks[mt.tok]
		start, stop := mt.s, mt.e
		if t.SingleWord {
			startSpace := start == 0 || !isWordChar(r[start-1])
			stopSpace := stop == len(r) || !isWordChar(r[stop])
			if !startSpace || !stopSpace {
				continue
			}
		}
		if t.LStrip {
			ns := start
			for ns > 0 && unicode.IsSpace(r[ns-1]) {
				ns--
			}
			if ns < startOffset {
				ns = startOffset
			}
			start = ns
		}
		if t.RStrip {
			for stop < len(r) && unicode.IsSpace(r[stop]) {
				stop++
			}
		}
		if startOffset < start {
			out = append(out, addedSplit{startOffset, start, -1})
		}
		out = append(out, addedSplit{start, stop, mt.tok})
		startOffset = stop
	}
	if len(out) == 0 {
		return nil
	}
	if startOffset != len(r) {
		out = append(out, addedSplit{startOffset, len(r), -1})
	}
	return out
}
