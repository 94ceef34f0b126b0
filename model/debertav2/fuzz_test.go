package debertav2

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/askqa/ask/model"
)

// FuzzConfig loads the v3-qa weights under arbitrary config.json contents:
// every config must end in a model or an error, never a panic or an
// allocation that the weights do not bound.
func FuzzConfig(f *testing.F) {
	for _, name := range []string{"v3-qa", "v2-qa", "c2p-bare", "norel-bare"} {
		b, err := os.ReadFile(filepath.Join("testdata", name, "config.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"model_type":"deberta-v2","pos_att_type":"c2p|p2c","position_buckets":-5,"max_relative_positions":0}`))
	w, err := model.OpenWeights(filepath.Join("testdata", "v3-qa"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { w.Close() })
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := model.ParseConfig(data, "fuzz/config.json")
		if err != nil {
			return
		}
		// A fresh Weights per input: Load records its first error in it.
		ww := *w
		ww.Prefix = ""
		m, head, err := Load(cfg, &ww)
		if err != nil {
			return
		}
		enc := model.NewEncoder(m, head, 1)
		enc.Close()
	})
}
