package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/askqa/ask/answer"
	"github.com/askqa/ask/config"
	"github.com/askqa/ask/embed"
	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/progress"
	"github.com/askqa/ask/qa/squad"
	"github.com/askqa/ask/reader"
	"github.com/askqa/ask/retrieve"
)

// collectionFlags are the flags of the commands that answer from a
// collection instead of a given text.
type collectionFlags struct {
	collection, data, db, mode *string
	passages                   *int
}

func addCollectionFlags(fs flagAdder) collectionFlags {
	return collectionFlags{
		collection: fs.String("collection", "", "answer from this collection of documents (see ask add) instead of a given text"),
		data:       fs.String("data", "", "data folder holding the knowledge base (default: $ASK_DATA, else $XDG_DATA_HOME/ask, else ~/.local/share/ask)"),
		db:         fs.String("db", "", dbUsage),
		mode:       fs.String("mode", "", "retrieval: hybrid (the default for collections with vectors), lexical or dense"),
		passages:   fs.Int("passages", 10, "retrieved passages the reader reads per question"),
	}
}

// flagAdder is the part of *flag.FlagSet that addCollectionFlags uses.
type flagAdder interface {
	String(name, value, usage string) *string
	Int(name string, value int, usage string) *int
}

// collectionAsker is what answering from a collection needs, loaded once.
type collectionAsker struct {
	store     kb.Store
	asker     *answer.Asker
	retriever retrieve.Retriever
	mode      string
	closers   []func() error
}

func (c *collectionAsker) Close() error {
	var errs []error
	for i := len(c.closers) - 1; i >= 0; i-- {
		errs = append(errs, c.closers[i]())
	}
	return errors.Join(errs...)
}

// openCollectionAsker opens the knowledge base, the collection's own
// embedding model (the one its vectors came from) and the QA model.
func openCollectionAsker(ctx context.Context, env Env, cf collectionFlags, modelRef string, threads int) (*collectionAsker, error) {
	store, err := openKB(ctx, env, *cf.data, *cf.db, false)
	if err != nil {
		return nil, err
	}
	c := &collectionAsker{store: store, closers: []func() error{store.Close}}
	coll, err := store.Collection(ctx, *cf.collection)
	if err != nil {
		c.Close()
		if errors.Is(err, kb.ErrNotFound) {
			return nil, fmt.Errorf("no collection %q: add documents to it first (ask add --collection %s PATH...)", *cf.collection, *cf.collection)
		}
		return nil, err
	}
	var emb embed.Embedder
	if coll.Dim > 0 && *cf.mode != string(retrieve.Lexical) {
		m, err := loadEmbedder(ctx, env, coll.Embedder, threads, slog.New(slog.DiscardHandler))
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("load %q, the embedding model of collection %q: %w", coll.Embedder, coll.Name, err)
		}
		emb = m
		c.closers = append(c.closers, m.Close)
	}
	mode := *cf.mode
	if mode == "" {
		mode = string(retrieve.Lexical)
		if emb != nil {
			mode = string(retrieve.Hybrid)
		}
	}
	m, err := retrieve.ParseMode(mode)
	if err != nil {
		c.Close()
		return nil, err
	}
	if m != retrieve.Lexical && coll.Dim == 0 {
		c.Close()
		return nil, fmt.Errorf("collection %q has no vectors (it was added with --embed-model none): use --mode lexical", coll.Name)
	}
	if c.retriever, err = retrieve.New(m, store, emb); err != nil {
		c.Close()
		return nil, err
	}
	c.mode = mode
	cfg := config.Default()
	cfg.Model = modelRef
	rd, closeReader, err := loadModelReader(ctx, env, cfg, loaderDeps{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("load the QA model: %w", err)
	}
	c.closers = append(c.closers, func() error { return closeReader(context.Background()) })
	c.asker = &answer.Asker{Retriever: c.retriever, Reader: rd, Store: store, Passages: *cf.passages}
	return c, nil
}

// answerCollection is ask answer --collection.
func answerCollection(ctx context.Context, env Env, cf collectionFlags, modelRef, question string, topK, maxAnswerLen, threads int, asJSON bool) error {
	c, err := openCollectionAsker(ctx, env, cf, modelRef, threads)
	if err != nil {
		return err
	}
	defer c.Close()
	resp, err := c.asker.Ask(ctx, answer.Request{Collection: *cf.collection, Question: question, TopK: topK,
		Params: reader.Params{MaxAnswerLen: maxAnswerLen}})
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(answer.APIResponse(resp, c.mode))
	}
	if resp.Warning != "" {
		fmt.Fprintf(env.Stderr, "warning: %s\n", resp.Warning)
	}
	if resp.NoAnswer {
		fmt.Fprintf(env.Stdout, "no answer: none of the %d passages read holds one the reader is confident of\n", len(resp.Passages))
		return nil
	}
	for i, a := range resp.Answers {
		ci := a.Citation
		fmt.Fprintf(env.Stdout, "%d. %q  score %.4f\n   %s (%s) chars %d–%d, passage %d of %d read", i+1, a.Text, a.Score,
			ci.DocID, ci.Title, ci.Start, ci.End, a.PassageRank, len(resp.Passages))
		if a.Support > 1 {
			fmt.Fprintf(env.Stdout, ", given by %d passages", a.Support)
		}
		fmt.Fprintf(env.Stdout, "\n   …%s…\n", snippet(ci.Passage, ci.AnswerStart, ci.AnswerEnd, 80))
	}
	return nil
}

