package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/askqa/ask/kb"
)

// maxQueryTerms bounds the OR query a long question turns into.
const maxQueryTerms = 64

// queryTerms splits free text into the terms a lexical search matches any
// of: each word, and each pair of adjacent characters of a CJK run written
// as a two-word phrase ("北 京"); a lone CJK character is a term of its
// own. The database turns each term into a tsquery with phraseto_tsquery,
// so no character of the user's text is tsquery syntax.
func queryTerms(text string) []string {
	var terms []string
	seen := map[string]bool{}
	add := func(t string) {
		if t != "" && !seen[t] && len(terms) < maxQueryTerms {
			seen[t] = true
			terms = append(terms, t)
		}
	}
	var word, cjk []rune
	flushWord := func() { add(strings.ToLower(string(word))); word = word[:0] }
	flushCJK := func() {
		if len(cjk) == 1 {
			add(string(cjk))
		}
		for i := 0; i+1 < len(cjk); i++ {
			add(string(cjk[i]) + " " + string(cjk[i+1]))
		}
		cjk = cjk[:0]
	}
	for _, r := range text {
		switch {
		case kb.IsCJK(r):
			flushWord()
			cjk = append(cjk, r)
		case unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Mn, r):
			flushCJK()
			word = append(word, r)
		default:
			flushWord()
			flushCJK()
		}
	}
	flushWord()
	flushCJK()
	return terms
}

