package nn

import (
	"context"
	"slices"

	"github.com/askqa/ask/tensor"
)

// Workspace holds every buffer one forward pass needs. An engine keeps a few
// and hands each concurrent call its own; buffers only grow.
type Workspace struct {
	pool *tensor.Pool
	job  *tensor.Job

	// X is the hidden state, T×hidden, T = batch·seq. Architectures write
	// embeddings here and read the result back.
	X   []float32
	qkv []float32
	ctx []float32
	tmp []float32
	ff  []float32
	// Keep marks non-padding tokens, T entries.
	Keep []bool
	// unpadded marks the sequences with no padding, whose attention needs
	// no mask; Forward sets it from Keep.
	unpadded []bool
	// Scratch is T×max(hidden, …) for architecture use (e.g. embeddings
	// before a projection).
	Scratch []float32

	perWorker []attnScratch
	// keys and values hold each (sequence, head)'s K (transposed) and V
	// packed for the GEMM.
	keys, values []tensor.Packed

	gemm   tensor.GemmTask
	packKV packKVTask
	attn   attnTask
	norm   normTask
	i8     int8Scratch
}

type attnScratch struct {
	scores []float32
}

// NewWorkspace returns an empty workspace running on pool.
func NewWorkspace(pool *tensor.Pool) *Workspace {
	return &Workspace{pool: pool, job: tensor.NewJob(), perWorker: make([]attnScratch, pool.Size())}
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// Reserve sizes the buffers for batch×seq tokens of stack s, with scratch
// floats per token for the architecture.
func (ws *Workspace) Reserve(s *Stack, batch, seq, scratch int) {
	t := batch * seq
	ws.X = grow(ws.X, t*s.Hidden)
	ws.qkv = grow(ws.qkv, t*3*s.Hidden)
	ws.ctx = grow(ws.ctx, t*s.Hidden)
	ws.tmp = grow(ws.tmp, t*s.Hidden)
	ws.ff = grow(ws.ff, t*s.Inter)
	ws.Scratch = grow(ws.Scratch, t*scratch)
	if cap(ws.Keep) < t {
		ws.Keep = make([]bool, t)
	}
	ws.Keep = ws.Keep[:t]
	if cap(ws.unpadded) < batch {
		ws.unpadded = make([]bool, batch)
	}
	ws.unpadded = ws.unpadded[:batch]
	for i := range ws.perWorker {
		ws.perWorker[i].scores = grow(ws.perWorker[i].scores, seq*seq)
	}
	if n := batch * s.Heads; len(ws.keys) < n {
		ws.keys = append(ws.keys, make([]tensor.Packed, n-len(ws.keys))...)
		ws.values = append(ws.values, make([]tensor.Packed, n-len(ws.values))...)
	}
}

// Linear runs y = x·Wᵀ + b (plus an activation if ep says so) over the pool.
func (ws *Workspace) Linear(l *Linear, x []float32, rows int, y []float32, ep tensor.Epilogue) {
	if l.Q != nil {
		ws.linearInt8(l, x, rows, y, ep)
		return
	}
	ws.gemm = tensor.GemmTask{A: x, Lda: l.In, M: rows, B: l.W, C: y, Ldc: l.Out, Bias: l.B, Ep: ep}
	ws.pool.Run(ws.job, &ws.gemm, ws.gemm.Split())
}

// Run runs t in n pieces over the workspace's pool, for an architecture's
// own steps (DeBERTa's attention): Task.Do's worker index is below
// Workers, so it can pick per-worker scratch.
func (ws *Workspace) Run(t tensor.Task, n int) { ws.pool.Run(ws.job, t, n) }

// Workers is the number of goroutines Run spreads pieces over.
func (ws *Workspace) Workers() int { return ws.pool.Size() }

// Forward runs the stack over ws.X (batch×seq rows) in place.
func (ws *Workspace) Forward(s *Stack, batch, seq int) {
	_ = ws.ForwardContext(context.Background(), s, batch, seq)
}

// ForwardContext is Forward, checking ctx before each layer: a cancelled or
// timed-out request stops within one layer (a few milliseconds to a few
// hundred, with the batch) instead of running the whole stack. It returns
// ctx's error, leaving ws.X part-way through the stack.
func (ws *Workspace) ForwardContext(ctx context.Context, s *Stack, batch, seq int) error {
	t := batch * seq
	h := s.Hidden
	for b := range batch {
		ws.unpadded[b] = !slices.Contains(ws.Keep[b*seq:(b+1)*seq], false)
	}
	for _, l := range s.Layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		ws.Linear(l.QKV, ws.X, t, ws.qkv, tensor.EpBias)

		ws.packKV = packKVTask{ws: ws, seq: seq, hidden: h, heads: s.Heads}
		ws.pool.Run(ws.job, &ws.packKV, batch*s.Heads)
		chunk := attnChunk(batch, s.Heads, seq, ws.pool.Size())
		ws.attn = attnTask{ws: ws, seq: seq, hidden: h, heads: s.Heads, chunk: chunk}
		ws.pool.Run(ws.job, &ws.attn, batch*s.Heads*((seq+chunk-1)/chunk))

		ws.Linear(l.Out, ws.ctx, t, ws.tmp, tensor.EpBias)
		ws.Norm(l.AttnNorm, ws.X, ws.tmp, ws.X, t, h)

		ws.Linear(l.FF1, ws.X, t, ws.ff, l.Act.epilogue())
		ws.Linear(l.FF2, ws.ff, t, ws.tmp, tensor.EpBias)
		ws.Norm(l.OutNorm, ws.X, ws.tmp, ws.X, t, h)
	}
	return nil
}

