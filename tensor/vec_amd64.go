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
