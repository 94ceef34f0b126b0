package ingest

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// File is a file to ingest.
type File struct {
	// Path is where to read it.
	Path string
	// ID is the document id: the path as given on the command line, with
	// forward slashes, so that adding the same folder again finds the same
	// documents.
	ID     string
	Format Format
	Size   int64
}

// Globs select files inside folders. A pattern without '/' matches a file
// or folder name anywhere ("*.md", "node_modules"); one with '/' matches the
// path below the folder given ("docs/*.md"); a trailing "/**" matches
// everything below ("drafts/**"). Patterns use path.Match syntax.
type Globs struct {
	Include []string // when set, files must match one of these
	Exclude []string // files and folders matching one of these are skipped
}

// Check reports a malformed pattern.
func (g Globs) Check() error {
	for _, p := range append(append([]string(nil), g.Include...), g.Exclude...) {
		if _, err := path.Match(strings.TrimSuffix(p, "/**"), ""); err != nil {
			return fmt.Errorf("glob %q: %w", p, err)
		}
	}
	return nil
}

func matchAny(patterns []string, rel string) bool {
	base := path.Base(rel)
	for _, p := range patterns {
		if dir, ok := strings.CutSuffix(p, "/**"); ok {
			if rel == dir || strings.HasPrefix(rel, dir+"/") {
				return true
			}
			continue
		}
		target := base
		if strings.Contains(p, "/") {
			target = rel
		}
		if ok, _ := path.Match(p, target); ok {
			return true
		}
	}
	return false
}

// Files lists the files to ingest under the given paths: a file is taken
// as is (an unsupported type is an error); a folder is walked recursively,
// taking the files of a supported type that the globs select and skipping
// hidden files and folders (names starting with '.'). skipped lists the
// files of a folder left out for their type.
func Files(paths []string, g Globs) (files []File, skipped []string, err error) {
	if err := g.Check(); err != nil {
		return nil, nil, err
	}
	for _, root := range paths {
		st, err := os.Stat(root)
		if err != nil {
			return nil, nil, fmt.Errorf("add %s: %w", root, err)
		}
		id := filepath.ToSlash(filepath.Clean(root))
		if !st.IsDir() {
			f, ok := FormatOf(root)
			if !ok {
				return nil, nil, fmt.Errorf("add %s: %w: %q (ask reads .txt, .md, .html, .pdf and .jsonl)", root, ErrUnsupported, filepath.Ext(root))
			}
			files = append(files, File{Path: root, ID: id, Format: f, Size: st.Size()})
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p == root {
				return nil
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if strings.HasPrefix(d.Name(), ".") || matchAny(g.Exclude, rel) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || !d.Type().IsRegular() {
				return nil
			}
			if len(g.Include) > 0 && !matchAny(g.Include, rel) {
				return nil
			}
			f, ok := FormatOf(p)
			if !ok {
				skipped = append(skipped, p)
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			files = append(files, File{Path: p, ID: path.Join(id, rel), Format: f, Size: info.Size()})
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("add %s: %w", root, err)
		}
	}
	return files, skipped, nil
}
