package tensor

import "fmt"

// nr is the width of a packed panel: the number of columns one micro-kernel
// call produces (two 8-float AVX2 registers per row).
const nr = 16

// mr is the number of rows one micro-kernel call produces.
const mr = 6

// Cache blocking: a K slice of kc floats of one panel (kc*nr*4 = 24 KiB) stays
// in L1 while the row tiles of an mc-row block stream past it; the packed A
// block (mc*kc*4 = 108 KiB) stays in L2 and is reused across nc columns, which
// is what pays for packing it. kc = 384 measured best on Zen 3 (AVX2) among
// 256, 384 and 512; K = 768 splits into two equal blocks.
const (
	kc = 384
	mc = 72
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
	return PackRows(dst, n, k, func(j int) []float32 { return w[j*ld : j*ld+k] })
}

// PackRows packs B = Wᵀ given W's N rows (each K long) one by one, so
// weights stored in pieces (Q, K and V) pack without being joined first.
func PackRows(dst *Packed, n, k int, row func(j int) []float32) *Packed {
	dst = reuse(dst, k, n)
	for j0 := 0; j0 < n; j0 += nr {
		pan := dst.panel(j0 / nr)
		for c := 0; c < nr; c++ {
			j := j0 + c
			if j >= n {
				for kk := 0; kk < k; kk++ {
					pan[kk*nr+c] = 0
				}
				continue
			}
			r := row(j)[:k]
			for kk, v := range r {
				pan[kk*nr+c] = v
			}
		}
	}
	return dst
}

