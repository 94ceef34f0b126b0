// Package albert loads ALBERT: factorised embeddings projected to the hidden
// size, and layer groups whose weights are shared across depth.
package albert

import (
	"fmt"

	"github.com/askqa/ask/model"
	"github.com/askqa/ask/nn"
	"github.com/askqa/ask/tensor"
)

// Model is a loaded ALBERT encoder.
type Model struct {
	info             model.Info
	embed            int
	word, pos, ttype []float32
	norm             nn.Norm
	project          *nn.Linear
	stack            nn.Stack
}

// Load builds the model from cfg and w. The QA head is nil for bare encoders.
func Load(cfg *model.Config, w *model.Weights) (*Model, *model.QAHead, error) {
	head, arch, err := cfg.HeadFor("Albert")
	if err != nil {
		return nil, nil, err
	}
	if err := cfg.CheckPositionType(); err != nil {
		return nil, nil, err
	}
	h, layers, heads, inter, e := cfg.HiddenSize, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.IntermediateSize, cfg.EmbeddingSize
	groups, inner := cfg.NumHiddenGroups, cfg.InnerGroupNum
	if groups == 0 {
		groups = 1
	}
	if inner == 0 {
		inner = 1
	}
	if h <= 0 || layers <= 0 || heads <= 0 || inter <= 0 || e <= 0 || cfg.VocabSize <= 0 || cfg.MaxPositionEmbeddings <= 0 {
		return nil, nil, fmt.Errorf("%s: hidden_size, embedding_size, num_hidden_layers, num_attention_heads, intermediate_size, vocab_size and max_position_embeddings must be positive", cfg.Path)
	}
	if groups < 0 || layers%groups != 0 || inner < 0 {
		return nil, nil, fmt.Errorf("%s: num_hidden_layers %d is not a multiple of num_hidden_groups %d", cfg.Path, layers, groups)
	}
	act := cfg.HiddenAct
	if act == "" {
		act = "gelu_new"
	}
	a, err := nn.ParseActivation(act)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cfg.Path, err)
	}
	types := cfg.TypeVocabSize
	if types <= 0 {
		types = 2
	}
	eps := cfg.Eps(1e-12)
	m := &Model{embed: e}
	w.DetectPrefix("embeddings.word_embeddings.weight", "albert.", "")
	m.word = w.Get("embeddings.word_embeddings.weight", cfg.VocabSize, e)
	m.pos = w.Get("embeddings.position_embeddings.weight", cfg.MaxPositionEmbeddings, e)
	m.ttype = w.Get("embeddings.token_type_embeddings.weight", types, e)
	g, b := w.Norm("embeddings.LayerNorm", e)
	m.norm = nn.Norm{G: g, B: b, Eps: eps}
	pw := w.View("encoder.embedding_hidden_mapping_in.weight", h, e)
	pb := w.Get("encoder.embedding_hidden_mapping_in.bias", h)
	if err := w.Err(); err != nil {
		return nil, nil, err
	}
	if m.project, err = nn.NewLinear("embedding_hidden_mapping_in", pw, pb, h, e); err != nil {
		return nil, nil, err
	}

	shared := make([][]*nn.Layer, groups)
	for gi := 0; gi < groups; gi++ {
		for j := 0; j < inner; j++ {
			p := fmt.Sprintf("encoder.albert_layer_groups.%d.albert_layers.%d.", gi, j)
			lw := nn.LayerWeights{
				Q: w.View(p+"attention.query.weight", h, h), QB: w.Get(p+"attention.query.bias", h),
				K: w.View(p+"attention.key.weight", h, h), KB: w.Get(p+"attention.key.bias", h),
				V: w.View(p+"attention.value.weight", h, h), VB: w.Get(p+"attention.value.bias", h),
				O: w.View(p+"attention.dense.weight", h, h), OB: w.Get(p+"attention.dense.bias", h),
				FF1: w.View(p+"ffn.weight", inter, h), FF1B: w.Get(p+"ffn.bias", inter),
				FF2: w.View(p+"ffn_output.weight", h, inter), FF2B: w.Get(p+"ffn_output.bias", h),
			}
			lw.AttnNormG, lw.AttnNormB = w.Norm(p+"attention.LayerNorm", h)
			lw.OutNormG, lw.OutNormB = w.Norm(p+"full_layer_layer_norm", h)
			if err := w.Err(); err != nil {
				return nil, nil, err
			}
			l, err := nn.BuildLayer(p, lw, h, inter, eps, a)
			if err != nil {
				return nil, nil, err
			}
			shared[gi] = append(shared[gi], l)
		}
	}
	m.stack = nn.Stack{Hidden: h, Heads: heads, Inter: inter}
	perGroup := layers / groups
	for i := 0; i < layers; i++ {
		m.stack.Layers = append(m.stack.Layers, shared[i/perGroup]...)
	}
	qa, err := model.Finish(cfg, w, head, &m.stack)
	if err != nil {
		return nil, nil, err
	}
	m.info = model.Info{
		ModelType: cfg.ModelType, Architecture: arch, HiddenSize: h, NumLayers: layers,
		VocabSize: cfg.VocabSize, MaxPositions: cfg.MaxPositionEmbeddings, TypeVocabSize: types,
		TakesTokenTypes: true, ParamCount: w.Params(),
	}
	return m, qa, nil
}

func (m *Model) Stack() *nn.Stack     { return &m.stack }
func (m *Model) Info() model.Info     { return m.info }
func (m *Model) ScratchPerToken() int { return m.embed }

func (m *Model) Embed(ws *nn.Workspace, in *model.Batch) {
	e, L := m.embed, in.SeqLen
	t := in.Size * L
	dst := ws.Scratch
	for r := 0; r < in.Size; r++ {
		for i := 0; i < L; i++ {
			tok := r*L + i
			var tt int32
			if in.TokenTypeIDs != nil {
				tt = in.TokenTypeIDs[tok]
			}
			x := dst[tok*e : (tok+1)*e]
			we := m.word[int(in.InputIDs[tok])*e:]
			te := m.ttype[int(tt)*e:]
			pe := m.pos[i*e:]
			for j := range x {
				x[j] = we[j] + te[j]
				x[j] += pe[j]
			}
			ws.Keep[tok] = in.AttentionMask == nil || in.AttentionMask[tok] == 1
		}
	}
	ws.Norm(m.norm, dst, dst, nil, t, e)
	ws.Linear(m.project, dst, t, ws.X, tensor.EpBias)
}
