package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Record is one line of a JSON lines file: {"id","title","text","metadata"}.
// Metadata values that are not strings are kept as their JSON text.
type Record struct {
	ID       string
	Title    string
	Text     string
	Metadata map[string]string
}

// ReadJSONL calls f for each record of r, in order, stopping at the first
// error. Blank lines are skipped; a line that is not a record with an "id"
// and a "text" is an error naming the line.
func ReadJSONL(r io.Reader, lim Limits, f func(line int, rec Record) error) error {
	lim = lim.withDefaults()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), lim.MaxTextBytes+1<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		rec, err := parseRecord(b)
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if err := f(line, rec); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return fmt.Errorf("line %d: %w: a line over %d bytes", line+1, ErrTooLarge, lim.MaxTextBytes+1<<20)
		}
		return fmt.Errorf("line %d: %w", line+1, err)
	}
	return nil
}

func parseRecord(b []byte) (Record, error) {
	var raw struct {
		ID       json.RawMessage            `json:"id"`
		Title    string                     `json:"title"`
		Text     *string                    `json:"text"`
		Metadata map[string]json.RawMessage `json:"metadata"`
	}
	// Invalid UTF-8 would be replaced silently by the decoder.
	if _, err := utf8Text(b); err != nil {
		return Record{}, err
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Record{}, fmt.Errorf("%w: not a JSON object {\"id\",\"title\",\"text\",\"metadata\"}: %v", ErrCorrupt, err)
	}
	var rec Record
	switch {
	case len(raw.ID) == 0 || string(raw.ID) == "null":
		return Record{}, fmt.Errorf("%w: the record has no \"id\"", ErrCorrupt)
	case raw.ID[0] == '"':
		if err := json.Unmarshal(raw.ID, &rec.ID); err != nil {
			return Record{}, fmt.Errorf("%w: id: %v", ErrCorrupt, err)
		}
	default: // a number
		rec.ID = string(raw.ID)
	}
	if rec.ID == "" {
		return Record{}, fmt.Errorf("%w: the record's \"id\" is empty", ErrCorrupt)
	}
	if raw.Text == nil {
		return Record{}, fmt.Errorf("%w: record %q has no \"text\"", ErrCorrupt, rec.ID)
	}
	rec.Title = raw.Title
	rec.Text = strings.ReplaceAll(*raw.Text, "\r\n", "\n")
	if len(raw.Metadata) > 0 {
		rec.Metadata = make(map[string]string, len(raw.Metadata))
		for k, v := range raw.Metadata {
			var s string
			if json.Unmarshal(v, &s) == nil {
				rec.Metadata[k] = s
			} else {
				rec.Metadata[k] = string(v)
			}
		}
	}
	return rec, nil
}
