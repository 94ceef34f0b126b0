package hub

import (
	"os"
	"path/filepath"
	"testing"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestOptionsFromEnv(t *testing.T) {
	tokDir := t.TempDir()
	tokFile := filepath.Join(tokDir, "tok")
	if err := os.WriteFile(tokFile, []byte("  hf_fromfile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hfHome := t.TempDir()
	if err := os.WriteFile(filepath.Join(hfHome, "token"), []byte("hf_home_token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name                   string
		env                    map[string]string
		endpoint, cache, token string
		offline                bool
	}{
		{"defaults", map[string]string{"HOME": "/h"}, DefaultEndpoint, "/h/.cache/huggingface/hub", "", false},
		{"xdg", map[string]string{"HOME": "/h", "XDG_CACHE_HOME": "/x"}, DefaultEndpoint, "/x/huggingface/hub", "", false},
		{"hf_home", map[string]string{"HOME": "/h", "XDG_CACHE_HOME": "/x", "HF_HOME": hfHome}, DefaultEndpoint, hfHome + "/hub", "hf_home_token", false},
		{"hf_home tilde", map[string]string{"HOME": "/h", "HF_HOME": "~/hf"}, DefaultEndpoint, "/h/hf/hub", "", false},
		{"hub cache wins", map[string]string{"HOME": "/h", "HF_HOME": "/y", "HF_HUB_CACHE": "/c", "HUGGINGFACE_HUB_CACHE": "/old"}, DefaultEndpoint, "/c", "", false},
		{"legacy hub cache", map[string]string{"HOME": "/h", "HUGGINGFACE_HUB_CACHE": "/old"}, DefaultEndpoint, "/old", "", false},
		{"endpoint", map[string]string{"HOME": "/h", "HF_ENDPOINT": "http://mirror:8080/"}, "http://mirror:8080", "/h/.cache/huggingface/hub", "", false},
		{"offline 1", map[string]string{"HF_HUB_OFFLINE": "1"}, DefaultEndpoint, "", "", true},
		{"offline on", map[string]string{"HF_HUB_OFFLINE": "On"}, DefaultEndpoint, "", "", true},
		{"offline yes", map[string]string{"HF_HUB_OFFLINE": "yes"}, DefaultEndpoint, "", "", true},
		{"offline TRUE", map[string]string{"HF_HUB_OFFLINE": "TRUE"}, DefaultEndpoint, "", "", true},
		{"offline 0", map[string]string{"HF_HUB_OFFLINE": "0"}, DefaultEndpoint, "", "", false},
		{"offline false", map[string]string{"HF_HUB_OFFLINE": "false"}, DefaultEndpoint, "", "", false},
		{"transformers offline", map[string]string{"TRANSFORMERS_OFFLINE": "1"}, DefaultEndpoint, "", "", true},
		{"token precedence", map[string]string{"HF_TOKEN": " a ", "HUGGING_FACE_HUB_TOKEN": "b", "HF_TOKEN_PATH": tokFile}, DefaultEndpoint, "", "a", false},
		{"legacy token", map[string]string{"HUGGING_FACE_HUB_TOKEN": "b", "HF_TOKEN_PATH": tokFile}, DefaultEndpoint, "", "b", false},
		{"token path", map[string]string{"HF_TOKEN_PATH": tokFile, "HF_HOME": hfHome}, DefaultEndpoint, hfHome + "/hub", "hf_fromfile", false},
		{"missing token file", map[string]string{"HF_TOKEN_PATH": filepath.Join(tokDir, "nope")}, DefaultEndpoint, "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, err := OptionsFromEnv(envOf(c.env))
			if err != nil {
				t.Fatal(err)
			}
			if o.Endpoint != c.endpoint || o.CacheDir != c.cache || o.Token != c.token || o.Offline != c.offline {
				t.Errorf("got endpoint=%q cache=%q token=%q offline=%v, want %q %q %q %v",
					o.Endpoint, o.CacheDir, o.Token, o.Offline, c.endpoint, c.cache, c.token, c.offline)
			}
		})
	}
}

func TestOptionsFromEnvUnreadableToken(t *testing.T) {
	dir := t.TempDir() // a directory cannot be read as a file
	if _, err := OptionsFromEnv(envOf(map[string]string{"HF_TOKEN_PATH": dir})); err == nil {
		t.Fatal("want an error for an unreadable token file")
	}
}

func TestParseRef(t *testing.T) {
	good := map[string]Ref{
		"org/name":           {"org/name", "main"},
		"org/name@564e9b5":   {"org/name", "564e9b5"},
		"bert-base-uncased":  {"bert-base-uncased", "main"},
		"org/name@refs/pr/1": {"org/name", "refs/pr/1"},
		"org/na.me_x-1@v1.0": {"org/na.me_x-1", "v1.0"},
		DefaultModel:         {DefaultRepo, DefaultRevision},
	}
	for in, want := range good {
		got, err := ParseRef(in)
		if err != nil || got != want {
			t.Errorf("ParseRef(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "a/b/c", "org/na--me", "org/..x", "/abs", "org/name@../x", "org/name@a\\b", "-org/name"} {
		if _, err := ParseRef(in); err == nil {
			t.Errorf("ParseRef(%q) accepted", in)
		}
	}
	if got, want := resolveURL("http://h", "o/n", "refs/pr/1", "sub dir/f.json"), "http://h/o/n/resolve/refs%2Fpr%2F1/sub%20dir/f.json"; got != want {
		t.Errorf("resolveURL = %s, want %s", got, want)
	}
	if got := RepoFolderName("distilbert/distilbert-base-cased-distilled-squad"); got != "models--distilbert--distilbert-base-cased-distilled-squad" {
		t.Errorf("RepoFolderName = %s", got)
	}
	for in, want := range map[string]string{`"abc"`: "abc", `W/"abc"`: "abc", "abc": "abc"} {
		if got := normalizeEtag(in); got != want {
			t.Errorf("normalizeEtag(%s) = %s", in, got)
		}
	}
}
