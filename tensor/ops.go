package tensor

import "math"

// addInto sets dst += src (len(src) >= len(dst)).
func addInto(dst, src []float32) {
	src = src[:len(dst)]
	for i := vecAdd(dst, src); i < len(dst); i++ {
		dst[i] += src[i]
	}
}

// GELU is the exact activation 0.5·x·(1+erf(x/√2)) that transformers calls
// "gelu".
func GELU(x float32) float32 {
	return float32(0.5 * float64(x) * (1 + math.Erf(float64(x)*(1/math.Sqrt2))))
}

// GELUTanh is the tanh approximation that transformers calls "gelu_new".
func GELUTanh(x float32) float32 {
	v := float64(x)
	return float32(0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v))))
}

func biasGELU(row, bias []float32) {
	bias = bias[:len(row)]
	for i := vecGELU(row, bias); i < len(row); i++ {
		row[i] = GELU(row[i] + bias[i])
	}
}

func biasGELUTanh(row, bias []float32) {
	bias = bias[:len(row)]
	for i := vecGELUTanh(row, bias); i < len(row); i++ {
		row[i] = GELUTanh(row[i] + bias[i])
	}
}

// SoftmaxRow replaces x with softmax(x·scale) over the keys where keep is
// true (all when keep is nil); masked keys get exactly 0. That equals adding
// float32's minimum to masked scores as transformers does, since their
// exponentials underflow to zero. scale must be positive and at least one
// key kept.
func SoftmaxRow(x []float32, scale float32, keep []bool) {
	if keep != nil {
		keep = keep[:len(x)]
		for j, k := range keep {
			if !k {
				x[j] = float32(math.Inf(-1))
			}
		}
	}
	sum := vecExpSum(x, scale, vecMax(x)*scale)
	vecScale(x, 1/sum)
}

// LayerNorm sets out = LayerNorm(x + res) with biased variance, as torch does;
// res may be nil, and out may be x or res (but not overlap them otherwise).
// The mean, the variance and (x-mean)/σ are computed in float64, the affine
// part in float32.
func LayerNorm(out, x, res, gamma, beta []float32, eps float32) {
	n := len(x)
	if n == 0 {
		return
	}
	out, gamma, beta = out[:n], gamma[:n], beta[:n]
	switch {
	case res == nil:
		copy(out, x)
	case &out[0] == &res[0]:
		addInto(out, x)
	default:
		copy(out, x)
		addInto(out, res[:n])
	}
	mean := vecSum64(out) / float64(n)
	inv := 1 / math.Sqrt(vecDev64(out, mean)/float64(n)+float64(eps))
	vecNorm(out, gamma, beta, mean, inv)
}