// snippet is the passage around [start, end) (characters), the answer in
// brackets.
func snippet(passage string, start, end, around int) string {
	r := []rune(passage)
	a, b := max(start-around, 0), min(end+around, len(r))
	s := string(r[a:start]) + "[" + string(r[start:end]) + "]" + string(r[end:b])
	return strings.Join(strings.Fields(s), " ")
}

// evalCollection is ask eval --collection: open-domain SQuAD. The file's
// contexts are not given to the reader: each question is answered from the
// collection, and a question counts as retrieved at k when one of its gold
// answers appears in one of the first k passages.
func evalCollection(ctx context.Context, env Env, cf collectionFlags, modelRef string, data *squad.File, metric string, retrievalOnly bool, maxAnswerLen, threads, workers int, predOut string, asJSON bool, w io.Writer) error {
	c, err := openCollectionAsker(ctx, env, cf, modelRef, threads)
	if err != nil {
		return err
	}
	defer c.Close()
	type question struct {
		id, text string
		golds    []string
	}
	var qs []question
	for _, a := range data.Data {
		for _, p := range a.Paragraphs {
			for _, q := range p.QAs {
				var golds []string
				for _, g := range q.Answers {
					golds = append(golds, g.Text)
				}
				qs = append(qs, question{q.ID, q.Question, golds})
			}
		}
	}
	ks := []int{1, 5, 20}
	hits := make([]int, len(ks))
	preds := make(map[string]string, len(qs))
	var mu sync.Mutex
	prog := progress.New(env.Stderr).Start()
	start := time.Now()
	done := 0
	status := func() string {
		rate := float64(done) / max(time.Since(start).Seconds(), 1e-9)
		return fmt.Sprintf("eval: %d/%d questions, %.1f/s, ETA %s", done, len(qs), rate,
			(time.Duration(float64(len(qs)-done)/max(rate, 1e-9)) * time.Second).Round(time.Second))
	}
	// A few questions in flight at once, so the reader's batcher packs
	// the passages of several into each forward pass.
	sem := make(chan struct{}, max(workers, 1))
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	empty := 0
	for _, q := range qs {
		if ctx.Err() != nil {
			break
		}
		if strings.TrimSpace(q.text) == "" {
			// A dataset's empty question (CMRC 2018's trial set has two) is
			// a miss, not a reason to stop: there is nothing to search for.
			mu.Lock()
			empty++
			preds[q.id] = ""
			done++
			mu.Unlock()
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ps, err := c.retriever.Retrieve(ctx, retrieve.Request{Collection: *cf.collection, Query: q.text, K: ks[len(ks)-1]})
			if err != nil {
				select {
				case errc <- fmt.Errorf("question %s: %w", q.id, err):
				default:
				}
				return
			}
			first := 0 // rank of the first passage holding a gold answer; 0: none does
			for i, p := range ps {
				if containsAny(p.Text, q.golds) {
					first = i + 1
					break
				}
			}
			pred := ""
			if !retrievalOnly {
				resp, err := c.asker.Ask(ctx, answer.Request{Collection: *cf.collection, Question: q.text,
					Params: reader.Params{MaxAnswerLen: maxAnswerLen}})
				if err != nil {
					select {
					case errc <- fmt.Errorf("question %s: %w", q.id, err):
					default:
					}
					return
				}
				if len(resp.Answers) > 0 {
					pred = resp.Answers[0].Text
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for i, k := range ks {
				if first > 0 && first <= k {
					hits[i]++
				}
			}
			preds[q.id] = pred
			done++
			prog.Update(status)
		})
	}
	wg.Wait()
	prog.Finish(status())
	select {
	case err := <-errc:
		return err
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	elapsed := time.Since(start)
	recall := map[string]float64{}
	for i, k := range ks {
		recall[fmt.Sprintf("recall@%d", k)] = 100 * float64(hits[i]) / float64(max(len(qs), 1))
	}
	out := map[string]any{"collection": *cf.collection, "mode": c.mode, "passages_read": *cf.passages, "questions": len(qs),
		"retrieval": recall, "seconds": elapsed.Seconds()}
	if empty > 0 {
		out["empty_questions"] = empty
		fmt.Fprintf(env.Stderr, "ask eval: %d questions have no text; they count as misses\n", empty)
	}
	if !retrievalOnly {
		out["metric"], out["metrics"] = score(metric, "1.1", data, preds)
		if predOut != "" {
			b, _ := json.MarshalIndent(preds, "", "  ")
			if err := os.WriteFile(predOut, b, 0o644); err != nil {
				return fmt.Errorf("write predictions: %w", err)
			}
		}
	}
	if asJSON {
		return json.NewEncoder(w).Encode(out)
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	fmt.Fprintf(w, "open-domain SQuAD over collection %q (%s retrieval, %d questions):\n%s\n", *cf.collection, c.mode, len(qs), b)
	return nil
}

// containsAny reports whether text holds one of the gold answers verbatim,
// SQuAD's open-domain retrieval criterion.
func containsAny(text string, golds []string) bool {
	for _, g := range golds {
		if g != "" && strings.Contains(text, g) {
			return true
		}
	}
	return false
}
