package tokenizer

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// model turns one pre-token (its normalized runes) into tokens. Token
// ranges are rune indices into r.
type model interface {
	tokenize(dst []mtoken, r []rune, scratch *scratch) []mtoken
	tokenToID(s string) (int32, bool)
	idToToken(id int32) (string, bool)
	vocabSize() int
}

// scratch holds per-call buffers so steady-state encoding does not allocate
// per token. One scratch belongs to one goroutine at a time (sync.Pool).
type scratch struct {
	buf   []byte
	pos   []int32 // byte offset -> rune index
	syms  []bpeSym
	queue mergeQueue
	best  []uniNode
	key   []byte
}

// byteTrie is a trie over bytes with an optional token id per node. It is
// built with a map of edges, then frozen into a compact sorted edge list per
// node (CSR), which is several times faster to walk than map lookups. The
// root's 256 edges are an array because every walk starts there.
type byteTrie struct {
	root  [256]int32
	edges map[uint64]int32 // build phase only
	ids   []int32

	// Frozen form: node n's children are eb/ec[first[n]:first[n+1]],
	// sorted by byte.
	first []int32
	eb    []byte
	ec    []int32
}

func newByteTrie() *byteTrie {
	t := &byteTrie{edges: make(map[uint64]int32), ids: []int32{-1}}
	for i := range t.root {
		t.root[i] = -1
	}
	return t
}

func (t *byteTrie) child(node int32, b byte) int32 {
	if node == 0 {
		return t.root[b]
	}
	if t.first == nil {
		if c, ok := t.edges[uint64(node)<<8|uint64(b)]; ok {
			return c
		}
		return -1
	}
	lo, hi := t.first[node], t.first[node+1]
	if hi-lo <= 8 {
		for i := lo; i < hi; i++ {
			if t.eb[i] == b {
				return t.ec[i]
			}
		}
		return -1
	}
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case t.eb[m] == b:
			return t.ec[m]
		case t.eb[m] < b:
			lo = m + 1
		default:
			hi = m
		}
	}
	return -1
}

func (t *byteTrie) insert(s string, id int32) {
	if t.first != nil {
		panic("tokenizer: insert into a frozen trie") // a programming error, never input-driven
	}
	node := int32(0)
	for i := 0; i < len(s); i++ {
		c := t.child(node, s[i])
		if c < 0 {
			c = int32(len(t.ids))
			t.ids = append(t.ids, -1)
			if node == 0 {
				t.root[s[i]] = c
			} else {
				t.edges[uint64(node)<<8|uint64(s[i])] = c
			}
		}
		node = c
	}
	t.ids[node] = id
}

// freeze converts the edge map into the sorted per-node edge lists.
func (t *byteTrie) freeze() *byteTrie {
	n := len(t.ids)
	count := make([]int32, n+1)
	for k := range t.edges {
		count[k>>8]++
	}
	t.first = make([]int32, n+1)
	for i := 0; i < n; i++ {
		t.first[i+1] = t.first[i] + count[i]
	}
	t.eb = make([]byte, len(t.edges))
	t.ec = make([]int32, len(t.edges))
	fill := append([]int32(nil), t.first[:n]...)
	for k, c := range t.edges {
		node := k >> 8
		i := fill[node]
		fill[node]++
		t.eb[i], t.ec[i] = byte(k), c
	}
	for node := 0; node < n; node++ {
		lo, hi := t.first[node], t.first[node+1]
		// Insertion sort: fan-out is small except near the root.
		for i := lo + 1; i < hi; i++ {
			for j := i; j > lo && t.eb[j] < t.eb[j-1]; j-- {
				t.eb[j], t.eb[j-1] = t.eb[j-1], t.eb[j]
				t.ec[j], t.ec[j-1] = t.ec[j-1], t.ec[j]
			}
		}
	}
	t.edges = nil
	return t
}

