package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"github.com/askqa/ask/kb"
)

// maxQueryTerms bounds the OR query a long question turns into.
const maxQueryTerms = 64

// stopwords are English function words left out of queries: they match
// most chunks, so BM25 gives them almost no weight, but ranking every chunk
// they match is most of a search's time (a question's "the", "of", "what"
// match all of a 100k-chunk corpus).
var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an and are as at be been but by did do does for from had has have
		how i if in into is it its of on or that the their there these they this to was were what when
		where which who whom whose why will with`) {
		stopwords[w] = true
	}
}

// ftsQuery turns free text into an FTS5 query matching any of its words (a
// question rarely has all its words in the answer): each word a quoted
// string, each CJK run its overlapping character pairs as phrases. English
// stopwords are dropped unless nothing else is left. It returns "" when the
// text has no word.
func ftsQuery(text string) string {
	var terms, stops []string
	seen := map[string]bool{}
	add := func(t string) {
		if t == "" || seen[t] || len(terms) >= maxQueryTerms {
			return
		}
		seen[t] = true
		q := `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
		if stopwords[t] {
			stops = append(stops, q)
			return
		}
		terms = append(terms, q)
	}
	var word []rune
	var cjk []rune
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
	if len(terms) == 0 {
		terms = stops
	}
	return strings.Join(terms, " OR ")
}

// Search implements kb.Store. The lexical and the vector search read one
// snapshot of the database; the in-memory vector index is brought to that
// snapshot's generation first.
func (s *Store) Search(ctx context.Context, collection string, q kb.Query) (kb.Results, error) {
	if q.K <= 0 {
		q.K = 10
	}
	if q.Text == "" && q.Vector == nil {
		return kb.Results{}, fmt.Errorf("%w: a search needs a text, a vector or both", kb.ErrInvalid)
	}
	var res kb.Results
	// A snapshot older than the shared index (another search refreshed it
	// past us) cannot use it: start again on a newer snapshot.
	for attempt := 0; ; attempt++ {
		retry := false
		err := s.read(ctx, func(c *sql.Conn) error {
			col, err := lookup(ctx, c, collection)
			if err != nil {
				return err
			}
			if q.Vector != nil && len(q.Vector) != col.dim {
				return fmt.Errorf("%w: query vector of length %d, collection %q holds vectors of length %d", kb.ErrInvalid, len(q.Vector), collection, col.dim)
			}
			res = kb.Results{}
			if q.Text != "" {
				if res.Lexical, err = s.lexical(ctx, c, col, q); err != nil {
					return fmt.Errorf("lexical search: %w", err)
				}
			}
			if q.Vector != nil {
				ids, scores, ok, err := s.vectorSearch(ctx, c, col, q)
				if err != nil {
					return fmt.Errorf("vector search: %w", err)
				}
				if !ok {
					retry = true
					return nil
				}
				if res.Vector, err = fetchHits(ctx, c, ids, scores); err != nil {
					return fmt.Errorf("vector search: %w", err)
				}
			}
			return nil
		})
		if err != nil {
			return kb.Results{}, fmt.Errorf("search %q: %w", collection, err)
		}
		if !retry {
			return res, nil
		}
		if attempt >= 100 {
			return kb.Results{}, fmt.Errorf("search %q: the collection changed under 100 tries in a row; try again", collection)
		}
	}
}

// filterSQL returns the WHERE conditions on documents d for f, and their
// arguments.
func filterSQL(f kb.Filter) (string, []any) {
	var cond strings.Builder
	var args []any
	if len(f.DocIDs) > 0 {
		cond.WriteString(" AND d.id IN (")
		for i, id := range f.DocIDs {
			if i > 0 {
				cond.WriteByte(',')
			}
			cond.WriteByte('?')
			args = append(args, id)
		}
		cond.WriteByte(')')
	}
	for k, v := range f.Metadata {
		cond.WriteString(" AND EXISTS (SELECT 1 FROM json_each(d.metadata) WHERE key = ? AND value = ?)")
		args = append(args, k, v)
	}
	return cond.String(), args
}

