package sentence

import (
	"context"
	"testing"

	"github.com/askqa/ask/embed"
)

func TestBuiltinLoadsFromMemory(t *testing.T) {
	m, err := LoadBuiltin(LoadOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	info := m.Info()
	if info.Dim != 384 || info.MaxSeqLen != 512 || !info.Normalized || info.Pooling != "mean" {
		t.Fatalf("info = %+v", info)
	}
	res, err := m.Embed(context.Background(), []string{"A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby."}, embed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dot := func(a, b []float32) (s float32) {
		for i := range a {
			s += a[i] * b[i]
		}
		return s
	}
	if near, far := dot(res[0].Vector, res[1].Vector), dot(res[0].Vector, res[2].Vector); near <= far {
		t.Errorf("food/bread cosine %.3f not above food/baby %.3f", near, far)
	}
	t.Logf("tokens %d %d %d", res[0].Tokens, res[1].Tokens, res[2].Tokens)
}

// TestBuiltinUnknownShare checks embed.Result.Unknown on the built-in
// embedder, which reads English and Chinese: an English question, a
// foreign name included, and a Chinese one are known, as is an empty text
// (no tokens).
func TestBuiltinUnknownShare(t *testing.T) {
	m, err := LoadBuiltin(LoadOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	texts := []string{"Where did Beyoncé grow up?", "范廷颂是什么时候被任为主教的？", ""}
	res, err := m.Embed(context.Background(), texts, embed.Options{Role: embed.RoleQuery})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Unknown != 0 || res[1].Unknown != 0 || res[2].Unknown != 0 {
		t.Errorf("unknown shares %.2f %.2f %.2f: want 0 (English), 0 (Chinese), 0 (empty)", res[0].Unknown, res[1].Unknown, res[2].Unknown)
	}
}
