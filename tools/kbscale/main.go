// Command kbscale builds knowledge bases of a chosen size from real text, to
// measure how ask's ask latency and memory grow with the number of chunks
// (bench/kb_scale.sh runs it; BENCHMARKS.md has the figures).
//
//	go run ./tools/kbscale -data /tmp/kbscale/10k -chunks 10000 \
//	    -articles ../shared/data/docs/squad-v1.1-dev-public-articles.jsonl \
//	    -squad ../shared/data/squad/dev-v1.1-public.json -questions /tmp/kbscale/q.jsonl
//
// Embedding 100,000 chunks with the built-in embedder takes hours on two
// cores, so the corpus is synthesised: each chunk is 4–7 real sentences of
// the SQuAD articles drawn at random (about the 192 tokens `ask add` cuts
// chunks to), and its vector is the normalised sum of its sentences'
// embeddings, which the built-in embedder computes once per distinct
// sentence. Such a vector lies where a chunk's own embedding would (mean
// pooling sums token vectors), but is not it: the corpus measures search
// and reading cost at a size, not retrieval quality. The store, its
// indexes and the collection are the real ones: `ask serve --data DIR`
// answers over it with the built-in models.
//
// -questions writes one /api/ask request body per SQuAD question of the
// articles, {"question": ..., "collection": ...}, for tools/loadtest -body.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/askqa/ask/builtin"
	"github.com/askqa/ask/embed"
	"github.com/askqa/ask/embed/sentence"
	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/kb/kbopen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kbscale:", err)
		os.Exit(1)
	}
}

// perDoc is how many chunks one synthetic document holds: documents are
// stored one transaction each, as `ask add` does.
const perDoc = 20

func run(ctx context.Context, args []string, log io.Writer) error {
	fs := flag.NewFlagSet("kbscale", flag.ContinueOnError)
	fs.SetOutput(log)
	data := fs.String("data", "", "data folder to create the knowledge base in (must not hold one yet)")
	collection := fs.String("collection", "scale", "collection name")
	n := fs.Int("chunks", 10000, "chunks to store")
	articles := fs.String("articles", "../shared/data/docs/squad-v1.1-dev-public-articles.jsonl", "JSON lines {\"title\",\"text\"}: the text the chunks are drawn from")
	cache := fs.String("vectors", "", "file caching the sentence embeddings between runs (default: sentences.vec beside -data)")
	squad := fs.String("squad", "", "SQuAD v1.1 JSON file whose questions -questions writes")
	questions := fs.String("questions", "", "write /api/ask bodies for -squad's questions of these articles here")
	seed := fs.Uint64("seed", 1, "random seed of the synthesis")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" || *n < 1 {
		return errors.New("-data DIR and -chunks N (at least 1) are required")
	}
	if _, err := os.Stat(filepath.Join(*data, "kb.db")); err == nil {
		return fmt.Errorf("%s already holds a knowledge base: remove it or pick another -data", *data)
	}
	titles, sents, err := readSentences(*articles)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "%d sentences from %d articles\n", len(sents), len(titles))
	if *questions != "" {
		if err := writeQuestions(*squad, *questions, *collection, titles); err != nil {
			return err
		}
	}
	if *cache == "" {
		*cache = filepath.Join(filepath.Dir(filepath.Clean(*data)), "sentences.vec")
	}
	vecs, toks, err := sentenceVectors(ctx, *cache, sents, log)
	if err != nil {
		return err
	}

	store, err := kbopen.Open(ctx, "", *data, true)
	if err != nil {
		return err
	}
	defer store.Close()
	dim := len(vecs[0])
	if err := store.CreateCollection(ctx, kb.Collection{Name: *collection, Embedder: builtin.EmbedderID, Dim: dim}); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(*seed, uint64(*n)))
	t0 := time.Now()
	for d := 0; d*perDoc < *n; d++ {
		var text strings.Builder
		var chunks []kb.Chunk
		for c := 0; c < perDoc && d*perDoc+c < *n; c++ {
			if c > 0 {
				text.WriteString("\n\n")
			}
			start := text.Len()
			v := make([]float32, dim)
			tokens := 0
			for i := range 4 + r.IntN(4) {
				s := r.IntN(len(sents))
				if i > 0 {
					text.WriteByte(' ')
				}
				text.WriteString(sents[s])
				for k, x := range vecs[s] {
					v[k] += x
				}
				tokens += toks[s]
			}
			embed.Normalize(v)
			chunks = append(chunks, kb.Chunk{Start: start, End: text.Len(), Tokens: tokens, Vector: v})
		}
		doc := kb.Document{ID: fmt.Sprintf("synthetic-%06d", d), Title: fmt.Sprintf("Synthetic document %d", d), Text: text.String()}
		for i := range chunks {
			chunks[i].Text = doc.Text[chunks[i].Start:chunks[i].End]
		}
		if _, err := store.PutDocument(ctx, *collection, doc, chunks); err != nil {
			return fmt.Errorf("store document %d: %w", d, err)
		}
		if d%500 == 499 {
			fmt.Fprintf(log, "%d chunks stored\n", (d+1)*perDoc)
		}
	}
	el := time.Since(t0)
	fmt.Fprintf(log, "%d chunks stored in %v (%.0f chunks/s without embedding)\n", *n, el.Round(time.Millisecond), float64(*n)/el.Seconds())
	return nil
}

