package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/askqa/ask/answer"
	"github.com/askqa/ask/api"
	"github.com/askqa/ask/config"
	"github.com/askqa/ask/generate"
	"github.com/askqa/ask/qa"
	"github.com/askqa/ask/reader"
)

// openAIBaseURL is where a model name alone (with OPENAI_API_KEY) points.
const openAIBaseURL = "https://api.openai.com/v1"

// newGenerator returns the generator the LLM settings describe, or nil
// when none is configured. A model named without a base URL is OpenAI's,
// as for OpenAI's own clients.
func newGenerator(llm *config.LLM, log *slog.Logger) (generate.Generator, error) {
	if llm.BaseURL == "" && llm.Model == "" {
		return nil, nil
	}
	if err := llm.Validate(); err != nil {
		return nil, fmt.Errorf("generated answers: %w", err)
	}
	base := llm.BaseURL
	if base == "" {
		if llm.APIKey == "" {
			return nil, errors.New("generated answers: --llm-model is set but neither --llm-base-url (OPENAI_BASE_URL) nor OPENAI_API_KEY: " +
				"name the OpenAI-compatible endpoint, or set OPENAI_API_KEY to use OpenAI's")
		}
		base = openAIBaseURL
	}
	g, err := generate.NewOpenAI(generate.Options{BaseURL: base, Model: llm.Model, APIKey: llm.APIKey, Timeout: llm.Timeout, MaxTokens: llm.MaxTokens})
	if err != nil {
		return nil, err
	}
	if log != nil {
		log.Info("generated answers", "endpoint", base, "model", llm.Model, "key", llm.APIKey != "", "timeout", llm.Timeout, "max_tokens", llm.MaxTokens)
	}
	return g, nil
}

// generateFlags are ask answer's --generate and the LLM settings.
type generateFlags struct {
	on  *bool
	llm *config.LLM
}

func addGenerateFlags(fs *flag.FlagSet, env Env) (generateFlags, error) {
	on := fs.Bool("generate", false, "also write an answer with a language model from the passages, cited [n], streamed as it comes "+
		"(an OpenAI-compatible endpoint: --llm-base-url, --llm-model, OPENAI_API_KEY); the extractive answer is printed as evidence")
	llm, err := config.RegisterLLM(fs, env.Getenv)
	return generateFlags{on: on, llm: llm}, err
}

// generated runs the generation of req (unless why says it cannot),
// streaming its text to out (nil: nowhere), and returns the fields it adds
// to a response.
func generated(ctx context.Context, g generate.Generator, req generate.Request, collection string, out io.Writer) api.GenerationFields {
	f := api.GenerationFields{Sources: generate.APISources(req.Passages, generate.Shown(g, req), collection)}
	switch {
	case len(f.Sources) == 0:
		f.GenerationError = generate.NoPassages()
		return f
	case g == nil:
		f.GenerationError = generate.NotConfigured()
		f.GenerationError.Fix = "give --llm-base-url and --llm-model (or OPENAI_BASE_URL and ASK_LLM_MODEL), and OPENAI_API_KEY when the endpoint needs a key"
		return f
	}
	var onDelta generate.DeltaFunc
	wrote := false
	if out != nil {
		onDelta = func(d string) error { wrote = true; _, err := io.WriteString(out, d); return err }
	}
	res, err := g.Generate(ctx, req, onDelta)
	if err != nil {
		if wrote {
			fmt.Fprintln(out, " …") // the text streamed so far ends here
		}
		f.GenerationError = generate.APIError(err)
		return f
	}
	f.Generated, f.Generation = true, generate.APIGeneration(res, f.Sources)
	return f
}

