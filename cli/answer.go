package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/askqa/ask/qa"
	"github.com/askqa/ask/reader/qamodel"
)

func runAnswer(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "answer", "[MODEL] --question Q (--context TEXT | --context-file F | --collection C) [flags]\n\n"+
		"Answers one question over a text, or from a collection of documents (ask add) with the\n"+
		"passage and document it came from. MODEL (or --model) is the QA model, built-in by default.")
	ref := fs.String("model", "", modelFlagHelp)
	question := fs.String("question", "", "the question")
	text := fs.String("context", "", "the text to answer from")
	file := fs.String("context-file", "", "read the text from this file")
	asJSON := fs.Bool("json", false, "print JSON")
	threads := fs.Int("threads", 0, "threads (0: one per CPU)")
	qf := addQAFlags(fs)
	cf := addCollectionFlags(fs)
	addQuantizeFlag(fs, &env)
	gf, err := addGenerateFlags(fs, env)
	if err != nil {
		return err
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := modelArg(fs, ref, "model"); err != nil {
		return err
	}
	if *cf.collection != "" {
		if err := missingFlags(fs, flagNeed{"--question", *question == ""}); err != nil {
			return err
		}
		if *text != "" || *file != "" {
			return usageErrorf(fs, "give --collection or --context/--context-file, not both: a collection is the text to answer from")
		}
		if *gf.on {
			return answerCollectionGenerated(ctx, env, cf, gf, *ref, *question, *qf.topK, qf.readerMaxAnswerLen(), *threads, *asJSON)
		}
		return answerCollection(ctx, env, cf, *ref, *question, *qf.topK, qf.readerMaxAnswerLen(), *threads, *asJSON)
	}
	if err := missingFlags(fs, flagNeed{"--question", *question == ""},
		flagNeed{"--context (or --context-file)", *text == "" && *file == ""}); err != nil {
		return err
	}
	if *text != "" && *file != "" {
		return usageErrorf(fs, "give --context or --context-file, not both")
	}
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			return fmt.Errorf("read context: %w", err)
		}
		*text = string(b)
	}
	modelRef := builtinFor(*ref, *question) // the multilingual built-in model for a Chinese question, when there is one
	p, err := loadPipeline(ctx, env, modelRef, *threads)
	if err != nil {
		return err
	}
	defer p.Encoder().Close()
	par := qf.params(p)
	if modelRef != *ref {
		qf.routed(&par)
	}
	res, errs := p.Answer(ctx, []qa.Request{{Question: *question, Context: *text, Params: par}})
	if errs[0] != nil {
		return errs[0]
	}
	r := res[0]
	if *gf.on {
		return answerContextGenerated(ctx, env, gf, *question, *text, r, *asJSON)
	}
	warning, err := qamodel.Warning(p.Tokenizer(), modelName(modelRef), *question, *text)
	if err != nil {
		return err
	}
	if *asJSON {
		out := map[string]any{
			"answers": r.Answers, "windows": r.Windows, "context_tokens": r.ContextTokens, "truncated": r.Truncated,
			"model": modelName(modelRef),
		}
		if warning != "" {
			out["warning"] = warning
		}
		return json.NewEncoder(env.Stdout).Encode(out)
	}
	if warning != "" {
		fmt.Fprintf(env.Stderr, "warning: %s\n", warning)
	}
	for i, a := range r.Answers {
		if a.Answer == "" && a.Start == 0 && a.End == 0 {
			fmt.Fprintf(env.Stdout, "%d. (no answer)  score %.4f\n", i+1, a.Score)
			continue
		}
		fmt.Fprintf(env.Stdout, "%d. %q  score %.4f  chars %d–%d\n", i+1, a.Answer, a.Score, a.Start, a.End)
	}
	fmt.Fprintf(env.Stderr, "read %d context tokens in %d window(s)\n", r.ContextTokens, r.Windows)
	return nil
}
