// Package debertav2 loads DeBERTa-v2 and DeBERTa-v3 encoders
// (model_type "deberta-v2"): disentangled self-attention, where each score
// adds to the content·content product a content→position (c2p) and a
// position→content (p2c) term read from relative-position embeddings,
// optionally binned into logarithmic buckets.
//
// The attention differs from the post-norm block of package nn, so the
// whole encoder runs here: Embed computes the embeddings and every layer,
// and the nn.Stack it reports has no layers. Everything, the products
// (Q/K/V, output, feed-forward) and the per-head attention alike, runs on
// the workspace's pool, so a model loaded for one thread uses one.
package debertav2

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/askqa/ask/model"
	"github.com/askqa/ask/nn"
	"github.com/askqa/ask/tensor"
)

// maxPositions bounds max_position_embeddings: the published DeBERTa
// checkpoints have 512, and one sequence of 16384 tokens already needs a
// 1 GiB score matrix per attention worker.
const maxPositions = 1 << 14

// Model is a loaded DeBERTa-v2/v3 encoder. It is safe for concurrent use.
type Model struct {
	info             model.Info
	hidden, heads    int
	inter, embed     int
	word, pos, ttype []float32 // pos nil unless position_biased_input; ttype nil without token types
	norm             nn.Norm
	project          *nn.Linear // embed_proj, nil when embedding_size == hidden_size
	layers           []*layer
	ffEp             tensor.Epilogue
	stack            nn.Stack // no layers: Embed runs the encoder

	relative bool
	c2p, p2c bool
	span     int     // rows of relative embeddings on each side (att_span)
	scale    float32 // 1/sqrt(head size × (1 + number of position terms))
	// c2pIdx and p2cIdx map query-minus-key distance d, stored at
	// d+maxLen-1, to a relative-embedding row.
	c2pIdx, p2cIdx []int32
	maxLen         int

	mu   sync.Mutex
	free []*scratch
}

// layer is one block. posK and posQ are the relative embeddings projected
// by this layer's key and query projections (shared or separate),
// [2·span × hidden] row-major (see projectRel); nil for a term not used.
type layer struct {
	qkv, out   *nn.Linear
	attnNorm   nn.Norm
	ff1, ff2   *nn.Linear
	outNorm    nn.Norm
	posK, posQ []float32
}

