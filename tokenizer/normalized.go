package tokenizer

import "unicode/utf8"

// span is a half-open range of byte offsets into the original input.
type span struct{ s, e int32 }

// normStr is a string under normalization. Every rune remembers the span of
// the original input it came from, which is how offsets survive lowercasing,
// accent stripping, byte-level mapping and so on.
//
// The reference (tokenizers/src/tokenizer/normalizer.rs) keeps one alignment
// per normalized byte, but every byte of a normalized char always carries the
// same alignment, so one per rune is equivalent and cheaper.
type normStr struct {
	r []rune
	a []span
}

// rc is one output rune of a transformation and its change code, exactly as
// NormalizedString::transform takes them: 0 replaces the next input rune, +1
// inserts (taking the alignment of the previous input rune), -n replaces the
// next input rune and then deletes n more.
type rc struct {
	r  rune
	ch int32
}

// newNormStr decodes s. An invalid byte becomes one U+FFFD that spans exactly
// that byte, so byte offsets still point into the caller's input.
func newNormStr(s string, base int) normStr {
	n := normStr{r: make([]rune, 0, len(s)), a: make([]span, 0, len(s))}
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		n.r = append(n.r, r)
		n.a = append(n.a, span{int32(base + i), int32(base + i + w)})
		i += w
	}
	return n
}

func (n normStr) len() int { return len(n.r) }

func (n normStr) slice(i, j int) normStr { return normStr{r: n.r[i:j:j], a: n.a[i:j:j]} }

// transform replaces the whole string by dest, skipping `initial` input runes
// first, with the reference's alignment rules (see rc).
func (n *normStr) transform(dest []rc, initial int) {
	old := n.a
	nr := make([]rune, 0, len(dest))
	na := make([]span, 0, len(dest))
	idx := initial
	at := func(i int) span {
		if i < 0 || len(old) == 0 {
			return span{}
		}
		if i >= len(old) {
			return old[len(old)-1]
		}
		return old[i]
	}
	for _, d := range dest {
		var al span
		if d.ch > 0 {
			if idx >= 1 {
				al = at(idx - 1)
			}
		} else {
			al = at(idx)
			idx++
			if d.ch < 0 {
				idx += int(-d.ch)
			}
		}
		nr = append(nr, d.r)
		na = append(na, al)
	}
	n.r, n.a = nr, na
}

// filter deletes the runes for which keep is false; the survivors keep their
// own alignment.
func (n *normStr) filter(keep func(rune) bool) {
	w := 0
	nr := make([]rune, 0, len(n.r))
	na := make([]span, 0, len(n.r))
	for i, r := range n.r {
		if keep(r) {
			nr = append(nr, r)
			na = append(na, n.a[i])
			w++
		}
	}
	n.r, n.a = nr, na
}

// prepend inserts s before the first rune; every inserted rune takes the
// first rune's alignment (NormalizedString::prepend). No-op when empty.
func (n *normStr) prepend(s string) {
	if len(n.r) == 0 || s == "" {
		return
	}
	first := n.a[0]
	pr := []rune(s)
	nr := make([]rune, 0, len(n.r)+len(pr))
	na := make([]span, 0, len(n.r)+len(pr))
	for _, r := range pr {
		nr = append(nr, r)
		na = append(na, first)
	}
	nr = append(nr, n.r...)
	na = append(na, n.a...)
	n.r, n.a = nr, na
}

// match is one piece of a pattern's cover of a string: [s,e) in runes.
type match struct {
	s, e    int
	isMatch bool
}

// replaceMatches substitutes content for every matched range. Each inserted
// rune takes the alignment of the last rune of the range it replaces, which
// is what transform_range with initial_offset = removed chars produces.
func (n *normStr) replaceMatches(ms []match, content []rune) {
	nr := make([]rune, 0, len(n.r))
	na := make([]span, 0, len(n.a))
	for _, m := range ms {
		if !m.isMatch {
			nr = append(nr, n.r[m.s:m.e]...)
			na = append(na, n.a[m.s:m.e]...)
			continue
		}
		var al span
		if m.e > 0 {
			al = n.a[m.e-1]
		}
		for _, r := range content {
			nr = append(nr, r)
			na = append(na, al)
		}
	}
	n.r, n.a = nr, na
}

// coverByPred returns the reference's Pattern cover for a char predicate:
// every matching rune is its own match, runs of other runes are merged.
func coverByPred(r []rune, pred func(rune) bool, dst []match) []match {
	dst = dst[:0]
	if len(r) == 0 {
		return append(dst, match{0, 0, false})
	}
	last := 0
	for i, c := range r {
		if pred(c) {
			if last < i {
				dst = append(dst, match{last, i, false})
			}
			dst = append(dst, match{i, i + 1, true})
			last = i + 1
		}
	}
	if last < len(r) {
		dst = append(dst, match{last, len(r), false})
	}
	return dst
}

// splitBehavior says what happens to the delimiters found by a pattern.
type splitBehavior int

const (
	splitRemoved splitBehavior = iota
	splitIsolated
	splitMergedWithPrevious
	splitMergedWithNext
	splitContiguous
)

func parseBehavior(s string) (splitBehavior, bool) {
	switch s {
	case "Removed", "removed":
		return splitRemoved, true
	case "Isolated", "isolated":
		return splitIsolated, true
	case "MergedWithPrevious", "merged_with_previous":
		return splitMergedWithPrevious, true
	case "MergedWithNext", "merged_with_next":
		return splitMergedWithNext, true
	case "Contiguous", "contiguous":
		return splitContiguous, true
	}
	return 0, false
}

// applyBehavior turns a pattern cover into the kept pieces (as rune ranges),
// mirroring NormalizedString::split. Empty pieces are dropped by the caller.
func applyBehavior(ms []match, b splitBehavior) []match {
	switch b {
	case splitIsolated:
		for i := range ms {
			ms[i].isMatch = false
		}
		return ms
	case splitRemoved:
		return ms // isMatch marks removal
	case splitContiguous:
		out := ms[:0:0]
		prev := false
		for _, m := range ms {
			if m.isMatch == prev && len(out) > 0 {
				out[len(out)-1].e = m.e
			} else {
				out = append(out, match{m.s, m.e, false})
			}
			prev = m.isMatch
		}
		return out
	case splitMergedWithPrevious:
		out := ms[:0:0]
		prev := false
		for _, m := range ms {
			if m.isMatch && !prev && len(out) > 0 {
				out[len(out)-1].e = m.e
			} else {
				out = append(out, match{m.s, m.e, false})
			}
			prev = m.isMatch
		}
		return out
	case splitMergedWithNext:
		out := ms[:0:0]
		prev := false
		for i := len(ms) - 1; i >= 0; i-- {
			m := ms[i]
			if m.isMatch && !prev && len(out) > 0 {
				out[len(out)-1].s = m.s
			} else {
				out = append(out, match{m.s, m.e, false})
			}
			prev = m.isMatch
		}
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		return out
	}
	return ms
}
