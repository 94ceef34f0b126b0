package ingest

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"
	"golang.org/x/text/unicode/norm"
)

// extractPDF returns the text of a PDF's pages, one paragraph per page at
// least. The parser is third-party code fed untrusted input: the file is
// first checked for decompression bombs, and a panic inside the parser is
// turned into ErrCorrupt.
func extractPDF(data []byte, lim Limits) (ex Extracted, err error) {
	if !bytes.HasPrefix(bytes.TrimLeft(data[:min(len(data), 1024)], "\x00\t\r\n "), []byte("%PDF-")) {
		return Extracted{}, fmt.Errorf("%w: no %%PDF- header: not a PDF file", ErrCorrupt)
	}
	if err := checkInflation(data, lim.MaxInflatedBytes); err != nil {
		return Extracted{}, err
	}
	defer func() {
		if r := recover(); r != nil {
			ex, err = Extracted{}, fmt.Errorf("%w: the PDF parser failed on this file: %v", ErrCorrupt, r)
		}
	}()
	r, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return Extracted{}, fmt.Errorf("%w: read PDF: %v (an encrypted PDF must be decrypted first)", ErrCorrupt, err)
	}
	n := r.NumPage()
	if n > lim.MaxPDFPages {
		return Extracted{}, fmt.Errorf("%w: %d pages, the limit is %d", ErrTooLarge, n, lim.MaxPDFPages)
	}
	var b strings.Builder
	for i := 1; i <= n; i++ {
		p := r.Page(i)
		if p.V.IsNull() {
			continue
		}
		t := cleanPDFText(layout(p.Content().Text))
		if t == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(t)
		if b.Len() > lim.MaxTextBytes {
			return Extracted{}, fmt.Errorf("%w: more than %d bytes of text", ErrTooLarge, lim.MaxTextBytes)
		}
	}
	text := b.String()
	if strings.TrimSpace(text) == "" {
		return Extracted{}, fmt.Errorf("%w: the PDF has no extractable text (a scan needs OCR first)", ErrCorrupt)
	}
	title := pdfTitle(r)
	if title == "" {
		title = firstLine(text)
	}
	return Extracted{Title: title, Text: text}, nil
}

// layout joins a page's glyphs into text. PDFs place glyphs at positions
// and often draw no space characters, so spaces and line breaks come from
// the geometry: a horizontal gap of a fifth of the font size is a space, a
// move to another baseline a new line, and a move down of more than 1.4
// times the page's usual line spacing a new paragraph.
func layout(texts []pdf.Text) string {
	// The usual line spacing: the median of the moves to a lower line.
	var steps []float64
	for i := 1; i < len(texts); i++ {
		if dy := texts[i-1].Y - texts[i].Y; dy > 0.5*max(texts[i].FontSize, 1) {
			steps = append(steps, dy)
		}
	}
	sort.Float64s(steps)
	line := 0.0
	if len(steps) > 0 {
		line = steps[len(steps)/2]
	}
	var b strings.Builder
	var prev pdf.Text
	for i, t := range texts {
		// The parser reports line ends as zero-width text ("\n", or the
		// glyph the font has at 10: "Ω" in TeX's OT1) before the next line;
		// the geometry already says where lines end.
		if strings.Trim(t.S, "\r\n") == "" {
			continue
		}
		if t.W == 0 && utf8.RuneCountInString(t.S) == 1 &&
			(i+1 == len(texts) || math.Abs(texts[i+1].Y-t.Y) > 0.5*max(t.FontSize, 1) || strings.Trim(texts[i+1].S, "\r\n") == "") {
			continue
		}
		size := max(t.FontSize, 1)
		if prev.S != "" {
			dy := prev.Y - t.Y
			switch {
			case dy > 1.4*line && line > 0, dy < -0.5*size && dy < -line:
				b.WriteString("\n\n")
			case dy > 0.5*size || dy < -0.5*size:
				b.WriteString("\n")
			default:
				gap := t.X - (prev.X + prev.W)
				if gap > 0.2*size && !strings.HasSuffix(prev.S, " ") && !strings.HasPrefix(t.S, " ") {
					b.WriteByte(' ')
				} else if gap < -4*size { // back to the left on the same baseline: a column
					b.WriteString("\n")
				}
			}
		}
		b.WriteString(t.S)
		prev = t
	}
	return b.String()
}

func pdfTitle(r *pdf.Reader) string {
	t := r.Trailer().Key("Info").Key("Title").Text()
	if !utf8.ValidString(t) {
		return ""
	}
	return clip(strings.TrimSpace(t), 200)
}

// cleanPDFText makes a page's text valid UTF-8 without NULs and with "\n"
// line ends, trimmed, in NFKC: PDFs draw ligatures ("ﬁ") that would
// otherwise hide words from search.
func cleanPDFText(s string) string {
	s = norm.NFKC.String(strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.ReplaceAll(s, "\x00", "")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.TrimSpace(s)
}

// checkInflation inflates every Flate stream of a PDF into a counter and
// refuses the file when they expand past max bytes altogether (a PDF
// bomb: a few kilobytes that expand to gigabytes and exhaust memory
// inside the parser).
func checkInflation(data []byte, max int64) error {
	var total int64
	for pos := 0; ; {
		i := bytes.Index(data[pos:], []byte("stream"))
		if i < 0 {
			return nil
		}
		kw := pos + i
		pos = kw + len("stream")
		// The keyword after a dictionary ("endstream" is not one).
		if kw >= 3 && string(data[kw-3:kw]) == "end" {
			continue
		}
		body := data[pos:]
		switch {
		case bytes.HasPrefix(body, []byte("\r\n")):
			body = body[2:]
		case bytes.HasPrefix(body, []byte("\n")), bytes.HasPrefix(body, []byte("\r")):
			body = body[1:]
		default:
			continue
		}
		// Its dictionary: back to the object's "obj" keyword.
		dict := data[max0(kw-4096):kw]
		if o := bytes.LastIndex(dict, []byte("obj")); o >= 0 {
			dict = dict[o:]
		}
		if !bytes.Contains(dict, []byte("/FlateDecode")) && !bytes.Contains(dict, []byte("/Fl")) {
			continue
		}
		if end := bytes.Index(body, []byte("endstream")); end >= 0 {
			body = body[:end]
		}
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			continue // a damaged stream: the parser will say what it thinks
		}
		n, _ := io.Copy(io.Discard, io.LimitReader(zr, max-total+1))
		total += n
		if total > max {
			return fmt.Errorf("%w: the PDF's compressed streams expand to more than %d bytes (a PDF bomb?)", ErrTooLarge, max)
		}
	}
}

func max0(i int) int { return max(i, 0) }
