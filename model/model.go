// Package model turns a Hugging Face checkpoint folder into an Encoder: it
// reads config.json, picks the architecture from a registry, and hands the
// weights to that architecture's package.
package model

import "context"

// Batch is a padded batch of token sequences, row-major, Size rows of SeqLen.
type Batch struct {
	Size, SeqLen int
	InputIDs     []int32 // Size*SeqLen
	// AttentionMask is 1 for real tokens and 0 for padding; nil means all ones.
	AttentionMask []int32
	// TokenTypeIDs are segment ids; nil means all zeros. Architectures that
	// take no token types ignore them.
	TokenTypeIDs []int32
}

// Output holds a forward pass's results. Its slices are reused across calls
// when their capacity suffices, so a steady-state caller allocates nothing.
type Output struct {
	// StartLogits and EndLogits are Size*SeqLen, set by question-answering heads.
	StartLogits, EndLogits []float32
	// Hidden is the last hidden state, Size*SeqLen*HiddenSize, set by bare encoders.
	Hidden     []float32
	HiddenSize int
}

// Head says what an Encoder computes on top of the encoder stack.
type Head int

const (
	// HeadNone yields the last hidden state.
	HeadNone Head = iota
	// HeadQuestionAnswering yields start and end logits.
	HeadQuestionAnswering
)

// Info describes a loaded model.
type Info struct {
	ModelType    string // config.json model_type, e.g. "bert"
	Architecture string // e.g. "BertForQuestionAnswering"
	Head         Head
	HiddenSize   int
	NumLayers    int
	VocabSize    int
	// MaxPositions is the longest sequence the position table allows.
	MaxPositions int
	// TypeVocabSize bounds token_type_ids (1 for models with a single row).
	TypeVocabSize int
	// TakesTokenTypes reports whether token_type_ids are an input.
	TakesTokenTypes bool
	// ParamCount is the number of weights held, in elements.
	ParamCount int64
	// FLOPsPerToken counts the multiply-adds (×2) of the per-token matrix
	// products; AttnFLOPs adds 4·L²·hidden per layer and sequence.
	FLOPsPerToken int64
}

// FLOPs estimates the floating-point operations of one forward pass.
func (i Info) FLOPs(batch, seq int) int64 {
	b, l := int64(batch), int64(seq)
	return i.FLOPsPerToken*b*l + 4*b*l*l*int64(i.HiddenSize)*int64(i.NumLayers)
}

// Encoder runs a transformer encoder. Implementations are safe for
// concurrent use.
type Encoder interface {
	Forward(ctx context.Context, in *Batch, out *Output) error
	Info() Info
	Close() error
}
