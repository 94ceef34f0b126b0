package tensor

import (
	"fmt"
	"math"
	"unsafe"
)

// Int8 products: C (fp32) = dequantize(A_u8 · B_s8) with A the activations,
// quantized per row at run time (asymmetric: a = round(x/scale) + zero), and
// B the weights, quantized per output channel at load (symmetric:
// w = round(W/scale), |w| <= 127). The integer product is exact in int32;
// the zero point comes off with B's column sums:
//
//	C[r][j] = sa[r]·sw[j]·(Σk A[r][k]·B[k][j] − zero[r]·Σk B[k][j]) + bias[j]
//
// The packing and threading follow the fp32 GEMM: B in 16-column panels
// (two per piece, as the AVX-512 kernel takes them), rows in blocks of at
// most mc, K in blocks of kcInt8 bytes, pieces claimed from a Pool.

// qk is the number of k values one 32-bit lane of a packed panel holds: the
// four bytes VPDPBUSD (and VPMADDUBSW then VPMADDWD) multiply and sum into
// one int32.
const qk = 4

// kcInt8 is the K block of the int8 product: a pair of panels' slice
// (2·16·768 bytes = 24 KiB) stays in L1 while a row block streams past.
const kcInt8 = 768

// PackedInt8 is the weight matrix B (K×N, int8) of an int8 product, packed
// in panels of nr columns: for each group of four k, nr columns of four
// consecutive bytes (64 bytes, one zmm). K is padded with zeros to a
// multiple of four, N to an even number of panels.
type PackedInt8 struct {
	K, N   int
	kp     int     // K rounded up to a multiple of qk
	data   []int8  // panels, kp*nr bytes each
	colSum []int32 // Σk B[k][j] per (padded) column
	// Scale holds the per-column (output channel) dequantization scales.
	Scale []float32
	// InScale, when set (K values), multiplies the activations per input
	// channel before they are quantized; the weights were divided by it
	// when they were quantized, so the product is unchanged in exact
	// arithmetic. It moves the range of outlier activation channels into
	// the weights (SmoothQuant), where per-channel weight scales absorb it.
	InScale []float32
}

// Panels is the number of nr-wide column panels, rounded up to an even
// number.
func (p *PackedInt8) Panels() int { return ((p.N+nr-1)/nr + 1) &^ 1 }

// KPadded is the row length (in bytes) of the quantized activations a
// product with p reads: K rounded up to a multiple of four.
func (p *PackedInt8) KPadded() int { return p.kp }

// Bytes is the memory the packed weights hold.
func (p *PackedInt8) Bytes() int { return len(p.data) + 4*len(p.colSum) + 4*len(p.Scale) }

func (p *PackedInt8) panel(j int) []int8 { return p.data[j*p.kp*nr : (j+1)*p.kp*nr] }

// PackInt8 packs B = Wᵀ where W is the N×K (out×in, as PyTorch stores a
// Linear) int8 weight matrix, row-major, with the per-row scales of W.
func PackInt8(w []int8, scale []float32, n, k int) (*PackedInt8, error) {
	if n <= 0 || k <= 0 || len(w) != n*k || len(scale) != n {
		return nil, fmt.Errorf("pack int8: %d weights and %d scales for %d×%d", len(w), len(scale), n, k)
	}
	p := &PackedInt8{K: k, N: n, kp: (k + qk - 1) / qk * qk, Scale: append([]float32(nil), scale...)}
	panels := p.Panels()
	p.data = make([]int8, panels*p.kp*nr)
	p.colSum = make([]int32, panels*nr)
	for j := 0; j < n; j++ {
		pan := p.panel(j / nr)
		c := j % nr
		var s int32
		for kk, v := range w[j*k : (j+1)*k] {
			pan[(kk/qk)*nr*qk+c*qk+kk%qk] = v
			s += int32(v)
		}
		p.colSum[j] = s
	}
	return p, nil
}

