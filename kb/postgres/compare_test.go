package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/cpu"

	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/kb/postgres"
	"github.com/askqa/ask/kb/sqlite"
)

type squadQuestion struct {
	question string
	para     int // index of its paragraph
}

// readSQuAD returns the SQuAD v1.1 dev paragraphs and questions, skipping
// when the data is absent.
func readSQuAD(t testing.TB) ([]string, []squadQuestion) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "data", "squad", "dev-v1.1-public.json"))
	if err != nil {
		t.Skipf("the SQuAD dev set is not here (%v): see ../shared/data/README.md", err)
	}
	var f struct {
		Data []struct {
			Paragraphs []struct {
				Context string `json:"context"`
				QAs     []struct {
					Question string `json:"question"`
				} `json:"qas"`
			} `json:"paragraphs"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	var paras []string
	var qs []squadQuestion
	for _, a := range f.Data {
		for _, p := range a.Paragraphs {
			for _, q := range p.QAs {
				qs = append(qs, squadQuestion{q.Question, len(paras)})
			}
			paras = append(paras, p.Context)
		}
	}
	return paras, qs
}

// TestSQuADRecall indexes the SQuAD v1.1 dev paragraphs (one chunk each)
// in both backends and compares lexical recall@5 (the question's own
// paragraph among the first 5 hits) on every 8th question: PostgreSQL's
// ts_rank against SQLite's BM25.
func TestSQuADRecall(t *testing.T) {
	u := schemaURL(t)
	paras, qs := readSQuAD(t)
	if testing.Short() {
		t.Skip("indexes 2,067 paragraphs in two stores: not in -short")
	}
	ctx := context.Background()
	pg, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	lite, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "kb.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	stores := []struct {
		name string
		s    kb.Store
	}{{"sqlite", lite}, {"postgres", pg}}
	for _, st := range stores {
		if err := st.s.CreateCollection(ctx, kb.Collection{Name: "squad"}); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		for i, p := range paras {
			doc := kb.Document{ID: strconv.Itoa(i), Text: p}
			if _, err := st.s.PutDocument(ctx, "squad", doc, []kb.Chunk{{Start: 0, End: len(p), Text: p}}); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s: %d paragraphs stored in %v", st.name, len(paras), time.Since(t0).Round(time.Millisecond))
	}
	took := map[string]time.Duration{}
	recall := map[string]float64{}
	// Every 8th question: a fair sample, in a quarter of the time.
	const step = 8
	n := 0
	for i := 0; i < len(qs); i += step {
		n++
		for _, st := range stores {
			t0 := time.Now()
			res, err := st.s.Search(ctx, "squad", kb.Query{Text: qs[i].question, K: 5})
			took[st.name] += time.Since(t0)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range res.Lexical {
				if h.DocID == strconv.Itoa(qs[i].para) {
					recall[st.name]++
					break
				}
			}
		}
	}
	for k := range recall {
		recall[k] /= float64(n)
	}
	t.Logf("lexical recall@5 on %d SQuAD v1.1 dev questions over %d paragraphs: sqlite (BM25) %.3f, postgres (idf · ts_rank) %.3f; mean search time sqlite %v, postgres %v",
		n, len(paras), recall["sqlite"], recall["postgres"], (took["sqlite"] / time.Duration(n)).Round(time.Microsecond), (took["postgres"] / time.Duration(n)).Round(time.Microsecond))
	if recall["postgres"] < recall["sqlite"]-0.02 {
		t.Errorf("postgres lexical recall@5 %.3f is more than 2 points below sqlite's %.3f", recall["postgres"], recall["sqlite"])
	}
}

// benchSentences returns real sentences (the public SQuAD articles) to
// build large corpora from.
func benchSentences(b *testing.B) []string {
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "data", "docs", "squad-v1.1-dev-public-articles.jsonl"))
	if err != nil {
		b.Skipf("the SQuAD articles are not here (%v): see ../shared/data/README.md", err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var a struct{ Text string }
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			b.Fatal(err)
		}
		for _, s := range strings.SplitAfter(strings.ReplaceAll(a.Text, "\n", " "), ". ") {
			if s = strings.TrimSpace(s); len(s) > 20 {
				out = append(out, s)
			}
		}
	}
	return out
}

// BenchmarkBackends builds the same synthetic collection in SQLite and in
// PostgreSQL (n chunks of 4 random real sentences with random unit
// 384-dimensional vectors, 20 chunks per document, one put per document)
// and times lexical, vector and combined searches (K=50) on each. It also
// reports the HNSW index's recall@10 against SQLite's exact scan on the
// same queries. Sizes: ASK_KB_BENCH_CHUNKS (comma-separated, default
// 10000).
//
//	source .ci/postgres.sh
//	go test ./kb/postgres -run - -bench Backends -benchtime 200x
func BenchmarkBackends(b *testing.B) {
	u := schemaURL(b)
	b.Logf("cpu: avx2=%v fma=%v avx512f=%v", cpu.X86.HasAVX2, cpu.X86.HasFMA, cpu.X86.HasAVX512F)
	sizes := []int{10_000}
	if v := os.Getenv("ASK_KB_BENCH_CHUNKS"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				b.Fatalf("ASK_KB_BENCH_CHUNKS: %v", err)
			}
			sizes = append(sizes, n)
		}
	}
	sents := benchSentences(b)
	const dim, perDoc = 384, 20
	ctx := context.Background()
	pg, err := postgres.Open(ctx, u)
	if err != nil {
		b.Fatal(err)
	}
	defer pg.Close()
	lite, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "kb.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer lite.Close()
	stores := []struct {
		name string
		s    kb.Store
	}{{"sqlite", lite}, {"postgres", pg}}
	for _, n := range sizes {
		coll := fmt.Sprint("c", n)
		r := rand.New(rand.NewPCG(1, uint64(n)))
		vec := func(r *rand.Rand) []float32 {
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
		type put struct {
			doc    kb.Document
			chunks []kb.Chunk
		}
		var puts []put
		for d := 0; d*perDoc < n; d++ {
			var text strings.Builder
			var chunks []kb.Chunk
			for c := 0; c < perDoc && d*perDoc+c < n; c++ {
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
				chunks = append(chunks, kb.Chunk{Start: start, End: text.Len(), Vector: vec(r)})
			}
			doc := kb.Document{ID: fmt.Sprint("doc", d), Text: text.String()}
			for i := range chunks {
				chunks[i].Text = doc.Text[chunks[i].Start:chunks[i].End]
			}
			puts = append(puts, put{doc, chunks})
		}
		for _, st := range stores {
			if err := st.s.CreateCollection(ctx, kb.Collection{Name: coll, Embedder: "random", Dim: dim}); err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			for _, p := range puts {
				if _, err := st.s.PutDocument(ctx, coll, p.doc, p.chunks); err != nil {
					b.Fatal(err)
				}
			}
			build := time.Since(t0)
			b.Logf("%s: %d chunks stored in %v (%.0f chunks/s, one transaction per %d-chunk document)",
				st.name, n, build.Round(time.Millisecond), float64(n)/build.Seconds(), perDoc)
			// The first vector search loads SQLite's in-memory index.
			if _, err := st.s.Search(ctx, coll, kb.Query{Vector: vec(r)}); err != nil {
				b.Fatal(err)
			}
		}

		// HNSW recall@10 against the exact scan, at pgvector's default
		// ef_search and higher (the hnsw_ef_search URL parameter).
		for _, ef := range []int{postgres.DefaultEfSearch, 100, 200, 400} {
			pgef, err := postgres.Open(ctx, withParam(b, u, "hnsw_ef_search", strconv.Itoa(ef)))
			if err != nil {
				b.Fatal(err)
			}
			hnswRecall(b, lite, pgef, coll, n, ef, vec)
			if ef == 200 {
				b.Run(fmt.Sprintf("postgres-ef200/vector/%d", n), func(b *testing.B) {
					qr := rand.New(rand.NewPCG(3, 0))
					for b.Loop() {
						if _, err := pgef.Search(ctx, coll, kb.Query{K: 50, Vector: vec(qr)}); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			pgef.Close()
		}

		queries := []string{"When did the Normans conquer England?", "What is the capital of the Roman Empire?", "Which team won the Super Bowl?", "How does photosynthesis work in plants?"}
		for _, st := range stores {
			for _, mode := range []string{"lexical", "vector", "both"} {
				b.Run(fmt.Sprintf("%s/%s/%d", st.name, mode, n), func(b *testing.B) {
					qr := rand.New(rand.NewPCG(3, 0))
					i := 0
					for b.Loop() {
						q := kb.Query{K: 50}
						if mode != "vector" {
							q.Text = queries[i%len(queries)]
						}
						if mode != "lexical" {
							q.Vector = vec(qr)
						}
						i++
						if _, err := st.s.Search(ctx, coll, q); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// hnswRecall logs the share of the exact top 10 (SQLite's scan) that the
// HNSW search of pg finds, over 100 random queries.
func hnswRecall(b *testing.B, lite, pg kb.Store, coll string, n, ef int, vec func(*rand.Rand) []float32) {
	ctx := context.Background()
	qr := rand.New(rand.NewPCG(2, uint64(n)))
	var found, total int
	for range 100 {
		q := kb.Query{Vector: vec(qr), K: 10}
		exact, err := lite.Search(ctx, coll, q)
		if err != nil {
			b.Fatal(err)
		}
		approx, err := pg.Search(ctx, coll, q)
		if err != nil {
			b.Fatal(err)
		}
		want := map[int64]bool{}
		for _, h := range exact.Vector {
			want[h.ID] = true
		}
		for _, h := range approx.Vector {
			// Chunk ids differ between the stores: compare texts.
			for _, e := range exact.Vector {
				if e.Text == h.Text && e.DocID == h.DocID {
					found++
					break
				}
			}
		}
		total += len(want)
	}
	b.Logf("postgres HNSW recall@10 vs the exact scan, ef_search %d, 100 random queries over %d random unit vectors: %.3f", ef, n, float64(found)/float64(total))
}
