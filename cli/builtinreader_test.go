package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/askqa/ask/builtin"
)

// TestAnswerWarnsOnChinese: the original service's Chinese example, read
// by the English built-in model, comes with a warning that names the
// language and what to do; an English question does not.
func TestAnswerWarnsOnChinese(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the built-in model")
	}
	if _, ok := builtin.Multilingual(); ok {
		t.Skip("this binary carries a multilingual model, which covers Chinese")
	}
	out, errs, code := run(t, "", "answer", "--json", "--threads", "1", "--question", "什么是人工智能？",
		"--context", "人工智能是一种模拟人类智能的技术，通过计算机程序实现智能行为。")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct{ Model, Warning string }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Model != "builtin" || !strings.Contains(got.Warning, "does not cover Chinese") || !strings.Contains(got.Warning, "--model") {
		t.Errorf("model %q, warning %q", got.Model, got.Warning)
	}

	_, errs, code = run(t, "", "answer", "--threads", "1", "--question", "什么是人工智能？",
		"--context", "人工智能是一种模拟人类智能的技术，通过计算机程序实现智能行为。")
	if code != 0 || !strings.Contains(errs, "warning: the model \"builtin\" does not cover Chinese") {
		t.Errorf("text output: exit %d, stderr %q", code, errs)
	}

	out, errs, code = run(t, "", "answer", "--json", "--threads", "1", "--question", "What is AI?", "--context", "AI is a technology.")
	if code != 0 || strings.Contains(out, "warning") || !strings.Contains(out, `"model":"builtin"`) {
		t.Errorf("English: exit %d, %s %s", code, out, errs)
	}
}

func TestBuiltinFor(t *testing.T) {
	_, multi := builtin.Multilingual()
	for _, c := range []struct {
		ref, question, want string
	}{
		{"", "What is AI?", ""},
		{"builtin", "What is AI?", "builtin"},
		{"some/model", "什么是人工智能？", "some/model"},
		{"", "什么是人工智能？", map[bool]string{true: builtin.MultilingualName, false: ""}[multi]},
		{"builtin", "什么是人工智能？", map[bool]string{true: builtin.MultilingualName, false: "builtin"}[multi]},
	} {
		if got := builtinFor(c.ref, c.question); got != c.want {
			t.Errorf("builtinFor(%q, %q) = %q, want %q", c.ref, c.question, got, c.want)
		}
	}
}

func TestMultilingualModelRefusedWithoutOne(t *testing.T) {
	if _, ok := builtin.Multilingual(); ok {
		t.Skip("this binary carries a multilingual model")
	}
	_, errs, code := run(t, "", "answer", "--model", builtin.MultilingualName, "--question", "q", "--context", "c")
	if code == 0 || !strings.Contains(errs, "no multilingual QA model") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}