// QuantizeWeights quantizes W (n×k, row-major, one row per output channel)
// symmetrically per row: q = round(w/scale) with scale = max|w|/127, so q
// lies in [-127, 127]. An all-zero row gets scale 1.
func QuantizeWeights(w []float32, n, k int) (q []int8, scale []float32) {
	q = make([]int8, n*k)
	scale = make([]float32, n)
	for j := 0; j < n; j++ {
		row := w[j*k : (j+1)*k]
		var m float32
		for _, v := range row {
			m = max(m, float32(math.Abs(float64(v))))
		}
		s := m / 127
		if s == 0 || math.IsInf(float64(s), 0) || s != s {
			s = 1
		}
		scale[j] = s
		inv := 1 / float64(s)
		for kk, v := range row {
			q[j*k+kk] = int8(max(-127, min(127, math.RoundToEven(float64(v)*inv))))
		}
	}
	return q, scale
}

// Int8ActivationMax is the largest quantized activation the int8 kernel in
// use accepts: 255, or 127 for the AVX2 kernel, whose VPMADDUBSW adds two
// u8×s8 products into a saturating int16 (2·255·127 would overflow; 2·127·127
// does not).
func Int8ActivationMax() int {
	if int8Kernel() == "avx2" {
		return 127
	}
	return 255
}

// Int8Kernel names the int8 micro-kernel in use, for benchmarks and logs.
func Int8Kernel() string { return int8Kernel() }

// QuantizeRows quantizes rows×k activations x (row stride ldx) to dst (row
// stride ldd >= k; the padding bytes are set to the row's zero point) with
// levels+1 steps per row: q = clamp(roundEven(x/scale) + zero, 0, levels),
// where [min(0, min x), max(0, max x)] maps onto [0, levels], so 0 is exact.
func QuantizeRows(dst []uint8, ldd int, x []float32, ldx, rows, k, levels int, scale []float32, zero []int32) {
	for r := 0; r < rows; r++ {
		scale[r], zero[r] = quantizeRow(dst[r*ldd:r*ldd+ldd], x[r*ldx:r*ldx+k], levels)
	}
}

// QuantizeRowsScaled is QuantizeRows of x·f (f multiplying column k of
// every row: PackedInt8.InScale), using tmp (k floats, kept in L1) for one
// scaled row at a time instead of a scaled copy of x.
func QuantizeRowsScaled(dst []uint8, ldd int, x []float32, ldx, rows, k, levels int, f, tmp []float32, scale []float32, zero []int32) {
	tmp, f = tmp[:k], f[:k]
	for r := 0; r < rows; r++ {
		vecMul(tmp, x[r*ldx:r*ldx+k], f)
		scale[r], zero[r] = quantizeRow(dst[r*ldd:r*ldd+ldd], tmp, levels)
	}
}

// quantizeRow quantizes row into out (len(out) >= len(row); the padding is
// set to the zero point) and returns the row's scale and zero point.
func quantizeRow(out []uint8, row []float32, levels int) (float32, int32) {
	k := len(row)
	lo, hi := vecMinMax(row)
	lo, hi = min(lo, 0), max(hi, 0)
	s := (hi - lo) / float32(levels)
	if !(s > 0) || math.IsInf(float64(s), 0) {
		s = 1
	}
	inv := 1 / s
	z := int32(math.RoundToEven(float64(-lo * inv)))
	z = max(0, min(int32(levels), z))
	vecQuantize(out[:k], row, inv, z, int32(levels))
	for i := k; i < len(out); i++ {
		out[i] = uint8(z)
	}
	return s, z
}

func mulGo(dst, x, f []float32) {
	for i, v := range x {
		dst[i] = v * f[i]
	}
}

func minMaxGo(x []float32) (lo, hi float32) {
	lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// quantizeGo rounds half to even, as VCVTPS2DQ does under the default
// rounding mode, so every path gives the same bytes.
func quantizeGo(dst []uint8, x []float32, inv float32, zero, levels int32) {
	for i, v := range x {
		q := int32(math.RoundToEven(float64(v*inv))) + zero
		dst[i] = uint8(max(0, min(levels, q)))
	}
}

// dequantGo turns the int32 sums in c (in place, as floats) into
// rs·ws[j]·(c[j] − zero·colSum[j]).
func dequantGo(c []float32, colSum []int32, ws []float32, zero int32, rs float32) {
	ci := asInt32(c)
	for j := range c {
		c[j] = float32(ci[j]-zero*colSum[j]) * (rs * ws[j])
	}
}

// asInt32 views float32 memory as int32: the kernels accumulate in C's
// memory, and the epilogue turns each row back into floats in place.
func asInt32(c []float32) []int32 {
	if len(c) == 0 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&c[0])), len(c))
}

