package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/askqa/ask/embed"
	"github.com/askqa/ask/kb"
	"github.com/askqa/ask/retrieve"
)

// searchPassage is one passage of ask search --json.
type searchPassage struct {
	Rank       int             `json:"rank"`
	Collection string          `json:"collection"`
	DocID      string          `json:"doc_id"`
	Title      string          `json:"title"`
	Source     string          `json:"source"`
	Start      int             `json:"start"`
	End        int             `json:"end"`
	Text       string          `json:"text"`
	Score      float64         `json:"score"`
	Scores     retrieve.Scores `json:"scores"`
}

type searchOutput struct {
	Query    string          `json:"query"`
	Mode     retrieve.Mode   `json:"mode"`
	Passages []searchPassage `json:"passages"`
}

func runSearch(ctx context.Context, env Env, args []string) error {
	return searchCmd(ctx, env, args, nil)
}

// searchCmd is ask search; models nil loads the real ones.
func searchCmd(ctx context.Context, env Env, args []string, models *kbModels) error {
	fs := newFlags(env, "search", "[--collection C] [--mode hybrid|lexical|dense] [--top-k N] [--json] QUERY\n\n"+
		"Prints the passages of a collection that best match QUERY, with the score each retriever\n"+
		"gave them. Dense and hybrid search embed the query with the collection's model.\n"+
		"start and end are byte offsets into the document's extracted text.")
	kf := addKBFlags(fs)
	mode := fs.String("mode", string(retrieve.Hybrid), "hybrid (BM25 and dense fused by reciprocal rank), lexical (BM25) or dense")
	topK := fs.Int("top-k", 5, "passages to print")
	asJSON := fs.Bool("json", false, "print one JSON object {query, mode, passages}")
	var filters, docIDs listFlag
	fs.Var(&filters, "filter", "keep documents whose metadata has KEY=VALUE; repeat for several keys")
	fs.Var(&docIDs, "doc", "search only these document ids; repeat or separate with commas")
	threads := fs.Int("threads", 0, "threads of the embedder (0: one per CPU)")
	words, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	query := strings.TrimSpace(strings.Join(words, " "))
	if query == "" {
		fs.Usage()
		return errUsage
	}
	m, err := retrieve.ParseMode(*mode)
	if err != nil {
		return err
	}
	if *topK < 1 || *topK > 1000 {
		return fmt.Errorf("--top-k %d: want 1 to 1000", *topK)
	}
	f := kb.Filter{DocIDs: docIDs}
	for _, kv := range filters {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("--filter %q: want KEY=VALUE", kv)
		}
		if f.Metadata == nil {
			f.Metadata = map[string]string{}
		}
		f.Metadata[k] = v
	}
	store, err := openKB(ctx, env, *kf.data, *kf.db, false)
	if err != nil {
		return err
	}
	defer store.Close()
	col, err := store.Collection(ctx, *kf.collection)
	if err != nil {
		return err
	}
	if models == nil {
		mm := realModels(env, *threads)
		models = &mm
	}
	// Only a collection with vectors needs its model, and only for dense
	// or hybrid search.
	var emb embed.Embedder
	if m != retrieve.Lexical && col.Dim > 0 {
		e, _, closeModel, err := models.embedder(ctx, col.Embedder)
		if err != nil {
			return err
		}
		defer closeModel()
		emb = e
	} else if m == retrieve.Dense {
		return fmt.Errorf("collection %q has no vectors (it was added with --embed-model none): use --mode lexical", col.Name)
	}
	if m == retrieve.Hybrid && emb == nil {
		m = retrieve.Lexical
	}
	r, err := retrieve.New(m, store, emb)
	if err != nil {
		return err
	}
	ps, err := r.Retrieve(ctx, retrieve.Request{Collection: col.Name, Query: query, K: *topK, Filter: f})
	if err != nil {
		return err
	}
	out := searchOutput{Query: query, Mode: m, Passages: []searchPassage{}}
	for i, p := range ps {
		out.Passages = append(out.Passages, searchPassage{
			Rank: i + 1, Collection: p.Collection, DocID: p.DocID, Title: p.Title, Source: p.Source,
			Start: p.Start, End: p.End, Text: p.Text, Score: p.Score, Scores: p.Scores,
		})
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(ps) == 0 {
		fmt.Fprintf(env.Stdout, "no passage of %q matches\n", col.Name)
		return nil
	}
	for _, p := range out.Passages {
		title := p.Title
		if title == "" {
			title = p.DocID
		}
		fmt.Fprintf(env.Stdout, "%d. %s  [%s %d:%d]  score %.4g (%s)\n", p.Rank, title, p.DocID, p.Start, p.End, p.Score, scoreNote(m, p.Scores))
		fmt.Fprintf(env.Stdout, "   %s\n\n", indent(p.Text, "   "))
	}
	return nil
}

// scoreNote says where a passage ranked with each retriever.
func scoreNote(m retrieve.Mode, s retrieve.Scores) string {
	rank := func(r int) string {
		if r == 0 {
			return "-"
		}
		return fmt.Sprint("#", r)
	}
	switch m {
	case retrieve.Lexical:
		return "bm25"
	case retrieve.Dense:
		return "dense"
	}
	return fmt.Sprintf("rrf; bm25 %s %.3g, dense %s %.3g", rank(s.LexicalRank), s.Lexical, rank(s.DenseRank), s.Dense)
}

func indent(s, pre string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+pre)
}
