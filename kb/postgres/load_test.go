package postgres_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/kb/postgres"
)

// BenchmarkReplicas runs a mixed load (1 put of a 5-chunk document per 4
// searches, each a text and a 384-dimensional vector query, K=10) from 8
// concurrent workers spread over 1 or 2 stores, each with its own
// connection pool, as 1 or 2 ask replicas would be, on one database
// holding 2,000 chunks to begin with. Each op is one call; ns/op is the
// inverse of the throughput. It reports p50 and p99 latency per kind,
// errors, and the most connections the database saw.
//
//	source .ci/postgres.sh
//	go test ./kb/postgres -run - -bench Replicas -benchtime 2000x
func BenchmarkReplicas(b *testing.B) {
	sents := benchSentences(b)
	for _, replicas := range []int{1, 2} {
		b.Run(fmt.Sprint("replicas=", replicas), func(b *testing.B) {
			u := schemaURL(b)
			ctx := context.Background()
			stores := make([]*postgres.Store, replicas)
			for i := range stores {
				s, err := postgres.Open(ctx, u)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				stores[i] = s
			}
			const dim, workers = 384, 8
			if err := stores[0].CreateCollection(ctx, kb.Collection{Name: "c", Embedder: "random", Dim: dim}); err != nil {
				b.Fatal(err)
			}
			var seq atomic.Int64
			newDoc := func(r *rand.Rand, chunks int) (kb.Document, []kb.Chunk) {
				var text strings.Builder
				var cs []kb.Chunk
				for c := range chunks {
					if c > 0 {
						text.WriteString("\n\n")
					}
					start := text.Len()
					for i := range 4 {
						if i > 0 {
							text.WriteByte(' ')
						}
						text.WriteString(sents[r.IntN(len(sents))])
					}
					cs = append(cs, kb.Chunk{Start: start, End: text.Len(), Vector: unitVector(r, dim)})
				}
				doc := kb.Document{ID: fmt.Sprint("doc", seq.Add(1)), Text: text.String()}
				for i := range cs {
					cs[i].Text = doc.Text[cs[i].Start:cs[i].End]
				}
				return doc, cs
			}
			r := rand.New(rand.NewPCG(1, 2))
			for range 100 {
				d, cs := newDoc(r, 20)
				if _, err := stores[0].PutDocument(ctx, "c", d, cs); err != nil {
					b.Fatal(err)
				}
			}
			queries := []string{"When did the Normans conquer England?", "What is the capital of the Roman Empire?", "Which team won the Super Bowl?", "How does photosynthesis work in plants?"}

			var (
				mu       sync.Mutex
				lat      = map[string][]time.Duration{}
				errs     int
				firstErr error
				maxConns int
			)
			// Count the database's connections while the load runs.
			done := make(chan struct{})
			var sampler sync.WaitGroup
			sampler.Add(1)
			go func() {
				defer sampler.Done()
				t := time.NewTicker(20 * time.Millisecond)
				defer t.Stop()
				for {
					var n int
					if err := stores[0].Pool().QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'").Scan(&n); err == nil {
						mu.Lock()
						maxConns = max(maxConns, n)
						mu.Unlock()
					}
					select {
					case <-done:
						return
					case <-t.C:
					}
				}
			}()
			ops := make(chan int)
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := stores[w%replicas]
					r := rand.New(rand.NewPCG(uint64(w), 7))
					for i := range ops {
						kind := "search"
						if i%5 == 0 {
							kind = "put"
						}
						t0 := time.Now()
						var err error
						if kind == "put" {
							d, cs := newDoc(r, 5)
							_, err = s.PutDocument(ctx, "c", d, cs)
						} else {
							_, err = s.Search(ctx, "c", kb.Query{Text: queries[i%len(queries)], Vector: unitVector(r, dim), K: 10})
						}
						took := time.Since(t0)
						mu.Lock()
						if err != nil {
							errs++
							if firstErr == nil {
								firstErr = err
							}
						} else {
							lat[kind] = append(lat[kind], took)
						}
						mu.Unlock()
					}
				}()
			}
			i := 0
			for b.Loop() {
				ops <- i
				i++
			}
			close(ops)
			wg.Wait()
			close(done)
			sampler.Wait()
			elapsed := b.Elapsed()
			for _, kind := range []string{"search", "put"} {
				l := lat[kind]
				if len(l) == 0 {
					continue
				}
				slices.Sort(l)
				p := func(q float64) float64 {
					return float64(l[int(math.Ceil(q*float64(len(l))))-1].Microseconds()) / 1000
				}
				b.ReportMetric(p(0.5), kind+"-p50-ms")
				b.ReportMetric(p(0.99), kind+"-p99-ms")
			}
			b.ReportMetric(float64(i)/elapsed.Seconds(), "ops/s")
			b.ReportMetric(float64(errs), "errors")
			b.ReportMetric(float64(maxConns), "db-conns")
			if errs > 0 {
				b.Errorf("%d of %d calls failed; the first: %v", errs, i, firstErr)
			}
		})
	}
}

func unitVector(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	var ss float64
	for i := range v {
		v[i] = float32(r.NormFloat64())
		ss += float64(v[i]) * float64(v[i])
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(ss))
	}
	return v
}
