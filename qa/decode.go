package qa

import (
	"cmp"
	"container/heap"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// masked is the value transformers writes over logits outside the allowed
// set; not -inf, so fully masked windows still normalise.
const masked = -10000.0

// Decode turns a prepared request whose windows have logits into answers
// (QA_PIPELINE.md §3.2–3.3).
func (p *Pipeline) Decode(prep *Prepared) Result {
	par := prep.Req.Params
	k := par.TopK
	if par.AlignToWords {
		k = 2*par.TopK + 10
	}
	var answers []Answer
	var lowered []string // answers[i].Answer in Python's lower()
	nullScore := 1000000.0
	lower := cases.Lower(language.Und)
	runes := []rune(prep.Req.Context)
	var echo *echoes
	if par.SkipEchoes {
		echo = newEchoes(prep.Req.Question, runes)
	}
	for _, w := range prep.Windows {
		offset := 0
		if !p.questionFirst {
			// Python subtracts the number of pad ids in the window.
			for _, id := range w.Enc.IDs {
				if id == p.padID {
					offset++
				}
			}
		}
		var skip func(s, e int) bool
		if par.SkipEchoes {
			skip = func(s, e int) bool {
				start, end := p.charSpan(w, s-offset, e-offset, par.AlignToWords)
				return echo.holds(start, end)
			}
		}
		cands, null := p.selectSpans(w, k, par.MaxAnswerLen, skip)
		if par.HandleImpossibleAnswer {
			nullScore = math.Min(nullScore, null)
		}
		for _, c := range cands {
			s, e := c.s-offset, c.e-offset
			start, end := p.charSpan(w, s, e, par.AlignToWords)
			text := ""
			if start < end && start >= 0 && end <= len(runes) {
				text = string(runes[start:end])
			}
			merged := false
			lt := lower.String(text)
			for i := range answers {
				if lowered[i] == lt {
					answers[i].Score += float64(c.score)
					merged = true
					break
				}
			}
			if !merged {
				answers = append(answers, Answer{Answer: text, Score: float64(c.score), Start: start, End: end})
				lowered = append(lowered, lt)
			}
		}
	}
	if par.HandleImpossibleAnswer {
		answers = append(answers, Answer{Score: nullScore})
	}
	slices.SortStableFunc(answers, func(a, b Answer) int { return cmp.Compare(b.Score, a.Score) })
	if len(answers) > par.TopK {
		answers = answers[:par.TopK]
	}
	for i := range answers {
		answers[i].ByteStart = byteIndex(prep.Req.Context, answers[i].Start)
		answers[i].ByteEnd = byteIndex(prep.Req.Context, answers[i].End)
	}
	return Result{Answers: answers, Windows: len(prep.Windows), ContextTokens: prep.ctxTok}
}

// byteIndex converts a code-point index into a byte index of s.
func byteIndex(s string, cp int) int {
	if cp <= 0 {
		return 0
	}
	n := 0
	for i := range s {
		if n == cp {
			return i
		}
		n++
	}
	return len(s)
}

func (p *Pipeline) charSpan(w *Window, s, e int, align bool) (int, int) {
	enc := w.Enc
	if s < 0 || e < 0 || s >= enc.Len() || e >= enc.Len() {
		return 0, 0
	}
	if align {
		sw, ew := enc.TokenToWord(s), enc.TokenToWord(e)
		if sw >= 0 && ew >= 0 {
			seq := p.contextSeq()
			a, _, ok1 := enc.WordToChars(sw, seq)
			_, b, ok2 := enc.WordToChars(ew, seq)
			if ok1 && ok2 {
				return a, b
			}
		}
	}
	return enc.Offsets[s][0], enc.Offsets[e][1]
}

type span struct {
	s, e  int
	score float32
}

// selectSpans is select_starts_ends + decode_spans: masked softmax of both
// logit rows, then the k best (start, end) pairs with start ≤ end <
// start+maxLen, filtered to allowed tokens. It also returns the null score
// p_start[0]·p_end[0].
//
// A pair for which skip (if not nil) returns true scores zero, as if its
// cell of the score matrix were cleared before ranking (Params.SkipEchoes).
func (p *Pipeline) selectSpans(w *Window, k, maxLen int, skip func(s, e int) bool) ([]span, float64) {
	n := w.Len()
	enc := w.Enc
	allowed := make([]bool, n)
	ctxSeq := p.contextSeq()
	for i := 0; i < n; i++ {
		pm := p.questionFirst && enc.SequenceIDs[i] != ctxSeq
		if p.hasCLS && enc.IDs[i] == p.clsID {
			pm = false
		}
		allowed[i] = !pm && enc.AttentionMask[i] == 1
	}
	ps := softmaxMasked(w.Start, allowed)
	pe := softmaxMasked(w.End, allowed)
	null := float64(ps[0] * pe[0])
	ps[0], pe[0] = 0, 0

	// The k best strictly positive scores; zero scores only fill up.
	h := &spanHeap{}
	for s := 0; s < n; s++ {
		if ps[s] == 0 {
			continue
		}
		for e := s; e < min(n, s+maxLen); e++ {
			sc := ps[s] * pe[e]
			if sc <= 0 {
				continue
			}
			c := span{s, e, sc}
			// skip is tried only on pairs that would enter the top k,
			// which are few.
			if h.Len() < k {
				if skip == nil || !skip(s, e) {
					heap.Push(h, c)
				}
			} else if better(c, (*h)[0], n) && (skip == nil || !skip(s, e)) {
				(*h)[0] = c
				heap.Fix(h, 0)
			}
		}
	}
	best := slices.Clone(*h)
	slices.SortFunc(best, func(a, b span) int {
		if better(a, b, n) {
			return -1
		}
		return 1
	})
	// Python ranks the whole n×n grid, so zero-score pairs (even end <
	// start) fill the list in flat order when fewer than k are positive.
	if len(best) < k {
		taken := map[[2]int]bool{}
		for _, c := range best {
			taken[[2]int{c.s, c.e}] = true
		}
		for f := 0; f < n*n && len(best) < k; f++ {
			s, e := f/n, f%n
			inBand := e >= s && e < s+maxLen
			if taken[[2]int{s, e}] || (inBand && ps[s]*pe[e] > 0 && (skip == nil || !skip(s, e))) {
				continue
			}
			best = append(best, span{s, e, 0})
		}
	}
	// numpy's isin over undesired_tokens.nonzero() (a tuple whose first
	// array is all zeros) lets index 0 through.
	out := best[:0]
	for _, c := range best {
		if (c.s == 0 || allowed[c.s]) && (c.e == 0 || allowed[c.e]) {
			out = append(out, c)
		}
	}
	return out, null
}

// echoes tells which spans of a context the question already holds
// (Params.SkipEchoes): a span is an echo when its letters, marks and
// digits, lower-cased, with the spaces, punctuation and symbols between
// them dropped, appear in a row in the question's, treated the same way. A
// span with no letter or digit is not an echo.
//
// The context's key is built once per request, so that a span's key is a
// substring of it: the span search asks about many long spans.
type echoes struct {
	question string // echoKey of the question
	context  string // echoKey of the context
	// off[i] is the byte offset in context of the key of the context's
	// i-th code point onwards; len(off) is the context's length + 1.
	off []int
}

func newEchoes(question string, context []rune) *echoes {
	var b strings.Builder
	off := make([]int, len(context)+1)
	for i, r := range context {
		off[i] = b.Len()
		if keyRune(r) {
			b.WriteRune(keyLower(r))
		}
	}
	off[len(context)] = b.Len()
	return &echoes{question: echoKey(question), context: b.String(), off: off}
}

// holds reports whether the span of code points [start, end) of the
// context is an echo of the question.
func (x *echoes) holds(start, end int) bool {
	if start < 0 || start >= end || end >= len(x.off) {
		return false
	}
	a := x.context[x.off[start]:x.off[end]]
	return a != "" && strings.Contains(x.question, a)
}

// echoKey is s's letters, marks and digits, lower-cased (Unicode simple
// case mapping), in order.
func echoKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		if keyRune(r) {
			b.WriteRune(keyLower(r))
		}
	}
	return b.String()
}

