package config

import (
	"flag"
	"io"
	"testing"
	"time"
)

func TestRegisterLLM(t *testing.T) {
	env := map[string]string{"OPENAI_BASE_URL": "http://127.0.0.1:8000/v1", "OPENAI_API_KEY": "sk-x", "ASK_LLM_MODEL": "m", "ASK_LLM_TIMEOUT": "5s"}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l, err := RegisterLLM(fs, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"--llm-max-tokens", "64", "--llm-model", "other"}); err != nil {
		t.Fatal(err)
	}
	want := LLM{BaseURL: "http://127.0.0.1:8000/v1", Model: "other", APIKey: "sk-x", Timeout: 5 * time.Second, MaxTokens: 64}
	if *l != want || !l.Enabled() || l.Validate() != nil {
		t.Errorf("got %+v (validate %v), want %+v", *l, l.Validate(), want)
	}

	for _, bad := range []map[string]string{{"ASK_LLM_TIMEOUT": "soon"}, {"ASK_LLM_MAX_TOKENS": "x"}} {
		if _, err := RegisterLLM(flag.NewFlagSet("t", flag.ContinueOnError), func(k string) string { return bad[k] }); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	for _, l := range []LLM{{BaseURL: "http://x/v1", Timeout: time.Second, MaxTokens: 1}, {Timeout: 0, MaxTokens: 1}, {Timeout: time.Second}} {
		if l.Validate() == nil {
			t.Errorf("%+v validated", l)
		}
	}
	if (&LLM{Timeout: time.Second, MaxTokens: 1}).Validate() != nil || (&LLM{}).Enabled() {
		t.Error("no endpoint must be valid and off")
	}
}
