package sqlite

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/askqa/ask/kb"
	"golang.org/x/sys/cpu"
)

func TestDot(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 8, 9, 384, 1023} {
		a, b := make([]float32, n), make([]float32, n)
		var want float64
		for i := range a {
			a[i], b[i] = r.Float32()*2-1, r.Float32()*2-1
			want += float64(a[i]) * float64(b[i])
		}
		if got := dot(a, b); math.Abs(float64(got)-want) > 1e-4 {
			t.Errorf("dot of %d: %v, want %v", n, got, want)
		}
	}
}

// TestIndexRemove checks the swap-removing index against a plain list
// under random adds and removals.
func TestIndexRemove(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const dim = 4
	x := newVectorIndex(dim)
	model := map[int64]string{} // chunk id → doc
	vec := func(id int64) []float32 { return []float32{float32(id), 1, 2, 3} }
	next := int64(1)
	for step := range 2000 {
		doc := fmt.Sprint("d", r.IntN(20))
		if r.IntN(3) == 0 {
			x.removeDoc(doc)
			for id, d := range model {
				if d == doc {
					delete(model, id)
				}
			}
			continue
		}
		for range r.IntN(4) + 1 {
			x.add(next, doc, vec(next))
			model[next] = doc
			next++
		}
		if step%100 != 0 {
			continue
		}
		if len(x.ids) != len(model) || len(x.vecs) != dim*len(model) {
			t.Fatalf("step %d: %d rows, want %d", step, len(x.ids), len(model))
		}
		for row, id := range x.ids {
			if model[id] != x.docs[row] || x.vecs[row*dim] != float32(id) || !slices.Contains(x.rows[x.docs[row]], int32(row)) {
				t.Fatalf("step %d: row %d (chunk %d) out of step", step, row, id)
			}
		}
	}
}

// BenchmarkVectorSearch times the exact top-10 search over n chunk vectors
// of 384 dimensions (all-MiniLM-L6-v2's width):
//
//	go test ./kb/sqlite -run - -bench VectorSearch -benchtime 20x
func BenchmarkVectorSearch(b *testing.B) {
	b.Logf("cpu: avx2=%v fma=%v avx512f=%v", cpu.X86.HasAVX2, cpu.X86.HasFMA, cpu.X86.HasAVX512F)
	const dim = 384
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{10_000, 100_000, 200_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			x := newVectorIndex(dim)
			x.vecs = make([]float32, 0, n*dim)
			v := make([]float32, dim)
			for i := range n {
				for j := range v {
					v[j] = r.Float32() - 0.5
				}
				x.add(int64(i+1), fmt.Sprint("d", i/20), v)
			}
			q := make([]float32, dim)
			for j := range q {
				q[j] = r.Float32() - 0.5
			}
			b.ResetTimer()
			for b.Loop() {
				x.search(q, 10, kb.Filter{})
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds()*float64(b.N)/1e6, "Mvec/s")
		})
	}
}

// TestIndexSearchExact compares the (parallel, for this many rows) search
// with a plain sort of every score, with and without filters.
func TestIndexSearchExact(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const dim, n = 8, parallelRows * 2
	x := newVectorIndex(dim)
	v := make([]float32, dim)
	for i := range n {
		for j := range v {
			// Few distinct values, so ties happen and their order is tested.
			v[j] = float32(r.IntN(5))
		}
		doc := fmt.Sprint("d", i%100)
		x.add(int64(i+1), doc, v)
		x.meta[doc] = map[string]string{"even": fmt.Sprint(i%2 == 0)}
	}
	q := []float32{1, -1, 0.5, 2, 0, 1, -0.5, 1}
	for _, f := range []kb.Filter{{}, {DocIDs: []string{"d3", "d7"}}, {Metadata: map[string]string{"even": "true"}}} {
		type cand struct {
			id    int64
			score float32
		}
		var all []cand
		for row, id := range x.ids {
			d := x.docs[row]
			if len(f.DocIDs) > 0 && !slices.Contains(f.DocIDs, d) {
				continue
			}
			if want := f.Metadata["even"]; want != "" && x.meta[d]["even"] != want {
				continue
			}
			all = append(all, cand{id, dot(q, x.vecs[row*dim:(row+1)*dim])})
		}
		slices.SortFunc(all, func(a, b cand) int {
			if a.score != b.score {
				if a.score > b.score {
					return -1
				}
				return 1
			}
			return int(a.id - b.id)
		})
		ids, scores := x.search(q, 25, f)
		if len(ids) != 25 {
			t.Fatalf("filter %+v: %d hits", f, len(ids))
		}
		for i := range ids {
			if ids[i] != all[i].id || scores[i] != all[i].score {
				t.Fatalf("filter %+v: hit %d is %d (%v), want %d (%v)", f, i, ids[i], scores[i], all[i].id, all[i].score)
			}
		}
	}
}
