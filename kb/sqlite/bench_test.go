package sqlite_test

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

	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/kb/sqlite"
	"golang.org/x/sys/cpu"
)

// benchSentences returns real sentences (the public SQuAD articles) to
// build large corpora from, or nil when the data is absent.
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

// BenchmarkStore builds a collection of n chunks (each 4 random real
// sentences, with random unit 384-dimensional vectors; 20 chunks per
// document) and times the searches; the build reports its rate. Sizes:
// ASK_KB_BENCH_CHUNKS (comma-separated, default 10000).
//
//	ASK_KB_BENCH_CHUNKS=10000,100000 go test ./kb/sqlite -run - -bench Store -benchtime 50x
func BenchmarkStore(b *testing.B) {
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
	for _, n := range sizes {
		ctx := context.Background()
		s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "kb.db"))
		if err != nil {
			b.Fatal(err)
		}
		if err := s.CreateCollection(ctx, kb.Collection{Name: "c", Embedder: "random", Dim: dim}); err != nil {
			b.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, uint64(n)))
		vec := func() []float32 {
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
		t0 := time.Now()
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
				chunks = append(chunks, kb.Chunk{Start: start, End: text.Len(), Vector: vec()})
			}
			doc := kb.Document{ID: fmt.Sprint("doc", d), Text: text.String()}
			for i := range chunks {
				chunks[i].Text = doc.Text[chunks[i].Start:chunks[i].End]
			}
			if _, err := s.PutDocument(ctx, "c", doc, chunks); err != nil {
				b.Fatal(err)
			}
		}
		build := time.Since(t0)
		b.Logf("%d chunks stored in %v (%.0f chunks/s, one transaction per %d-chunk document)", n, build.Round(time.Millisecond), float64(n)/build.Seconds(), perDoc)
		// Load the vector index outside the timings (the first vector
		// search of a process reads every vector).
		t0 = time.Now()
		if _, err := s.Search(ctx, "c", kb.Query{Vector: vec()}); err != nil {
			b.Fatal(err)
		}
		b.Logf("vector index of %d chunks loaded in %v", n, time.Since(t0).Round(time.Millisecond))
		queries := []string{"When did the Normans conquer England?", "What is the capital of the Roman Empire?", "Which team won the Super Bowl?", "How does photosynthesis work in plants?"}
		for _, mode := range []string{"lexical", "vector", "both"} {
			b.Run(fmt.Sprintf("%s/%d", mode, n), func(b *testing.B) {
				i := 0
				for b.Loop() {
					q := kb.Query{K: 50}
					if mode != "vector" {
						q.Text = queries[i%len(queries)]
					}
					if mode != "lexical" {
						q.Vector = vec()
					}
					i++
					if _, err := s.Search(ctx, "c", q); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		s.Close()
	}
}
