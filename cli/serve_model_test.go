package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/askqa/ask/api"
	"github.com/askqa/ask/builtin"
)

// tinyQAModel assembles a loadable QA folder: the tiny random BERT
// checkpoint plus a WordPiece vocabulary of its 120 ids, so the whole path
// (tokenizer → windows → batcher → engine → decode) runs for real.
func tinyQAModel(t *testing.T) (dir string, words []string) {
	t.Helper()
	dir = t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(tinyQA, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "?"}
	for i := len(vocab); i < 120; i++ {
		w := fmt.Sprintf("w%d", i)
		vocab = append(vocab, w)
		words = append(words, w)
	}
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(vocab, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := `{"do_lower_case": true, "model_max_length": 64, "tokenizer_class": "BertTokenizer"}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, words
}

func TestServeAnswersWithARealModel(t *testing.T) {
	dir, words := tinyQAModel(t)
	url, stderr, stop := startServe(t, loadModelReader, noEnv, "--model", dir)
	c, err := api.NewClient(url, api.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// A long context: several windows, all of which must be read.
	long := strings.Join(append(append([]string{}, words...), words...), " ") + "."
	res, err := c.Answer(ctx, api.AnswerRequest{Question: "w9 w10 ?", Context: long})
	if err != nil {
		t.Fatalf("answer: %v\n%s", err, stderr)
	}
	if res.Reader != api.ReaderModel || res.Windows < 2 || res.Truncated || len(res.Answers) != 1 {
		t.Fatalf("unexpected response %+v", res)
	}
	a := res.Answers[0]
	if got := string([]rune(long)[a.Start:a.End]); got != a.Answer || long[a.ByteStart:a.ByteEnd] != a.Answer {
		t.Fatalf("offsets %d–%d (bytes %d–%d) do not give the answer %q", a.Start, a.End, a.ByteStart, a.ByteEnd, a.Answer)
	}

	// Concurrent requests go through the batcher and get the same answer
	// as alone.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := c.Answer(ctx, api.AnswerRequest{Question: "w9 w10 ?", Context: long})
			if err == nil && (r.Answers[0].Answer != a.Answer || r.Answers[0].Start != a.Start) {
				err = fmt.Errorf("concurrent answer %+v differs from %+v", r.Answers[0], a)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	// Where Python raises, a 400 that says why.
	stride, seq := 40, 20
	_, err = c.Answer(ctx, api.AnswerRequest{Question: "w9 ?", Context: long, Params: api.Params{DocStride: &stride, MaxSeqLen: &seq}})
	var apiErr *api.Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || !strings.Contains(apiErr.Message, "doc_stride") {
		t.Fatalf("doc_stride > max_seq_len: got %v", err)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
}

// With no --model, serve answers with the built-in model: a fresh machine
// without network gets real answers from the first command.
func TestServeDefaultsToBuiltinModel(t *testing.T) {
	cache := t.TempDir()
	env := func(k string) string {
		if k == "XDG_CACHE_HOME" {
			return cache
		}
		return ""
	}
	url, _, _ := startServe(t, loadModelReader, env)
	c, err := api.NewClient(url, api.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Answer(context.Background(), api.AnswerRequest{
		Question: "Where was HuggingFace founded?", Context: "HuggingFace was founded in Paris."})
	if err != nil {
		t.Fatal(err)
	}
	if res.Reader != api.ReaderModel || res.Model != "builtin" || len(res.Answers) != 1 || res.Warning != "" {
		t.Fatalf("response %+v", res)
	}

	// The original service's Chinese example: read by the multilingual
	// model where the binary carries one, and said so; otherwise by the
	// English model, with a warning.
	const q, ctxt = "什么是人工智能？", "人工智能是一种模拟人类智能的技术，通过计算机程序实现智能行为。"
	res, err = c.Answer(context.Background(), api.AnswerRequest{Question: q, Context: ctxt})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Answers) != 1 || !strings.Contains(ctxt, res.Answers[0].Answer) || res.Answers[0].Answer == "" {
		t.Fatalf("Chinese example: %+v", res)
	}
	if _, multi := builtin.Multilingual(); multi {
		if res.Model != builtin.MultilingualName || res.Warning != "" {
			t.Errorf("Chinese example: model %q, warning %q; want %s, no warning", res.Model, res.Warning, builtin.MultilingualName)
		}
		// Routed, the model skips spans the question holds: not 人工智能
		// (its best span, read back from the question), but what it is.
		if a := res.Answers[0].Answer; strings.Contains(q, a) || !strings.HasPrefix(a, "人工智能是") {
			t.Errorf("Chinese example: answer %q; want the definition, not words of the question", a)
		}
	} else if res.Model != "builtin" || !strings.Contains(res.Warning, "does not cover Chinese") {
		t.Errorf("Chinese example: model %q, warning %q; want builtin with a warning", res.Model, res.Warning)
	}
}
