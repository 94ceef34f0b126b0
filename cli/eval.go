package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/askqa/ask/progress"
	"github.com/askqa/ask/qa"
	"github.com/askqa/ask/qa/cmrc"
	"github.com/askqa/ask/qa/squad"
	"github.com/askqa/ask/reader/qamodel"
)

func runEval(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "eval", "[--model M] FILE.json [--predictions OUT.json] [--version 1.1|2.0] [--metric auto|squad|cmrc] [--collection C] [flags]\n\n"+
		"Runs a SQuAD v1.1 or v2.0 file through the pipeline and prints the official EM and F1:\n"+
		"SQuAD's, or CMRC 2018's for Chinese files (character-level F1; chosen by --metric auto when\n"+
		"most of the contexts' letters are Chinese characters).\n"+
		"With --collection the file's contexts are not given: each question is answered from the\n"+
		"collection (open-domain), and retrieval recall@1/5/20 is printed beside EM and F1.")
	ref := fs.String("model", "", modelFlagHelp)
	predOut := fs.String("predictions", "", "write {id: answer} here (the official predictions format)")
	version := fs.String("version", "", "metric version: 1.1 or 2.0 (default: from the file)")
	metricFlag := fs.String("metric", "auto", "metric: squad (SQuAD's, words split at spaces), cmrc (the CMRC 2018 metric for Chinese: characters, mixed segmentation) or auto (cmrc when the contexts are mostly Chinese)")
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
	metric, err := chooseMetric(*metricFlag, v, data)
	if err != nil {
		return err
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
		return evalCollection(ctx, env, cf, *ref, data, metric, *retrievalOnly, qf.readerMaxAnswerLen(), *threads, *workers, *predOut, *asJSON, env.Stdout)
	}
	// The built-in model is two where the binary carries a multilingual
	// one: the file's first question picks, as the server's router would
	// for each question.
	first := firstQuestion(data)
	modelRef := builtinFor(*ref, first.Question)
	p, err := loadPipeline(ctx, env, modelRef, *threads)
	if err != nil {
		return err
	}
	defer p.Encoder().Close()
	if w, err := qamodel.Warning(p.Tokenizer(), modelName(modelRef), first.Question, first.Context); err == nil && w != "" {
		fmt.Fprintf(env.Stderr, "warning (first question): %s\n", w)
	}
	par := qf.params(p)
	if modelRef != *ref {
		qf.routed(&par)
	}
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
	name, metrics := score(metric, v, data, preds)
	qps := float64(len(reqs)) / elapsed.Seconds()
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(map[string]any{"version": v, "metric": name, "model": modelName(modelRef), "metrics": metrics, "questions": len(reqs), "seconds": elapsed.Seconds(), "questions_per_second": qps})
	}
	b, _ := json.MarshalIndent(metrics, "", "  ")
	fmt.Fprintf(env.Stdout, "%s on %d questions (%.1f questions/s):\n%s\n", metricTitle(name, v), len(reqs), qps, b)
	return nil
}

// Metrics of ask eval, as --metric and the output's "metric" name them.
const (
	metricSQuAD = "squad"
	metricCMRC  = "cmrc"
)

// chooseMetric resolves --metric: auto is cmrc for a file whose contexts
// are mostly Chinese (the SQuAD metric splits words at spaces, so a Chinese
// answer is one word and its F1 all or nothing), squad otherwise.
func chooseMetric(flag, version string, data *squad.File) (string, error) {
	switch flag {
	case "auto", "":
		if cmrc.IsChinese(data) {
			flag = metricCMRC
		} else {
			flag = metricSQuAD
		}
	case metricSQuAD, metricCMRC:
	default:
		return "", fmt.Errorf("--metric must be auto, squad or cmrc, not %q", flag)
	}
	if flag == metricCMRC && version == "2.0" {
		return "", fmt.Errorf("the CMRC 2018 metric scores answerable questions only: evaluate this SQuAD v2.0 file with --metric squad, or pass --version 1.1")
	}
	return flag, nil
}

// score applies the chosen metric to {id: answer} predictions; it returns
// the name the output reports ("squad" or "cmrc2018") and the metrics.
func score(metric, version string, data *squad.File, preds map[string]string) (string, any) {
	switch {
	case metric == metricCMRC:
		return "cmrc2018", cmrc.Evaluate(data, preds)
	case version == "2.0":
		return "squad", squad.EvaluateV2(data, preds, nil, 1.0)
	}
	return "squad", squad.EvaluateV1(data, preds)
}

// metricTitle heads the text output.
func metricTitle(name, version string) string {
	if name == "cmrc2018" {
		return "CMRC 2018 metric (characters, mixed segmentation)"
	}
	return "SQuAD v" + version + " metric"
}

// firstQuestion is the file's first question with its context.
func firstQuestion(f *squad.File) qa.Request {
	for _, a := range f.Data {
		for _, p := range a.Paragraphs {
			for _, q := range p.QAs {
				return qa.Request{Question: q.Question, Context: p.Context}
			}
		}
	}
	return qa.Request{}
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
