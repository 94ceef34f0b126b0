//go:build !amd64

package tensor

func vecMax(x []float32) float32                          { return maxGo(x) }
func vecExpSum(x []float32, scale, shift float32) float32 { return expSumGo(x, scale, shift) }
func vecScale(x []float32, s float32)                     { scaleGo(x, s) }
func vecAdd(x, b []float32) int                           { return 0 }
func vecGELU(x, b []float32) int                          { return 0 }
func vecGELUTanh(x, b []float32) int                      { return 0 }

func vecSum64(x []float32) float64                 { return sum64Go(x) }
func vecDev64(x []float32, mean float64) float64   { return dev64Go(x, mean) }
func vecNorm(x, g, b []float32, mean, inv float64) { normGo(x, g, b, mean, inv) }
