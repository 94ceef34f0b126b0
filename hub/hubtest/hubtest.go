// Package hubtest is a fake Hugging Face Hub for tests: it serves repos
// from memory with the headers the real Hub sends (X-Repo-Commit, ETag,
// X-Linked-Etag/X-Linked-Size on a 302 to a separate CDN server for LFS
// files, X-Error-Code on errors), honours Range, checks tokens, and injects
// faults (status codes, cut transfers, corrupted bytes, delays). Any test
// that needs a model "from the Hub" can use it; huggingface_hub can be
// pointed at it with HF_ENDPOINT.
package hubtest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// File is one file of a repo. LFS files are served like the Hub serves
// large files: a redirect to the CDN, with the sha256 as the linked etag.
type File struct {
	Data []byte
	LFS  bool
}

// Repo is a model repo at one commit.
type Repo struct {
	ID     string // "org/name"
	Commit string // 40-hex; derived from the files when empty
	// Refs are the branches and tags that point at Commit; "main" is
	// always one. Any hex prefix of Commit of 7+ characters resolves too.
	Refs    []string
	Files   map[string]File
	Private bool // needs Server.Token; without it: 401 RepoNotFound
	Gated   bool // needs Server.Token; without: 401, wrong token: 403 GatedRepo
}

// Request is one request a server received.
type Request struct {
	Host   string // "hub" or "cdn"
	Method string
	Path   string // escaped, as sent
	Query  url.Values
	Header http.Header
}

// Fault changes the answer to matching requests.
type Fault struct {
	Host   string // "hub", "cdn" or "" for both
	Method string // "" for any
	File   string // repo file path, "" for any
	Times  int    // how many matching requests it affects; 0 means all

	Status   int           // answer with this status and nothing else
	CutAfter int64         // send the full Content-Length, then only this many bytes, then drop the connection
	Corrupt  bool          // flip one byte of the body
	Delay    time.Duration // wait before answering
	// Hang accepts the request and never answers, until the client gives
	// up (or the server closes): a Hub behind a broken proxy.
	Hang bool
}

// Server is a running fake Hub and its CDN.
type Server struct {
	URL    string // the Hub endpoint, http://127.0.0.1:port
	CDNURL string // the CDN, http://localhost:port: another host name, so clients treat it as third party
	Token  string // accepted bearer token for private and gated repos

	hub, cdn *httptest.Server
	mu       sync.Mutex
	repos    map[string]*Repo
	renames  map[string]string
	faults   []*Fault
	reqs     []Request
	blobs    map[string]File // sha256 → file, for the CDN
	closing  chan struct{}   // closed when the test ends, releasing hung requests
}

// New starts a fake Hub serving repos; it is closed when the test ends.
func New(t testing.TB, repos ...Repo) *Server {
	t.Helper()
	s := &Server{
		Token:   "hf_test_token",
		repos:   map[string]*Repo{},
		renames: map[string]string{},
		blobs:   map[string]File{},
		closing: make(chan struct{}),
	}
	s.hub = httptest.NewServer(http.HandlerFunc(s.serveHub))
	s.cdn = httptest.NewServer(http.HandlerFunc(s.serveCDN))
	t.Cleanup(func() {
		close(s.closing) // before Close, which waits for handlers
		s.hub.Close()
		s.cdn.Close()
	})
	s.URL = s.hub.URL
	s.CDNURL = strings.Replace(s.cdn.URL, "127.0.0.1", "localhost", 1)
	for _, r := range repos {
		s.AddRepo(r)
	}
	return s
}

// AddRepo adds (or replaces) a repo and returns its commit.
func (s *Server) AddRepo(r Repo) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Commit == "" {
		h := sha1.New()
		h.Write([]byte(r.ID))
		for name, f := range r.Files {
			h.Write([]byte(name))
			h.Write(f.Data)
		}
		r.Commit = hex.EncodeToString(h.Sum(nil))
	}
	files := map[string]File{}
	for name, f := range r.Files {
		files[name] = f
		if f.LFS {
			s.blobs[SHA256(f.Data)] = f
		}
	}
	r.Files = files
	s.repos[r.ID] = &r
	return r.Commit
}

// Rename makes old answer with a relative redirect to new, as the Hub does
// for renamed or transferred repos.
func (s *Server) Rename(old, new string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.renames[old] = new
}

// AddFault installs a fault; faults are matched in the order added.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// Requests returns a copy of every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Count counts requests by host ("hub"/"cdn"/""), method ("" any) and
// repo file (matched on the end of the path or the CDN's filename).
func (s *Server) Count(host, method, file string) int {
	n := 0
	for _, r := range s.Requests() {
		if (host == "" || r.Host == host) && (method == "" || r.Method == method) &&
			(file == "" || strings.HasSuffix(r.Path, "/"+file) || r.Query.Get("filename") == file) {
			n++
		}
	}
	return n
}

func (s *Server) record(host string, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, Request{Host: host, Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.Query(), Header: r.Header.Clone()})
}

