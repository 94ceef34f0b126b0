package tensor

import "fmt"

// CheckKernelChoice reports an ASK_GEMM_KERNEL value the kernel selection
// would ignore, so a typo is an error instead of a silent default.
func CheckKernelChoice(v string) error {
	switch v {
	case "", "avx2", "generic", "avx512":
		return nil
	}
	return fmt.Errorf("ASK_GEMM_KERNEL=%q: want avx2 or generic (to turn faster kernels off), avx512 (to use the fp32 AVX-512 kernel where it is not the default), or leave it unset", v)
}

// nr is the width of a packed panel: the number of columns one micro-kernel
// call produces (two 8-float AVX2 registers per row, or one AVX-512
// register; the AVX-512 kernel takes two panels at a time).
const nr = 16

// mr is the number of rows one micro-kernel call produces.
const mr = 6

// Cache blocking: a K slice of kc floats of one panel (kc*nr*4 = 24 KiB) stays
// in L1 while the row tiles of an mc-row block stream past it; those mc rows
// of A (mc*kc*4 = 288 KiB) stay in L2 and are reused across nc columns.
// On Zen 3 (AVX2), kc = 256 and 384 measure alike and 512 worse; 384 splits
// K = 768 into two equal blocks. mc = 192 cuts a 384-token sequence into two
// blocks of whole 6-row tiles (16 of the AVX-512 kernel's 12 rows). Against
// 96, each panel's first tile, which waits for the panel to come in from L3,
// is one in 32 instead of one in 16: DistilBERT 1×384 passes 2–3% faster on
// one thread and ~1% on two (same-process A/B); 384 rows (one block) gained
// nothing more. Row counts that are not whole tiles (72, 144 on 384 rows)
// leave 2- or 4-row remainders in every block and measured worse.
const (
	kc = 384
	mc = 192
	nc = 1024
)

// Packed is the right-hand matrix B (K×N) of C = A·B laid out for the
// micro-kernel: column panels nr wide, each K rows of nr contiguous floats,
// zero-padded past N.
type Packed struct {
	K, N int
	data []float32
}

// Panels is the number of nr-wide column panels.
func (p *Packed) Panels() int { return (p.N + nr - 1) / nr }

func (p *Packed) panel(j int) []float32 { return p.data[j*p.K*nr : (j+1)*p.K*nr] }

// PackedLen is the number of floats a Packed of k×n needs.
func PackedLen(k, n int) int { return ((n + nr - 1) / nr) * nr * k }

// PackTransposed packs B = Wᵀ where W is N×K row-major with row stride ld,
// which is how a PyTorch Linear stores its weight ([out, in]). If dst is too
// small a new one is allocated.
func PackTransposed(dst *Packed, w []float32, n, k, ld int) *Packed {
	dst = reuse(dst, k, n)
	for j0 := 0; j0 < n; j0 += nr {
		pan := dst.panel(j0 / nr)
		if j0+nr <= n && transposePanel(pan, w[j0*ld:], ld, k) {
			continue
		}
		packPanel(pan, min(nr, n-j0), k, func(c int) []float32 { return w[(j0+c)*ld : (j0+c)*ld+k] })
	}
	return dst
}

// PackParts packs B = Wᵀ where W is parts stacked row-wise, each a
// row-major matrix of K-long rows, so weights stored in pieces (Q, K and V)
// pack without being joined first. With k <= 0 the result is empty.
func PackParts(dst *Packed, k int, parts ...[]float32) *Packed {
	if k <= 0 {
		return reuse(dst, 0, 0)
	}
	n := 0
	for _, p := range parts {
		n += len(p) / k
	}
	dst = reuse(dst, k, n)
	// locate returns the part holding row j and j's row in it.
	locate := func(j int) ([]float32, int) {
		for _, p := range parts {
			if r := len(p) / k; j >= r {
				j -= r
				continue
			}
			return p, j
		}
		panic("tensor: PackParts row out of range")
	}
	for j0 := 0; j0 < n; j0 += nr {
		pan := dst.panel(j0 / nr)
		w := min(nr, n-j0)
		// A panel within one part is a strided block of it.
		if p, r := locate(j0); w == nr && r+nr <= len(p)/k && transposePanel(pan, p[r*k:], k, k) {
			continue
		}
		packPanel(pan, w, k, func(c int) []float32 {
			p, r := locate(j0 + c)
			return p[r*k : (r+1)*k]
		})
	}
	return dst
}

