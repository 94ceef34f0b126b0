package tokenizer

import (
	"path/filepath"
	"testing"
)

// squadContexts returns the unique SQuAD v1.1 dev contexts, the corpus
// bench/tokenize_bench.py times the Rust tokenizers on.
func squadContexts(b *testing.B) []string {
	data := sharedData(b)
	var out []string
	seen := map[string]bool{}
	for _, it := range loadSquad(b, filepath.Join(data, corpusFiles["squad1"])) {
		if it.kind == 'c' && !seen[it.text] {
			seen[it.text] = true
			out = append(out, it.text)
		}
	}
	return out
}

func benchEncode(b *testing.B, folder string) {
	data := sharedData(b)
	tk := loadGoldenTokenizer(b, data, folder, nil)
	ctxs := squadContexts(b)
	bytes := 0
	for _, c := range ctxs {
		bytes += len(c)
	}
	b.SetBytes(int64(bytes))
	b.ResetTimer()
	toks := 0
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		for _, c := range ctxs {
			e, _ := tk.Encode(c, true)
			toks += e.Len()
		}
	}
	cpu := (cpuTime() - cpu0).Seconds()
	b.ReportMetric(float64(toks)/b.Elapsed().Seconds(), "tokens/s")
	if cpu > 0 {
		b.ReportMetric(float64(toks)/cpu, "tokens/cpu-s")
		b.ReportMetric(float64(bytes)*float64(b.N)/cpu/1e6, "MB/cpu-s")
	}
}

func BenchmarkEncodeBertBaseCased(b *testing.B) { benchEncode(b, "bert-base-cased") }
func BenchmarkEncodeRobertaBase(b *testing.B)   { benchEncode(b, "roberta-base") }
func BenchmarkEncodeT5Small(b *testing.B)       { benchEncode(b, "t5-small") }

// BenchmarkEncodePairWindows times what the QA pipeline does per question.
func BenchmarkEncodePairWindows(b *testing.B) {
	data := sharedData(b)
	tk := loadGoldenTokenizer(b, data, "bert-base-cased", nil)
	var qs []squadItem
	for _, it := range loadSquad(b, filepath.Join(data, corpusFiles["squad1"])) {
		if it.kind == 'q' {
			qs = append(qs, it)
		}
	}
	qs = qs[:1000]
	bytes := 0
	for _, q := range qs {
		bytes += len(q.text) + len(q.context)
	}
	b.SetBytes(int64(bytes))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, q := range qs {
			if _, err := tk.EncodePair(q.text, q.context, PairOptions{MaxLength: 384, Stride: 128}); err != nil {
				b.Fatal(err)
			}
		}
	}
}