// Load builds the model from cfg and w. The QA head is nil for bare encoders.
func Load(cfg *model.Config, w *model.Weights) (*Model, *model.QAHead, error) {
	head, arch, err := cfg.HeadFor("DebertaV2")
	if err != nil {
		return nil, nil, err
	}
	o, err := readOptions(cfg)
	if err != nil {
		return nil, nil, err
	}
	h, nl, heads, inter := cfg.HiddenSize, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.IntermediateSize
	maxPos := cfg.MaxPositionEmbeddings
	if maxPos == 0 {
		maxPos = 512
	}
	if h <= 0 || nl <= 0 || heads <= 0 || inter <= 0 || cfg.VocabSize <= 0 || maxPos <= 0 {
		return nil, nil, fmt.Errorf("%s: hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, vocab_size and max_position_embeddings must be positive", cfg.Path)
	}
	if maxPos > maxPositions {
		// Without absolute position embeddings (DeBERTa-v3) nothing in
		// the weights bounds it, and the index tables and the attention
		// scores grow with it.
		return nil, nil, fmt.Errorf("%s: max_position_embeddings %d is over the %d this package runs", cfg.Path, maxPos, maxPositions)
	}
	if h%heads != 0 {
		return nil, nil, fmt.Errorf("%s: hidden_size %d is not divisible by %d attention heads", cfg.Path, h, heads)
	}
	e := cfg.EmbeddingSize
	if e <= 0 {
		e = h
	}
	act := cfg.HiddenAct
	if act == "" {
		act = "gelu"
	}
	a, err := nn.ParseActivation(act)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cfg.Path, err)
	}
	eps := cfg.Eps(1e-7)
	d := h / heads
	m := &Model{hidden: h, heads: heads, inter: inter, embed: e, ffEp: tensor.EpBiasGELU,
		relative: o.RelativeAttention, c2p: o.c2p, p2c: o.p2c, maxLen: maxPos}
	if a == nn.GELUTanh {
		m.ffEp = tensor.EpBiasGELUTanh
	}
	factor := 1
	if o.c2p {
		factor++
	}
	if o.p2c {
		factor++
	}
	// torch: sqrt(float32(d) * factor) in float32, then a division.
	m.scale = 1 / float32(math.Sqrt(float64(float32(d)*float32(factor))))

	w.DetectPrefix("embeddings.word_embeddings.weight", "deberta.", "")
	m.word = w.Get("embeddings.word_embeddings.weight", cfg.VocabSize, e)
	if o.biasedInput {
		m.pos = w.Get("embeddings.position_embeddings.weight", maxPos, e)
	}
	if cfg.TypeVocabSize > 0 {
		m.ttype = w.Get("embeddings.token_type_embeddings.weight", cfg.TypeVocabSize, e)
	}
	g, b := w.Norm("embeddings.LayerNorm", h)
	m.norm = nn.Norm{G: g, B: b, Eps: eps}
	if e != h {
		pw := w.View("embeddings.embed_proj.weight", h, e)
		if err := w.Err(); err != nil {
			return nil, nil, err
		}
		if m.project, err = nn.NewLinear("embed_proj", pw, nil, h, e); err != nil {
			return nil, nil, err
		}
	}

	var rel []float32 // [2·span, h], LayerNorm'd when norm_rel_ebd says so
	if m.relative {
		maxRel := o.MaxRelativePositions
		if maxRel < 1 {
			maxRel = maxPos
		}
		m.span = maxRel
		if o.PositionBuckets > 0 {
			m.span = o.PositionBuckets
		}
		rel = w.Get("encoder.rel_embeddings.weight", 2*m.span, h)
		if o.normRel {
			g, b := w.Norm("encoder.LayerNorm", h)
			if w.Err() == nil {
				for r := 0; r < 2*m.span; r++ {
					row := rel[r*h : (r+1)*h]
					tensor.LayerNorm(row, row, nil, g, b, eps)
				}
			}
		}
		m.c2pIdx, m.p2cIdx = indexTables(maxPos, m.span, o.PositionBuckets, maxRel)
	}

	for i := 0; i < nl; i++ {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		l, err := m.loadLayer(w, p, o, rel, eps)
		if err != nil {
			return nil, nil, err
		}
		m.layers = append(m.layers, l)
	}
	m.stack = nn.Stack{Hidden: h, Heads: heads, Inter: inter}
	qa, err := model.Finish(cfg, w, head, &m.stack)
	if err != nil {
		return nil, nil, err
	}
	types := max(cfg.TypeVocabSize, 1)
	m.info = model.Info{
		ModelType: cfg.ModelType, Architecture: arch, HiddenSize: h, NumLayers: nl,
		VocabSize: cfg.VocabSize, MaxPositions: maxPos, TypeVocabSize: types,
		TakesTokenTypes: cfg.TypeVocabSize > 0, ParamCount: w.Params(),
		FLOPsPerToken: int64(nl) * 2 * (4*int64(h)*int64(h) + 2*int64(h)*int64(inter)),
	}
	return m, qa, nil
}

func (m *Model) loadLayer(w *model.Weights, p string, o *options, rel []float32, eps float32) (*layer, error) {
	h, inter := m.hidden, m.inter
	a := p + "attention.self."
	q, qb := w.View(a+"query_proj.weight", h, h), w.Get(a+"query_proj.bias", h)
	k, kb := w.View(a+"key_proj.weight", h, h), w.Get(a+"key_proj.bias", h)
	v, vb := w.View(a+"value_proj.weight", h, h), w.Get(a+"value_proj.bias", h)
	ow, ob := w.View(p+"attention.output.dense.weight", h, h), w.Get(p+"attention.output.dense.bias", h)
	f1, f1b := w.View(p+"intermediate.dense.weight", inter, h), w.Get(p+"intermediate.dense.bias", inter)
	f2, f2b := w.View(p+"output.dense.weight", h, inter), w.Get(p+"output.dense.bias", h)
	ag, ab := w.Norm(p+"attention.output.LayerNorm", h)
	og, ob2 := w.Norm(p+"output.LayerNorm", h)
	// The position projections: the layer's own query/key when
	// share_att_key, else pos_query_proj/pos_key_proj (each only if its
	// term is used).
	pq, pqb, pk, pkb := q, qb, k, kb
	if m.relative && !o.ShareAttKey {
		if m.c2p {
			pk, pkb = w.View(a+"pos_key_proj.weight", h, h), w.Get(a+"pos_key_proj.bias", h)
		}
		if m.p2c {
			pq, pqb = w.View(a+"pos_query_proj.weight", h, h), w.Get(a+"pos_query_proj.bias", h)
		}
	}
	if err := w.Err(); err != nil {
		return nil, err
	}
	l := &layer{attnNorm: nn.Norm{G: ag, B: ab, Eps: eps}, outNorm: nn.Norm{G: og, B: ob2, Eps: eps}}
	var err error
	if l.qkv, err = nn.Concat(p+"qkv", [][]float32{q, k, v}, [][]float32{qb, kb, vb}, []int{h, h, h}, h); err != nil {
		return nil, err
	}
	if l.out, err = nn.NewLinear(p+"attention output", ow, ob, h, h); err != nil {
		return nil, err
	}
	if l.ff1, err = nn.NewLinear(p+"intermediate", f1, f1b, inter, h); err != nil {
		return nil, err
	}
	if l.ff2, err = nn.NewLinear(p+"output", f2, f2b, h, inter); err != nil {
		return nil, err
	}
	if m.relative {
		if m.c2p {
			l.posK = m.projectRel(rel, pk, pkb)
		}
		if m.p2c {
			l.posQ = m.projectRel(rel, pq, pqb)
		}
	}
	return l, nil
}

