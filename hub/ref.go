package hub

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// Ref names a model on the Hub: a repo id and a revision (branch, tag, or
// full or short commit sha).
type Ref struct {
	Repo     string
	Revision string
}

func (r Ref) String() string { return r.Repo + "@" + r.Revision }

// repoIDRe is huggingface_hub's validate_repo_id: an optional namespace and
// a name of word characters, "-" and ".".
var repoIDRe = regexp.MustCompile(`^(\b[\w\-.]+\b/)?\b[\w\-.]{1,96}\b$`)

// commitRe matches a full git commit sha, the only revision that names a
// snapshot folder directly (everything else goes through refs/).
var commitRe = regexp.MustCompile(`^[0-9a-f]{40}$`)

// IsCommit reports whether rev is a full 40-hex commit sha.
func IsCommit(rev string) bool { return commitRe.MatchString(rev) }

// ParseRef parses "org/name[@revision]"; the revision defaults to "main".
func ParseRef(s string) (Ref, error) {
	repo, rev, _ := strings.Cut(s, "@")
	if rev == "" {
		rev = "main"
	}
	if !repoIDRe.MatchString(repo) || strings.Contains(repo, "--") || strings.Contains(repo, "..") {
		return Ref{}, fmt.Errorf("invalid model id %q: want org/name[@revision], e.g. %s", s, DefaultModel)
	}
	if strings.Contains(rev, "..") || strings.HasPrefix(rev, "/") || strings.HasSuffix(rev, "/") || strings.ContainsAny(rev, "\\\x00") {
		return Ref{}, fmt.Errorf("invalid revision %q in %q", rev, s)
	}
	return Ref{Repo: repo, Revision: rev}, nil
}

// RepoFolderName is the cache folder of a model repo, "models--org--name",
// exactly as huggingface_hub names it so both find each other's files.
func RepoFolderName(repo string) string {
	return "models--" + strings.ReplaceAll(repo, "/", "--")
}

// resolveURL is {endpoint}/{repo}/resolve/{rev}/{file} with the revision
// fully percent-encoded ("refs/pr/1" → "refs%2Fpr%2F1") and each file path
// segment escaped, as hf_hub_url does.
func resolveURL(endpoint, repo, rev, file string) string {
	segs := strings.Split(file, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return endpoint + "/" + repo + "/resolve/" + url.PathEscape(rev) + "/" + strings.Join(segs, "/")
}

// validFile rejects repo file names that would escape the snapshot folder
// (they come from a downloaded index file, so they are untrusted).
func validFile(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || strings.Contains(name, "\x00") {
		return false
	}
	c := path.Clean(name)
	return c == name && c != "." && c != ".." && !strings.HasPrefix(c, "../")
}