func (s *Server) fault(host, method, file string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Host == "" || f.Host == host) && (f.Method == "" || f.Method == method) && (f.File == "" || f.File == file) {
			if f.Times > 0 {
				f.Times--
				if f.Times == 0 {
					s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
				}
			}
			return f
		}
	}
	return nil
}

var resolveRe = regexp.MustCompile(`^/(.+?)/resolve/([^/]+)/(.+)$`)

func errorAnswer(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	http.Error(w, msg, status)
}

func (s *Server) serveHub(w http.ResponseWriter, r *http.Request) {
	s.record("hub", r)
	m := resolveRe.FindStringSubmatch(r.URL.EscapedPath())
	if m == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		errorAnswer(w, http.StatusNotFound, "", "not a resolve URL")
		return
	}
	repoID, err1 := url.PathUnescape(m[1])
	rev, err2 := url.PathUnescape(m[2])
	file, err3 := url.PathUnescape(m[3])
	if err1 != nil || err2 != nil || err3 != nil {
		errorAnswer(w, http.StatusBadRequest, "", "bad escape")
		return
	}
	fault := s.fault("hub", r.Method, file)
	if fault != nil && s.applyStatusFault(w, r, fault) {
		return
	}

	s.mu.Lock()
	newID, renamed := s.renames[repoID]
	repo := s.repos[repoID]
	token := s.Token
	s.mu.Unlock()
	if renamed {
		// Relative, as the Hub sends it.
		http.Redirect(w, r, "/"+newID+"/resolve/"+m[2]+"/"+m[3], http.StatusTemporaryRedirect)
		return
	}
	if repo == nil {
		errorAnswer(w, http.StatusNotFound, "RepoNotFound", "Repository not found")
		return
	}
	auth := r.Header.Get("Authorization")
	if repo.Private && auth != "Bearer "+token {
		errorAnswer(w, http.StatusUnauthorized, "RepoNotFound", "Invalid username or password.")
		return
	}
	if repo.Gated {
		if auth == "" {
			errorAnswer(w, http.StatusUnauthorized, "GatedRepo", "Access to model "+repo.ID+" is restricted. You must have access to it and be authenticated to access it. Please log in.")
			return
		}
		if auth != "Bearer "+token {
			errorAnswer(w, http.StatusForbidden, "GatedRepo", "Access to model "+repo.ID+" is restricted and you are not in the authorized list.")
			return
		}
	}
	commit, ok := resolveRev(repo, rev)
	if !ok {
		errorAnswer(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return
	}
	w.Header().Set("X-Repo-Commit", commit)
	f, ok := repo.Files[file]
	if !ok {
		errorAnswer(w, http.StatusNotFound, "EntryNotFound", file+" does not exist on \""+rev+"\"")
		return
	}
	if f.LFS {
		sum := SHA256(f.Data)
		w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(f.Data)))
		w.Header().Set("ETag", `W/"`+GitSHA1([]byte("version https://git-lfs.github.com/spec/v1\noid sha256:"+sum+"\n"))+`"`)
		loc := s.CDNURL + "/blobs/" + sum + "?filename=" + url.QueryEscape(file) + "&X-Amz-Signature=fake"
		http.Redirect(w, r, loc, http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+GitSHA1(f.Data)+`"`)
	s.serveBytes(w, r, f.Data, fault)
}

// applyStatusFault answers a Status or Delay fault; it reports whether the
// request is finished.
func (s *Server) applyStatusFault(w http.ResponseWriter, r *http.Request, f *Fault) bool {
	if f.Hang {
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return true
	}
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return true
		}
	}
	if f.Status != 0 {
		errorAnswer(w, f.Status, "", "injected fault")
		return true
	}
	return false // body faults are applied by serveBytes
}

func resolveRev(repo *Repo, rev string) (string, bool) {
	if rev == repo.Commit || rev == "main" {
		return repo.Commit, true
	}
	for _, ref := range repo.Refs {
		if ref == rev {
			return repo.Commit, true
		}
	}
	if len(rev) >= 7 && strings.HasPrefix(repo.Commit, rev) {
		return repo.Commit, true
	}
	return "", false
}

func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request) {
	s.record("cdn", r)
	sum := strings.TrimPrefix(r.URL.Path, "/blobs/")
	file := r.URL.Query().Get("filename")
	fault := s.fault("cdn", r.Method, file)
	if fault != nil && s.applyStatusFault(w, r, fault) {
		return
	}
	s.mu.Lock()
	f, ok := s.blobs[sum]
	s.mu.Unlock()
	if !ok {
		http.Error(w, "NoSuchKey", http.StatusNotFound)
		return
	}
	w.Header().Set("ETag", `"`+sum+`"`)
	s.serveBytes(w, r, f.Data, fault)
}

