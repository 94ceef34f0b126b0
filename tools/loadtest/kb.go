package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The kb mode (-mode kb) mixes ingest and questions over a collection, the
// traffic of a knowledge-base deployment: every -ingest-every'th request
// posts one new document to /v1/collections/C/documents, the others ask
// /v1/collections/C/ask. -url may list several replicas (comma-separated);
// requests go to them in turn, as a round-robin load balancer would. With
// -pg, the database's connections are sampled from pg_stat_activity while
// each level runs.

// request is one request of a run.
type request struct {
	kind string // "" (the single route), "ingest" or "ask"
	path string
	body []byte
}

// kbMix builds the requests of the kb mode.
type kbMix struct {
	collection  string
	ingestEvery int
	run         string // distinguishes this run's document ids
	docs        []string
	questions   []string
}

func (m *kbMix) request(i int) request {
	if m.ingestEvery > 0 && i%m.ingestEvery == 0 {
		n := i / m.ingestEvery
		body, _ := json.Marshal(map[string]any{"documents": []map[string]string{{
			"id":   fmt.Sprintf("load-%s-%d", m.run, n),
			"text": m.docs[n%len(m.docs)],
		}}})
		return request{kind: "ingest", path: "/v1/collections/" + m.collection + "/documents", body: body}
	}
	body, _ := json.Marshal(map[string]string{"question": m.questions[i%len(m.questions)]})
	return request{kind: "ask", path: "/v1/collections/" + m.collection + "/ask", body: body}
}

// newKBMix takes documents and questions from a SQuAD file (its contexts
// and questions) or, without one, makes synthetic ones.
func newKBMix(collection string, ingestEvery int, squad string) (*kbMix, error) {
	m := &kbMix{collection: collection, ingestEvery: ingestEvery, run: fmt.Sprintf("%x", rand.Uint32())}
	if squad != "" {
		data, err := os.ReadFile(squad)
		if err != nil {
			return nil, fmt.Errorf("-squad: %w", err)
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
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, fmt.Errorf("-squad %s: %w", squad, err)
		}
		for _, a := range f.Data {
			for _, p := range a.Paragraphs {
				if len(m.docs) < maxBodies {
					m.docs = append(m.docs, p.Context)
				}
				for _, qa := range p.QAs {
					if len(m.questions) < maxBodies {
						m.questions = append(m.questions, qa.Question)
					}
				}
			}
		}
		if len(m.docs) == 0 || len(m.questions) == 0 {
			return nil, fmt.Errorf("-squad %s holds no paragraphs with questions", squad)
		}
		return m, nil
	}
	r := rand.New(rand.NewPCG(1, 2))
	topics := []string{"marmots", "falcons", "glaciers", "volcanoes", "lighthouses", "orchards", "comets", "harbours"}
	for i := range 200 {
		var b strings.Builder
		topic := topics[i%len(topics)]
		for s := range 3 + r.IntN(8) {
			fmt.Fprintf(&b, "Sentence %d about %s number %d: ", s, topic, i)
			for range 8 + r.IntN(16) {
				fmt.Fprintf(&b, "word%d ", r.IntN(2000))
			}
			b.WriteString(". ")
		}
		m.docs = append(m.docs, b.String())
	}
	for _, t := range topics {
		m.questions = append(m.questions, "What is said about "+t+"?", "Which words describe "+t+" number 7?")
	}
	return m, nil
}

// pgSampler samples the connections of one database while a level runs.
type pgSampler struct {
	url string
}

// connStats are the samples' figures: connections to the database (every
// state) and those running a statement, mean and peak.
type connStats struct {
	Samples    int     `json:"samples"`
	MeanTotal  float64 `json:"mean_connections"`
	PeakTotal  int     `json:"peak_connections"`
	MeanActive float64 `json:"mean_active"`
	PeakActive int     `json:"peak_active"`
}

// sample polls pg_stat_activity every interval until ctx ends, then
// returns the figures. The caller owns the goroutine it runs in.
func (p *pgSampler) sample(ctx context.Context, interval time.Duration) (connStats, error) {
	var st connStats
	// The replicas' URL may hold pool settings and ask's own
	// hnsw_ef_search, which a single connection must not send.
	var keep []string
	base, query, _ := strings.Cut(p.url, "?")
	for _, kv := range strings.Split(query, "&") {
		if k, _, _ := strings.Cut(kv, "="); kv != "" && k != "hnsw_ef_search" {
			keep = append(keep, kv)
		}
	}
	if len(keep) > 0 {
		base += "?" + strings.Join(keep, "&")
	}
	cfg, err := pgxpool.ParseConfig(base)
	if err != nil {
		return st, fmt.Errorf("-pg: %w", err)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	conn, err := pgx.ConnectConfig(cctx, cfg.ConnConfig)
	cancel()
	if err != nil {
		return st, fmt.Errorf("-pg: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var sumTotal, sumActive int
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		var total, active int
		qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err := conn.QueryRow(qctx, `SELECT count(*), count(*) FILTER (WHERE state = 'active')
			FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&total, &active)
		cancel()
		if err != nil {
			return st, fmt.Errorf("-pg: sample pg_stat_activity: %w", err)
		}
		st.Samples++
		sumTotal += total
		sumActive += active
		st.PeakTotal = max(st.PeakTotal, total)
		st.PeakActive = max(st.PeakActive, active)
		st.MeanTotal = float64(sumTotal) / float64(st.Samples)
		st.MeanActive = float64(sumActive) / float64(st.Samples)
		select {
		case <-ctx.Done():
			return st, nil
		case <-tick.C:
		}
	}
}

// startSampler runs p.sample in a goroutine until the returned stop is
// called; stop returns the figures (nil p: nothing).
func startSampler(ctx context.Context, p *pgSampler) (stop func() (*connStats, error)) {
	if p == nil {
		return func() (*connStats, error) { return nil, nil }
	}
	ctx, cancel := context.WithCancel(ctx)
	var (
		wg  sync.WaitGroup
		st  connStats
		err error
	)
	wg.Go(func() { st, err = p.sample(ctx, 100*time.Millisecond) })
	return func() (*connStats, error) {
		cancel()
		wg.Wait()
		return &st, err
	}
}