// Int8GemmTask is C (M×N, row stride Ldc) = dequantize(A·B) + epilogue,
// split into pieces for a Pool: call Check, Split, then run the pieces.
// A is M rows of B.KPadded() bytes (row stride Lda) from QuantizeRows, with
// its per-row Scale and Zero.
type Int8GemmTask struct {
	A      []uint8
	Lda, M int
	Scale  []float32
	Zero   []int32
	B      *PackedInt8
	C      []float32
	Ldc    int
	Bias   []float32
	Ep     Epilogue

	rowBlock, rowBlocks int
	pieces              int // panel pairs per row block
}

// Check validates the shapes against the slices, so a wrong call is an error
// instead of memory corruption in assembly.
func (g *Int8GemmTask) Check() error {
	b := g.B
	switch {
	case g.M < 0 || b == nil:
		return fmt.Errorf("int8 gemm: bad operands")
	case g.M > 0 && (g.Lda < b.kp || len(g.A) < (g.M-1)*g.Lda+b.kp):
		return fmt.Errorf("int8 gemm: A has %d bytes, need %d×%d with stride %d", len(g.A), g.M, b.kp, g.Lda)
	case g.M > 0 && (g.Ldc < b.N || len(g.C) < (g.M-1)*g.Ldc+b.N):
		return fmt.Errorf("int8 gemm: C has %d floats, need %d×%d with stride %d", len(g.C), g.M, b.N, g.Ldc)
	case len(g.Scale) < g.M || len(g.Zero) < g.M:
		return fmt.Errorf("int8 gemm: %d row scales and %d zero points for %d rows", len(g.Scale), len(g.Zero), g.M)
	case g.Ep != EpNone && len(g.Bias) < b.N:
		return fmt.Errorf("int8 gemm: bias has %d floats, need %d", len(g.Bias), b.N)
	}
	return nil
}

// Split cuts C into pieces (one row block by one pair of panels) and
// returns how many there are, numbered row block by row block as in
// GemmTask.
func (g *Int8GemmTask) Split() int {
	g.rowBlocks = max(1, (g.M+mc-1)/mc)
	g.rowBlock = (g.M + g.rowBlocks - 1) / g.rowBlocks
	g.pieces = g.B.Panels() / 2
	return g.rowBlocks * g.pieces
}

// Do computes pieces [lo,hi) of C.
func (g *Int8GemmTask) Do(lo, hi, _ int) {
	for lo < hi {
		rb, p0 := lo/g.pieces, lo%g.pieces
		p1 := min(g.pieces, p0+hi-lo)
		i0 := rb * g.rowBlock
		i1 := min(i0+g.rowBlock, g.M)
		j0, j1 := p0*2*nr, min(p1*2*nr, g.B.N)
		for j := j0; j < j1; j += nc {
			g.block(i0, i1, j, min(j+nc, j1))
		}
		lo += p1 - p0
	}
}

