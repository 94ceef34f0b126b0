package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/askqa/ask/builtin"
	"github.com/askqa/ask/config"
	"github.com/askqa/ask/reader"
	"github.com/askqa/ask/server"
)

// loadModelReader is loadQAReader, except for the built-in model (no
// --model, or "builtin") in a binary that also carries a multilingual one:
// then both load, each behind its own batcher, and a reader.ScriptRouter
// reads questions in Chinese, Japanese or Korean with the multilingual
// model and the rest with the English one. In a binary with one built-in
// model it is loadQAReader itself.
func loadModelReader(ctx context.Context, env Env, cfg config.Config, deps loaderDeps) (server.Reader, func(context.Context) error, error) {
	en, closeEn, err := loadQAReader(ctx, env, cfg, deps)
	if err != nil || !usesBuiltin(cfg.Model) {
		return en, closeEn, err
	}
	if _, ok := builtin.Multilingual(); !ok {
		return en, closeEn, nil
	}
	mcfg := cfg
	mcfg.Model = builtin.MultilingualName
	multi, closeMulti, err := loadQAReader(ctx, env, mcfg, deps)
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("load the built-in multilingual model: %w", err), closeEn(ctx))
	}
	closeBoth := func(ctx context.Context) error { return errors.Join(closeMulti(ctx), closeEn(ctx)) }
	return reader.NewScriptRouter(en, multi), closeBoth, nil
}

// usesBuiltin reports whether a --model value names the built-in model.
func usesBuiltin(ref string) bool { return ref == "" || ref == builtin.Name }

// builtinFor is the model to read question with when --model is ref: for
// the built-in model, the multilingual one if the question is in Chinese,
// Japanese or Korean and the binary carries it (the choice the server's
// reader.ScriptRouter makes); otherwise ref. A caller given back another
// model than ref reads with subword spans, as the router's CJK side does.
func builtinFor(ref, question string) string {
	if !usesBuiltin(ref) || !reader.HasCJK(question) {
		return ref
	}
	if _, ok := builtin.Multilingual(); !ok {
		return ref
	}
	return builtin.MultilingualName
}

// modelName is how answers name a --model value: "builtin" for the
// default.
func modelName(ref string) string {
	if ref == "" {
		return builtin.Name
	}
	return ref
}

// builtinMultilingualDir unpacks the built-in multilingual model into the
// user's cache folder.
func builtinMultilingualDir(env Env) (string, error) {
	cache, err := cacheDir(env)
	if err != nil {
		return "", err
	}
	return builtin.MultilingualDir(cache)
}
