package sentence

import (
	"context"
	"github.com/askqa/ask/embed"
	"testing"
)

func TestBuiltinLoadsFromMemory(t *testing.T) {
	m, err := LoadBuiltin(LoadOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	info := m.Info()
	if info.Dim != 384 || info.MaxSeqLen != 256 || !info.Normalized || info.Pooling != "mean" {
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
