package model

import "testing"

func TestQuantizedWeight(t *testing.T) {
	for _, c := range []struct {
		name  string
		shape []int64
		want  bool
	}{
		{"bert.encoder.layer.0.attention.self.query.weight", []int64{4, 4}, true},
		{"bert.encoder.layer.11.output.dense.weight", []int64{4, 8}, true},
		{"distilbert.transformer.layer.3.ffn.lin1.weight", []int64{8, 4}, true},
		{"albert.encoder.albert_layer_groups.0.albert_layers.0.ffn_output.weight", []int64{4, 8}, true},
		{"bert.encoder.layer.0.attention.self.query.bias", []int64{4}, false},
		{"bert.encoder.layer.0.output.LayerNorm.weight", []int64{4}, false},
		{"distilbert.transformer.layer.0.sa_layer_norm.weight", []int64{4}, false},
		{"bert.embeddings.word_embeddings.weight", []int64{100, 4}, false},
		{"albert.encoder.embedding_hidden_mapping_in.weight", []int64{4, 2}, false},
		{"qa_outputs.weight", []int64{2, 4}, false},
		{"bert.pooler.dense.weight", []int64{4, 4}, false},
	} {
		if got := QuantizedWeight(c.name, c.shape); got != c.want {
			t.Errorf("QuantizedWeight(%q, %v) = %v, want %v", c.name, c.shape, got, c.want)
		}
	}
}
