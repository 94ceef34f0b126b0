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
