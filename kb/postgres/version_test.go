package postgres

import (
	"strings"
	"testing"
)

func TestVersionChecks(t *testing.T) {
	ptr := func(s string) *string { return &s }
	for _, tc := range []struct {
		name      string
		num       int
		server    string
		vector    string
		available *string
		want      []string // substrings of the error; nil: no error
	}{
		{"current", 180004, "18.4", "0.8.5", ptr("0.8.5"), nil},
		{"oldest", 130000, "13.0", "0.8.0", nil, nil},
		{"old server", 120017, "12.17", "0.8.0", nil, []string{"PostgreSQL 12.17 is too old", "13 or newer", "upgrade the server"}},
		{"old vector, newer on disk", 160000, "16.0", "0.7.4", ptr("0.8.1"), []string{"pgvector 0.7.4 is too old", "the server has pgvector 0.8.1", "ALTER EXTENSION vector UPDATE"}},
		{"old vector", 160000, "16.0", "0.5.1", ptr("0.5.1"), []string{"pgvector 0.5.1 is too old", "install pgvector 0.8.0 or newer"}},
		{"vector 0.10", 170000, "17.0", "0.10.0", nil, nil},
	} {
		err := checkServer(tc.num, tc.server)
		if err == nil {
			err = checkVector(tc.vector, tc.available)
		}
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", tc.name, err, w)
			}
		}
	}
}

func TestQueryTerms(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"What is the capital of Italy?", "what|is|the|capital|of|italy"},
		{"北京大学", "北 京|京 大|大 学"},
		{"熊", "熊"},
		{"ROME colosseum rome", "rome|colosseum"},
		{`"a AND" NEAR( *-x col:val`, "a|and|near|x|col|val"},
		{"长城全长多少公里？Great Wall", "长 城|城 全|全 长|长 多|多 少|少 公|公 里|great|wall"},
		{"!!! ''; --", ""},
	} {
		if got := strings.Join(queryTerms(tc.in), "|"); got != tc.want {
			t.Errorf("queryTerms(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRedact(t *testing.T) {
	u := "postgres://user:s3cret@host/db"
	if got := redact(errString("bad url "+u), u); strings.Contains(got, "s3cret") {
		t.Errorf("redact kept the password: %q", got)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestEfSearchParam(t *testing.T) {
	for _, tc := range []struct {
		in, out string
		ef      int
	}{
		{"postgres://u:p@h/db", "postgres://u:p@h/db", DefaultEfSearch},
		{"postgres://u:p@h/db?hnsw_ef_search=200", "postgres://u:p@h/db", 200},
		{"postgres://h/db?sslmode=disable&hnsw_ef_search=100&pool_max_conns=8", "postgres://h/db?sslmode=disable&pool_max_conns=8", 100},
		{"host=h dbname=db", "host=h dbname=db", DefaultEfSearch},
	} {
		out, ef, err := efSearchParam(tc.in)
		if err != nil || out != tc.out || ef != tc.ef {
			t.Errorf("efSearchParam(%q) = %q, %d, %v; want %q, %d", tc.in, out, ef, err, tc.out, tc.ef)
		}
	}
	for _, bad := range []string{"postgres://h/db?hnsw_ef_search=0", "postgres://h/db?hnsw_ef_search=1001", "postgres://h/db?hnsw_ef_search=x"} {
		if _, _, err := efSearchParam(bad); err == nil || !strings.Contains(err.Error(), "1 to 1000") {
			t.Errorf("efSearchParam(%q): %v, want an error naming the range", bad, err)
		}
	}
}