// packPanel fills one panel from its w columns (rows of W), zeroing the
// rest.
func packPanel(pan []float32, w, k int, col func(c int) []float32) {
	for c := 0; c < nr; c++ {
		if c >= w {
			for kk := 0; kk < k; kk++ {
				pan[kk*nr+c] = 0
			}
			continue
		}
		for kk, v := range col(c)[:k] {
			pan[kk*nr+c] = v
		}
	}
}

// Pack packs B given K×N row-major with row stride ld.
func Pack(dst *Packed, b []float32, k, n, ld int) *Packed {
	dst = reuse(dst, k, n)
	for j0 := 0; j0 < n; j0 += nr {
		pan := dst.panel(j0 / nr)
		w := min(nr, n-j0)
		if w == nr {
			// A fixed-size copy compiles to a few vector moves, where
			// copy() calls memmove for each 64 bytes: 20% faster for a
			// head's values.
			for kk := 0; kk < k; kk++ {
				*(*[nr]float32)(pan[kk*nr:]) = *(*[nr]float32)(b[kk*ld+j0:])
			}
			continue
		}
		for kk := 0; kk < k; kk++ {
			out := pan[kk*nr : kk*nr+nr]
			copy(out, b[kk*ld+j0:kk*ld+j0+w])
			clear(out[w:])
		}
	}
	return dst
}

func reuse(dst *Packed, k, n int) *Packed {
	need := PackedLen(k, n)
	if dst == nil {
		dst = &Packed{}
	}
	if cap(dst.data) < need {
		dst.data = make([]float32, need)
	}
	dst.K, dst.N, dst.data = k, n, dst.data[:need]
	return dst
}

// Epilogue is applied to each finished block of C while it is still in
// cache.
type Epilogue int

const (
	EpNone Epilogue = iota
	EpBias
	EpBiasGELU     // exact erf GELU ("gelu")
	EpBiasGELUTanh // tanh approximation ("gelu_new", "gelu_pytorch_tanh")
)

// Gemm computes C (M×N, row stride ldc) = A (M×K, row stride lda) · B, then
// the epilogue, on the calling goroutine. GemmTask splits a product over a
// Pool.
func Gemm(a []float32, lda, m int, b *Packed, c []float32, ldc int, bias []float32, ep Epilogue) {
	g := GemmTask{A: a, Lda: lda, M: m, B: b, C: c, Ldc: ldc, Bias: bias, Ep: ep}
	g.Do(0, g.Split(), 0)
}

// GemmTask is one matrix product split into pieces for a Pool: call Split,
// then run that many pieces.
type GemmTask struct {
	A      []float32
	Lda, M int
	B      *Packed
	C      []float32
	Ldc    int
	Bias   []float32
	Ep     Epilogue

	rowBlock, rowBlocks int // rows per block (the last may be shorter), count
	step                int // panels per piece
	pieces              int // pieces per row block
}

// Check validates the shapes against the slices, so a wrong call is an error
// instead of memory corruption in assembly.
func (g *GemmTask) Check() error {
	b := g.B
	switch {
	case g.M < 0 || b == nil:
		return fmt.Errorf("gemm: bad operands")
	case g.M > 0 && (g.Lda < b.K || len(g.A) < (g.M-1)*g.Lda+b.K):
		return fmt.Errorf("gemm: A has %d floats, need %d×%d with stride %d", len(g.A), g.M, b.K, g.Lda)
	case g.M > 0 && (g.Ldc < b.N || len(g.C) < (g.M-1)*g.Ldc+b.N):
		return fmt.Errorf("gemm: C has %d floats, need %d×%d with stride %d", len(g.C), g.M, b.N, g.Ldc)
	case g.Ep != EpNone && len(g.Bias) < b.N:
		return fmt.Errorf("gemm: bias has %d floats, need %d", len(g.Bias), b.N)
	}
	return nil
}

// Split cuts C into pieces and returns how many there are. A piece is one
// row block (at most mc rows, the blocks evened out) by one column panel
// (two where the kernel takes panels in pairs), numbered row block by row
// block, so a run of consecutive pieces is a rectangle of C, or a few
// whose rows follow on. The pool hands out long runs first and single
// pieces at the end, which keeps the workers level without cutting the
// big rectangles small.
func (g *GemmTask) Split() int {
	g.rowBlocks = max(1, (g.M+mc-1)/mc)
	g.rowBlock = (g.M + g.rowBlocks - 1) / g.rowBlocks
	g.step = 1
	if pairKernel() {
		g.step = 2
	}
	g.pieces = (g.B.Panels() + g.step - 1) / g.step
	return g.rowBlocks * g.pieces
}