// keyRune reports whether r is a letter, mark or digit, answering ASCII
// and the main block of Chinese characters (all letters) without the
// Unicode tables: the key of a long context is built per request.
func keyRune(r rune) bool {
	switch {
	case r < utf8.RuneSelf:
		return 'a' <= r|0x20 && r|0x20 <= 'z' || '0' <= r && r <= '9'
	case 0x4E00 <= r && r <= 0x9FFF: // CJK Unified Ideographs
		return true
	}
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r)
}

// keyLower is unicode.ToLower for a rune keyRune accepts.
func keyLower(r rune) rune {
	switch {
	case r < utf8.RuneSelf:
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	case 0x4E00 <= r && r <= 0x9FFF:
		return r
	}
	return unicode.ToLower(r)
}

// better orders spans by score, then by flat index s·n+e (numpy's argmax
// takes the first maximum).
func better(a, b span, n int) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.s*n+a.e < b.s*n+b.e
}

// softmaxMasked computes, in float32 like numpy, softmax of x with the
// disallowed entries replaced by -10000.
func softmaxMasked(x []float32, allowed []bool) []float32 {
	out := make([]float32, len(x))
	mx := float32(math.Inf(-1))
	for i, v := range x {
		if !allowed[i] {
			v = masked
		}
		out[i] = v
		mx = max(mx, v)
	}
	var sum float32
	for i, v := range out {
		e := float32(math.Exp(float64(v - mx)))
		out[i] = e
		sum += e
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// spanHeap is a min-heap under better, holding the current top k.
type spanHeap []span

func (h spanHeap) Len() int { return len(h) }
func (h spanHeap) Less(i, j int) bool {
	// n only breaks ties between equal scores; any consistent total order
	// works inside the heap because the final list is sorted with better.
	if h[i].score != h[j].score {
		return h[i].score < h[j].score
	}
	if h[i].s != h[j].s {
		return h[i].s > h[j].s
	}
	return h[i].e > h[j].e
}
func (h spanHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *spanHeap) Push(x any)   { *h = append(*h, x.(span)) }
func (h *spanHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