// projectRel computes rel·Wᵀ + b: the relative embeddings projected by a
// layer's key or query weights, [2·span × hidden] row-major. They depend
// on weights only, so they are computed once at load; attention multiplies
// each head's columns by the packed queries or keys.
func (m *Model) projectRel(rel, wt, b []float32) []float32 {
	h, n := m.hidden, 2*m.span
	lin := tensor.PackTransposed(nil, wt, h, h, h)
	out := make([]float32, n*h)
	tensor.Gemm(rel, h, n, lin, out, h, b, tensor.EpBias)
	return out
}

// QuantizeInt8 runs the Linear layers of every block (Q/K/V, attention
// output, feed-forward) in int8, as nn.Stack.QuantizeInt8 does for the
// other architectures; the fp32 copies are dropped. The relative-position
// projections were computed at load in fp32 and stay so, as do the
// embeddings, their projection and the QA head.
func (m *Model) QuantizeInt8() error {
	for i, l := range m.layers {
		for _, lin := range []*nn.Linear{l.qkv, l.out, l.ff1, l.ff2} {
			if lin.Q != nil {
				continue
			}
			if lin.W == nil {
				return fmt.Errorf("layer %d: %s has no fp32 weights to quantize", i, lin.Name)
			}
			q, err := tensor.QuantizePacked(lin.W)
			if err != nil {
				return fmt.Errorf("layer %d: quantize %s: %w", i, lin.Name, err)
			}
			lin.Q, lin.W = q, nil
		}
	}
	return nil
}

// Stack reports the dimensions; it has no layers (see the package doc).
func (m *Model) Stack() *nn.Stack { return &m.stack }

// Info describes the model.
func (m *Model) Info() model.Info { return m.info }

// ScratchPerToken covers Q/K/V, the attention context, the block output
// and the larger of the feed-forward activations and the unprojected
// embeddings.
func (m *Model) ScratchPerToken() int { return 5*m.hidden + max(m.inter, m.embed) }

// Embed runs the embeddings and the whole encoder, leaving the last hidden
// state in ws.X.
func (m *Model) Embed(ws *nn.Workspace, in *model.Batch) {
	_ = m.EmbedContext(context.Background(), ws, in)
}

// EmbedContext is Embed, checking ctx before each layer as
// nn.Workspace.ForwardContext does for the other architectures: a
// cancelled request stops within one layer and gets ctx's error.
func (m *Model) EmbedContext(ctx context.Context, ws *nn.Workspace, in *model.Batch) error {
	h, L := m.hidden, in.SeqLen
	t := in.Size * L
	sc := ws.Scratch
	qkv := sc[:t*3*h]
	att := sc[t*3*h : t*4*h] // the attention heads' output
	tmp := sc[t*4*h : t*5*h]
	big := sc[t*5*h : t*(5*h+max(m.inter, m.embed))]

	m.embeddings(ws, in, big)
	sp := m.scratch(L, ws.Workers())
	defer m.release(sp)
	for _, l := range m.layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		ws.Linear(l.qkv, ws.X, t, qkv, tensor.EpBias)
		sp.task = attnTask{m: m, l: l, qkv: qkv, att: att, keep: ws.Keep, seq: L, perWorker: sp.workers}
		sp.task.c2pLo, sp.task.c2pN = m.rows(m.c2pIdx, L)
		sp.task.p2cLo, sp.task.p2cN = m.rows(m.p2cIdx, L)
		ws.Run(&sp.task, in.Size*m.heads)
		ws.Linear(l.out, att, t, tmp, tensor.EpBias)
		ws.Norm(l.attnNorm, ws.X, tmp, ws.X, t, h)
		ff := big[:t*m.inter]
		ws.Linear(l.ff1, ws.X, t, ff, m.ffEp)
		ws.Linear(l.ff2, ff, t, tmp, tensor.EpBias)
		ws.Norm(l.outNorm, ws.X, tmp, ws.X, t, h)
	}
	return nil
}

