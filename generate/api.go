package generate

import (
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/askqa/ask/api"
)

// APISources lists the passages info says the prompt showed, in the API's
// shape: Sources[i] is passage [i+1], its text and end cut to what the
// model saw. collection is empty for a context.
func APISources(ps []Passage, info PromptInfo, collection string) []api.Source {
	out := make([]api.Source, 0, len(info.Passages))
	for i, shown := range info.Passages {
		if i >= len(ps) {
			break
		}
		p := ps[i]
		text := p.Text
		if shown.Chars < utf8.RuneCountInString(text) {
			text = prefixRunes(text, shown.Chars)
		}
		out = append(out, api.Source{N: i + 1, Title: p.Title, DocumentID: p.Source, Collection: collection,
			Text: text, Start: p.Start, End: p.Start + shown.Chars})
	}
	return out
}

func prefixRunes(s string, n int) string {
	b := 0
	for k := 0; k < n && b < len(s); k++ {
		_, size := utf8.DecodeRuneInString(s[b:])
		b += size
	}
	return s[:b]
}

// APIGeneration is res in the API's shape; sources are the response's
// Sources, which its citations index.
func APIGeneration(res *Result, sources []api.Source) *api.Generation {
	g := &api.Generation{
		Model: res.Model, Text: res.Answer,
		Citations: []api.GeneratedCitation{}, UncitedSentences: []string{}, InvalidCitations: []int{},
		Usage:              api.Usage(res.Usage),
		FinishReason:       res.FinishReason,
		TimeToFirstTokenMS: ms(res.FirstToken), TotalMS: ms(res.Elapsed),
	}
	for _, c := range res.Cited {
		if c.Passage < 0 || c.Passage >= len(sources) {
			g.InvalidCitations = append(g.InvalidCitations, c.Number)
			continue
		}
		s := sources[c.Passage]
		g.Citations = append(g.Citations, api.GeneratedCitation{N: c.Number, Passage: c.Passage,
			DocumentID: s.DocumentID, Title: s.Title, Start: s.Start, End: s.End})
	}
	for _, s := range res.Uncited {
		g.UncitedSentences = append(g.UncitedSentences, s.Text)
	}
	for _, c := range res.Missing {
		g.InvalidCitations = append(g.InvalidCitations, c.Number)
	}
	return g
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// APIError says in the API's shape why err left no generated answer.
func APIError(err error) *api.GenerationError {
	var e *Error
	if !errors.As(err, &e) {
		return &api.GenerationError{Kind: api.GenUpstreamError, Message: err.Error()}
	}
	out := &api.GenerationError{Kind: strings.TrimPrefix(e.Kind, "llm_"), Message: e.Message, Fix: e.Fix()}
	if e.RetryAfter > 0 {
		out.RetryAfterSeconds = e.RetryAfter.Seconds()
	}
	return out
}

// NotConfigured is the error of a generated answer asked of a server (or a
// command) with no language model configured.
func NotConfigured() *api.GenerationError {
	return &api.GenerationError{Kind: api.GenNotConfigured,
		Message: "no language model is configured, so only the extractive answer is given",
		Fix:     "start the server with --llm-base-url and --llm-model (or OPENAI_BASE_URL and ASK_LLM_MODEL), and OPENAI_API_KEY when the endpoint needs a key"}
}

// NoPassages is the error of a generated answer with nothing to answer
// from (a collection where nothing was retrieved).
func NoPassages() *api.GenerationError {
	return &api.GenerationError{Kind: api.GenNoPassages,
		Message: "nothing was retrieved to answer from, so nothing was generated",
		Fix:     "add documents that answer the question, or widen the filter"}
}
