// Package bert loads the BERT family: BERT, RoBERTa, XLM-RoBERTa and ELECTRA,
// which share BERT's layer layout and differ in embeddings (RoBERTa's
// position ids, ELECTRA's embedding projection) and tensor prefixes.
package bert

import (
	"fmt"

	"github.com/askqa/ask/model"
	"github.com/askqa/ask/nn"
	"github.com/askqa/ask/tensor"
)

type variant struct {
	prefix    string   // encoder prefix in head checkpoints
	families  []string // class-name prefixes in config.json architectures
	padOffset bool     // RoBERTa position ids: padding_idx + cumsum(non-pad)
}

func lookup(modelType string) (variant, bool) {
	switch modelType {
	case "bert":
		return variant{"bert.", []string{"Bert"}, false}, true
	case "roberta":
		return variant{"roberta.", []string{"Roberta"}, true}, true
	case "xlm-roberta":
		// XLM-R checkpoints keep RoBERTa's tensor prefix.
		return variant{"roberta.", []string{"XLMRoberta"}, true}, true
	case "electra":
		return variant{"electra.", []string{"Electra"}, false}, true
	}
	return variant{}, false
}

// Supports reports whether model_type is one this package loads.
func Supports(modelType string) bool {
	_, ok := lookup(modelType)
	return ok
}

// Model is a loaded BERT-family encoder.
type Model struct {
	v                variant
	info             model.Info
	embed            int // embedding width E
	word, pos, ttype []float32
	norm             nn.Norm
	project          *nn.Linear // ELECTRA embeddings_project when E ≠ hidden
	pad              int32
	stack            nn.Stack
}

// Load builds the model from cfg and w. The QA head is nil for bare encoders.
func Load(cfg *model.Config, w *model.Weights) (*Model, *model.QAHead, error) {
	v, ok := lookup(cfg.ModelType)
	if !ok {
		return nil, nil, fmt.Errorf("bert: model_type %q is not in the BERT family", cfg.ModelType)
	}
	head, arch, err := cfg.HeadFor(v.families...)
	if err != nil {
		return nil, nil, err
	}
	if err := cfg.CheckPositionType(); err != nil {
		return nil, nil, err
	}
	h, layers, heads, inter := cfg.HiddenSize, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.IntermediateSize
	if h <= 0 || layers <= 0 || heads <= 0 || inter <= 0 || cfg.VocabSize <= 0 || cfg.MaxPositionEmbeddings <= 0 {
		return nil, nil, fmt.Errorf("%s: hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, vocab_size and max_position_embeddings must be positive", cfg.Path)
	}
	act := cfg.HiddenAct
	if act == "" {
		act = "gelu"
	}
	a, err := nn.ParseActivation(act)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cfg.Path, err)
	}
	e := h
	if cfg.ModelType == "electra" && cfg.EmbeddingSize > 0 {
		e = cfg.EmbeddingSize
	}
	types := cfg.TypeVocabSize
	if types <= 0 {
		types = 2
	}
	eps := cfg.Eps(1e-12)
	m := &Model{v: v, embed: e}
	if cfg.PadTokenID != nil {
		m.pad = int32(*cfg.PadTokenID)
	}

	w.DetectPrefix("embeddings.word_embeddings.weight", v.prefix, "")
	m.word = w.Get("embeddings.word_embeddings.weight", cfg.VocabSize, e)
	m.pos = w.Get("embeddings.position_embeddings.weight", cfg.MaxPositionEmbeddings, e)
	m.ttype = w.Get("embeddings.token_type_embeddings.weight", types, e)
	g, b := w.Norm("embeddings.LayerNorm", e)
	m.norm = nn.Norm{G: g, B: b, Eps: eps}
	if e != h {
		pw := w.View("embeddings_project.weight", h, e)
		pb := w.Get("embeddings_project.bias", h)
		if w.Err() == nil {
			if m.project, err = nn.NewLinear("embeddings_project", pw, pb, h, e); err != nil {
				return nil, nil, err
			}
		}
	}
	m.stack = nn.Stack{Hidden: h, Heads: heads, Inter: inter}
	names := make([]string, layers)
	lws := make([]nn.LayerWeights, layers)
	for i := range lws {
		names[i] = fmt.Sprintf("encoder.layer.%d.", i)
		lws[i] = readLayer(w, names[i], h, inter)
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
	maxLen := cfg.MaxPositionEmbeddings
	if v.padOffset {
		// Positions start after the padding index, so fewer tokens fit.
		maxLen -= int(m.pad) + 1
	}
	m.info = model.Info{
		ModelType: cfg.ModelType, Architecture: arch, HiddenSize: h, NumLayers: layers,
		VocabSize: cfg.VocabSize, MaxPositions: maxLen, TypeVocabSize: types,
		TakesTokenTypes: !v.padOffset, ParamCount: w.Params(),
	}
	return m, qa, nil
}

