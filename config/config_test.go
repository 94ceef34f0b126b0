package config

import (
	"bytes"
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func load(t *testing.T, e map[string]string, args ...string) (*Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c, err := Register(fs, env(e))
	if err != nil {
		return nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return c, c.Validate()
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.Reader != ReaderAuto || c.APIKey != "" || len(c.CORSOrigins) != 0 {
		t.Errorf("defaults = %+v", c)
	}
	if !c.Loopback() {
		t.Error("default address is not loopback")
	}
}

// Flags beat the environment, which beats the defaults.
func TestPrecedence(t *testing.T) {
	e := map[string]string{
		"ASK_ADDR": "127.0.0.1:9000", "ASK_MODEL": "env-model", "ASK_API_KEY": " s3cret ",
		"ASK_MAX_BODY_BYTES": "2MiB", "ASK_REQUEST_TIMEOUT": "5s", "ASK_CORS_ORIGINS": "https://a.example, https://b.example/",
		"ASK_BATCH_WAIT": "1ms", "ASK_LOG_FORMAT": "JSON", "ASK_LOG_LEVEL": "debug", "ASK_QUEUE_SIZE": "7", "ASK_MAX_CONTEXT_WINDOWS": "4",
	}
	c, err := load(t, e, "--addr", "127.0.0.1:0", "--cors-origins", "*")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:0" {
		t.Errorf("flag did not override env: addr %q", c.Addr)
	}
	if c.Model != "env-model" || c.APIKey != "s3cret" || c.MaxBodyBytes != 2<<20 || c.RequestTimeout != 5*time.Second ||
		c.BatchWait != time.Millisecond || c.LogFormat != "json" || c.LogLevel != slog.LevelDebug || c.QueueSize != 7 {
		t.Errorf("env not applied: %+v", c)
	}
	if len(c.CORSOrigins) != 1 || c.CORSOrigins[0] != "*" {
		t.Errorf("cors flag should replace the env list: %q", c.CORSOrigins)
	}
	c, err = load(t, e)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.CORSOrigins) != 2 || c.CORSOrigins[1] != "https://b.example" {
		t.Errorf("cors from env = %q", c.CORSOrigins)
	}
}

func TestBadEnvNamesTheVariable(t *testing.T) {
	_, err := load(t, map[string]string{"ASK_BATCH_WAIT": "soon", "ASK_API_KEY": "x", "ASK_READER": "magic"})
	if err == nil {
		t.Fatal("bad environment accepted")
	}
	for _, want := range []string{"ASK_BATCH_WAIT", "ASK_READER"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, args := range [][]string{
		{"--addr", "nonsense"},
		{"--addr", "127.0.0.1:99999"},
		{"--batch-tokens", "0"},
		{"--request-timeout", "-1s"},
		{"--max-body-bytes", "10"},
		{"--cors-origins", "example.com"},
		{"--reader", "lexical", "--model", "x"},
		{"--queue-size", "10", "--max-context-windows", "20"},
		{"--read-timeout", "0s"},
		{"--drain-delay", "-1s"},
		{"--drain-delay", "30s", "--shutdown-timeout", "30s"},
	} {
		if _, err := load(t, nil, args...); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

// --help lists every environment variable and never prints the API key.
func TestHelp(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	if _, err := Register(fs, env(map[string]string{"ASK_API_KEY": "topsecret"})); err != nil {
		t.Fatal(err)
	}
	fs.PrintDefaults()
	help := out.String()
	for _, name := range EnvNames() {
		if !strings.Contains(help, name) {
			t.Errorf("help lacks %s", name)
		}
	}
	if strings.Contains(help, "topsecret") {
		t.Error("help shows the API key")
	}
	if strings.Contains(help, "panic") {
		t.Errorf("help reports a panic:\n%s", help)
	}
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:1": true, "[::1]:1": true, "localhost:1": true,
		"0.0.0.0:1": false, ":8080": false, "10.0.0.1:1": false} {
		c := Config{Addr: addr}
		if got := c.Loopback(); got != want {
			t.Errorf("Loopback(%s) = %v", addr, got)
		}
	}
}