// serveBytes answers with data, honouring "Range: bytes=a-" and "bytes=a-b",
// and applies a body fault if one is given.
func (s *Server) serveBytes(w http.ResponseWriter, r *http.Request, data []byte, f *Fault) {
	h := w.Header()
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Type", "application/octet-stream")
	start, end := int64(0), int64(len(data))
	status := http.StatusOK
	if rg := r.Header.Get("Range"); rg != "" {
		spec, ok := strings.CutPrefix(rg, "bytes=")
		a, b, ok2 := strings.Cut(spec, "-")
		as, err := strconv.ParseInt(a, 10, 64)
		if ok && ok2 && err == nil {
			if as >= int64(len(data)) {
				h.Set("Content-Range", fmt.Sprintf("bytes */%d", len(data)))
				w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
				return
			}
			start = as
			if bs, err := strconv.ParseInt(b, 10, 64); err == nil && bs+1 < end {
				end = bs + 1
			}
			status = http.StatusPartialContent
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, len(data)))
		}
	}
	body := append([]byte(nil), data[start:end]...)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if f != nil && f.Corrupt && len(body) > 0 {
		body[len(body)/2] ^= 0xff
	}
	if f != nil && f.CutAfter > 0 && f.CutAfter < int64(len(body)) {
		w.Write(body[:f.CutAfter])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		panic(http.ErrAbortHandler) // drops the connection mid-body
	}
	w.Write(body)
}

// SHA256 is the hex sha256 of b: the etag of an LFS file.
func SHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// GitSHA1 is the git blob id of b: the etag of a regular file.
func GitSHA1(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// Safetensors builds a valid safetensors file holding one F32 tensor "w"
// of n values (n*4 bytes of data), so weights are big enough to cut
// mid-transfer and still loadable.
func Safetensors(n int) []byte {
	hdr, _ := json.Marshal(map[string]any{
		"w": map[string]any{"dtype": "F32", "shape": []int{n}, "data_offsets": []int{0, 4 * n}},
	})
	for len(hdr)%8 != 0 {
		hdr = append(hdr, ' ')
	}
	out := make([]byte, 8, 8+len(hdr)+4*n)
	binary.LittleEndian.PutUint64(out, uint64(len(hdr)))
	out = append(out, hdr...)
	for i := 0; i < n; i++ {
		out = binary.LittleEndian.AppendUint32(out, uint32(i*2654435761))
	}
	return out
}

// TinyModel is a small BERT-like QA repo: config, tokenizer files and a
// 64 KiB model.safetensors (LFS); no vocab.json, merges.txt or
// special_tokens_map.json, so pulls leave .no_exist markers for them.
func TinyModel(id string) Repo {
	return Repo{
		ID: id,
		Files: map[string]File{
			"config.json":           {Data: []byte(`{"model_type": "distilbert", "architectures": ["DistilBertForQuestionAnswering"], "dim": 8, "n_layers": 1, "n_heads": 2, "hidden_dim": 16, "vocab_size": 8, "max_position_embeddings": 16}` + "\n")},
			"tokenizer_config.json": {Data: []byte(`{"do_lower_case": false, "model_max_length": 512}` + "\n")},
			"tokenizer.json":        {Data: []byte(`{"version": "1.0", "model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3}}}` + "\n")},
			"vocab.txt":             {Data: []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n")},
			"model.safetensors":     {Data: Safetensors(16 << 10), LFS: true},
			"README.md":             {Data: []byte("# tiny\n")},
		},
	}
}

// FromDir builds a repo from the regular files of model folders (a later
// folder's file replaces an earlier one's of the same name; subfolders are
// skipped), so a test can serve a real checkpoint the way the Hub would.
// Files the Hub's default .gitattributes stores in LFS (weights and
// SentencePiece models: .bin, .safetensors, .model, .h5, .onnx, .msgpack,
// .pt, .pth, .ot) are served as LFS files, through the CDN.
func FromDir(t testing.TB, id string, dirs ...string) Repo {
	t.Helper()
	r := Repo{ID: id, Files: map[string]File{}}
	for _, dir := range dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatalf("hubtest: repo %s: %v", id, err)
		}
		for _, e := range ents {
			if !e.Type().IsRegular() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatalf("hubtest: repo %s: %v", id, err)
			}
			r.Files[e.Name()] = File{Data: b, LFS: isLFS(e.Name())}
		}
	}
	return r
}

func isLFS(name string) bool {
	switch filepath.Ext(name) {
	case ".bin", ".safetensors", ".model", ".h5", ".onnx", ".msgpack", ".pt", ".pth", ".ot":
		return true
	}
	return false
}

// FailingClient is an http.Client that fails the test on any request: the
// proof that offline code paths never touch the network.
func FailingClient(t testing.TB) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("network used in offline mode: %s %s", r.Method, r.URL)
		return nil, fmt.Errorf("network forbidden in this test")
	})}
}

// NoNetwork starts a server that fails the test on any request; use its
// URL as HF_ENDPOINT for a process that must stay offline.
func NoNetwork(t testing.TB) string {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("network used in offline mode: %s %s", r.Method, r.URL)
		http.Error(w, "offline", http.StatusTeapot)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
