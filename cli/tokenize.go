package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/askqa/ask/tokenizer"
)

// tokenizeLine is one input line; a missing text_pair means a single text.
type tokenizeLine struct {
	Text     *string `json:"text"`
	TextPair *string `json:"text_pair"`
}

type tokenizeOut struct {
	IDs     []int32  `json:"ids"`
	Tokens  []string `json:"tokens"`
	Offsets [][2]int `json:"offsets"`
	TypeIDs []int32  `json:"type_ids"`
	WordIDs []*int   `json:"word_ids"`
}

// runTokenize reads JSON lines {"text", "text_pair"?} and writes one
// encoding per line, offsets in code points like Python, word ids null for
// special tokens.
func runTokenize(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "tokenize", "[--tokenizer] PATH < lines.jsonl\n\n"+
		"Reads JSON lines {\"text\", \"text_pair\"?} and writes one JSON line of ids, tokens,\n"+
		"offsets, type ids and word ids per input. PATH (or --tokenizer) is a tokenizer.json or a model folder.")
	path := fs.String("tokenizer", "", "tokenizer.json file or model folder")
	noSpecial := fs.Bool("no-special-tokens", false, "do not add [CLS]/[SEP] and the like")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := modelArg(fs, path, "tokenizer"); err != nil {
		return err
	}
	if *path == "" {
		return usageErrorf(fs, "missing the tokenizer: PATH or --tokenizer PATH (a tokenizer.json or a model folder)")
	}
	tk, err := tokenizer.Load(*path)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(env.Stdin)
	sc.Buffer(make([]byte, 64*1024), 64<<20)
	w := bufio.NewWriter(env.Stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	line := 0
	for sc.Scan() {
		line++
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(sc.Bytes()) == 0 {
			continue
		}
		var in tokenizeLine
		if err := json.Unmarshal(sc.Bytes(), &in); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if in.Text == nil {
			return fmt.Errorf("line %d: missing \"text\"", line)
		}
		var e *tokenizer.Encoding
		if in.TextPair != nil {
			ws, err := tk.EncodePair(*in.Text, *in.TextPair, tokenizer.PairOptions{NoSpecialTokens: *noSpecial})
			if err != nil {
				return fmt.Errorf("line %d: %w", line, err)
			}
			e = ws[0]
		} else if e, err = tk.Encode(*in.Text, !*noSpecial); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		out := tokenizeOut{IDs: e.IDs, Tokens: e.Tokens, Offsets: e.Offsets, TypeIDs: e.TypeIDs, WordIDs: make([]*int, len(e.WordIDs))}
		for i := range e.WordIDs {
			if e.WordIDs[i] >= 0 {
				out.WordIDs[i] = &e.WordIDs[i]
			}
		}
		if err := enc.Encode(out); err != nil {
			return fmt.Errorf("line %d: write: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("line %d: longer than 64 MiB", line+1)
		}
		return fmt.Errorf("read stdin: %w", err)
	}
	return nil
}
