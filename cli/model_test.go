package cli

import (
	"context"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/askqa/ask/qa"
	"github.com/askqa/ask/reader"
)

// tinyPipeline loads the tiny test QA model (model_max_length 64) as the
// CLI does; it is closed when the test ends.
func tinyPipeline(t *testing.T) *qa.Pipeline {
	t.Helper()
	dir, _ := tinyQAModel(t)
	p, err := loadPipeline(context.Background(), Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}, dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Encoder().Close() })
	return p
}

func TestQAFlagsDefaultsComeFromTheModel(t *testing.T) {
	p := tinyPipeline(t) // model_max_length 64
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
	if err := fs.Parse([]string{"--max-answer-len", "0"}); err == nil || !strings.Contains(err.Error(), "at least 1") {
		t.Errorf("--max-answer-len 0: error %v", err)
	}
	var help strings.Builder
	fs.SetOutput(&help)
	fs.PrintDefaults()
	if strings.Contains(help.String(), "(default -1)") || strings.Contains(help.String(), `(default "")`) {
		t.Errorf("help shows a meaningless default:\n%s", help.String())
	}
}

// TestMaxAnswerLen: --max-answer-len is the pipeline's 15 unless given, the
// router's CJK limit for a question routed to the multilingual model unless
// given, and 0 (the reader's default) for a reader when not given.
func TestMaxAnswerLen(t *testing.T) {
	p := tinyPipeline(t)
	for _, c := range []struct {
		args                         []string
		direct, routed, readerParams int
	}{
		{nil, 15, reader.CJKMaxAnswerLen, 0},
		{[]string{"--max-answer-len", "30"}, 30, 30, 30},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		f := addQAFlags(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		par := f.params(p)
		direct, directSkip := par.MaxAnswerLen, par.SkipEchoes
		f.routed(&par)
		if direct != c.direct || directSkip || par.MaxAnswerLen != c.routed || par.AlignToWords || !par.SkipEchoes || f.readerMaxAnswerLen() != c.readerParams {
			t.Errorf("%v: max_answer_len %d (skip_echoes %v), routed %d (align_to_words %v, skip_echoes %v), for a reader %d; want %d (false), %d (false, true), %d",
				c.args, direct, directSkip, par.MaxAnswerLen, par.AlignToWords, par.SkipEchoes, f.readerMaxAnswerLen(), c.direct, c.routed, c.readerParams)
		}
	}
}
