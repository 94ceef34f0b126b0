package tensor

import "math"

func addBias(row, bias []float32) {
	bias = bias[:len(row)]
	for i := vecAdd(row, bias); i < len(row); i++ {
		row[i] += bias[i]
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
// res may be nil. The statistics are accumulated in float64.
func LayerNorm(out, x, res, gamma, beta []float32, eps float32) {
	n := len(x)
	out, gamma, beta = out[:n], gamma[:n], beta[:n]
	var sum float64
	if res != nil {
		res = res[:n]
		for i, v := range x {
			s := v + res[i]
			out[i] = s
			sum += float64(s)
		}
	} else {
		for i, v := range x {
			out[i] = v
			sum += float64(v)
		}
	}
	mean := sum / float64(n)
	var sq float64
	for _, v := range out {
		d := float64(v) - mean
		sq += d * d
	}
	inv := 1 / math.Sqrt(sq/float64(n)+float64(eps))
	for i, v := range out {
		out[i] = float32((float64(v)-mean)*inv)*gamma[i] + beta[i]
	}
}
