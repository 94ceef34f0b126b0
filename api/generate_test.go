package api

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodeGenerate(t *testing.T) {
	for _, tc := range []struct {
		body      string
		want      GenerateOptions
		wantBody  string // "" means unchanged
		wantError string
	}{
		{body: `{"question":"q","context":"c"}`},
		{body: `[{"question":"q","context":"c"}]`},
		{body: `not json "generate"`},
		{body: `{"question":"q","generate":true}`, want: GenerateOptions{Generate: true}, wantBody: `{"question":"q"}`},
		{body: `{"question":"q","generate":true,"stream":true}`, want: GenerateOptions{Generate: true, Stream: true}, wantBody: `{"question":"q"}`},
		{body: `{"question":"<q>","generate":false,"stream":null}`, wantBody: `{"question":"<q>"}`},
		{body: `{"question":"q","context":"the \"stream\" here"}`},
		{body: `{"generate":"yes"}`, wantError: "wrong_type: generate must be a boolean"},
		{body: `{"generate":false,"stream":true}`, wantError: `send "generate": true`},
	} {
		o, body, err := DecodeGenerate([]byte(tc.body))
		if tc.wantError != "" {
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 || !strings.Contains(err.Error(), tc.wantError) {
				t.Errorf("%s: err %v, want 400 %q", tc.body, err, tc.wantError)
			}
			continue
		}
		want := tc.wantBody
		if want == "" {
			want = tc.body
		}
		if err != nil || o != tc.want || strings.TrimSpace(string(body)) != want {
			t.Errorf("%s: %+v %s %v, want %+v %s", tc.body, o, body, err, tc.want, want)
		}
	}
}

func TestReadEvents(t *testing.T) {
	in := "event: sources\ndata: {\"sources\":[]}\n\n: a comment\n\nevent: delta\ndata: {\"text\":\"a\"}\n\ndata: x\ndata: y\n\nevent: done\ndata: {}\n"
	var got []string
	err := ReadEvents(strings.NewReader(in), 1<<20, func(e Event) error {
		got = append(got, e.Name+"="+string(e.Data))
		return nil
	})
	want := []string{`sources={"sources":[]}`, `delta={"text":"a"}`, "message=x\ny"}
	if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, %v; want %q (an event without its closing blank line is not delivered)", got, err, want)
	}
	if err := ReadEvents(strings.NewReader("data: 0123456789\n\n"), 5, func(Event) error { return nil }); err == nil {
		t.Error("an event over the limit was read")
	}
}

// FuzzDecodeGenerate: any body either comes back unchanged, or without
// "generate" and "stream" and still one JSON object, or is refused with a
// 400; nothing panics.
func FuzzDecodeGenerate(f *testing.F) {
	for _, s := range []string{`{"question":"q","context":"c","generate":true,"stream":true}`, `{"generate":null}`,
		`{"stream":true}`, `[{"generate":true}]`, `{"generate":true,"generate":false}`, `{"q":"\ud800","generate":true}`, `"generate"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		o, out, err := DecodeGenerate(body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		if o.Stream && !o.Generate {
			t.Fatal("stream without generate accepted")
		}
		if string(out) == string(body) {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("rewritten body %q is not an object: %v", out, err)
		}
		if _, ok := m["generate"]; ok {
			t.Fatalf("generate left in %q", out)
		}
		if _, ok := m["stream"]; ok {
			t.Fatalf("stream left in %q", out)
		}
	})
}