// block computes rows [i0,i1) by columns [j0,j1) (j0 a multiple of 2·nr)
// of C: int32 sums K block by K block in C's memory, then dequantization
// and the epilogue row by row while the block is in cache.
func (g *Int8GemmTask) block(i0, i1, j0, j1 int) {
	if i0 >= i1 || j0 >= j1 {
		return
	}
	b := g.B
	rows := i1 - i0
	for k0 := 0; k0 < b.kp; k0 += kcInt8 {
		kn := min(kcInt8, b.kp-k0)
		acc := k0 > 0
		a := g.A[i0*g.Lda+k0:]
		for j := j0; j < j1; j += 2 * nr {
			p := j / nr
			b0 := b.panel(p)[k0*nr:]
			b1 := b.panel(p + 1)[k0*nr:]
			c := g.C[i0*g.Ldc+j:]
			if j+2*nr <= j1 {
				int8Pair(rows, kn/qk, a, g.Lda, b0, b1, asInt32(c), g.Ldc, acc)
				continue
			}
			int8Edge(rows, kn/qk, a, g.Lda, b0, b1, c, g.Ldc, j1-j, acc)
		}
	}
	for r := i0; r < i1; r++ {
		row := g.C[r*g.Ldc+j0 : r*g.Ldc+j1]
		vecDequant(row, b.colSum[j0:j1], b.Scale[j0:j1], g.Zero[r], g.Scale[r])
		if g.Ep == EpNone {
			continue
		}
		bias := g.Bias[j0:j1]
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

// int8Edge runs the pair kernel into full-width scratch tiles and copies the
// w valid columns, for the last pair of panels when N is not a multiple of
// 2·nr.
func int8Edge(rows, kq int, a []uint8, lda int, b0, b1 []int8, c []float32, ldc, w int, acc bool) {
	const tile = 12
	var tmp [tile * 2 * nr]int32
	ci := asInt32(c)
	for r0 := 0; r0 < rows; r0 += tile {
		n := min(tile, rows-r0)
		cr := ci[r0*ldc:]
		if acc {
			for r := 0; r < n; r++ {
				copy(tmp[r*2*nr:r*2*nr+w], cr[r*ldc:r*ldc+w])
			}
		}
		int8Pair(n, kq, a[r0*lda:], lda, b0, b1, tmp[:], 2*nr, acc)
		for r := 0; r < n; r++ {
			copy(cr[r*ldc:r*ldc+w], tmp[r*2*nr:r*2*nr+w])
		}
	}
}

// int8KernelGo is the portable micro-kernel: C[rows×nr] (+)= A[rows×4kq] ·
// one packed panel (kq groups of four k), exact in int32.
func int8KernelGo(rows, kq int, a []uint8, lda int, b []int8, c []int32, ldc int, acc bool) {
	for r := 0; r < rows; r++ {
		var t [nr]int32
		ar := a[r*lda : r*lda+kq*qk]
		for g := 0; g < kq; g++ {
			ag := (*[qk]uint8)(ar[g*qk:])
			a0, a1, a2, a3 := int32(ag[0]), int32(ag[1]), int32(ag[2]), int32(ag[3])
			// Fixed-size views let the compiler drop the bounds checks.
			bg := (*[nr * qk]int8)(b[g*nr*qk:])
			for j := range t {
				t[j] += a0*int32(bg[j*qk]) + a1*int32(bg[j*qk+1]) + a2*int32(bg[j*qk+2]) + a3*int32(bg[j*qk+3])
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

// QuantizePacked quantizes the fp32 weights of a packed matrix (B = Wᵀ, so
// each column is one output channel) per column and packs them for the
// int8 product, as QuantizeWeights then PackInt8 would from W.
func QuantizePacked(p *Packed) (*PackedInt8, error) {
	w := make([]float32, p.N*p.K)
	for j := 0; j < p.N; j++ {
		pan := p.panel(j / nr)
		for kk := 0; kk < p.K; kk++ {
			w[j*p.K+kk] = pan[kk*nr+j%nr]
		}
	}
	q, s := QuantizeWeights(w, p.N, p.K)
	return PackInt8(q, s, p.N, p.K)
}

// ScaleRows multiplies row k of B (input channel k of every output channel)
// by f[k]: it undoes, in an fp32 model, the division of the weights by the
// activations' per-channel factors (PackedInt8.InScale) of an int8
// checkpoint.
func (p *Packed) ScaleRows(f []float32) error {
	if len(f) != p.K {
		return fmt.Errorf("scale rows: %d factors for %d rows", len(f), p.K)
	}
	for j := 0; j < p.Panels(); j++ {
		pan := p.panel(j)
		for k, v := range f {
			row := pan[k*nr : (k+1)*nr]
			for c := range row {
				row[c] *= v
			}
		}
	}
	return nil
}