// readSentences splits the articles into sentences at ". ", keeping those
// longer than 20 bytes.
func readSentences(path string) (titles map[string]bool, sents []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (the SQuAD articles: see ../shared/data/README.md, or pass -articles)", err)
	}
	defer f.Close()
	titles = map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var a struct{ Title, Text string }
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		titles[a.Title] = true
		for _, s := range strings.SplitAfter(strings.ReplaceAll(a.Text, "\n", " "), ". ") {
			if s = strings.TrimSpace(s); len(s) > 20 {
				sents = append(sents, s)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(sents) == 0 {
		return nil, nil, fmt.Errorf("%s: no sentences", path)
	}
	return titles, sents, nil
}

// sentenceVectors embeds every sentence with the built-in embedder, or reads
// the vectors a previous run cached for the same sentences.
func sentenceVectors(ctx context.Context, cache string, sents []string, log io.Writer) ([][]float32, []int, error) {
	if vecs, toks, err := readCache(cache, len(sents)); err == nil {
		fmt.Fprintf(log, "sentence vectors read from %s\n", cache)
		return vecs, toks, nil
	}
	m, err := sentence.LoadBuiltin(sentence.LoadOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("load the built-in embedder: %w", err)
	}
	defer m.Close()
	vecs := make([][]float32, len(sents))
	toks := make([]int, len(sents))
	t0 := time.Now()
	const batch = 64
	for i := 0; i < len(sents); i += batch {
		j := min(i+batch, len(sents))
		res, err := m.Embed(ctx, sents[i:j], embed.Options{Role: embed.RoleDocument})
		if err != nil {
			return nil, nil, fmt.Errorf("embed sentences %d-%d: %w", i, j, err)
		}
		for k, r := range res {
			vecs[i+k] = r.Vector
			toks[i+k] = r.Tokens - 2 // [CLS] and [SEP]
		}
		if i/batch%50 == 49 {
			fmt.Fprintf(log, "%d/%d sentences embedded\n", j, len(sents))
		}
	}
	el := time.Since(t0)
	fmt.Fprintf(log, "%d sentences embedded in %v (%.0f/s)\n", len(sents), el.Round(time.Millisecond), float64(len(sents))/el.Seconds())
	if err := writeCache(cache, vecs, toks); err != nil {
		return nil, nil, err
	}
	return vecs, toks, nil
}

// The cache is little-endian: count, dim, then per sentence its token count
// and its vector.
func readCache(path string, want int) ([][]float32, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var hdr [2]uint32
	if err := binary.Read(br, binary.LittleEndian, &hdr); err != nil {
		return nil, nil, err
	}
	if int(hdr[0]) != want || hdr[1] == 0 || hdr[1] > 4096 {
		return nil, nil, fmt.Errorf("%s: cached for other sentences", path)
	}
	vecs := make([][]float32, want)
	toks := make([]int, want)
	for i := range vecs {
		var t uint32
		if err := binary.Read(br, binary.LittleEndian, &t); err != nil {
			return nil, nil, err
		}
		toks[i] = int(t)
		vecs[i] = make([]float32, hdr[1])
		if err := binary.Read(br, binary.LittleEndian, vecs[i]); err != nil {
			return nil, nil, err
		}
	}
	return vecs, toks, nil
}

func writeCache(path string, vecs [][]float32, toks []int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if err := binary.Write(bw, binary.LittleEndian, [2]uint32{uint32(len(vecs)), uint32(len(vecs[0]))}); err != nil {
		f.Close()
		return err
	}
	for i, v := range vecs {
		if err := binary.Write(bw, binary.LittleEndian, uint32(toks[i])); err != nil {
			f.Close()
			return err
		}
		if err := binary.Write(bw, binary.LittleEndian, v); err != nil {
			f.Close()
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeQuestions writes an /api/ask body per question of the SQuAD file
// whose article is among titles.
func writeQuestions(squadPath, out, collection string, titles map[string]bool) error {
	if squadPath == "" {
		return errors.New("-questions needs -squad FILE")
	}
	raw, err := os.ReadFile(squadPath)
	if err != nil {
		return err
	}
	var sq struct {
		Data []struct {
			Title      string
			Paragraphs []struct {
				QAs []struct{ Question string } `json:"qas"`
			}
		}
	}
	if err := json.Unmarshal(raw, &sq); err != nil {
		return fmt.Errorf("%s: %w", squadPath, err)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	count := 0
	for _, a := range sq.Data {
		if !titles[a.Title] {
			continue
		}
		for _, p := range a.Paragraphs {
			for _, q := range p.QAs {
				if err := enc.Encode(map[string]string{"question": q.Question, "collection": collection}); err != nil {
					f.Close()
					return err
				}
				count++
			}
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if count == 0 {
		return fmt.Errorf("%s: no question of these articles", squadPath)
	}
	return nil
}
