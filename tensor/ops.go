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
// res may be nil. The statistics are accumulated in float64, in four
// independent sums so the adds do not wait on each other.
func LayerNorm(out, x, res, gamma, beta []float32, eps float32) {
	n := len(x)
	out, gamma, beta = out[:n], gamma[:n], beta[:n]
	if res != nil {
		res = res[:n]
		for i, v := range x {
			out[i] = v + res[i]
		}
	} else {
		copy(out, x)
	}
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= n; i += 4 {
		v := out[i : i+4 : i+4]
		s0 += float64(v[0])
		s1 += float64(v[1])
		s2 += float64(v[2])
		s3 += float64(v[3])
	}
	for ; i < n; i++ {
		s0 += float64(out[i])
	}
	mean := (s0 + s1 + s2 + s3) / float64(n)
	var q0, q1, q2, q3 float64
	i = 0
	for ; i+4 <= n; i += 4 {
		v := out[i : i+4 : i+4]
		d0, d1, d2, d3 := float64(v[0])-mean, float64(v[1])-mean, float64(v[2])-mean, float64(v[3])-mean
		q0 += d0 * d0
		q1 += d1 * d1
		q2 += d2 * d2
		q3 += d3 * d3
	}
	for ; i < n; i++ {
		d := float64(out[i]) - mean
		q0 += d * d
	}
	inv := 1 / math.Sqrt((q0+q1+q2+q3)/float64(n)+float64(eps))
	for i, v := range out {
		out[i] = float32((float64(v)-mean)*inv)*gamma[i] + beta[i]
	}
}