// Search implements kb.Store. Both searches run in one REPEATABLE READ
// transaction, so they see one snapshot of the database.
func (s *Store) Search(ctx context.Context, collection string, q kb.Query) (kb.Results, error) {
	if q.K <= 0 {
		q.K = 10
	}
	if q.Text == "" && q.Vector == nil {
		return kb.Results{}, fmt.Errorf("%w: a search needs a text, a vector or both", kb.ErrInvalid)
	}
	var res kb.Results
	err := s.read(ctx, func(tx pgx.Tx) error {
		res = kb.Results{}
		col, err := lookup(ctx, tx, collection, false)
		if err != nil {
			return err
		}
		if q.Vector != nil && len(q.Vector) != col.dim {
			return fmt.Errorf("%w: query vector of length %d, collection %q holds vectors of length %d", kb.ErrInvalid, len(q.Vector), collection, col.dim)
		}
		if q.Text != "" {
			if res.Lexical, err = lexical(ctx, tx, col, q); err != nil {
				return fmt.Errorf("lexical search: %w", err)
			}
		}
		if q.Vector != nil {
			if res.Vector, err = vector(ctx, tx, col, q, s.efSearch); err != nil {
				return fmt.Errorf("vector search: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return kb.Results{}, fmt.Errorf("search %q: %w", collection, err)
	}
	return res, nil
}

// filterSQL returns the conditions on documents d for f, numbering its
// parameters from next, and their arguments.
func filterSQL(f kb.Filter, next int) (string, []any) {
	var cond strings.Builder
	var args []any
	if len(f.DocIDs) > 0 {
		fmt.Fprintf(&cond, " AND d.id = ANY($%d)", next)
		args = append(args, f.DocIDs)
		next++
	}
	if len(f.Metadata) > 0 {
		// One containment test for every key: the GIN index on metadata
		// answers it.
		fmt.Fprintf(&cond, " AND d.metadata @> $%d", next)
		args = append(args, f.Metadata)
	}
	return cond.String(), args
}

const hitColumns = "c.id, c.doc, c.seq, c.start_byte, c.end_byte, c.tokens, c.text, d.title, d.source"

func collectHits(rows pgx.Rows) ([]kb.Hit, error) {
	hits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (kb.Hit, error) {
		var h kb.Hit
		err := r.Scan(&h.ID, &h.DocID, &h.Seq, &h.Start, &h.End, &h.Tokens, &h.Text, &h.Title, &h.Source, &h.Score)
		return h, err
	})
	if len(hits) == 0 {
		hits = nil
	}
	return hits, err
}

func lexical(ctx context.Context, tx pgx.Tx, col collRow, q kb.Query) ([]kb.Hit, error) {
	terms := queryTerms(q.Text)
	if len(terms) == 0 {
		return nil, nil
	}
	cond, fargs := filterSQL(q.Filter, 4)
	// Each term becomes a tsquery (stemmed, stop words dropped: those give
	// an empty one); the text form of a tsquery quotes its lexemes, so
	// joining them with | is not injection. A chunk's score is the sum over
	// the terms it matches of idf(term) · ts_rank(chunk, term): ts_rank has
	// no document frequency of its own, and without it a chunk matching
	// only common words outranks one matching the rare word a question is
	// about. idf is BM25's, ln(1 + (N - df + 0.5) / (df + 0.5)), over the
	// collection's chunks (the df counts come from the GIN index).
	rows, err := tx.Query(ctx, `WITH terms AS MATERIALIZED (
			SELECT t.q FROM (SELECT phraseto_tsquery('english', w) AS q FROM unnest($1::text[]) w) t
			WHERE numnode(t.q) > 0),
		total AS (SELECT count(*)::float8 AS n FROM kb_chunks WHERE collection = $2),
		dfs AS MATERIALIZED (
			SELECT terms.q, (SELECT count(*) FROM kb_chunks c WHERE c.collection = $2 AND c.lexemes @@ terms.q)::float8 AS df FROM terms),
		-- MATERIALIZED: computed once, not once per candidate chunk.
		weights AS MATERIALIZED (
			SELECT dfs.q, ln(1 + (total.n - dfs.df + 0.5) / (dfs.df + 0.5)) AS idf FROM total, dfs),
		query AS (SELECT string_agg('(' || q::text || ')', ' | ')::tsquery AS q FROM terms)
		SELECT `+hitColumns+`,
			(SELECT sum(w.idf * ts_rank(c.lexemes, w.q, 1)) FROM weights w WHERE c.lexemes @@ w.q)::float8 AS score
		FROM kb_chunks c JOIN kb_documents d ON d.collection = c.collection AND d.id = c.doc
		WHERE c.collection = $2 AND c.lexemes @@ (SELECT q FROM query)`+cond+`
		ORDER BY score DESC, c.id LIMIT $3`, append([]any{terms, col.id, q.K}, fargs...)...)
	if err != nil {
		return nil, err
	}
	return collectHits(rows)
}

func vector(ctx context.Context, tx pgx.Tx, col collRow, q kb.Query, efSearch int) ([]kb.Hit, error) {
	if col.dim == 0 {
		return nil, fmt.Errorf("%w: collection has no vectors (it was created without an embedder): search it by text", kb.ErrInvalid)
	}
	// ef_search bounds the candidates HNSW collects (1000 at most); the
	// iterative scan goes on past them when filters or dead rows leave
	// fewer than K.
	ef := min(max(efSearch, q.K), 1000)
	if _, err := tx.Exec(ctx, "SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'strict_order', true)",
		strconv.Itoa(ef)); err != nil {
		return nil, err
	}
	// The expression must be the partial index's: the collection id and
	// the dimension are written into the statement (integers from the
	// database), so the planner can match WHERE collection = id to the
	// index's predicate in every plan.
	dist := fmt.Sprintf("(c.embedding::vector(%d) <#> $1::real[]::vector(%d))", col.dim, col.dim)
	cond, fargs := filterSQL(q.Filter, 3)
	rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT `+hitColumns+`, (-%s)::float8 AS score
		FROM kb_chunks c JOIN kb_documents d ON d.collection = c.collection AND d.id = c.doc
		WHERE c.collection = %d`+cond+`
		ORDER BY %s LIMIT $2`, dist, col.id, dist), append([]any{q.Vector, q.K}, fargs...)...)
	if err != nil {
		return nil, err
	}
	return collectHits(rows)
}
