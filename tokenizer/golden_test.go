package tokenizer

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sharedData is ../shared/data next to the repository (see
// ../shared/data/README.md); ASK_SHARED_DATA overrides it.
func sharedData(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("ASK_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "data")
	}
	if _, err := os.Stat(filepath.Join(dir, "tokenizers")); err != nil {
		t.Skipf("shared data not found at %s (set ASK_SHARED_DATA): %v", dir, err)
	}
	return dir
}

// goldenTokenizers mirrors TOKENIZERS in tools/reference/gen_tokenizer_goldens.py.
var goldenTokenizers = []struct {
	name, folder string
	cfg          map[string]any
	corpora      []string
}{
	{"bert-base-cased", "bert-base-cased", nil, []string{"squad1", "squad2"}},
	{"bert-base-uncased", "bert-base-uncased", nil, []string{"squad1", "squad2"}},
	{"bert-base-chinese", "bert-base-chinese", map[string]any{"do_lower_case": true}, []string{"squad1", "cmrc", "drcd"}},
	{"bert-base-multilingual-cased", "bert-base-multilingual-cased", map[string]any{"do_lower_case": false}, []string{"squad1", "squad2", "cmrc", "drcd"}},
	{"roberta-base", "roberta-base", nil, []string{"squad1", "squad2"}},
	{"t5-small", "t5-small", nil, []string{"squad1", "squad2"}},
}

var corpusFiles = map[string]string{
	"squad1": "squad/dev-v1.1-public.json",
	"squad2": "squad/dev-v2.0-public.json",
	"cmrc":   "qa-zh/cmrc2018_trial.squad-style.json",
	"drcd":   "qa-zh/DRCD_test.json",
}

func loadGoldenTokenizer(t testing.TB, data, folder string, cfg map[string]any) *Tokenizer {
	t.Helper()
	var opts []Option
	if cfg != nil {
		opts = append(opts, WithConfig(cfg))
	}
	tk, err := LoadDir(filepath.Join(data, "tokenizers", folder), opts...)
	if err != nil {
		t.Fatalf("load %s: %v", folder, err)
	}
	return tk
}

type goldenRec struct {
	K        string  `json:"k"`
	H        string  `json:"h"`
	Text     *string `json:"text"`
	A        *string `json:"a"`
	B        *string `json:"b"`
	IDs      []int32 `json:"ids"`
	W        []int   `json:"w"`
	OD       []int   `json:"od"`
	TT       []int32 `json:"tt"`
	WH       []string
	Err      *string `json:"err"`
	Windows  [][][]int
	Strategy string `json:"strategy"`
	MaxLen   int    `json:"max_length"`
	Stride   int    `json:"stride"`
}

func (g *goldenRec) UnmarshalJSON(b []byte) error {
	type plain goldenRec
	var aux struct {
		plain
		WH      []string  `json:"wh"`
		Windows [][][]int `json:"windows"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*g = goldenRec(aux.plain)
	g.WH, g.Windows = aux.WH, aux.Windows
	return nil
}

func readGolden(t testing.TB, path string) []goldenRec {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("golden: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("golden %s: %v", path, err)
	}
	var out []goldenRec
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var r goldenRec
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("golden %s: %v", path, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("golden %s: %v", path, err)
	}
	return out
}

func textHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])[:16]
}

// singleMismatch compares an Encode result with a golden single record.
func singleMismatch(e *Encoding, g *goldenRec) string {
	if len(e.IDs) != len(g.IDs) {
		return fmt.Sprintf("len %d want %d\n got ids %v\nwant ids %v\n got toks %q", len(e.IDs), len(g.IDs), e.IDs, g.IDs, e.Tokens)
	}
	prev := 0
	for i := range g.IDs {
		s := prev + g.OD[2*i]
		en := s + g.OD[2*i+1]
		prev = en
		tt := int32(0)
		if g.TT != nil {
			tt = g.TT[i]
		}
		if e.IDs[i] != g.IDs[i] || e.WordIDs[i] != g.W[i] || e.Offsets[i] != [2]int{s, en} || e.TypeIDs[i] != tt {
			return fmt.Sprintf("token %d: got id %d word %d off %v type %d (%q), want id %d word %d off %v type %d\n got ids %v\nwant ids %v",
				i, e.IDs[i], e.WordIDs[i], e.Offsets[i], e.TypeIDs[i], e.Tokens[i], g.IDs[i], g.W[i], [2]int{s, en}, tt, e.IDs, g.IDs)
		}
	}
	return ""
}

// windowLists is the reference's canonical form of a window.
func windowLists(e *Encoding) [][]int {
	n := e.Len()
	l := make([][]int, 7)
	for k := range l {
		l[k] = make([]int, 0, n)
	}
	for i := 0; i < n; i++ {
		l[0] = append(l[0], int(e.IDs[i]))
		l[1] = append(l[1], int(e.TypeIDs[i]))
		l[2] = append(l[2], e.WordIDs[i])
		l[3] = append(l[3], e.SequenceIDs[i])
		l[4] = append(l[4], e.Offsets[i][0], e.Offsets[i][1])
		l[5] = append(l[5], int(e.SpecialMask[i]))
		l[6] = append(l[6], int(e.AttentionMask[i]))
	}
	return l
}

func windowHash(e *Encoding) string {
	var sb strings.Builder
	sb.WriteByte('[')
	for k, l := range windowLists(e) {
		if k > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('[')
		for i, v := range l {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(strconv.Itoa(v))
		}
		sb.WriteByte(']')
	}
	sb.WriteByte(']')
	h := sha256.Sum256([]byte(sb.String()))
	return hex.EncodeToString(h[:])[:16]
}

func diffWindow(got, want [][]int) string {
	names := []string{"ids", "type_ids", "word_ids", "sequence_ids", "offsets", "special_mask", "attention_mask"}
	for k := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(want[k]) {
			return fmt.Sprintf("%s:\n got %v\nwant %v", names[k], got[k], want[k])
		}
	}
	return ""
}

type squadItem struct {
	kind    byte // 'c' context, 'q' question
	key     string
	text    string
	context string
}

func loadSquad(t testing.TB, path string) []squadItem {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var doc struct {
		Data []struct {
			Paragraphs []struct {
				Context string `json:"context"`
				QAs     []struct {
					ID       json.RawMessage `json:"id"`
					Question string          `json:"question"`
				} `json:"qas"`
			} `json:"paragraphs"`
		} `json:"data"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var out []squadItem
	for ai, a := range doc.Data {
		for pi, p := range a.Paragraphs {
			out = append(out, squadItem{kind: 'c', key: fmt.Sprintf("%d/%d", ai, pi), text: p.Context})
			for _, q := range p.QAs {
				id := string(q.ID)
				var s string
				if json.Unmarshal(q.ID, &s) == nil {
					id = s
				}
				out = append(out, squadItem{kind: 'q', key: id, text: q.Question, context: p.Context})
			}
		}
	}
	return out
}

type parityCount struct{ singles, singlesOK, pairs, pairsOK, windows int }

func TestGoldenAdversarial(t *testing.T) {
	data := sharedData(t)
	for _, gt := range goldenTokenizers {
		t.Run(gt.name, func(t *testing.T) {
			tk := loadGoldenTokenizer(t, data, gt.folder, gt.cfg)
			recs := readGolden(t, filepath.Join("testdata", "golden", gt.name+".adversarial.jsonl.gz"))
			var c parityCount
			fails := 0
			for i := range recs {
				g := &recs[i]
				if g.Text != nil {
					c.singles++
					e, err := tk.Encode(*g.Text, true)
					if err != nil {
						t.Errorf("%s %q: %v", g.K, *g.Text, err)
						continue
					}
					if d := singleMismatch(e, g); d != "" {
						if fails++; fails <= 8 {
							t.Errorf("%s %q: %s", g.K, *g.Text, d)
						}
						continue
					}
					c.singlesOK++
					continue
				}
				c.pairs++
				opts := PairOptions{MaxLength: g.MaxLen, Stride: g.Stride}
				if g.Strategy == "only_first" {
					opts.Strategy = OnlyFirst
				}
				ws, err := tk.EncodePair(*g.A, *g.B, opts)
				if g.Err != nil {
					if err == nil {
						if fails++; fails <= 8 {
							t.Errorf("%s: reference failed (%s), we returned %d windows", g.K, *g.Err, len(ws))
						}
						continue
					}
					c.pairsOK++
					continue
				}
				if err != nil {
					if fails++; fails <= 8 {
						t.Errorf("%s: %v", g.K, err)
					}
					continue
				}
				ok := len(ws) == len(g.Windows)
				for w := 0; ok && w < len(ws); w++ {
					if d := diffWindow(windowLists(ws[w]), g.Windows[w]); d != "" {
						ok = false
						if fails++; fails <= 8 {
							t.Errorf("%s window %d (a=%q b=%q): %s", g.K, w, *g.A, *g.B, d)
						}
					}
				}
				if !ok && len(ws) != len(g.Windows) {
					if fails++; fails <= 8 {
						t.Errorf("%s: %d windows, want %d", g.K, len(ws), len(g.Windows))
					}
				}
				if ok {
					c.pairsOK++
				}
				c.windows += len(g.Windows)
			}
			t.Logf("PARITY %s adversarial: singles %d/%d identical, pair encodings %d/%d identical (%d windows)",
				gt.name, c.singlesOK, c.singles, c.pairsOK, c.pairs, c.windows)
		})
	}
}

func TestGoldenCorpora(t *testing.T) {
	data := sharedData(t)
	if testing.Short() {
		t.Skip("corpus parity is long; run without -short")
	}
	for _, gt := range goldenTokenizers {
		t.Run(gt.name, func(t *testing.T) {
			tk := loadGoldenTokenizer(t, data, gt.folder, gt.cfg)
			for _, corpus := range gt.corpora {
				items := loadSquad(t, filepath.Join(data, corpusFiles[corpus]))
				recs := readGolden(t, filepath.Join("testdata", "golden", gt.name+"."+corpus+".jsonl.gz"))
				byKey := make(map[string]*goldenRec, len(recs))
				for i := range recs {
					byKey[recs[i].K] = &recs[i]
				}
				var c parityCount
				fails := 0
				fail := func(format string, args ...any) {
					if fails++; fails <= 6 {
						t.Errorf(corpus+": "+format, args...)
					}
				}
				for _, it := range items {
					key := string(it.kind) + it.key
					g := byKey[key]
					if g == nil {
						fail("%s: no golden record", key)
						continue
					}
					c.singles++
					if g.H != textHash(it.text) {
						fail("%s: text hash %s differs from golden %s (data changed?)", key, textHash(it.text), g.H)
						continue
					}
					e, _ := tk.Encode(it.text, true)
					if d := singleMismatch(e, g); d != "" {
						fail("%s %.80q: %s", key, it.text, d)
					} else {
						c.singlesOK++
					}
					if it.kind != 'q' {
						continue
					}
					c.pairs++
					pg := byKey["p"+it.key]
					if pg == nil || pg.H != textHash(it.text+"\x00"+it.context) {
						fail("p%s: missing or stale golden", it.key)
						continue
					}
					ws, err := tk.EncodePair(it.text, it.context, PairOptions{MaxLength: 384, Stride: 128})
					if pg.Err != nil {
						if err == nil {
							fail("p%s: reference failed (%s), we did not", it.key, *pg.Err)
						} else {
							c.pairsOK++
						}
						continue
					}
					if err != nil {
						fail("p%s: %v", it.key, err)
						continue
					}
					c.windows += len(pg.WH)
					ok := len(ws) == len(pg.WH)
					for w := 0; ok && w < len(ws); w++ {
						ok = windowHash(ws[w]) == pg.WH[w]
					}
					if !ok {
						fail("p%s: %d windows (hashes differ; want %d) — run gen_tokenizer_goldens.py explain %s p%s %s",
							it.key, len(ws), len(pg.WH), gt.name, it.key, corpus)
						continue
					}
					c.pairsOK++
				}
				t.Logf("PARITY %s %s: singles %d/%d identical, pairs %d/%d identical (%d windows)",
					gt.name, corpus, c.singlesOK, c.singles, c.pairsOK, c.pairs, c.windows)
			}
		})
	}
}
