package embed

import "math"

// poolInto writes the sentence vector of row r of a forward pass into dst:
// hidden holds seqLen×h floats for the row, mask its attention mask (1 for
// tokens to pool). The arithmetic follows sentence-transformers' Pooling:
// sums in float32 over the masked tokens, divided by the token count clamped
// at 1e-9; max over tokens with padding at -1e9.
func (p pooling) poolInto(dst, hidden []float32, mask []int8, h int) {
	seq := len(mask)
	off := 0
	if p.cls {
		copy(dst[off:off+h], hidden[:h])
		off += h
	}
	if p.max {
		out := dst[off : off+h]
		for j := range out {
			out[j] = float32(math.Inf(-1))
		}
		for i := 0; i < seq; i++ {
			row := hidden[i*h : (i+1)*h]
			for j, v := range row {
				if mask[i] == 0 {
					v = -1e9
				}
				out[j] = max(out[j], v)
			}
		}
		off += h
	}
	if p.mean || p.meanSqrt {
		sum := make([]float32, h)
		var n float32
		for i := 0; i < seq; i++ {
			if mask[i] == 0 {
				continue
			}
			n++
			for j, v := range hidden[i*h : (i+1)*h] {
				sum[j] += v
			}
		}
		n = max(n, 1e-9)
		if p.mean {
			for j, v := range sum {
				dst[off+j] = v / n
			}
			off += h
		}
		if p.meanSqrt {
			s := float32(math.Sqrt(float64(n)))
			for j, v := range sum {
				dst[off+j] = v / s
			}
			off += h
		}
	}
	if p.weightedMean {
		// Position weights 1..seq: later tokens count more (SGPT).
		out := dst[off : off+h]
		clear(out)
		var wsum float32
		for i := 0; i < seq; i++ {
			if mask[i] == 0 {
				continue
			}
			w := float32(i + 1)
			wsum += w
			for j, v := range hidden[i*h : (i+1)*h] {
				out[j] += v * w
			}
		}
		wsum = max(wsum, 1e-9)
		for j := range out {
			out[j] /= wsum
		}
		off += h
	}
	if p.last {
		last := 0
		for i := seq - 1; i >= 0; i-- {
			if mask[i] != 0 {
				last = i
				break
			}
		}
		copy(dst[off:off+h], hidden[last*h:(last+1)*h])
	}
}

// normalize scales v to unit length as torch.nn.functional.normalize does:
// v / max(‖v‖, 1e-12).
func normalize(v []float32) {
	var ss float32
	for _, x := range v {
		ss += x * x
	}
	n := max(float32(math.Sqrt(float64(ss))), 1e-12)
	for i := range v {
		v[i] /= n
	}
}