// answerContextGenerated is ask answer --generate over a text: r is the
// extractive reader's result.
func answerContextGenerated(ctx context.Context, env Env, gf generateFlags, question, text string, r qa.Result, asJSON bool) error {
	g, err := newGenerator(gf.llm, nil)
	if err != nil {
		return err
	}
	resp := api.AnswerResponse{Answers: make([]api.Span, len(r.Answers)), Windows: r.Windows, ContextTokens: r.ContextTokens, Truncated: r.Truncated}
	focus := -1
	for i, a := range r.Answers {
		resp.Answers[i] = api.Span{Answer: a.Answer, Score: a.Score, Start: a.Start, End: a.End, ByteStart: a.ByteStart, ByteEnd: a.ByteEnd}
		if i == 0 && a.End > a.Start {
			focus = a.Start
		}
	}
	req := generate.Request{Question: question, Passages: generate.ContextPassages(g, question, text, focus)}
	var stream io.Writer
	if !asJSON {
		stream = env.Stdout
	}
	f := generated(ctx, g, req, "", stream)
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(api.GeneratedAnswer{AnswerResponse: resp, GenerationFields: f})
	}
	printGenerated(env, f)
	fmt.Fprintln(env.Stdout, "Extractive answer (evidence):")
	for i, a := range r.Answers {
		if a.Answer == "" && a.Start == 0 && a.End == 0 {
			fmt.Fprintf(env.Stdout, "  %d. (no answer)  score %.4f\n", i+1, a.Score)
			continue
		}
		fmt.Fprintf(env.Stdout, "  %d. %q  score %.4f  chars %d–%d\n", i+1, a.Answer, a.Score, a.Start, a.End)
	}
	return nil
}

// answerCollectionGenerated is ask answer --generate --collection.
func answerCollectionGenerated(ctx context.Context, env Env, cf collectionFlags, gf generateFlags, modelRef, question string, topK, maxAnswerLen, threads int, asJSON bool) error {
	g, err := newGenerator(gf.llm, nil)
	if err != nil {
		return err
	}
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
	ps, err := generate.CollectionPassages(ctx, c.store, *cf.collection, resp.Passages)
	if err != nil {
		return err
	}
	var stream io.Writer
	if !asJSON {
		stream = env.Stdout
	}
	f := generated(ctx, g, generate.Request{Question: question, Passages: ps}, *cf.collection, stream)
	out := answer.APIResponse(resp, c.mode)
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(api.GeneratedCollectionAsk{CollectionAskResponse: out, GenerationFields: f})
	}
	printGenerated(env, f)
	fmt.Fprintln(env.Stdout, "Extractive answer (evidence):")
	if resp.NoAnswer {
		fmt.Fprintf(env.Stdout, "  none: no passage of the %d read holds one the reader is confident of\n", len(resp.Passages))
		return nil
	}
	for i, a := range resp.Answers {
		ci := a.Citation
		fmt.Fprintf(env.Stdout, "  %d. %q  score %.4f  %s (%s) chars %d–%d\n", i+1, a.Text, a.Score, ci.DocID, ci.Title, ci.Start, ci.End)
	}
	return nil
}

// printGenerated ends the streamed text and prints what it cites, or why
// there is none.
func printGenerated(env Env, f api.GenerationFields) {
	if !f.Generated {
		e := f.GenerationError
		fmt.Fprintf(env.Stderr, "no generated answer (%s): %s\n", e.Kind, e.Message)
		if e.Fix != "" {
			fmt.Fprintf(env.Stderr, "  fix: %s\n", e.Fix)
		}
		if e.RetryAfterSeconds > 0 {
			fmt.Fprintf(env.Stderr, "  the endpoint asks to retry after %s\n", time.Duration(e.RetryAfterSeconds*float64(time.Second)))
		}
		return
	}
	g := f.Generation
	fmt.Fprintln(env.Stdout)
	if g.FinishReason == "length" {
		fmt.Fprintln(env.Stdout, "(cut at --llm-max-tokens)")
	}
	fmt.Fprintln(env.Stdout)
	cited := map[int]bool{}
	for _, c := range g.Citations {
		cited[c.Passage] = true
	}
	fmt.Fprintln(env.Stdout, "Sources:")
	for i, s := range f.Sources {
		mark := " "
		if cited[i] {
			mark = "*"
		}
		name := s.DocumentID
		if s.Title != "" && s.Title != s.DocumentID {
			name = strings.TrimSpace(s.DocumentID + " (" + s.Title + ")")
		}
		if name == "" {
			name = "context"
		}
		fmt.Fprintf(env.Stdout, " %s[%d] %s chars %d–%d\n", mark, s.N, name, s.Start, s.End)
	}
	if len(g.InvalidCitations) > 0 {
		fmt.Fprintf(env.Stdout, "warning: cites sources that do not exist: %v\n", g.InvalidCitations)
	}
	for _, s := range g.UncitedSentences {
		fmt.Fprintf(env.Stdout, "warning: cites nothing: %q\n", s)
	}
	fmt.Fprintf(env.Stderr, "generated by %s: first token after %.0f ms, %.0f ms in all, %d tokens\n",
		g.Model, g.TimeToFirstTokenMS, g.TotalMS, g.Usage.CompletionTokens)
}
