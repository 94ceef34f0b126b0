package tensor

import "math"

// Portable element-wise loops; the assembly versions cover multiples of 8
// and leave the tail to these.

func maxGo(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	return m
}

func expSumGo(x []float32, scale, shift float32) float32 {
	var sum float32
	for j, v := range x {
		e := float32(math.Exp(float64(v*scale - shift)))
		x[j] = e
		sum += e
	}
	return sum
}

func scaleGo(x []float32, s float32) {
	for j := range x {
		x[j] *= s
	}
}

func sum64Go(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s
}

func dev64Go(x []float32, mean float64) float64 {
	var s float64
	for _, v := range x {
		d := float64(v) - mean
		s += d * d
	}
	return s
}

func normGo(x, g, b []float32, mean, inv float64) {
	g, b = g[:len(x)], b[:len(x)]
	for i, v := range x {
		// The conversion keeps the compiler from fusing the multiply and
		// add (the Go spec allows it for x*y + z), which the assembly
		// does not do either.
		x[i] = float32(float32((float64(v)-mean)*inv)*g[i]) + b[i]
	}
}