// Norm sets out = LayerNorm(x + res) row by row over the pool; res may be
// nil and out may alias x or res.
func (ws *Workspace) Norm(n Norm, out, x, res []float32, rows, width int) {
	ws.norm = normTask{n: n, out: out, x: x, res: res, rows: rows, width: width}
	ws.pool.Run(ws.job, &ws.norm, (rows+normRows-1)/normRows)
}

const normRows = 16

type normTask struct {
	n           Norm
	out, x, res []float32
	rows, width int
}

func (t *normTask) Do(lo, hi, _ int) {
	for r := lo * normRows; r < min(hi*normRows, t.rows); r++ {
		o := r * t.width
		var res []float32
		if t.res != nil {
			res = t.res[o : o+t.width]
		}
		tensor.LayerNorm(t.out[o:o+t.width], t.x[o:o+t.width], res, t.n.G, t.n.B, t.n.Eps)
	}
}

// packKVTask packs the keys (transposed) and values of one (sequence, head)
// per piece, so the attention pieces that share them do not repeat it.
type packKVTask struct {
	ws                 *Workspace
	seq, hidden, heads int
}

func (t *packKVTask) Do(lo, hi, _ int) {
	for i := lo; i < hi; i++ {
		t.pack(i)
	}
}

func (t *packKVTask) pack(i int) {
	ws := t.ws
	b, hd := i/t.heads, i%t.heads
	d := t.hidden / t.heads
	L, H := t.seq, t.hidden
	base := b*L*3*H + hd*d
	tensor.PackTransposed(&ws.keys[i], ws.qkv[base+H:], L, d, 3*H)
	tensor.Pack(&ws.values[i], ws.qkv[base+2*H:], L, d, 3*H)
}

// attnTask computes softmax(Q·Kᵀ/√d + mask)·V for a chunk of the queries of
// one (sequence, head) per piece, writing those rows of the head's slice of
// ws.ctx. Chunks keep the pieces small enough that the workers finish
// together.
type attnTask struct {
	ws                        *Workspace
	seq, hidden, heads, chunk int
}

// attnChunk is the number of query rows per attention piece: enough pieces
// for 16 per worker, in multiples of the micro-kernel's 6 rows.
func attnChunk(batch, heads, seq, workers int) int {
	chunks := min(max(1, (16*workers+batch*heads-1)/(batch*heads)), max(1, seq/24))
	c := (seq + chunks - 1) / chunks
	return (c + 5) / 6 * 6
}

func (t *attnTask) Do(lo, hi, w int) {
	for i := lo; i < hi; i++ {
		t.piece(i, w)
	}
}

func (t *attnTask) piece(i, w int) {
	ws := t.ws
	chunks := (t.seq + t.chunk - 1) / t.chunk
	bh, c := i/chunks, i%chunks
	b, hd := bh/t.heads, bh%t.heads
	d := t.hidden / t.heads
	L, H := t.seq, t.hidden
	r0 := c * t.chunk
	rows := min(t.chunk, L-r0)
	sc := &ws.perWorker[w]
	q := ws.qkv[(b*L+r0)*3*H+hd*d:]
	keep := ws.Keep[b*L : (b+1)*L]
	if ws.unpadded[b] {
		keep = nil // skip the mask in every row
	}
	scores := sc.scores[:rows*L]
	tensor.Gemm(q, 3*H, rows, &ws.keys[bh], scores, L, nil, tensor.EpNone)
	scale := invSqrt(d)
	for r := 0; r < rows; r++ {
		tensor.SoftmaxRow(scores[r*L:(r+1)*L], scale, keep)
	}
	tensor.Gemm(scores, L, rows, &ws.values[bh], ws.ctx[(b*L+r0)*H+hd*d:], H, nil, tensor.EpNone)
}
