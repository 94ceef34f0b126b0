package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/askqa/ask/builtin"
	"github.com/askqa/ask/engine"
	"github.com/askqa/ask/hub"
	"github.com/askqa/ask/model"
	"github.com/askqa/ask/qa"
	"github.com/askqa/ask/reader"
	"github.com/askqa/ask/tokenizer"
)

// modelDir turns a --model value into a local checkpoint folder: empty or
// "builtin" is the model inside the binary; otherwise a folder, or a Hub
// repo id with an optional @revision, found in (or downloaded into) the
// Hugging Face cache.
func modelDir(ctx context.Context, env Env, ref string) (string, error) {
	if ref == "" || ref == builtin.Name {
		return builtinDir(env)
	}
	if ref == builtin.MultilingualName {
		return builtinMultilingualDir(env)
	}
	dir, err := resolveModel(ctx, env, ref, false)
	if err == nil && builtin.SharesWithEmbedder(dir) {
		return "", fmt.Errorf("%s is the source folder of the built-in multilingual model, which leaves out the tokenizer and word embeddings it shares with the built-in embedder: use --model %s", ref, builtin.MultilingualName)
	}
	return dir, err
}

// builtinDir unpacks the built-in model into the user's cache folder.
func builtinDir(env Env) (string, error) {
	cache, err := cacheDir(env)
	if err != nil {
		return "", err
	}
	return builtin.Dir(cache)
}

// cacheDir is the user's cache folder, where the built-in models unpack.
func cacheDir(env Env) (string, error) {
	cache := env.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home := env.Getenv("HOME")
		if home == "" {
			var err error
			if home, err = os.UserHomeDir(); err != nil {
				return "", fmt.Errorf("built-in model: no cache folder: set XDG_CACHE_HOME or HOME")
			}
		}
		cache = filepath.Join(home, ".cache")
	}
	return cache, nil
}

// modelFlagHelp is the --model help shared by the commands.
const modelFlagHelp = "model: \"builtin\" (the default, shipped inside ask; questions in Chinese, Japanese or Korean go to \"builtin-multilingual\" where ask carries it), \"builtin-multilingual\", a folder, or a Hub repo id[@revision] such as " + hub.DefaultModel

// loadEncoder resolves ref and loads it.
func loadEncoder(ctx context.Context, env Env, ref string, threads int) (model.Encoder, string, error) {
	dir, err := modelDir(ctx, env, ref)
	if err != nil {
		return nil, "", err
	}
	q, err := quantizeMode(env)
	if err != nil {
		return nil, "", err
	}
	enc, err := engine.Load(dir, engine.Options{Threads: threads, Quantize: q})
	if err != nil {
		return nil, "", err
	}
	return enc, dir, nil
}

// loadPipeline loads a question-answering model and its tokenizer.
func loadPipeline(ctx context.Context, env Env, ref string, threads int) (*qa.Pipeline, error) {
	enc, dir, err := loadEncoder(ctx, env, ref, threads)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.LoadDir(dir)
	if err != nil {
		enc.Close()
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	p, err := qa.New(tok, enc)
	if err != nil {
		enc.Close()
		return nil, err
	}
	return p, nil
}

// qaFlags are the pipeline parameters shared by answer and eval.
type qaFlags struct {
	topK                               *int
	maxAnswerLen, docStride, maxSeqLen *optInt
	impossible, noAlign                *bool
}

// optInt is an int flag whose default is computed later (from the model);
// it prints no "(default …)" of its own and remembers whether it was set.
// Values below min are refused.
type optInt struct {
	v, min int
	set    bool
}

func (o *optInt) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.Itoa(o.v)
}

func (o *optInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not an integer")
	}
	if n < o.min {
		if o.min == 0 {
			return errors.New("must not be negative")
		}
		return fmt.Errorf("must be at least %d", o.min)
	}
	o.v, o.set = n, true
	return nil
}

func addQAFlags(fs *flag.FlagSet) *qaFlags {
	f := &qaFlags{
		topK:         fs.Int("top-k", 1, "number of answers"),
		maxAnswerLen: &optInt{min: 1},
		docStride:    new(optInt),
		maxSeqLen:    new(optInt),
		impossible:   fs.Bool("handle-impossible-answer", false, "allow the empty answer"),
		noAlign:      fs.Bool("no-align-to-words", false, "do not widen answers to whole words"),
	}
	fs.Var(f.maxAnswerLen, "max-answer-len", fmt.Sprintf("longest answer in `tokens` (default 15; %d for a question the "+
		"built-in model reads with its multilingual model)", reader.CJKMaxAnswerLen))
	fs.Var(f.docStride, "doc-stride", "overlap of windows in `tokens` (default min(max_seq_len/2, 128))")
	fs.Var(f.maxSeqLen, "max-seq-len", "window length in `tokens` (default min(model_max_length, 384))")
	return f
}

func (f *qaFlags) params(p *qa.Pipeline) qa.Params {
	par := p.DefaultParams()
	par.TopK = *f.topK
	if f.maxAnswerLen.set {
		par.MaxAnswerLen = f.maxAnswerLen.v
	}
	if f.maxSeqLen.set {
		par.MaxSeqLen = f.maxSeqLen.v
		if !f.docStride.set {
			par.DocStride = qa.DefaultDocStride(par.MaxSeqLen)
		}
	}
	if f.docStride.set {
		par.DocStride = f.docStride.v
	}
	par.HandleImpossibleAnswer = *f.impossible
	par.AlignToWords = !*f.noAlign
	return par
}

// routed changes par the way reader.ScriptRouter does for a question the
// built-in model reads with its multilingual model: subword spans (Chinese
// has no spaces to align to), no answers the question already holds
// (qa.Params.SkipEchoes) and, unless --max-answer-len was given,
// reader.CJKMaxAnswerLen.
func (f *qaFlags) routed(par *qa.Params) {
	par.AlignToWords = false
	par.SkipEchoes = true
	if !f.maxAnswerLen.set {
		par.MaxAnswerLen = reader.CJKMaxAnswerLen
	}
}

// readerMaxAnswerLen is --max-answer-len for reader.Params: 0 when not
// given, so the reader (or its router) picks the default.
func (f *qaFlags) readerMaxAnswerLen() int {
	if !f.maxAnswerLen.set {
		return 0
	}
	return f.maxAnswerLen.v
}
