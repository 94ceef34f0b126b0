package model

import (
	"fmt"
	"slices"

	"github.com/askqa/ask/nn"
)

// Arch is what an architecture package provides: its embeddings and its
// encoder stack. The runner in this package does the rest (input checks,
// workspaces, the QA head), so a new architecture is one new package.
type Arch interface {
	// Stack is the encoder the embeddings feed.
	Stack() *nn.Stack
	// ScratchPerToken is how many floats per token Embed may use in
	// ws.Scratch.
	ScratchPerToken() int
	// Embed writes the hidden-size embeddings of the (already validated)
	// batch into ws.X and sets ws.Keep from the attention mask.
	Embed(ws *nn.Workspace, in *Batch)
	// Info describes the model; Head, HiddenSize and the limits must be set.
	Info() Info
}

// QAHead holds qa_outputs: two logits per token, start and end.
type QAHead struct {
	W []float32 // [2, hidden]
	B []float32 // [2]
}

// ReadQAHead reads qa_outputs.{weight,bias} (stored without the encoder
// prefix).
func ReadQAHead(w *Weights, hidden int) *QAHead {
	return &QAHead{W: slices.Clone(w.GetAbs("qa_outputs.weight", 2, hidden)), B: slices.Clone(w.GetAbs("qa_outputs.bias", 2))}
}

// Finish is the end every architecture loader shares: read the QA head when
// config.json asks for one, surface the first weight error, and check the
// stack's dimensions. qa is nil for bare encoders.
func Finish(cfg *Config, w *Weights, head Head, stack *nn.Stack) (qa *QAHead, err error) {
	if head == HeadQuestionAnswering {
		qa = ReadQAHead(w, stack.Hidden)
	}
	if err := w.Err(); err != nil {
		return nil, err
	}
	if err := stack.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Path, err)
	}
	return qa, nil
}
