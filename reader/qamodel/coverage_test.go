package qamodel

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/askqa/ask/qa/squad"
	"github.com/askqa/ask/reader"
)

// The original service's own example request, in Chinese.
const (
	zhQuestion = "什么是人工智能？"
	zhContext  = "人工智能是一种模拟人类智能的技术，通过计算机程序实现智能行为。"
)

// TestWarningOnChineseExample: the English built-in model knows 3 of the 8
// characters of the question, and its answer carries a warning that says
// so and what to do.
func TestWarningOnChineseExample(t *testing.T) {
	p := builtinPipeline(t)
	r := newReader(t, p, 16)
	resp, err := r.Read(context.Background(), reader.Request{Inputs: []reader.Input{
		{Question: zhQuestion, Passage: zhContext},
		{Question: question, Passage: paris},
	}})
	if err != nil {
		t.Fatal(err)
	}
	w := resp.Results[0].Warning
	for _, want := range []string{`the model "builtin" does not cover Chinese`, "62% of the question's characters", "--model", suggestion} {
		if !strings.Contains(w, want) {
			t.Errorf("warning %q lacks %q", w, want)
		}
	}
	if w := resp.Results[1].Warning; w != "" {
		t.Errorf("English question warned: %q", w)
	}
	for i, res := range resp.Results {
		if res.Model != "builtin" {
			t.Errorf("result %d: model %q, want builtin", i, res.Model)
		}
	}
}

// TestWarningSeparatesLanguages measures the English built-in model's
// tokenizer on real data: no SQuAD question or context warns, every CMRC
// 2018 and DRCD question/context pair does. (Unknown characters: SQuAD 0%
// everywhere; CMRC questions 0–92%, 996 of 1,002 over 20%, contexts 24–73%;
// DRCD questions 10–93%, contexts 34–77%.)
func TestWarningSeparatesLanguages(t *testing.T) {
	tok := builtinPipeline(t).Tokenizer()
	for _, c := range []struct {
		file string
		warn bool
	}{
		{"squad/dev-v1.1-public.json", false},
		{"qa-zh/cmrc2018_trial.squad-style.json", true},
		{"qa-zh/DRCD_test.json", true},
	} {
		path := filepath.Join("../../../shared/data", c.file)
		if _, err := os.Stat(path); err != nil {
			t.Skipf("%s is absent (../shared/data comes with the project's CI checkout)", path)
		}
		f, err := squad.Read(path)
		if err != nil {
			t.Fatal(err)
		}
		n, warned := 0, 0
		for _, a := range f.Data {
			for _, para := range a.Paragraphs {
				for _, q := range para.QAs {
					if n == 400 {
						break
					}
					w, err := Warning(tok, "builtin", q.Question, para.Context)
					if err != nil {
						t.Fatal(err)
					}
					n++
					if w != "" {
						warned++
					}
				}
			}
		}
		if want := map[bool]int{true: n, false: 0}[c.warn]; warned != want {
			t.Errorf("%s: %d of %d questions warned, want %d", c.file, warned, n, want)
		}
	}
}

func TestCoverageLanguage(t *testing.T) {
	for r, want := range map[rune]string{'中': "Chinese", 'か': "Japanese", '한': "Korean", 'ж': "Cyrillic-script text", 'é': "this language", '☃': "these symbols"} {
		if got := language(r); got != want {
			t.Errorf("language(%q) = %q, want %q", r, got, want)
		}
	}
	if got := suggestName("Cyrillic-script text"); got != "Cyrillic-script" {
		t.Errorf("suggestName = %q", got)
	}
}
