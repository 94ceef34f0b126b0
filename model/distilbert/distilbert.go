// Package distilbert loads DistilBERT: BERT's block with its own tensor
// names, no token types and a LayerNorm epsilon fixed at 1e-12.
package distilbert

import (
	"fmt"

	"github.com/askqa/ask/model"
	"github.com/askqa/ask/nn"
)

// eps is hard-coded in transformers' DistilBERT, whatever config.json says.
const eps = 1e-12

// Model is a loaded DistilBERT encoder.
type Model struct {
	info      model.Info
	word, pos []float32
	norm      nn.Norm
	stack     nn.Stack
}

// Load builds the model from cfg and w. The QA head is nil for bare encoders.
func Load(cfg *model.Config, w *model.Weights) (*Model, *model.QAHead, error) {
	head, arch, err := cfg.HeadFor("DistilBert")
	if err != nil {
		return nil, nil, err
	}
	h, layers, heads, inter := cfg.Dim, cfg.NLayers, cfg.NHeads, cfg.HiddenDim
	if h <= 0 || layers <= 0 || heads <= 0 || inter <= 0 || cfg.VocabSize <= 0 || cfg.MaxPositionEmbeddings <= 0 {
		return nil, nil, fmt.Errorf("%s: dim, n_layers, n_heads, hidden_dim, vocab_size and max_position_embeddings must be positive", cfg.Path)
	}
	act := cfg.Activation
	if act == "" {
		act = "gelu"
	}
	a, err := nn.ParseActivation(act)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cfg.Path, err)
	}
	m := &Model{}
	w.DetectPrefix("embeddings.word_embeddings.weight", "distilbert.", "")
	m.word = w.Get("embeddings.word_embeddings.weight", cfg.VocabSize, h)
	m.pos = w.Get("embeddings.position_embeddings.weight", cfg.MaxPositionEmbeddings, h)
	g, b := w.Norm("embeddings.LayerNorm", h)
	m.norm = nn.Norm{G: g, B: b, Eps: eps}
	m.stack = nn.Stack{Hidden: h, Heads: heads, Inter: inter}
	names := make([]string, layers)
	lws := make([]nn.LayerWeights, layers)
	for i := range lws {
		p := fmt.Sprintf("transformer.layer.%d.", i)
		names[i] = p
		lw := nn.LayerWeights{
			Q: w.View(p+"attention.q_lin.weight", h, h), QB: w.Get(p+"attention.q_lin.bias", h),
			K: w.View(p+"attention.k_lin.weight", h, h), KB: w.Get(p+"attention.k_lin.bias", h),
			V: w.View(p+"attention.v_lin.weight", h, h), VB: w.Get(p+"attention.v_lin.bias", h),
			O: w.View(p+"attention.out_lin.weight", h, h), OB: w.Get(p+"attention.out_lin.bias", h),
			FF1: w.View(p+"ffn.lin1.weight", inter, h), FF1B: w.Get(p+"ffn.lin1.bias", inter),
			FF2: w.View(p+"ffn.lin2.weight", h, inter), FF2B: w.Get(p+"ffn.lin2.bias", h),
		}
		lw.AttnNormG, lw.AttnNormB = w.Norm(p+"sa_layer_norm", h)
		lw.OutNormG, lw.OutNormB = w.Norm(p+"output_layer_norm", h)
		lws[i] = lw
	}
	if err := w.Err(); err != nil {
		return nil, nil, err
	}
	if m.stack.Layers, err = nn.BuildLayers(names, lws, h, inter, eps, a); err != nil {
		return nil, nil, err
	}
	qa, err := model.Finish(cfg, w, head, &m.stack)
	if err != nil {
		return nil, nil, err
	}
	m.info = model.Info{
		ModelType: cfg.ModelType, Architecture: arch, HiddenSize: h, NumLayers: layers,
		VocabSize: cfg.VocabSize, MaxPositions: cfg.MaxPositionEmbeddings, TypeVocabSize: 1,
		ParamCount: w.Params(),
	}
	return m, qa, nil
}

func (m *Model) Stack() *nn.Stack     { return &m.stack }
func (m *Model) Info() model.Info     { return m.info }
func (m *Model) ScratchPerToken() int { return 0 }

func (m *Model) Embed(ws *nn.Workspace, in *model.Batch) {
	h, L := m.stack.Hidden, in.SeqLen
	for r := 0; r < in.Size; r++ {
		for i := 0; i < L; i++ {
			tok := r*L + i
			x := ws.X[tok*h : (tok+1)*h]
			we := m.word[int(in.InputIDs[tok])*h:]
			pe := m.pos[i*h:]
			for j := range x {
				x[j] = we[j] + pe[j]
			}
			ws.Keep[tok] = in.AttentionMask == nil || in.AttentionMask[tok] == 1
		}
	}
	ws.Norm(m.norm, ws.X, ws.X, nil, in.Size*L, h)
}
