package tensor

func vecMax(x []float32) float32 {
	n := len(x) &^ 7
	if !hasAVX2 || n == 0 {
		return maxGo(x)
	}
	return max(vmaxAVX2(&x[0], n), maxGo(x[n:]))
}

func vecExpSum(x []float32, scale, shift float32) float32 {
	n := len(x) &^ 7
	if !hasAVX2 || n == 0 {
		return expSumGo(x, scale, shift)
	}
	return vexpSumAVX2(&x[0], n, scale, shift) + expSumGo(x[n:], scale, shift)
}

func vecScale(x []float32, s float32) {
	n := len(x) &^ 7
	if !hasAVX2 || n == 0 {
		scaleGo(x, s)
		return
	}
	vscaleAVX2(&x[0], n, s)
	scaleGo(x[n:], s)
}

// vecAdd, vecGELU and vecGELUTanh process the longest multiple-of-8 prefix
// (len(b) >= len(x)) and return its length.
func vecAdd(x, b []float32) int {
	n := len(x) &^ 7
	if !hasAVX2 || n == 0 {
		return 0
	}
	_ = b[n-1]
	vaddAVX2(&x[0], &b[0], n)
	return n
}

func vecGELU(x, b []float32) int {
	n := len(x) &^ 7
	if !hasAVX2 || n == 0 {
		return 0
	}
	_ = b[n-1]
	vgeluAVX2(&x[0], &b[0], n)
	return n
}

func vecGELUTanh(x, b []float32) int {
	n := len(x) &^ 7
	if !hasAVX2 || n == 0 {
		return 0
	}
	_ = b[n-1]
	vgeluTanhAVX2(&x[0], &b[0], n)
	return n
}

func vecSum64(x []float32) float64 {
	n := len(x) &^ 7
	if !hasAVX2 || n == 0 {
		return sum64Go(x)
	}
	return vsum64AVX2(&x[0], n) + sum64Go(x[n:])
}

func vecDev64(x []float32, mean float64) float64 {
	n := len(x) &^ 7
	if !hasAVX2 || n == 0 {
		return dev64Go(x, mean)
	}
	return vdev64AVX2(&x[0], n, mean) + dev64Go(x[n:], mean)
}

// vecNorm needs len(g), len(b) >= len(x).
func vecNorm(x, g, b []float32, mean, inv float64) {
	n := len(x) &^ 7
	if !hasAVX2 || n == 0 {
		normGo(x, g, b, mean, inv)
		return
	}
	_, _ = g[n-1], b[n-1]
	vnormAVX2(&x[0], &g[0], &b[0], n, mean, inv)
	normGo(x[n:], g[n:], b[n:], mean, inv)
}
