package engine

import (
	"os"
	"testing"
)

// BenchmarkLoad loads the checkpoint in ASK_BENCH_MODEL (e.g. a
// DistilBERT-base folder made by tools/reference/gen_models.py).
func BenchmarkLoad(b *testing.B) {
	dir := os.Getenv("ASK_BENCH_MODEL")
	if dir == "" {
		b.Skip("set ASK_BENCH_MODEL to a checkpoint folder")
	}
	for i := 0; i < b.N; i++ {
		enc, err := Load(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		enc.Close()
	}
}