// embeddings writes LayerNorm(word (+ position) (+ token type), projected
// when embedding_size differs) into ws.X, zeroing padded tokens as
// transformers multiplies by the mask.
func (m *Model) embeddings(ws *nn.Workspace, in *model.Batch, buf []float32) {
	e, h, L := m.embed, m.hidden, in.SeqLen
	t := in.Size * L
	dst := ws.X
	if m.project != nil {
		dst = buf
	}
	for tok := 0; tok < t; tok++ {
		x := dst[tok*e : (tok+1)*e]
		copy(x, m.word[int(in.InputIDs[tok])*e:])
		if m.pos != nil {
			pe := m.pos[(tok%L)*e:]
			for j := range x {
				x[j] += pe[j]
			}
		}
		if m.ttype != nil {
			var tt int32
			if in.TokenTypeIDs != nil {
				tt = in.TokenTypeIDs[tok]
			}
			te := m.ttype[int(tt)*e:]
			for j := range x {
				x[j] += te[j]
			}
		}
		ws.Keep[tok] = in.AttentionMask == nil || in.AttentionMask[tok] == 1
	}
	if m.project != nil {
		ws.Linear(m.project, dst, t, ws.X, tensor.EpNone)
	}
	ws.Norm(m.norm, ws.X, ws.X, nil, t, h)
	for tok := 0; tok < t; tok++ {
		if !ws.Keep[tok] {
			clear(ws.X[tok*h : (tok+1)*h])
		}
	}
}

// scratch holds the attention buffers of one forward pass: one
// headScratch per pool worker, for sequences up to seq.
type scratch struct {
	seq     int
	workers []*headScratch
	task    attnTask
}

type headScratch struct {
	scores, c2p, p2c      []float32
	keys, values, queries tensor.Packed
}

// scratch hands out a free scratch that fits seq tokens and workers, or
// makes one; there are never more than the peak number of concurrent
// forward passes.
func (m *Model) scratch(seq, workers int) *scratch {
	m.mu.Lock()
	var s *scratch
	if n := len(m.free); n > 0 {
		s = m.free[n-1]
		m.free = m.free[:n-1]
	}
	m.mu.Unlock()
	if s == nil || s.seq < seq || len(s.workers) < workers {
		s = &scratch{seq: seq}
		for range workers {
			s.workers = append(s.workers, &headScratch{
				scores: make([]float32, seq*seq),
				c2p:    make([]float32, seq*2*m.span),
				p2c:    make([]float32, seq*2*m.span),
			})
		}
	}
	return s
}

func (m *Model) release(s *scratch) {
	m.mu.Lock()
	m.free = append(m.free, s)
	m.mu.Unlock()
}

// attnTask computes the disentangled attention of one (sequence, head) per
// piece into att, on the workspace's pool.
type attnTask struct {
	m         *Model
	l         *layer
	qkv, att  []float32
	keep      []bool
	seq       int
	perWorker []*headScratch
	// The rows of the relative embeddings that this length reaches:
	// c2pLo to c2pLo+c2pN-1 and p2cLo to p2cLo+p2cN-1.
	c2pLo, c2pN, p2cLo, p2cN int
}

func (t *attnTask) Do(lo, hi, w int) {
	for job := lo; job < hi; job++ {
		t.m.head(t, job/t.m.heads, job%t.m.heads, t.perWorker[w])
	}
}

