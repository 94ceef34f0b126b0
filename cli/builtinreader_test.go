package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/askqa/ask/builtin"
)

// TestAnswerWarnsOnChinese: the original service's Chinese example, read
// by an English model (the built-in one where the binary carries no
// multilingual model, its folder otherwise), comes with a warning that
// names the language and what to do; an English question does not.
func TestAnswerWarnsOnChinese(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the built-in model")
	}
	ref := "builtin"
	if _, ok := builtin.Multilingual(); ok {
		ref = "../builtin/model" // the English model, not the router
	}
	out, errs, code := run(t, "", "answer", "--json", "--threads", "1", "--model", ref, "--question", zhQuestion, "--context", zhContext)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct{ Model, Warning string }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Model != ref || !strings.Contains(got.Warning, "does not cover Chinese") || !strings.Contains(got.Warning, "--model") {
		t.Errorf("model %q, warning %q", got.Model, got.Warning)
	}

	_, errs, code = run(t, "", "answer", "--threads", "1", "--model", ref, "--question", zhQuestion, "--context", zhContext)
	if code != 0 || !strings.Contains(errs, "warning: the model \""+ref+"\" does not cover Chinese") {
		t.Errorf("text output: exit %d, stderr %q", code, errs)
	}

	out, errs, code = run(t, "", "answer", "--json", "--threads", "1", "--model", ref, "--question", "What is AI?", "--context", "AI is a technology.")
	if code != 0 || strings.Contains(out, "warning") || !strings.Contains(out, `"model":"`+ref+`"`) {
		t.Errorf("English: exit %d, %s %s", code, out, errs)
	}
}

// The original service's example request.
const (
	zhQuestion = "什么是人工智能？"
	zhContext  = "人工智能是一种模拟人类智能的技术，通过计算机程序实现智能行为。"
)

// TestAnswerRoutesChinese: in a binary with the multilingual model, the
// built-in model answers the Chinese example with it, says which model
// answered and warns of nothing; an English question stays with the
// English model.
func TestAnswerRoutesChinese(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the built-in models")
	}
	if _, ok := builtin.Multilingual(); !ok {
		t.Skip("this binary carries no multilingual model")
	}
	for _, c := range []struct{ question, context, model string }{
		{zhQuestion, zhContext, builtin.MultilingualName},
		{"What is AI?", "AI is a technology that simulates human intelligence.", "builtin"},
	} {
		out, errs, code := run(t, "", "answer", "--json", "--threads", "1", "--question", c.question, "--context", c.context)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.question, code, errs)
		}
		var got struct {
			Model, Warning string
			Answers        []struct{ Answer string }
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		if got.Model != c.model || got.Warning != "" || len(got.Answers) != 1 || got.Answers[0].Answer == "" ||
			!strings.Contains(c.context, got.Answers[0].Answer) {
			t.Errorf("%s: %s, want an answer from %s without a warning", c.question, out, c.model)
		}
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

// TestSourceFolderRefused: builtin/multilingual in a checkout leaves out
// what it shares with the embedder; loading it as a folder says to use the
// built-in name instead of failing on a missing tensor.
func TestSourceFolderRefused(t *testing.T) {
	if !builtin.SharesWithEmbedder("../builtin/multilingual") {
		t.Skip("builtin/multilingual carries all its files")
	}
	_, errs, code := run(t, "", "answer", "--model", "../builtin/multilingual", "--question", "q", "--context", "c")
	if code == 0 || !strings.Contains(errs, "--model "+builtin.MultilingualName) {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}
