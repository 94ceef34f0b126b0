package config

import (
	"errors"
	"flag"
	"fmt"
	"time"
)

// LLM configures generative answers (the generate package) through an
// OpenAI-compatible endpoint. Nothing of it is needed for extractive
// answers: an empty BaseURL turns generation off. It has its own table so
// that the server options above stay as they are.
type LLM struct {
	// BaseURL is the endpoint's API root, e.g. https://api.openai.com/v1.
	BaseURL string
	// Model is the model name sent with every request.
	Model string
	// APIKey is the bearer token (OPENAI_API_KEY).
	APIKey string
	// Timeout bounds one generation.
	Timeout time.Duration
	// MaxTokens bounds one answer's length in the model's tokens.
	MaxTokens int
}

// Enabled reports whether an endpoint is configured.
func (l *LLM) Enabled() bool { return l.BaseURL != "" }

// llmSetting is one LLM flag and its environment variable.
type llmSetting struct{ flag, env, help string }

// llmSettings are the LLM flags, in the order RegisterLLM binds them. The
// base URL takes OpenAI's standard variable name, which every
// OpenAI-compatible client reads.
var llmSettings = [...]llmSetting{
	{"llm-base-url", "OPENAI_BASE_URL", "OpenAI-compatible API root for generative answers (e.g. https://api.openai.com/v1, http://127.0.0.1:8000/v1); empty: no generation"},
	{"llm-model", "ASK_LLM_MODEL", "model name for generative answers, as the endpoint knows it"},
	{"llm-timeout", "ASK_LLM_TIMEOUT", "longest time one generated answer may take; past it the extractive answer is returned"},
	{"llm-max-tokens", "ASK_LLM_MAX_TOKENS", "longest generated answer in the model's tokens"},
}

// RegisterLLM returns the LLM settings from the environment (through
// getenv) and defines their flags on fs, which override it when parsed.
// The key is read from OPENAI_API_KEY only: a flag would show in ps.
func RegisterLLM(fs *flag.FlagSet, getenv func(string) string) (*LLM, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	l := &LLM{Timeout: 60 * time.Second, MaxTokens: 512, APIKey: getenv("OPENAI_API_KEY")}
	values := [len(llmSettings)]flag.Value{(*stringValue)(&l.BaseURL), (*stringValue)(&l.Model), (*durationValue)(&l.Timeout), (*intValue)(&l.MaxTokens)}
	var errs []error
	for i, s := range llmSettings {
		if raw := getenv(s.env); raw != "" {
			if err := values[i].Set(raw); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", s.env, raw, err))
			}
		}
		fs.Var(values[i], s.flag, s.help+" (env "+s.env+")")
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return l, nil
}

// Validate checks the LLM settings after parsing.
func (l *LLM) Validate() error {
	var errs []error
	if l.BaseURL != "" && l.Model == "" {
		errs = append(errs, errors.New("llm-base-url is set but llm-model is not: name the model the endpoint serves (ASK_LLM_MODEL)"))
	}
	if l.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("llm-timeout must be positive, got %v", l.Timeout))
	}
	if l.MaxTokens < 1 {
		errs = append(errs, fmt.Errorf("llm-max-tokens must be at least 1, got %d", l.MaxTokens))
	}
	return errors.Join(errs...)
}
