package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

func run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string {
			if k == "HF_HUB_OFFLINE" {
				return "1"
			}
			return ""
		}})
	return out.String(), errb.String(), code
}

const tinyQA = "../model/testdata/tiny/bert-qa"

func TestInferWritesLogitsPerLine(t *testing.T) {
	in := `{"input_ids":[1,5,6,2],"attention_mask":[1,1,1,1],"token_type_ids":[0,0,1,1]}
{"input_ids":[1,7,2]}
`
	out, errs, code := run(t, in, "infer", "--model", tinyQA, "--threads", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 output lines, got %d: %s", len(lines), out)
	}
	for i, l := range lines {
		var o inferOutput
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatal(err)
		}
		if want := []int{4, 3}[i]; len(o.StartLogits) != want || len(o.EndLogits) != want {
			t.Fatalf("line %d: %d start logits, want %d", i, len(o.StartLogits), want)
		}
	}
}

func TestInferReportsBadLines(t *testing.T) {
	for in, want := range map[string]string{
		"{\"input_ids\":[1,2]}\nnot json\n": "line 2",
		`{"input_ids":[1,99999]}`:           "outside the vocabulary",
	} {
		_, errs, code := run(t, in, "infer", "--model", tinyQA)
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("input %q: exit %d, stderr %q, want it to mention %q", in, code, errs, want)
		}
	}
}

func TestBenchJSON(t *testing.T) {
	out, errs, code := run(t, "", "bench", "--model", tinyQA, "--seq", "16", "--batch", "2", "--runs", "3", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r benchResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Runs != 3 || r.Batch != 2 || r.Seq != 16 || r.MedianMS <= 0 || r.GFLOPs <= 0 {
		t.Fatalf("implausible result %+v", r)
	}
}

// TestBenchLabelsWhatRan: the kernel field names the int8 kernel when an
// int8 checkpoint runs in int8 by default, and not under --quantize none.
func TestBenchLabelsWhatRan(t *testing.T) {
	for _, c := range []struct {
		quantize string
		int8     bool
	}{{"", true}, {"none", false}, {"int8", true}} {
		args := []string{"bench", "--model", "../builtin/model", "--seq", "8", "--runs", "1", "--warmup", "0", "--json"}
		if c.quantize != "" {
			args = append(args, "--quantize", c.quantize)
		}
		out, errs, code := run(t, "", args...)
		if code != 0 {
			t.Fatalf("--quantize %q: exit %d: %s", c.quantize, code, errs)
		}
		var r benchResult
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		if got := strings.HasPrefix(r.Kernel, "int8 "); got != c.int8 {
			t.Errorf("--quantize %q: kernel %q, want int8 %v", c.quantize, r.Kernel, c.int8)
		}
	}
}

func TestUnknownModelFolderSaysWhatToDo(t *testing.T) {
	_, errs, code := run(t, "", "bench", "--model", t.TempDir())
	if code != 1 || !strings.Contains(errs, "config.json") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}

func TestUnknownKernelChoiceIsAnError(t *testing.T) {
	var stderr strings.Builder
	code := Run(context.Background(), []string{"bench", "--model", "builtin"}, Env{
		Stdout: io.Discard, Stderr: &stderr,
		Getenv: func(k string) string {
			if k == "ASK_GEMM_KERNEL" {
				return "avx-2"
			}
			return ""
		},
	})
	if code != 2 || !strings.Contains(stderr.String(), `ASK_GEMM_KERNEL="avx-2"`) {
		t.Fatalf("exit %d, stderr %q; want 2 and a message naming the value", code, stderr.String())
	}
}
