// Package sentence runs sentence-transformers models on ask's engine: a
// folder's modules (Transformer, Pooling, Normalize), its prompts and
// max_seq_length, exact to sentence-transformers' encode(); and the
// multilingual-e5-small embedder built into the binary, loaded from memory.
package sentence

import (
	"cmp"
	"context"
	"fmt"
	"github.com/askqa/ask/embed"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/askqa/ask/model"
	"github.com/askqa/ask/tokenizer"
)

// Model is a loaded sentence-embedding model: an encoder, its tokenizer
// and the modules of its sentence-transformers folder. It implements
// embed.Embedder by computing in the caller's goroutine, in length-sorted batches;
// Batched puts a scheduler in between for servers.
type Model struct {
	name      string
	enc       model.Encoder
	tok       *tokenizer.Tokenizer
	f         *folder
	maxSeqLen int
	padID     int32
	feedTypes bool
	// unkID is the tokenizer's unknown token, if it has one (hasUnk).
	unkID  int32
	hasUnk bool

	// BatchSize caps the texts of one forward pass (sentence-transformers'
	// batch_size; default 32).
	BatchSize int
	// BatchTokens caps a batch's padded tokens (texts × longest), so a batch
	// of long texts stays within memory (default 32×256).
	BatchTokens int
}

// newModel binds an encoder (loaded with hidden states) to a folder's modules.
func newModel(name string, enc model.Encoder, tok *tokenizer.Tokenizer, f *folder) (*Model, error) {
	info := enc.Info()
	if info.Head != model.HeadNone {
		return nil, fmt.Errorf("embed: %s: the encoder was loaded with a task head; sentence embeddings pool the hidden states", name)
	}
	if f.pooling.dim != 0 && f.pooling.dim != info.HiddenSize {
		return nil, fmt.Errorf("embed: %s: pooling config says word_embedding_dimension %d, the encoder's hidden size is %d", name, f.pooling.dim, info.HiddenSize)
	}
	m := &Model{name: name, enc: enc, tok: tok, f: f, BatchSize: 32, BatchTokens: 32 * 256}
	// sentence-transformers' default when sentence_bert_config.json is
	// silent: the smaller of the position table and the tokenizer's limit.
	m.maxSeqLen = min(info.MaxPositions, tok.ModelMaxLength())
	if f.maxSeqLen > 0 {
		m.maxSeqLen = f.maxSeqLen
	}
	if m.maxSeqLen > info.MaxPositions {
		return nil, fmt.Errorf("embed: %s: max_seq_length %d exceeds the model's %d positions", name, m.maxSeqLen, info.MaxPositions)
	}
	m.padID, _ = tok.PadID()
	m.unkID, m.hasUnk = tok.UnkID()
	m.feedTypes = tok.UsesTokenTypeIDs() && info.TakesTokenTypes
	return m, nil
}

// Info implements embed.Embedder.
func (m *Model) Info() embed.Info {
	h := m.enc.Info().HiddenSize
	return embed.Info{
		Name: m.name, Dim: h * len(m.f.pooling.modes), MaxSeqLen: m.maxSeqLen,
		Normalized: m.f.normalize, Similarity: m.f.similarity, Pooling: m.f.pooling.name(),
		Prompts: m.f.prompts,
	}
}

// Tokenizer is the model's tokenizer, for callers that size text for it
// (chunking documents to its window).
func (m *Model) Tokenizer() *tokenizer.Tokenizer { return m.tok }

// Encoder is the model's encoder, for callers that report on it.
func (m *Model) Encoder() model.Encoder { return m.enc }

// Close releases the encoder.
func (m *Model) Close() error { return m.enc.Close() }

// Sequence is one tokenized text on its way through the model, the unit
// a scheduler batches.
type Sequence struct {
	enc       *tokenizer.Encoding
	promptLen int
	truncated bool
	unknown   float64
	// unnormalized skips the Normalize module for this sequence.
	unnormalized bool
	vec          []float32
}

// Len is the sequence's length in tokens.
func (s *Sequence) Len() int { return s.enc.Len() }

// Result returns the embedding once the sequence has been computed.
func (s *Sequence) Result() embed.Result {
	return embed.Result{Vector: s.vec, Tokens: s.enc.Len(), Truncated: s.truncated, Unknown: s.unknown}
}

