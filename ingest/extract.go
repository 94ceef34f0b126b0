// Package ingest turns files into knowledge-base documents: it extracts
// text from plain text, Markdown, HTML, PDF and JSON lines, walks folders,
// cuts the text into chunks, embeds them and stores each document in one
// transaction, reporting a document done only once it is durable.
package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

var (
	// ErrUnsupported: a file type ingest cannot read.
	ErrUnsupported = errors.New("ingest: unsupported file type")
	// ErrTooLarge: a file or its extracted text is over a limit.
	ErrTooLarge = errors.New("ingest: too large")
	// ErrCorrupt: a file that does not parse as its type says, or text that
	// is not UTF-8.
	ErrCorrupt = errors.New("ingest: corrupt or invalid file")
)

// Limits bound what one file may cost. The zero value takes the defaults.
type Limits struct {
	// MaxFileBytes bounds a file's size (default 256 MiB).
	MaxFileBytes int64
	// MaxTextBytes bounds the text extracted from one document (default 64
	// MiB).
	MaxTextBytes int
	// MaxInflatedBytes bounds what a PDF's compressed streams expand to
	// (default 512 MiB): a PDF bomb is refused before it is parsed.
	MaxInflatedBytes int64
	// MaxPDFPages bounds a PDF's page count (default 10,000).
	MaxPDFPages int
}

func (l Limits) withDefaults() Limits {
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = 256 << 20
	}
	if l.MaxTextBytes <= 0 {
		l.MaxTextBytes = 64 << 20
	}
	if l.MaxInflatedBytes <= 0 {
		l.MaxInflatedBytes = 512 << 20
	}
	if l.MaxPDFPages <= 0 {
		l.MaxPDFPages = 10_000
	}
	return l
}

// Extracted is the text of one file.
type Extracted struct {
	Title string
	Text  string
}

// Format is a kind of file ingest reads.
type Format string

// The formats, by file extension.
const (
	Text     Format = "text"
	Markdown Format = "markdown"
	HTML     Format = "html"
	PDF      Format = "pdf"
	JSONL    Format = "jsonl"
)

// FormatOf picks the format from a file name's extension; ok is false for
// a type ingest does not read.
func FormatOf(name string) (Format, bool) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".txt", ".text", ".rst", ".log", ".csv", ".tsv":
		return Text, true
	case ".md", ".markdown", ".mdown", ".mkd":
		return Markdown, true
	case ".html", ".htm", ".xhtml":
		return HTML, true
	case ".pdf":
		return PDF, true
	case ".jsonl", ".ndjson":
		return JSONL, true
	}
	return "", false
}

// Extract returns the text of a file of format f (not JSONL, which holds
// many documents: see ReadJSONL).
func Extract(f Format, data []byte, lim Limits) (Extracted, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxFileBytes {
		return Extracted{}, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(data), lim.MaxFileBytes)
	}
	var ex Extracted
	var err error
	switch f {
	case Text:
		ex.Text, err = utf8Text(data)
		ex.Title = firstLine(ex.Text)
	case Markdown:
		ex.Text, err = utf8Text(data)
		ex.Title = markdownTitle(ex.Text)
	case HTML:
		ex, err = extractHTML(data)
	case PDF:
		ex, err = extractPDF(data, lim)
	default:
		return Extracted{}, fmt.Errorf("%w: %q", ErrUnsupported, f)
	}
	if err != nil {
		return Extracted{}, err
	}
	if len(ex.Text) > lim.MaxTextBytes {
		return Extracted{}, fmt.Errorf("%w: %d bytes of text, the limit is %d", ErrTooLarge, len(ex.Text), lim.MaxTextBytes)
	}
	return ex, nil
}

// utf8Text checks that data is UTF-8 text (a byte-order mark is dropped)
// and normalises line ends to "\n", so offsets are the same whatever
// system wrote the file.
func utf8Text(data []byte) (string, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if bytes.HasPrefix(data, []byte("\xff\xfe")) || bytes.HasPrefix(data, []byte("\xfe\xff")) {
		return "", fmt.Errorf("%w: the file is UTF-16: convert it to UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)", ErrCorrupt)
	}
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, n := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			off += n
		}
		return "", fmt.Errorf("%w: not valid UTF-8 at byte %d: convert the file to UTF-8 (e.g. iconv -f LATIN1 -t UTF-8)", ErrCorrupt, off)
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return "", fmt.Errorf("%w: a NUL byte at %d: this looks like a binary file, not text", ErrCorrupt, i)
	}
	s := string(data)
	if strings.Contains(s, "\r") {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	return s, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return clip(strings.TrimSpace(s), 200)
}

// markdownTitle is the first heading's text, or the first line.
func markdownTitle(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if t, ok := strings.CutPrefix(strings.TrimSpace(line), "# "); ok {
			return clip(strings.TrimSpace(t), 200)
		}
	}
	return firstLine(s)
}

// clip shortens s to at most n bytes at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
