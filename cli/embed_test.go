package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestEmbedLinesInOrder(t *testing.T) {
	long := strings.Repeat("many words here ", 200)
	for name, in := range map[string]string{
		"json":  `{"text":"short"}` + "\n\n" + `{"text":"` + long + `"}` + "\n" + `{"text":"你好，世界"}` + "\n",
		"plain": "short\n\n" + long + "\n你好，世界\n",
	} {
		t.Run(name, func(t *testing.T) {
			out, errs, code := run(t, in, "embed", "--batch", "2")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 3 {
				t.Fatalf("%d output lines, want 3: %s", len(lines), out)
			}
			var got []embedOut
			for _, l := range lines {
				var o embedOut
				if err := json.Unmarshal([]byte(l), &o); err != nil {
					t.Fatal(err)
				}
				if len(o.Embedding) != 384 {
					t.Fatalf("dim %d", len(o.Embedding))
				}
				got = append(got, o)
			}
			if got[0].Tokens != 3 || got[0].Truncated || got[1].Tokens != 512 || !got[1].Truncated || got[2].Truncated {
				t.Errorf("tokens/truncated out of order: %+v %+v %+v", got[0].Tokens, got[1].Tokens, got[2].Tokens)
			}
		})
	}
}

func TestEmbedArguments(t *testing.T) {
	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"x\n", []string{"embed", "stray"}, 1, `unexpected argument "stray"`},
		{"x\n", []string{"embed", "--prompt", "title"}, 1, `unknown prompt "title"`},
		{"x\n", []string{"embed", "--batch", "0"}, 1, "--batch 0"},
		{"{\"text\":\"a\"}\n{oops\n", []string{"embed"}, 1, "line 2"},
		{"{\"txt\":\"a\"}\n", []string{"embed"}, 1, `missing "text"`},
		{"x\n", []string{"embed", "--model", "/nonexistent/folder"}, 1, "/nonexistent/folder"},
		{"", []string{"embed"}, 0, ""},
	} {
		_, errs, code := run(t, tc.stdin, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}