// encodeRunes writes r as UTF-8 into s.buf and records, for each byte, the
// index of the rune it belongs to.
func (s *scratch) encodeRunes(r []rune) []byte {
	s.buf = s.buf[:0]
	s.pos = s.pos[:0]
	var tmp [utf8.UTFMax]byte
	for i, c := range r {
		if c < utf8.RuneSelf {
			s.buf = append(s.buf, byte(c))
			s.pos = append(s.pos, int32(i))
			continue
		}
		w := utf8.EncodeRune(tmp[:], c)
		s.buf = append(s.buf, tmp[:w]...)
		for k := 0; k < w; k++ {
			s.pos = append(s.pos, int32(i))
		}
	}
	s.pos = append(s.pos, int32(len(r)))
	return s.buf
}

// ---------------------------------------------------------------- WordPiece

type wordPiece struct {
	vocab    map[string]int32
	rev      []string
	unk      string
	unkID    int32
	prefix   string
	maxChars int
	first    *byteTrie // whole vocabulary
	cont     *byteTrie // entries starting with prefix, prefix removed
}

func newWordPiece(vocab map[string]int32, unk, prefix string, maxChars int) (*wordPiece, error) {
	w := &wordPiece{vocab: vocab, unk: unk, prefix: prefix, maxChars: maxChars, first: newByteTrie(), cont: newByteTrie()}
	id, ok := vocab[unk]
	if !ok {
		return nil, fmt.Errorf("wordpiece: unk token %q is not in the vocabulary", unk)
	}
	w.unkID = id
	w.rev = reverseVocab(vocab)
	for s, id := range vocab {
		w.first.insert(s, id)
		if len(s) > len(prefix) && s[:len(prefix)] == prefix {
			w.cont.insert(s[len(prefix):], id)
		} else if prefix == "" {
			w.cont.insert(s, id)
		}
	}
	w.first.freeze()
	w.cont.freeze()
	return w, nil
}

func reverseVocab(vocab map[string]int32) []string {
	max := int32(-1)
	for _, id := range vocab {
		if id > max {
			max = id
		}
	}
	rev := make([]string, max+1)
	for s, id := range vocab {
		if id >= 0 {
			rev[id] = s
		}
	}
	return rev
}

func (w *wordPiece) tokenize(dst []mtoken, r []rune, sc *scratch) []mtoken {
	if len(r) > w.maxChars {
		return append(dst, mtoken{w.unkID, 0, int32(len(r))})
	}
	b := sc.encodeRunes(r)
	start0 := len(dst)
	for start := 0; start < len(b); {
		t := w.first
		if start > 0 {
			t = w.cont
		}
		// Greedy longest match = the reference's shrinking-end loop, since
		// every candidate end it tries is a char boundary and the longest
		// vocabulary hit wins. Only hits on char boundaries count.
		node := int32(0)
		bestEnd, bestID := -1, int32(-1)
		for i := start; i < len(b); i++ {
			node = t.child(node, b[i])
			if node < 0 {
				break
			}
			if id := t.ids[node]; id >= 0 && (i+1 == len(b) || utf8.RuneStart(b[i+1])) {
				bestEnd, bestID = i+1, id
			}
		}
		if bestEnd < 0 {
			return append(dst[:start0], mtoken{w.unkID, 0, int32(len(r))})
		}
		dst = append(dst, mtoken{bestID, sc.pos[start], sc.pos[bestEnd]})
		start = bestEnd
	}
	return dst
}

func (w *wordPiece) tokenToID(s string) (int32, bool) { id, ok := w.vocab[s]; return id, ok }
func (w *wordPiece) idToToken(id int32) (string, bool) {
	if id >= 0 && int(id) < len(w.rev) {
		return w.rev[id], true
	}
	return "", false
}
func (w *wordPiece) vocabSize() int { return len(w.vocab) }

// ---------------------------------------------------------------- BPE

type bpe struct {
	vocab        map[string]int32
	rev          []string
	merges       map[uint64]bpeMerge
	unk          string
	hasUnk       bool
	contPrefix   string
	endSuffix    string
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
	byteIDs      [256]int32 // <0xXX> ids for byte_fallback, -1 if absent

	// cache maps a word to its tokens; words repeat a lot and merging is
	// the expensive part. sync.Map suits the write-once, read-many use.
	cache  sync.Map
	cacheN atomic.Int64
}

