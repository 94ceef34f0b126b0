package api

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestVectorRoundTrip(t *testing.T) {
	v := []float32{0, -1.5, float32(math.Pi), 1e-30}
	for _, b64 := range []bool{false, true} {
		raw, err := json.Marshal(Vector{Values: v, Base64: b64})
		if err != nil {
			t.Fatal(err)
		}
		if b64 != strings.HasPrefix(string(raw), `"`) {
			t.Errorf("base64=%v encoded as %s", b64, raw)
		}
		var got Vector
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		for i := range v {
			if got.Values[i] != v[i] {
				t.Errorf("base64=%v: %v, want %v", b64, got.Values, v)
			}
		}
	}
	// OpenAI's own base64 of [1, 2]: little-endian float32.
	var got Vector
	if err := json.Unmarshal([]byte(`"AACAPwAAAEA="`), &got); err != nil || got.Values[0] != 1 || got.Values[1] != 2 {
		t.Errorf("decode OpenAI base64: %v %v", got.Values, err)
	}
}

func FuzzDecodeEmbeddings(f *testing.F) {
	for _, s := range []string{`{"input":"a"}`, `{"input":["a","b"],"encoding_format":"base64","dimensions":3}`,
		`{"input":[1,2]}`, `{"inputs":"x","normalize":false,"truncate":true}`, `[]`, `{"input":"\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(inputs []string, err error) {
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Status != 400 {
					t.Fatalf("error %v is not a 400 *Error", err)
				}
				return
			}
			if len(inputs) == 0 {
				t.Fatal("no error and no inputs")
			}
			for _, s := range inputs {
				if strings.TrimSpace(s) == "" {
					t.Fatal("an empty input passed")
				}
			}
		}
		req, err := DecodeEmbeddings(body)
		check(req.Input, err)
		tei, err := DecodeTEIEmbed(body)
		check(tei.Inputs, err)
	})
}