// unknownShare is the share of e's tokens past the prompt's first
// promptTokens, specials aside, that are the unknown token.
func (m *Model) unknownShare(e *tokenizer.Encoding, promptTokens int) float64 {
	if !m.hasUnk {
		return 0
	}
	n, unk := 0, 0
	for i, id := range e.IDs {
		if i < promptTokens || e.SpecialMask[i] != 0 {
			continue
		}
		n++
		if id == m.unkID {
			unk++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(unk) / float64(n)
}

// prompt resolves the prompt text for opts.
func (m *Model) prompt(opts embed.Options) (string, error) {
	if opts.Prompt != "" {
		p, ok := m.f.prompts[opts.Prompt]
		if !ok {
			names := make([]string, 0, len(m.f.prompts))
			for n := range m.f.prompts {
				names = append(names, n)
			}
			slices.Sort(names)
			if len(names) == 0 {
				return "", fmt.Errorf("%w %q: model %s defines no prompts", embed.ErrUnknownPrompt, opts.Prompt, m.name)
			}
			return "", fmt.Errorf("%w %q: model %s has %s", embed.ErrUnknownPrompt, opts.Prompt, m.name, strings.Join(names, ", "))
		}
		return p, nil
	}
	// The names sentence-transformers' encode_query and encode_document
	// look for.
	var candidates []string
	switch opts.Role {
	case embed.RoleQuery:
		candidates = []string{"query"}
	case embed.RoleDocument:
		candidates = []string{"document", "passage", "corpus"}
	}
	for _, c := range candidates {
		if p, ok := m.f.prompts[c]; ok {
			return p, nil
		}
	}
	if m.f.defaultName != "" {
		return m.f.prompts[m.f.defaultName], nil
	}
	return "", nil
}

// Prepare tokenizes texts as sentence-transformers' encode does: the prompt
// is prepended (and the whole lowered when the folder says do_lower_case),
// then truncated to max_seq_length.
func (m *Model) Prepare(texts []string, opts embed.Options) ([]*Sequence, error) {
	prompt, err := m.prompt(opts)
	if err != nil {
		return nil, err
	}
	promptLen, promptTokens := 0, 0
	if prompt != "" {
		e, _, err := m.tok.EncodeTruncated(m.clean(prompt), m.maxSeqLen)
		if err != nil {
			return nil, fmt.Errorf("embed: tokenize the prompt: %w", err)
		}
		// The prompt's own tokens (a leading special aside) are known
		// words; they do not count towards the text's unknown share.
		for i := range e.Len() {
			if e.SpecialMask[i] == 0 {
				promptTokens = i + 1
			}
		}
		if !m.f.pooling.includePrompt {
			// sentence-transformers counts the prompt's tokens with the
			// specials, less a closing special ([SEP], </s>), and masks
			// that many leading tokens out of the pooling.
			promptLen = e.Len()
			if promptLen > 0 && e.SpecialMask[promptLen-1] != 0 {
				promptLen--
			}
		}
	}
	seqs := make([]*Sequence, len(texts))
	for i, t := range texts {
		if !utf8.ValidString(t) {
			return nil, fmt.Errorf("%w: text %d is not valid UTF-8", embed.ErrInput, i)
		}
		e, cut, err := m.tok.EncodeTruncated(m.clean(prompt+t), m.maxSeqLen)
		if err != nil {
			return nil, fmt.Errorf("embed: tokenize text %d: %w", i, err)
		}
		if cut && opts.NoTruncate {
			return nil, fmt.Errorf("%w: text %d has more than %d tokens", embed.ErrTooLong, i, m.maxSeqLen)
		}
		seqs[i] = &Sequence{enc: e, promptLen: promptLen, truncated: cut, unnormalized: opts.Unnormalized,
			unknown: m.unknownShare(e, promptTokens)}
	}
	return seqs, nil
}

// clean is the Transformer module's text preparation: with do_lower_case
// sentence-transformers puts a Lowercase normalizer in front of the
// tokenizer's, which lowers the text before anything else sees it. Text is
// otherwise passed as is (sentence-transformers 6 no longer strips it).
func (m *Model) clean(s string) string {
	if m.f.lowerCase {
		s = strings.ToLower(s)
	}
	return s
}

// Compute runs one batch of prepared sequences through the encoder and pools
// each into its vector. It is the compute function a scheduler calls.
func (m *Model) Compute(ctx context.Context, seqs []*Sequence) error {
	if len(seqs) == 0 {
		return nil
	}
	L := 0
	for _, s := range seqs {
		L = max(L, s.Len())
	}
	n := len(seqs) * L
	b := &model.Batch{Size: len(seqs), SeqLen: L, InputIDs: make([]int32, n), AttentionMask: make([]int32, n)}
	if m.feedTypes {
		b.TokenTypeIDs = make([]int32, n)
	}
	for r, s := range seqs {
		e := s.enc
		for i := 0; i < L; i++ {
			k := r*L + i
			if i < e.Len() {
				b.InputIDs[k] = e.IDs[i]
				b.AttentionMask[k] = int32(e.AttentionMask[i])
				if m.feedTypes {
					b.TokenTypeIDs[k] = e.TypeIDs[i]
				}
			} else {
				b.InputIDs[k] = m.padID
			}
		}
	}
	var out model.Output
	if err := m.enc.Forward(ctx, b, &out); err != nil {
		return fmt.Errorf("embed: forward %d texts of up to %d tokens: %w", len(seqs), L, err)
	}
	h := out.HiddenSize
	mask := make([]int8, L)
	for r, s := range seqs {
		for i := range mask {
			mask[i] = int8(b.AttentionMask[r*L+i])
			if i < s.promptLen {
				mask[i] = 0
			}
		}
		s.vec = make([]float32, h*len(m.f.pooling.modes))
		m.f.pooling.poolInto(s.vec, out.Hidden[r*L*h:(r+1)*L*h], mask, h)
		if m.f.normalize && !s.unnormalized {
			embed.Normalize(s.vec)
		}
	}
	return nil
}

// Embed implements embed.Embedder: texts sorted by length and cut into batches,
// so a batch pads only to the longest of similar texts.
func (m *Model) Embed(ctx context.Context, texts []string, opts embed.Options) ([]embed.Result, error) {
	seqs, err := m.Prepare(texts, opts)
	if err != nil {
		return nil, err
	}
	order := slices.Clone(seqs)
	slices.SortStableFunc(order, func(a, b *Sequence) int { return cmp.Compare(a.Len(), b.Len()) })
	size, budget := max(m.BatchSize, 1), max(m.BatchTokens, 1)
	for i := 0; i < len(order); {
		// Longest last: the batch's padded length is its last text's.
		j := i + 1
		for j < len(order) && j-i < size && (j+1-i)*order[j].Len() <= max(budget, order[j].Len()) {
			j++
		}
		if err := m.Compute(ctx, order[i:j]); err != nil {
			return nil, err
		}
		i = j
	}
	out := make([]embed.Result, len(seqs))
	for i, s := range seqs {
		out[i] = s.Result()
	}
	return out, nil
}