type bpeMerge struct{ rank, newID int32 }

type bpeSym struct {
	id         int32
	prev, next int32
	s, e       int32 // rune range
	dead       bool
}

type mergeItem struct{ rank, pos, newID int32 }

// mergeQueue is a binary min-heap on (rank, pos): the lowest-ranked merge
// first, leftmost on ties, like the reference's BinaryHeap of Merge. Hand
// written to avoid container/heap's interface boxing per push.
type mergeQueue []mergeItem

func (a mergeItem) less(b mergeItem) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.pos < b.pos
}

func (q *mergeQueue) push(x mergeItem) {
	h := append(*q, x)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].less(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	*q = h
}

func (q *mergeQueue) pop() mergeItem {
	h := *q
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h[l].less(h[m]) {
			m = l
		}
		if r < n && h[r].less(h[m]) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// bpeCacheMax bounds the word cache (the reference keeps 10,000 words).
const bpeCacheMax = 100_000

func (m *bpe) tokenize(dst []mtoken, r []rune, sc *scratch) []mtoken {
	if len(r) == 0 {
		return dst
	}
	if len(r) > 64 {
		return m.tokenizeWord(dst, r, sc)
	}
	sc.key = sc.key[:0]
	for _, c := range r {
		sc.key = utf8.AppendRune(sc.key, c)
	}
	if v, ok := m.cache.Load(string(sc.key)); ok {
		return append(dst, v.([]mtoken)...)
	}
	start := len(dst)
	dst = m.tokenizeWord(dst, r, sc)
	if m.cacheN.Load() < bpeCacheMax {
		m.cacheN.Add(1)
		m.cache.Store(string(sc.key), append([]mtoken(nil), dst[start:]...))
	}
	return dst
}

func (m *bpe) tokenizeWord(dst []mtoken, r []rune, sc *scratch) []mtoken {
	if m.ignoreMerges {
		if id, ok := m.vocab[string(r)]; ok {
			return append(dst, mtoken{id, 0, int32(len(r))})
		}
	}
	syms := sc.syms[:0]
	add := func(id, s, e int32) {
		syms = append(syms, bpeSym{id: id, s: s, e: e})
	}
	unkID, unkS, unkE := int32(-1), int32(0), int32(0)
	var tmp [utf8.UTFMax + 32]byte
	for i, c := range r {
		key := tmp[:0]
		if i > 0 && m.contPrefix != "" {
			key = append(key, m.contPrefix...)
		}
		key = utf8.AppendRune(key, c)
		if i == len(r)-1 && m.endSuffix != "" {
			key = append(key, m.endSuffix...)
		}
		if id, ok := m.vocab[string(key)]; ok {
			if unkID >= 0 {
				add(unkID, unkS, unkE)
				unkID = -1
			}
			add(id, int32(i), int32(i+1))
			continue
		}
		if m.byteFallback {
			okAll := true
			for _, b := range key {
				if m.byteIDs[b] < 0 {
					okAll = false
					break
				}
			}
			if okAll {
				for _, b := range key {
					add(m.byteIDs[b], int32(i), int32(i+1))
				}
				continue
			}
		}
		if uid, ok := m.vocab[m.unk]; m.hasUnk && ok {
			switch {
			case unkID >= 0 && m.fuseUnk:
				unkE = int32(i + 1)
			case unkID >= 0:
				add(unkID, unkS, unkE)
				unkID, unkS, unkE = uid, int32(i), int32(i+1)
			default:
				unkID, unkS, unkE = uid, int32(i), int32(i+1)
			}
		}
	}
	if unkID >= 0 {
		add(unkID, unkS, unkE)
	}
	for i := range syms {
		syms[i].prev = int32(i - 1)
		syms[i].next = int32(i + 1)
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}
	q := sc.queue[:0]
	for i := 0; i+1 < len(syms); i++ {
		if mg, ok := m.merges[pairKey(syms[i].id, syms[i+1].id)]; ok {
			q.push(mergeItem{mg.rank, int32(i), mg.newID})
		}
	}
	for len(q) > 0 {
		top := q.pop()
		cur := &syms[top.pos]
		if cur.dead || cur.next < 0 {
			continue
		}
		right := syms[cur.next]
		if mg, ok := m.merges[pairKey(cur.id, right.id)]; !ok || mg.newID != top.newID {
			continue
		}
		cur.id = top.newID
		cur.e = right.e
		syms[cur.next].dead = true
		cur.next = right.next
		if right.next >= 0 {
			syms[right.next].prev = top.pos
		}
		if cur.prev >= 0 {
			if mg, ok := m.merges[pairKey(syms[cur.prev].id, cur.id)]; ok {
				q.push(mergeItem{mg.rank, cur.prev, mg.newID})
			}
		}
		if cur.next >= 0 {
			if mg, ok := m.merges[pairKey(cur.id, syms[cur.next].id)]; ok {
				q.push(mergeItem{mg.rank, top.pos, mg.newID})
			}
		}
	}
	for _, s := range syms {
		if !s.dead {
			dst = append(dst, mtoken{s.id, s.s, s.e})
		}
	}
	sc.syms, sc.queue = syms, q
	return dst
}

func (m *bpe) tokenToID(s string) (int32, bool) { id, ok := m.vocab[s]; return id, ok }
func (m *bpe) idToToken(id int32) (string, bool) {
	if id >= 0 && int(id) < len(m.rev) && m.rev[id] != "" {
		return m.rev[id], true
	}
	return "", false
}
func (m *bpe) vocabSize() int { return len(m.vocab) }

// ---------------------------------------------------------------- Unigram

type unigram struct {
	pieces       []string
	scores       []float64
	vocab        map[string]int32
	trie         *byteTrie
	unkID        int32 // -1 when absent
	minScore     float64
	byteFallback bool
	byteIDs      [256]int32
}

type uniNode struct {
	id    int32
	score float64
	start int32 // byte offset, -1 = unset
}

const unkPenalty = 10.0

func newUnigram(pieces []string, scores []float64, unkID int32, byteFallback bool) (*unigram, error) {
	if unkID >= int32(len(pieces)) {
		return nil, fmt.Errorf("unigram: unk_id %d is outside the vocabulary (%d pieces)", unkID, len(pieces))
	}
	u := &unigram{pieces: pieces, scores: scores, vocab: make(map[string]int32, len(pieces)), trie: newByteTrie(),
		unkID: unkID, minScore: math.Inf(1), byteFallback: byteFallback}
	for i, p := range pieces {
		u.vocab[p] = int32(i)
		if scores[i] < u.minScore {
			u.minScore = scores[i]
		}
	}
	// The reference maps a piece to the id of its last occurrence.
	for p, id := range u.vocab {
		u.trie.insert(p, id)
	}
	u.trie.freeze()
	for b := 0; b < 256; b++ {
		u.byteIDs[b] = -1
		if id, ok := u.vocab[fmt.Sprintf("<0x%02X>", b)]; ok {
			u.byteIDs[b] = id
		}
	}
	return u, nil
}

func (u *unigram) tokenize(dst []mtoken, r []rune, sc *scratch) []mtoken {
	if len(r) == 0 {
		return dst
	}
	b := sc.encodeRunes(r)
	n := len(b)
	if cap(sc.best) < n+1 {
		sc.best = make([]uniNode, n+1)
	}
	best := sc.best[:n+1]
	for i := range best {
		best[i] = uniNode{start: -1}
	}
	best[0].start = 0
	unkScore := u.minScore - unkPenalty
	for st := 0; st < n; {
		_, mb := utf8.DecodeRune(b[st:])
		base := best[st].score
		single := false
		node := int32(0)
		for i := st; i < n; i++ {
			node = u.trie.child(node, b[i])
			if node < 0 {
				break
			}
			id := u.trie.ids[node]
			if id < 0 {
				continue
			}
			end := i + 1
			cand := u.scores[id] + base
			t := &best[end]
			if t.start < 0 || cand > t.score {
				t.score, t.start, t.id = cand, int32(st), id
			}
			if end-st == mb {
				single = true
			}
		}
		if !single {
			t := &best[st+mb]
			cand := unkScore + base
			if t.start < 0 || cand > t.score {
				t.score, t.start, t.id = cand, int32(st), u.unkID
			}
		}
		st += mb
	}
	// Backtrack, fusing consecutive unknowns, then emit in order.
	start0 := len(dst)
	for end := n; end > 0; {
		nd := best[end]
		st := int(nd.start)
		if st < 0 || st >= end { // unreachable with a valid table; stay safe
			st = end - 1
		}
		if nd.id == u.unkID && u.unkID >= 0 {
			// Fuse with a preceding unk run.
			for st > 0 && best[st].id == u.unkID && best[st].start >= 0 {
				st = int(best[st].start)
			}
			dst = u.emit(dst, b[st:end], sc.pos[st], sc.pos[end], true)
		} else {
			dst = append(dst, mtoken{nd.id, sc.pos[st], sc.pos[end]})
		}
		end = st
	}
	// Reverse the tokens emitted above (they were produced back to front,
	// byte-fallback groups included, so reverse group order but keep each
	// group's byte order).
	reverseGroups(dst[start0:])
	return dst
}

// emit appends the token(s) for an unknown run: byte pieces when
// byte_fallback has them all, else the unk id. Byte pieces are appended in
// reverse because the caller reverses the whole output.
func (u *unigram) emit(dst []mtoken, s []byte, rs, re int32, unk bool) []mtoken {
	if u.byteFallback {
		if id, ok := u.vocab[string(s)]; ok {
			return append(dst, mtoken{id, rs, re})
		}
		all := true
		for _, c := range s {
			if u.byteIDs[c] < 0 {
				all = false
				break
			}
		}
		if all {
			for i := len(s) - 1; i >= 0; i-- {
				dst = append(dst, mtoken{u.byteIDs[s[i]], rs, re})
			}
			return dst
		}
	}
	if id, ok := u.vocab[string(s)]; ok {
		return append(dst, mtoken{id, rs, re})
	}
	if u.unkID < 0 {
		return dst // the reference errors (MissingUnkId); dropping is the no-panic choice
	}
	return append(dst, mtoken{u.unkID, rs, re})
}

func reverseGroups(t []mtoken) {
	for i, j := 0, len(t)-1; i < j; i, j = i+1, j-1 {
		t[i], t[j] = t[j], t[i]
	}
}

func (u *unigram) tokenToID(s string) (int32, bool) { id, ok := u.vocab[s]; return id, ok }
func (u *unigram) idToToken(id int32) (string, bool) {
	if id >= 0 && int(id) < len(u.pieces) {
		return u.pieces[id], true
	}
	return "", false
}
func (u *unigram) vocabSize() int { return len(u.pieces) }

// ---------------------------------------------------------------- WordLevel

type wordLevel struct {
	vocab map[string]int32
	rev   []string
	unkID int32
}

func (w *wordLevel) tokenize(dst []mtoken, r []rune, _ *scratch) []mtoken {
	if id, ok := w.vocab[string(r)]; ok {
		return append(dst, mtoken{id, 0, int32(len(r))})
	}
	if w.unkID >= 0 {
		return append(dst, mtoken{w.unkID, 0, int32(len(r))})
	}
	return dst
}
func (w *wordLevel) tokenToID(s string) (int32, bool) { id, ok := w.vocab[s]; return id, ok }
func (w *wordLevel) idToToken(id int32) (string, bool) {
	if id >= 0 && int(id) < len(w.rev) {
		return w.rev[id], true
	}
	return "", false
}
func (w *wordLevel) vocabSize() int { return len(w.vocab) }
