package debertav2

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/askqa/ask/model"
)

// TestBadConfig checks that configurations this package cannot run are
// refused with an error that names the field.
func TestBadConfig(t *testing.T) {
	tests := []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"conv layer", func(m map[string]any) { m["conv_kernel_size"] = 3 }, "conv_kernel_size"},
		{"p2p", func(m map[string]any) { m["pos_att_type"] = "p2c|p2p" }, `pos_att_type "p2p"`},
		{"pos_att_type number", func(m map[string]any) { m["pos_att_type"] = 3 }, "pos_att_type must be"},
		{"head size", func(m map[string]any) { m["attention_head_size"] = 7 }, "attention_head_size"},
		{"heads", func(m map[string]any) { m["num_attention_heads"] = 5 }, "not divisible"},
		{"activation", func(m map[string]any) { m["hidden_act"] = "swish" }, "unsupported activation"},
		{"fewer buckets", func(m map[string]any) { m["position_buckets"] = 4 }, "rel_embeddings.weight"},
		{"architecture", func(m map[string]any) { m["architectures"] = []string{"DebertaV2ForMaskedLMx"} }, "unsupported architecture"},
		{"wider", func(m map[string]any) { m["hidden_size"] = 51 }, "has shape"},
		{"positions", func(m map[string]any) { m["max_position_embeddings"] = 2_000_000_000 }, "max_position_embeddings 2000000000 is over"},
	}
	src := filepath.Join("testdata", "v3-qa")
	raw, err := os.ReadFile(filepath.Join(src, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			tt.edit(m)
			dir := t.TempDir()
			b, _ := json.Marshal(m)
			if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := model.ReadConfig(dir)
			if err != nil {
				t.Fatal(err)
			}
			w, err := model.OpenWeights(src)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			_, _, err = Load(cfg, w)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}