// rows returns the first row of the relative embeddings that idx maps the
// distances of a sequence of L tokens to, and how many rows from there to
// the last one (the buckets are monotonic in the distance, so every row
// between is reached too).
func (m *Model) rows(idx []int32, L int) (lo, n int) {
	if idx == nil {
		return 0, 0
	}
	off := m.maxLen - 1
	reach := idx[off-(L-1) : off+L]
	return int(slices.Min(reach)), int(slices.Max(reach)-slices.Min(reach)) + 1
}

// head is one (sequence b, head hd) of DisentangledSelfAttention.forward:
// scores = (Q·Kᵀ + c2p + p2c)/√(d·factor), masked, softmax, times V. The
// position terms are computed only for the rows of the relative embeddings
// this length reaches (all 2·span of them from a length of span/2 on with
// log buckets), as position×token products: the rows are the
// unpacked operand, so only the queries need packing.
func (m *Model) head(t *attnTask, b, hd int, hs *headScratch) {
	h, L, l := m.hidden, t.seq, t.l
	d := h / m.heads
	base := b*L*3*h + hd*d
	q, k, v := t.qkv[base:], t.qkv[base+h:], t.qkv[base+2*h:]
	tensor.PackTransposed(&hs.keys, k, L, d, 3*h)
	tensor.Pack(&hs.values, v, L, d, 3*h)
	scores := hs.scores[:L*L]
	tensor.Gemm(q, 3*h, L, &hs.keys, scores, L, nil, tensor.EpNone)
	s := m.scale
	var c2p, p2c []float32
	if m.relative && m.c2p {
		// c2p[r][i] = posK_(lo+r) · Q_i
		tensor.PackTransposed(&hs.queries, q, L, d, 3*h)
		c2p = hs.c2p[:t.c2pN*L]
		tensor.Gemm(l.posK[t.c2pLo*h+hd*d:], h, t.c2pN, &hs.queries, c2p, L, nil, tensor.EpNone)
	}
	if m.relative && m.p2c {
		// p2c[r][j] = posQ_(lo+r) · K_j
		p2c = hs.p2c[:t.p2cN*L]
		tensor.Gemm(l.posQ[t.p2cLo*h+hd*d:], h, t.p2cN, &hs.keys, p2c, L, nil, tensor.EpNone)
	}
	off := m.maxLen - 1
	switch {
	case c2p != nil && p2c != nil:
		// score[i][j] += c2p[idx(i-j)][i] + p2c[idx'(j-i)][j], each
		// scaled as transformers divides each term.
		for i := 0; i < L; i++ {
			row := scores[i*L : (i+1)*L]
			ci := m.c2pIdx[off+i-(L-1) : off+i+1] // ci[L-1-j] = idx(i-j)
			pi := m.p2cIdx[off-i : off-i+L]       // pi[j] = idx'(j-i)
			for j := range row {
				x := row[j] * s
				x += c2p[(int(ci[L-1-j])-t.c2pLo)*L+i] * s
				x += p2c[(int(pi[j])-t.p2cLo)*L+j] * s
				row[j] = x
			}
		}
	case c2p != nil:
		for i := 0; i < L; i++ {
			row := scores[i*L : (i+1)*L]
			ci := m.c2pIdx[off+i-(L-1) : off+i+1]
			for j := range row {
				x := row[j] * s
				x += c2p[(int(ci[L-1-j])-t.c2pLo)*L+i] * s
				row[j] = x
			}
		}
	case p2c != nil:
		for i := 0; i < L; i++ {
			row := scores[i*L : (i+1)*L]
			pi := m.p2cIdx[off-i : off-i+L]
			for j := range row {
				x := row[j] * s
				x += p2c[(int(pi[j])-t.p2cLo)*L+j] * s
				row[j] = x
			}
		}
	default:
		for j := range scores {
			scores[j] *= s
		}
	}
	rowKeep := t.keep[b*L : (b+1)*L]
	allKept := true
	for _, k := range rowKeep {
		allKept = allKept && k
	}
	for i := 0; i < L; i++ {
		row := scores[i*L : (i+1)*L]
		switch {
		case allKept:
			tensor.SoftmaxRow(row, 1, nil)
		case rowKeep[i]:
			tensor.SoftmaxRow(row, 1, rowKeep)
		default:
			// A padded query sees every key masked: transformers fills
			// them all with float32's minimum, and the softmax of equal
			// scores is uniform.
			for j := range row {
				row[j] = 1 / float32(L)
			}
		}
	}
	tensor.Gemm(scores, L, L, &hs.values, t.att[b*L*h+hd*d:], h, nil, tensor.EpNone)
}