func readLayer(w *model.Weights, p string, h, inter int) nn.LayerWeights {
	q := w.View(p+"attention.self.query.weight", h, h)
	qb := w.Get(p+"attention.self.query.bias", h)
	k := w.View(p+"attention.self.key.weight", h, h)
	kb := w.Get(p+"attention.self.key.bias", h)
	v := w.View(p+"attention.self.value.weight", h, h)
	vb := w.Get(p+"attention.self.value.bias", h)
	o := w.View(p+"attention.output.dense.weight", h, h)
	ob := w.Get(p+"attention.output.dense.bias", h)
	g1, b1 := w.Norm(p+"attention.output.LayerNorm", h)
	f1 := w.View(p+"intermediate.dense.weight", inter, h)
	f1b := w.Get(p+"intermediate.dense.bias", inter)
	f2 := w.View(p+"output.dense.weight", h, inter)
	f2b := w.Get(p+"output.dense.bias", h)
	g2, b2 := w.Norm(p+"output.LayerNorm", h)
	return nn.LayerWeights{
		Q: q, QB: qb, K: k, KB: kb, V: v, VB: vb, O: o, OB: ob,
		AttnNormG: g1, AttnNormB: b1, FF1: f1, FF1B: f1b, FF2: f2, FF2B: f2b,
		OutNormG: g2, OutNormB: b2,
	}
}

func (m *Model) Stack() *nn.Stack { return &m.stack }
func (m *Model) Info() model.Info { return m.info }

func (m *Model) ScratchPerToken() int {
	if m.project != nil {
		return m.embed
	}
	return 0
}

func (m *Model) Embed(ws *nn.Workspace, in *model.Batch) {
	e, L := m.embed, in.SeqLen
	t := in.Size * L
	dst := ws.X
	if m.project != nil {
		dst = ws.Scratch
	}
	for r := 0; r < in.Size; r++ {
		pos := m.pad // RoBERTa: the running position, starting after pad
		for i := 0; i < L; i++ {
			tok := r*L + i
			id := in.InputIDs[tok]
			var p int32
			if m.v.padOffset {
				if id != m.pad {
					pos++
					p = pos
				} else {
					p = m.pad
				}
			} else {
				p = int32(i)
			}
			// RoBERTa takes no token types: it always adds row 0.
			var tt int32
			if !m.v.padOffset && in.TokenTypeIDs != nil {
				tt = in.TokenTypeIDs[tok]
			}
			x := dst[tok*e : (tok+1)*e]
			we := m.word[int(id)*e:]
			te := m.ttype[int(tt)*e:]
			pe := m.pos[int(p)*e:]
			for j := range x {
				x[j] = we[j] + te[j]
				x[j] += pe[j]
			}
			ws.Keep[tok] = in.AttentionMask == nil || in.AttentionMask[tok] == 1
		}
	}
	ws.Norm(m.norm, dst, dst, nil, t, e)
	if m.project != nil {
		ws.Linear(m.project, dst, t, ws.X, tensor.EpBias)
	}
}
