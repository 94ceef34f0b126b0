package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/askqa/ask/qa"
	"github.com/askqa/ask/qa/squad"
)

func runEval(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "eval", "--model M FILE.json [--predictions OUT.json] [--version 1.1|2.0]")
	ref := fs.String("model", "", modelFlagHelp)
	predOut := fs.String("predictions", "", "write {id: answer} here (the official predictions format)")
	version := fs.String("version", "", "metric version: 1.1 or 2.0 (default: from the file)")
	batch := fs.Int("batch", 16, "questions per batch")
	limit := fs.Int("limit", 0, "evaluate only the first N questions (0: all)")
	threads := fs.Int("threads", 0, "threads (0: one per CPU)")
	asJSON := fs.Bool("json", false, "print the metrics as JSON")
	qf := addQAFlags(fs)
	addQuantizeFlag(fs, &env)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
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
	prog := newProgress(env.Stderr, "eval", len(reqs))
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
		prog.set(j)
	}
	prog.done()
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

// progress reports n of total on w: a redrawn line on a terminal, a line
// every few seconds otherwise.
type progress struct {
	w        io.Writer
	what     string
	total    int
	tty      bool
	start    time.Time
	lastLine time.Time
}

func newProgress(w io.Writer, what string, total int) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progress{w: w, what: what, total: total, tty: tty, start: time.Now()}
}

func (p *progress) set(n int) {
	now := time.Now()
	if !p.tty && now.Sub(p.lastLine) < 5*time.Second && n < p.total {
		return
	}
	p.lastLine = now
	el := now.Sub(p.start).Seconds()
	rate := float64(n) / max(el, 1e-9)
	eta := time.Duration(float64(p.total-n)/max(rate, 1e-9)) * time.Second
	line := fmt.Sprintf("%s: %d/%d (%.0f%%) %.1f/s, ETA %s", p.what, n, p.total, 100*float64(n)/float64(max(p.total, 1)), rate, eta.Round(time.Second))
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprintln(p.w)
	}
}