// Pack packs B given K×N row-major with row stride ld.
func Pack(dst *Packed, b []float32, k, n, ld int) *Packed {
	dst = reuse(dst, k, n)
	for j0 := 0; j0 < n; j0 += nr {
		pan := dst.panel(j0 / nr)
		w := min(nr, n-j0)
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

// ScratchLen is the size of the per-worker buffer a GemmTask packs A into.
const ScratchLen = mc * kc

// Gemm computes C (M×N, row stride ldc) = A (M×K, row stride lda) · B, then
// the epilogue, on the calling goroutine; scratch holds ScratchLen floats.
// GemmTask splits a product over a Pool.
func Gemm(a []float32, lda, m int, b *Packed, c []float32, ldc int, bias []float32, ep Epilogue, scratch []float32) {
	g := GemmTask{A: a, Lda: lda, M: m, B: b, C: c, Ldc: ldc, Bias: bias, Ep: ep}
	n := g.Tiles()
	for i := 0; i < n; i++ {
		g.do(i, scratch)
	}
}

// GemmTask is one matrix product split into blocks for a Pool. Scratch has
// one buffer of ScratchLen floats per worker of the pool.
type GemmTask struct {
	A       []float32
	Lda, M  int
	B       *Packed
	C       []float32
	Ldc     int
	Bias    []float32
	Ep      Epilogue
	Scratch [][]float32
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

func (g *GemmTask) colBlocks() int { return (g.B.N + nc - 1) / nc }

// Tiles is the number of independent blocks of C.
func (g *GemmTask) Tiles() int {
	return ((g.M + mc - 1) / mc) * g.colBlocks()
}

// Do computes block i of C on worker w.
func (g *GemmTask) Do(i, w int) { g.do(i, g.Scratch[w]) }

// packA lays rows [i0,i1) × cols [k0,k0+kn) of A out as row tiles of mr,
// each k-major with mr floats per k, zero-padded past i1.
func packA(dst, a []float32, lda, i0, i1, k0, kn int) {
	for t := i0; t < i1; t += mr {
		tile := dst[(t-i0)*kn : (t-i0)*kn+mr*kn]
		if t+mr <= i1 {
			r0 := a[t*lda+k0 : t*lda+k0+kn]
			r1 := a[(t+1)*lda+k0 : (t+1)*lda+k0+kn]
			r2 := a[(t+2)*lda+k0 : (t+2)*lda+k0+kn]
			r3 := a[(t+3)*lda+k0 : (t+3)*lda+k0+kn]
			r4 := a[(t+4)*lda+k0 : (t+4)*lda+k0+kn]
			r5 := a[(t+5)*lda+k0 : (t+5)*lda+k0+kn]
			for kk := range r0 {
				d := tile[kk*mr : kk*mr+mr : kk*mr+mr]
				d[0], d[1], d[2], d[3], d[4], d[5] = r0[kk], r1[kk], r2[kk], r3[kk], r4[kk], r5[kk]
			}
			continue
		}
		clear(tile)
		for r := 0; t+r < i1; r++ {
			row := a[(t+r)*lda+k0 : (t+r)*lda+k0+kn]
			for kk, v := range row {
				tile[kk*mr+r] = v
			}
		}
	}
}

func (g *GemmTask) do(i int, scratch []float32) {
	cb := g.colBlocks()
	i0 := (i / cb) * mc
	i1 := min(i0+mc, g.M)
	j0 := (i % cb) * nc
	j1 := min(j0+nc, g.B.N)
	k := g.B.K
	if k == 0 {
		for r := i0; r < i1; r++ {
			clear(g.C[r*g.Ldc+j0 : r*g.Ldc+j1])
		}
	}
	for k0 := 0; k0 < k; k0 += kc {
		kn := min(kc, k-k0)
		acc := k0 > 0
		packA(scratch, g.A, g.Lda, i0, i1, k0, kn)
		for j := j0; j < j1; j += nr {
			pan := g.B.panel(j / nr)[k0*nr:]
			w := min(nr, j1-j)
			for r := i0; r < i1; {
				rows := i1 - r
				switch {
				case rows >= 6:
					rows = 6
				case rows >= 4:
					rows = 4
				case rows >= 2:
					rows = 2
				}
				// Offset into the packed tile: the tile start plus the row
				// within it (the 1-row kernel may finish a partial tile).
				a := scratch[((r-i0)/mr*mr)*kn+(r-i0)%mr:]
				if w == nr {
					kernel(rows, kn, a, pan, g.C[r*g.Ldc+j:], g.Ldc, acc)
				} else {
					edgeTile(rows, kn, a, pan, g.C[r*g.Ldc+j:], g.Ldc, w, acc)
				}
				r += rows
			}
		}
	}
	if g.Ep != EpNone {
		for r := i0; r < i1; r++ {
			row := g.C[r*g.Ldc+j0 : r*g.Ldc+j1]
			bias := g.Bias[j0:j1]
			switch g.Ep {
			case EpBias:
				addBias(row, bias)
			case EpBiasGELU:
				biasGELU(row, bias)
			case EpBiasGELUTanh:
				biasGELUTanh(row, bias)
			}
		}
	}
}

// edgeTile runs the kernel into a full-width scratch tile and copies the w
// valid columns, for the last panel when N is not a multiple of nr.
func edgeTile(rows, k int, a []float32, b []float32, c []float32, ldc, w int, acc bool) {
	var tmp [mr * nr]float32
	if acc {
		for r := 0; r < rows; r++ {
			copy(tmp[r*nr:r*nr+w], c[r*ldc:r*ldc+w])
		}
	}
	kernel(rows, k, a, b, tmp[:], nr, acc)
	for r := 0; r < rows; r++ {
		copy(c[r*ldc:r*ldc+w], tmp[r*nr:r*nr+w])
	}
}

// kernelGo is the portable micro-kernel: C[rows×nr] (+)= A[rows×k]·B[k×nr]
// with A packed mr floats per k.
func kernelGo(rows, k int, a []float32, b []float32, c []float32, ldc int, acc bool) {
	var t [mr * nr]float32
	for r := 0; r < rows; r++ {
		tr := t[r*nr : r*nr+nr]
		for kk := 0; kk < k; kk++ {
			av := a[kk*mr+r]
			br := b[kk*nr : kk*nr+nr]
			for j := range tr {
				tr[j] += av * br[j]
			}
		}
		cr := c[r*ldc : r*ldc+nr]
		if acc {
			for j := range cr {
				cr[j] += tr[j]
			}
		} else {
			copy(cr, tr)
		}
	}
}
