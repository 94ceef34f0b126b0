package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/askqa/ask/qa/cmrc"
	"github.com/askqa/ask/qa/squad"
)

func sharedQA(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join("../../shared/data", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s is absent (../shared/data comes with the project's CI checkout)", p)
	}
	return p
}

// TestEvalMetricChoice runs ask eval on the real Chinese files (CMRC 2018
// trial, DRCD test) and on SQuAD: auto picks the CMRC 2018 metric for the
// Chinese ones, the output names it, and its figures are cmrc.Evaluate's
// over the predictions written.
func TestEvalMetricChoice(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the built-in model")
	}
	for _, c := range []struct {
		file, metric, want string
	}{
		{"qa-zh/cmrc2018_trial.squad-style.json", "", "cmrc2018"},
		{"qa-zh/DRCD_test.json", "auto", "cmrc2018"},
		{"qa-zh/DRCD_test.json", "squad", "squad"},
		{"squad/dev-v1.1-public.json", "", "squad"},
	} {
		t.Run(c.file+"/"+c.metric, func(t *testing.T) {
			path := sharedQA(t, c.file)
			preds := filepath.Join(t.TempDir(), "preds.json")
			args := []string{"eval", "--model", "builtin", "--limit", "3", "--threads", "1", "--json", "--predictions", preds, path}
			if c.metric != "" {
				args = append(args, "--metric", c.metric)
			}
			out, errs, code := run(t, "", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			var got struct {
				Metric  string             `json:"metric"`
				Metrics map[string]float64 `json:"metrics"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if got.Metric != c.want {
				t.Fatalf("metric %q, want %q", got.Metric, c.want)
			}
			if got.Metrics["total"] != 3 {
				t.Errorf("total %v, want 3", got.Metrics["total"])
			}
			if c.want != "cmrc2018" {
				return
			}
			b, err := os.ReadFile(preds)
			if err != nil {
				t.Fatal(err)
			}
			var p map[string]string
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			data, err := squad.Read(path)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for id := range p {
				ids = append(ids, id)
			}
			want := cmrc.Evaluate(restrict(data, ids), p)
			if got.Metrics["f1"] != want.F1 || got.Metrics["exact_match"] != want.ExactMatch {
				t.Errorf("eval printed %v, cmrc.Evaluate gives %+v", got.Metrics, want)
			}
		})
	}
}

func TestEvalMetricTextNamesIt(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the built-in model")
	}
	path := sharedQA(t, "qa-zh/cmrc2018_trial.squad-style.json")
	out, errs, code := run(t, "", "eval", "--model", "builtin", "--limit", "1", "--threads", "1", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "CMRC 2018 metric") {
		t.Errorf("output does not name the metric:\n%s", out)
	}
}

func TestEvalMetricRefusals(t *testing.T) {
	squad2 := sharedQA(t, "squad/dev-v2.0-public.json")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "--metric", "bleu", squad2}, "--metric must be auto, squad or cmrc"},
		{[]string{"eval", "--metric", "cmrc", squad2}, "answerable questions only"},
	} {
		_, errs, code := run(t, "", c.args...)
		if code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stderr %q, want it to say %q", c.args, code, errs, c.want)
		}
	}
}

func TestChooseMetricAuto(t *testing.T) {
	zh := &squad.File{Data: []squad.Article{{Paragraphs: []squad.Paragraph{{Context: "人工智能是一种模拟人类智能的技术。"}}}}}
	en := &squad.File{Data: []squad.Article{{Paragraphs: []squad.Paragraph{{Context: "Artificial intelligence is a technology."}}}}}
	for _, c := range []struct {
		flag string
		data *squad.File
		want string
	}{
		{"auto", zh, metricCMRC}, {"", zh, metricCMRC}, {"auto", en, metricSQuAD}, {"squad", zh, metricSQuAD}, {"cmrc", en, metricCMRC},
	} {
		got, err := chooseMetric(c.flag, "1.1", c.data)
		if err != nil || got != c.want {
			t.Errorf("chooseMetric(%q) = %q, %v; want %q", c.flag, got, err, c.want)
		}
	}
}
