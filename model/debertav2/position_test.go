package debertav2

import (
	"encoding/json"
	"os"
	"testing"
)

// TestLogBucket compares with make_log_bucket_position as transformers
// computes it (testdata/buckets.json, tools/reference/gen_deberta.py).
func TestLogBucket(t *testing.T) {
	raw, err := os.ReadFile("testdata/buckets.json")
	if err != nil {
		t.Fatal(err)
	}
	var tables []struct {
		BucketSize  int   `json:"bucket_size"`
		MaxPosition int   `json:"max_position"`
		From        int   `json:"from"`
		Buckets     []int `json:"buckets"`
	}
	if err := json.Unmarshal(raw, &tables); err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		bad := 0
		for i, want := range tb.Buckets {
			rel := tb.From + i
			if got := logBucket(rel, tb.BucketSize, tb.MaxPosition); got != want && bad < 5 {
				bad++
				t.Errorf("logBucket(%d, %d, %d) = %d, want %d", rel, tb.BucketSize, tb.MaxPosition, got, want)
			}
		}
	}
}