// rect is the part of C that pieces [lo,hi) of one row block cover (hi is
// clipped to that row block): rows [i0,i1), columns [j0,j1). next is the
// first piece not covered.
func (g *GemmTask) rect(lo, hi int) (i0, i1, j0, j1, next int) {
	rb, p0 := lo/g.pieces, lo%g.pieces
	p1 := min(g.pieces, p0+hi-lo)
	i0 = rb * g.rowBlock
	i1 = min(i0+g.rowBlock, g.M)
	w := g.step * nr
	return i0, i1, p0 * w, min(p1*w, g.B.N), lo + p1 - p0
}

// Do computes pieces [lo,hi) of C; it needs no per-worker state.
func (g *GemmTask) Do(lo, hi, _ int) {
	for lo < hi {
		i0, i1, j0, j1, next := g.rect(lo, hi)
		// Wider than nc, the block of C would not stay in L2 between
		// the K blocks.
		for j := j0; j < j1; j += nc {
			g.block(i0, i1, j, min(j+nc, j1))
		}
		lo = next
	}
}

// block computes rows [i0,i1) by columns [j0,j1) of C, K block by K block,
// then the epilogue.
func (g *GemmTask) block(i0, i1, j0, j1 int) {
	if i0 >= i1 || j0 >= j1 {
		return
	}
	k := g.B.K
	if k == 0 {
		for r := i0; r < i1; r++ {
			clear(g.C[r*g.Ldc+j0 : r*g.Ldc+j1])
		}
	}
	rows := i1 - i0
	for k0 := 0; k0 < k; k0 += kc {
		kn := min(kc, k-k0)
		acc := k0 > 0
		a := g.A[i0*g.Lda+k0:]
		pair := pairKernel()
		for j := j0; j < j1; j += nr {
			pan := g.B.panel(j / nr)[k0*nr:]
			c := g.C[i0*g.Ldc+j:]
			if w := min(nr, j1-j); w < nr {
				edgeTile(rows, kn, a, g.Lda, pan, c, g.Ldc, w, acc)
				continue
			}
			if pair && j+2*nr <= j1 {
				kernelPair(rows, kn, a, g.Lda, pan, g.B.panel(j/nr + 1)[k0*nr:], c, g.Ldc, acc)
				j += nr
				continue
			}
			var next *float32
			if j+nr < j1 {
				next = &g.B.panel(j/nr + 1)[k0*nr]
			}
			kernelPrefetch(rows, kn, a, g.Lda, pan, c, g.Ldc, acc, next)
		}
	}
	if g.Ep != EpNone {
		bias := g.Bias[j0:j1]
		for r := i0; r < i1; r++ {
			row := g.C[r*g.Ldc+j0 : r*g.Ldc+j1]
			switch g.Ep {
			case EpBias:
				addInto(row, bias)
			case EpBiasGELU:
				biasGELU(row, bias)
			case EpBiasGELUTanh:
				biasGELUTanh(row, bias)
			}
		}
	}
}

// edgeTile runs the kernel into full-width scratch tiles and copies the w
// valid columns, for the last panel when N is not a multiple of nr.
func edgeTile(rows, k int, a []float32, lda int, b, c []float32, ldc, w int, acc bool) {
	var tmp [mr * nr]float32
	for r0 := 0; r0 < rows; r0 += mr {
		n := min(mr, rows-r0)
		cr := c[r0*ldc:]
		if acc {
			for r := 0; r < n; r++ {
				copy(tmp[r*nr:r*nr+w], cr[r*ldc:r*ldc+w])
			}
		}
		kernel(n, k, a[r0*lda:], lda, b, tmp[:], nr, acc)
		for r := 0; r < n; r++ {
			copy(cr[r*ldc:r*ldc+w], tmp[r*nr:r*nr+w])
		}
	}
}

// kernelGo is the portable micro-kernel: C[rows×nr] (+)= A[rows×k]·B[k×nr]
// with A row-major (stride lda).
func kernelGo(rows, k int, a []float32, lda int, b, c []float32, ldc int, acc bool) {
	for r := 0; r < rows; r++ {
		var t [nr]float32
		ar := a[r*lda : r*lda+k]
		for kk, av := range ar {
			br := b[kk*nr : kk*nr+nr]
			for j := range t {
				t[j] += av * br[j]
			}
		}
		cr := c[r*ldc : r*ldc+nr]
		if acc {
			for j := range cr {
				cr[j] += t[j]
			}
		} else {
			copy(cr, t[:])
		}
	}
}