func (s *Store) lexical(ctx context.Context, c *sql.Conn, col collRow, q kb.Query) ([]kb.Hit, error) {
	match := ftsQuery(q.Text)
	if match == "" {
		return nil, nil
	}
	t := ftsTable(col.id)
	cond, fargs := filterSQL(q.Filter)
	var rows *sql.Rows
	var err error
	if cond == "" {
		// Rank in the FTS table alone and join only the top K: joining
		// every match before sorting is most of the time on large corpora.
		rows, err = c.QueryContext(ctx, `SELECT c.id, c.doc, c.seq, c.start, c.end, c.tokens, c.text, d.title, d.source, -top.rank
			FROM (SELECT rowid, rank FROM `+t+` WHERE `+t+` MATCH ? ORDER BY rank LIMIT ?) top
			JOIN chunks c ON c.id = top.rowid JOIN documents d ON d.collection = c.collection AND d.id = c.doc
			ORDER BY top.rank`, match, q.K)
	} else {
		args := append([]any{match, col.id}, fargs...)
		args = append(args, q.K)
		rows, err = c.QueryContext(ctx, `SELECT c.id, c.doc, c.seq, c.start, c.end, c.tokens, c.text, d.title, d.source, -bm25(`+t+`)
			FROM `+t+` f JOIN chunks c ON c.id = f.rowid JOIN documents d ON d.collection = c.collection AND d.id = c.doc
			WHERE `+t+` MATCH ? AND c.collection = ?`+cond+`
			ORDER BY bm25(`+t+`) LIMIT ?`, args...)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hits []kb.Hit
	for rows.Next() {
		var h kb.Hit
		if err := rows.Scan(&h.ID, &h.DocID, &h.Seq, &h.Start, &h.End, &h.Tokens, &h.Text, &h.Title, &h.Source, &h.Score); err != nil {
			return nil, err
		}
		hits = append(hits, h)
	}
	return hits, rows.Err()
}

// fetchHits reads the chunks of ids (found by the vector index) in order.
func fetchHits(ctx context.Context, c *sql.Conn, ids []int64, scores []float32) ([]kb.Hit, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var in strings.Builder
	args := make([]any, len(ids))
	for i, id := range ids {
		if i > 0 {
			in.WriteByte(',')
		}
		in.WriteByte('?')
		args[i] = id
	}
	rows, err := c.QueryContext(ctx, `SELECT c.id, c.doc, c.seq, c.start, c.end, c.tokens, c.text, d.title, d.source
		FROM chunks c JOIN documents d ON d.collection = c.collection AND d.id = c.doc WHERE c.id IN (`+in.String()+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID := make(map[int64]kb.Hit, len(ids))
	for rows.Next() {
		var h kb.Hit
		if err := rows.Scan(&h.ID, &h.DocID, &h.Seq, &h.Start, &h.End, &h.Tokens, &h.Text, &h.Title, &h.Source); err != nil {
			return nil, err
		}
		byID[h.ID] = h
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	hits := make([]kb.Hit, 0, len(ids))
	for i, id := range ids {
		h, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("chunk %d of the vector index is not in the database snapshot (an index out of step: report this)", id)
		}
		h.Score = float64(scores[i])
		hits = append(hits, h)
	}
	return hits, nil
}

// vectorSearch searches the collection's in-memory index at the snapshot's
// generation; ok is false when the index is already past the snapshot.
func (s *Store) vectorSearch(ctx context.Context, c *sql.Conn, col collRow, q kb.Query) (ids []int64, scores []float32, ok bool, err error) {
	s.mu.Lock()
	idx := s.indexes[col.id]
	if idx == nil {
		idx = newVectorIndex(col.dim)
		s.indexes[col.id] = idx
	}
	s.mu.Unlock()

	idx.mu.RLock()
	if idx.gen < col.gen {
		idx.mu.RUnlock()
		idx.mu.Lock()
		if idx.gen < col.gen {
			if err := idx.refresh(ctx, c, col); err != nil {
				idx.mu.Unlock()
				return nil, nil, false, err
			}
		}
		idx.mu.Unlock()
		idx.mu.RLock()
	}
	defer idx.mu.RUnlock()
	if idx.gen != col.gen {
		return nil, nil, false, nil
	}
	ids, scores = idx.search(q.Vector, q.K, q.Filter)
	return ids, scores, true, nil
}

// refresh brings the index to the generation of the snapshot c reads:
// documents deleted or rewritten since idx.gen leave it, rewritten and new
// ones enter it.
func (idx *vectorIndex) refresh(ctx context.Context, c *sql.Conn, col collRow) error {
	rows, err := c.QueryContext(ctx, "SELECT doc FROM deletions WHERE collection = ? AND gen > ?", col.id, idx.gen)
	if err != nil {
		return err
	}
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			rows.Close()
			return err
		}
		idx.removeDoc(doc)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = c.QueryContext(ctx, "SELECT id, metadata FROM documents WHERE collection = ? AND rev > ?", col.id, idx.gen)
	if err != nil {
		return err
	}
	for rows.Next() {
		var doc, meta string
		if err := rows.Scan(&doc, &meta); err != nil {
			rows.Close()
			return err
		}
		idx.removeDoc(doc)
		m := map[string]string{}
		if err := json.Unmarshal([]byte(meta), &m); err != nil {
			rows.Close()
			return fmt.Errorf("metadata of document %q: %w", doc, err)
		}
		idx.meta[doc] = m
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = c.QueryContext(ctx, `SELECT c.id, c.doc, c.vector FROM chunks c JOIN documents d ON d.collection = c.collection AND d.id = c.doc
		WHERE d.collection = ? AND d.rev > ? ORDER BY c.id`, col.id, idx.gen)
	if err != nil {
		return err
	}
	defer rows.Close()
	vec := make([]float32, idx.dim)
	for rows.Next() {
		var id int64
		var doc string
		var blob []byte
		if err := rows.Scan(&id, &doc, &blob); err != nil {
			return err
		}
		if len(blob) != 4*idx.dim {
			return fmt.Errorf("chunk %d: a vector of %d bytes in a collection of dimension %d (a damaged database)", id, len(blob), idx.dim)
		}
		decodeVector(vec, blob)
		idx.add(id, doc, vec)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	idx.gen = col.gen
	return nil
}
