package cli

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/askqa/ask/builtin"
	"github.com/askqa/ask/config"
	"github.com/askqa/ask/embed"
	"github.com/askqa/ask/embed/sentence"
	"github.com/askqa/ask/server"
)

// TestServeEmbeddingsWithOpenAIClient runs the official OpenAI Python
// client against a real ask serve with the built-in embedder: what users
// will do. ASK_PYTHON names a python with the `openai` package.
func TestServeEmbeddingsWithOpenAIClient(t *testing.T) {
	py := os.Getenv("ASK_PYTHON")
	if py == "" {
		t.Skip("ASK_PYTHON is unset: set it to a python with the openai package (pip install openai) to run the OpenAI client check")
	}
	if err := exec.Command(py, "-c", "import openai").Run(); err != nil {
		t.Skipf("%s has no openai package (pip install openai): %v", py, err)
	}
	url, stderr, _ := startServe(t, func(ctx context.Context, env Env, _ config.Config, _ loaderDeps) (server.Reader, func(context.Context) error, error) {
		return fakeModel{}, nil, nil
	}, noEnv)
	script, _ := filepath.Abs(filepath.Join("..", "tools", "reference", "openai_embeddings_client.py"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, script, url).Output()
	if err != nil {
		t.Fatalf("openai client: %v\n%s\nserver log:\n%s", err, exitStderr(err), stderr)
	}
	var got struct {
		Version string
		Calls   []struct {
			Format, Model, Object string
			Usage                 [2]int
			Data                  []struct {
				Index     int
				Object    string
				Embedding []float64
			}
		}
		Error *struct {
			Status  int
			Message string
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	m, err := sentence.LoadBuiltin(sentence.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	texts := [][]string{
		{"How do I reset my password?", "Passwords are reset under Settings, Security."},
		{"How do I reset my password?", "Passwords are reset under Settings, Security."},
		{"one text"},
	}
	for ci, c := range got.Calls {
		want, err := m.Embed(context.Background(), texts[ci], embed.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if c.Model != builtin.EmbedderID || c.Object != "list" || len(c.Data) != len(want) || c.Usage[0] == 0 || c.Usage[0] != c.Usage[1] {
			t.Errorf("call %s: %+v", c.Format, c)
			continue
		}
		for i, d := range c.Data {
			if d.Index != i || d.Object != "embedding" || len(d.Embedding) != 384 {
				t.Fatalf("call %s data %d: index %d object %q dim %d", c.Format, i, d.Index, d.Object, len(d.Embedding))
			}
			for j, v := range d.Embedding {
				// Batch-mates differ from the direct call's, so rounding may.
				if math.Abs(v-float64(want[i].Vector[j])) > 1e-5 {
					t.Fatalf("call %s text %d dim %d: %v, ask's embedder %v", c.Format, i, j, v, want[i].Vector[j])
				}
			}
		}
	}
	if got.Error == nil || got.Error.Status != 404 || !strings.Contains(got.Error.Message, "builtin") {
		t.Errorf("unknown model through the client: %+v", got.Error)
	}
	t.Logf("openai %s: %d calls checked", got.Version, len(got.Calls))
}

func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
