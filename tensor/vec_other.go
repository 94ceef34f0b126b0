//go:build !amd64

package tensor

func vecMax(x []float32) float32                          { return maxGo(x) }
func vecExpSum(x []float32, scale, shift float32) float32 { return expSumGo(x, scale, shift) }
func vecScale(x []float32, s float32)                     { scaleGo(x, s) }
func vecAdd(x, b []float32) int                           { return 0 }
func vecGELU(x, b []float32) int                          { return 0 }
func vecGELUTanh(x, b []float32) int                      { return 0 }
