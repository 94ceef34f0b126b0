package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/askqa/ask/qa/squad"
	"github.com/askqa/ask/reader"
	"github.com/askqa/ask/retrieve"
)

// TestRankDump writes what tools/kbrank/fit.py fits the answer ranker on:
// for each question of a SQuAD file, the 10 passages hybrid retrieval gives
// from a collection and the reader's 5 best spans in each, with the
// no-answer entry. Opt-in (it reads a whole evaluation set):
//
//	ASK_RANKDUMP=QUESTIONS.json ASK_RANKDUMP_OUT=OUT.jsonl ASK_RANKDUMP_DATA=DIR \
//	ASK_RANKDUMP_COLLECTION=kb go test ./cli -run RankDump -count=1 -timeout 2h
func TestRankDump(t *testing.T) {
	file := os.Getenv("ASK_RANKDUMP")
	if file == "" {
		t.Skip("set ASK_RANKDUMP to a SQuAD file (and ASK_RANKDUMP_OUT, ASK_RANKDUMP_DATA) to dump ranker features")
	}
	ctx := context.Background()
	env := Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	coll, data, mode, passages := cmp.Or(os.Getenv("ASK_RANKDUMP_COLLECTION"), "kb"), os.Getenv("ASK_RANKDUMP_DATA"), "hybrid", 10
	db := os.Getenv("ASK_DB")
	cf := collectionFlags{collection: &coll, data: &data, db: &db, mode: &mode, passages: &passages}
	c, err := openCollectionAsker(ctx, env, cf, "", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sf, err := squad.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(os.Getenv("ASK_RANKDUMP_OUT"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	var mu sync.Mutex
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, a := range sf.Data {
		for _, p := range a.Paragraphs {
			for _, q := range p.QAs {
				sem <- struct{}{}
				wg.Go(func() {
					defer func() { <-sem }()
					ps, err := c.retriever.Retrieve(ctx, retrieve.Request{Collection: coll, Query: q.Question, K: 10})
					if err != nil {
						t.Error(err)
						return
					}
					req := reader.Request{Params: reader.Params{TopK: 5, HandleImpossibleAnswer: true}}
					for _, p := range ps {
						req.Inputs = append(req.Inputs, reader.Input{Question: q.Question, Passage: p.Text})
					}
					rr, err := c.asker.Reader.Read(ctx, req)
					if err != nil {
						t.Error(err)
						return
					}
					var golds []string
					for _, g := range q.Answers {
						golds = append(golds, g.Text)
					}
					type pa struct {
						Rank               int
						Score              float64
						Doc                string
						HasGold            bool
						Answers            []reader.Answer
						Text               string
						LexRank, DenseRank int
						Lex, Dense         float64
					}
					rec := struct {
						ID, Q, Title string
						Golds        []string
						P            []pa
					}{ID: q.ID, Q: q.Question, Title: a.Title, Golds: golds}
					for i, p := range ps {
						has := false
						for _, g := range golds {
							if strings.Contains(p.Text, g) {
								has = true
							}
						}
						rec.P = append(rec.P, pa{i + 1, p.Score, p.DocID, has, rr.Results[i].Answers, p.Text, p.Scores.LexicalRank, p.Scores.DenseRank, p.Scores.Lexical, p.Scores.Dense})
					}
					b, _ := json.Marshal(rec)
					mu.Lock()
					if _, err := out.Write(append(b, '\n')); err != nil {
						t.Error(err)
					}
					mu.Unlock()
				})
			}
		}
	}
	wg.Wait()
}
