package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/askqa/ask/progress"
	"github.com/askqa/ask/qa"
	"github.com/askqa/ask/qa/squad"
)

func runEval(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "eval", "[--model M] FILE.json [--predictions OUT.json] [--version 1.1|2.0] [--collection C] [flags]\n\n"+
		"Runs a SQuAD v1.1 or v2.0 file through the pipeline and prints the official EM and F1.\n"+
		"With --collection the file's contexts are not given: each question is answered from the\n"+
		"collection (open-domain), and retrieval recall@1/5/20 is printed beside EM and F1.")
	ref := fs.String("model", "", modelFlagHelp)
	predOut := fs.String("predictions", "", "write {id: answer} here (the official predictions format)")
	version := fs.String("version", "", "metric version: 1.1 or 2.0 (default: from the file)")
	batch := fs.Int("batch", 16, "questions per batch")
	limit := fs.Int("limit", 0, "evaluate only the first N questions (0: all)")
	threads := fs.Int("threads", 0, "threads (0: one per CPU)")
	asJSON := fs.Bool("json", false, "print the metrics as JSON")
	qf := addQAFlags(fs)
	cf := addCollectionFlags(fs)
	retrievalOnly := fs.Bool("retrieval-only", false, "with --collection: measure retrieval recall only, without reading")
	workers := fs.Int("concurrency", 4, "with --collection: questions in flight at once")
	addQuantizeFlag(fs, &env)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() == 0:
		return usageErrorf(fs, "missing the SQuAD file to evaluate (FILE.json)")
	case fs.NArg() > 1:
		return usageErrorf(fs, "unexpected argument %q: eval takes one SQuAD file (the model is --model)", fs.Arg(1))
	}
	data, err := squad.Read(fs.Arg(0))
	if err != nil {
		return err
	}
	v := *version
	if v == "" {
		v = "1.1"
		if data.Version == "v2.0" || data.Version == "2.0" {
			v = "2.0"
		}
	}
	if v != "1.1" && v != "2.0" {
		return fmt.Errorf("--version must be 1.1 or 2.0, not %q", v)
	}
	if *cf.collection != "" {
		if v != "1.1" {
			return fmt.Errorf("--collection evaluates SQuAD v1.1 files (answerable questions) only")
		}
		if *limit > 0 {
			var ids []string
			for _, a := range data.Data {
				for _, p := range a.Paragraphs {
					for _, q := range p.QAs {
						if len(ids) < *limit {
							ids = append(ids, q.ID)
						}
					}
				}
			}
			data = restrict(data, ids)
		}
		return evalCollection(ctx, env, cf, *ref, data, *retrievalOnly, *qf.maxAnswerLen, *threads, *workers, *predOut, *asJSON, env.Stdout)
	}
	p, err := loadPipeline(ctx, env, *ref, *threads)
	if err != nil {
		return err
	}
	defer p.Encoder().Close()
	par := qf.params(p)
	if v == "2.0" {
		par.HandleImpossibleAnswer = true
	}

	var reqs []qa.Request
	var ids []string
	for _, a := range data.Data {
		for _, para := range a.Paragraphs {
			for _, q := range para.QAs {
				reqs = append(reqs, qa.Request{Question: q.Question, Context: para.Context, Params: par})
				ids = append(ids, q.ID)
			}
		}
	}
	if *limit > 0 && *limit < len(reqs) {
		reqs, ids = reqs[:*limit], ids[:*limit]
		data = restrict(data, ids)
	}
	preds := make(map[string]string, len(reqs))
	prog := progress.New(env.Stderr).Start()
	status := func(n int) string {
		el := prog.Elapsed().Seconds()
		rate := float64(n) / max(el, 1e-9)
		eta := time.Duration(float64(len(reqs)-n)/max(rate, 1e-9)) * time.Second
		return fmt.Sprintf("eval: %d/%d (%.0f%%) %.1f/s, ETA %s", n, len(reqs), 100*float64(n)/float64(max(len(reqs), 1)), rate, eta.Round(time.Second))
	}
	start := time.Now()
	for i := 0; i < len(reqs); i += *batch {
		j := min(i+*batch, len(reqs))
		res, errs := p.Answer(ctx, reqs[i:j])
		for k := range res {
			if errs[k] != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				// Python raises for such a question; score it as unanswered
				// and say so rather than stop the whole evaluation.
				fmt.Fprintf(env.Stderr, "question %s: %v\n", ids[i+k], errs[k])
				continue
			}
			text := ""
			if len(res[k].Answers) > 0 {
				text = res[k].Answers[0].Answer
			}
			preds[ids[i+k]] = text
		}
		prog.Update(func() string { return status(j) })
	}
	prog.Finish(status(len(reqs)))
	elapsed := time.Since(start)
	if *predOut != "" {
		b, err := json.MarshalIndent(preds, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*predOut, b, 0o644); err != nil {
			return fmt.Errorf("write predictions: %w", err)
		}
	}
	var metrics any
	if v == "1.1" {
		metrics = squad.EvaluateV1(data, preds)
	} else {
		metrics = squad.EvaluateV2(data, preds, nil, 1.0)
	}
	qps := float64(len(reqs)) / elapsed.Seconds()
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(map[string]any{"version": v, "metrics": metrics, "questions": len(reqs), "seconds": elapsed.Seconds(), "questions_per_second": qps})
	}
	b, _ := json.MarshalIndent(metrics, "", "  ")
	fmt.Fprintf(env.Stdout, "SQuAD v%s on %d questions (%.1f questions/s):\n%s\n", v, len(reqs), qps, b)
	return nil
}

// restrict keeps only the questions with the given ids, so --limit scores
// what was asked.
func restrict(f *squad.File, ids []string) *squad.File {
	keep := make(map[string]bool, len(ids))
	for _, id := range ids {
		keep[id] = true
	}
	out := &squad.File{Version: f.Version}
	for _, a := range f.Data {
		na := squad.Article{Title: a.Title}
		for _, p := range a.Paragraphs {
			np := squad.Paragraph{Context: p.Context}
			for _, q := range p.QAs {
				if keep[q.ID] {
					np.QAs = append(np.QAs, q)
				}
			}
			if len(np.QAs) > 0 {
				na.Paragraphs = append(na.Paragraphs, np)
			}
		}
		if len(na.Paragraphs) > 0 {
			out.Data = append(out.Data, na)
		}
	}
	return out
}
