package sqlite

import (
	"container/heap"
	"runtime"
	"sync"

	"github.com/askqa/ask/kb"
)

// vectorIndex holds a collection's chunk vectors in one contiguous matrix
// for exact search: a scan of 200k 384-dimensional vectors is ~77M
// multiply-adds, tens of milliseconds, with no approximation to tune
// (BenchmarkVectorSearch measures it).
type vectorIndex struct {
	mu  sync.RWMutex
	gen int64 // the collection generation the index reflects
	dim int

	vecs []float32 // row i is vecs[i*dim:(i+1)*dim]
	ids  []int64   // chunk id of row i
	docs []string  // document of row i
	// rows lists each document's rows, so a document leaves in time
	// proportional to its chunks.
	rows map[string][]int32
	meta map[string]map[string]string
}

func newVectorIndex(dim int) *vectorIndex {
	return &vectorIndex{dim: dim, rows: map[string][]int32{}, meta: map[string]map[string]string{}}
}

func (x *vectorIndex) add(id int64, doc string, v []float32) {
	r := int32(len(x.ids))
	x.vecs = append(x.vecs, v...)
	x.ids = append(x.ids, id)
	x.docs = append(x.docs, doc)
	x.rows[doc] = append(x.rows[doc], r)
}

// removeDoc drops a document's rows, moving the last rows into the holes.
func (x *vectorIndex) removeDoc(doc string) {
	delete(x.meta, doc)
	rs := x.rows[doc]
	delete(x.rows, doc)
	// Remove from the highest row down so that a moved last row is never
	// one still to be removed.
	for len(rs) > 0 {
		hi := 0
		for i, r := range rs {
			if r > rs[hi] {
				hi = i
			}
		}
		r := rs[hi]
		rs[hi] = rs[len(rs)-1]
		rs = rs[:len(rs)-1]
		last := int32(len(x.ids) - 1)
		if r != last {
			ld := x.docs[last]
			copy(x.vecs[int(r)*x.dim:int(r+1)*x.dim], x.vecs[int(last)*x.dim:])
			x.ids[r], x.docs[r] = x.ids[last], ld
			for i, lr := range x.rows[ld] {
				if lr == last {
					x.rows[ld][i] = r
					break
				}
			}
		}
		x.vecs = x.vecs[:int(last)*x.dim]
		x.ids = x.ids[:last]
		x.docs = x.docs[:last]
	}
}

// parallelRows is the number of rows above which a search splits the scan
// across the CPUs: below it, starting goroutines costs more than it saves.
const parallelRows = 32 << 10

// search returns the k rows of highest dot product with q that pass f.
func (x *vectorIndex) search(q []float32, k int, f kb.Filter) ([]int64, []float32) {
	var rows []int32 // nil: every row
	pass := func(doc string) bool {
		m := x.meta[doc]
		for k, v := range f.Metadata {
			if got, ok := m[k]; !ok || got != v {
				return false
			}
		}
		return true
	}
	switch {
	case len(f.DocIDs) > 0:
		rows = []int32{}
		seen := map[string]bool{}
		for _, d := range f.DocIDs {
			if !seen[d] && pass(d) {
				seen[d] = true
				rows = append(rows, x.rows[d]...)
			}
		}
	case len(f.Metadata) > 0:
		rows = []int32{}
		for d, rs := range x.rows {
			if pass(d) {
				rows = append(rows, rs...)
			}
		}
	}
	n := len(x.ids)
	if rows != nil {
		n = len(rows)
	}
	parts := 1
	if n >= parallelRows {
		parts = max(1, min(runtime.GOMAXPROCS(0), n/(parallelRows/2)))
	}
	heaps := make([]topK, parts)
	scan := func(p int) {
		h := make(topK, 0, k)
		for i := p * n / parts; i < (p+1)*n/parts; i++ {
			r := int32(i)
			if rows != nil {
				r = rows[i]
			}
			s := dot(q, x.vecs[int(r)*x.dim:int(r+1)*x.dim])
			if len(h) < k {
				heap.Push(&h, scored{s, x.ids[r], r})
			} else if s > h[0].score || (s == h[0].score && x.ids[r] < h[0].id) {
				h[0] = scored{s, x.ids[r], r}
				heap.Fix(&h, 0)
			}
		}
		heaps[p] = h
	}
	if parts == 1 {
		scan(0)
	} else {
		var wg sync.WaitGroup
		for p := range parts {
			wg.Go(func() { scan(p) })
		}
		wg.Wait()
	}
	// Merge the parts' best into one top k.
	h := heaps[0]
	for _, o := range heaps[1:] {
		for _, c := range o {
			if len(h) < k {
				heap.Push(&h, c)
			} else if c.score > h[0].score || (c.score == h[0].score && c.id < h[0].id) {
				h[0] = c
				heap.Fix(&h, 0)
			}
		}
	}
	ids := make([]int64, len(h))
	scores := make([]float32, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		s := heap.Pop(&h).(scored)
		ids[i], scores[i] = s.id, s.score
	}
	return ids, scores
}

type scored struct {
	score float32
	id    int64
	row   int32
}

// topK is a min-heap on score; of equal scores the higher chunk id is the
// smaller, so results do not depend on row order: older chunks win ties.
type topK []scored

func (h topK) Len() int { return len(h) }
func (h topK) Less(i, j int) bool {
	if h[i].score != h[j].score {
		return h[i].score < h[j].score
	}
	return h[i].id > h[j].id
}
func (h topK) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *topK) Push(x any)   { *h = append(*h, x.(scored)) }
func (h *topK) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// dot is the float32 dot product with eight independent accumulators, which
// the compiler keeps in registers and the CPU runs in parallel.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
		s4 += a[i+4] * b[i+4]
		s5 += a[i+5] * b[i+5]
		s6 += a[i+6] * b[i+6]
		s7 += a[i+7] * b[i+7]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}
