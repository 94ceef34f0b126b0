package cli

import (
	"context"
	"flag"
	"io"
	"strings"
	"testing"
)

func TestQAFlagsDefaultsComeFromTheModel(t *testing.T) {
	dir, _ := tinyQAModel(t) // model_max_length 64
	p, err := loadPipeline(context.Background(), Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}, dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Encoder().Close()
	for _, c := range []struct {
		args              []string
		seq, stride, topK int
	}{
		{nil, 64, 32, 1},
		{[]string{"--max-seq-len", "48"}, 48, 24, 1},
		{[]string{"--max-seq-len", "48", "--doc-stride", "0"}, 48, 0, 1},
		{[]string{"--doc-stride", "10", "--top-k", "3"}, 64, 10, 3},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		f := addQAFlags(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		par := f.params(p)
		if par.MaxSeqLen != c.seq || par.DocStride != c.stride || par.TopK != c.topK {
			t.Errorf("%v: max_seq_len %d, doc_stride %d, top_k %d; want %d, %d, %d", c.args, par.MaxSeqLen, par.DocStride, par.TopK, c.seq, c.stride, c.topK)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addQAFlags(fs)
	if err := fs.Parse([]string{"--doc-stride", "-1"}); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("negative stride: error %v", err)
	}
	var help strings.Builder
	fs.SetOutput(&help)
	fs.PrintDefaults()
	if strings.Contains(help.String(), "(default -1)") || strings.Contains(help.String(), `(default "")`) {
		t.Errorf("help shows a meaningless default:\n%s", help.String())
	}
}
