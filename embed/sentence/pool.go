package sentence

import "math"

// poolInto writes the sentence vector of one row of a forward pass into
// dst: hidden holds len(mask)×h floats, mask is 1 for the tokens to pool
// (the attention mask less any excluded prompt). The arithmetic follows
// sentence-transformers' Pooling: float32 sums over the masked tokens,
// divided by their count clamped at 1e-9; max with masked tokens at -inf;
// CLS and last token taken at the first and last masked-in positions.
func (p pooling) poolInto(dst, hidden []float32, mask []int8, h int) {
	seq := len(mask)
	for k, mode := range p.modes {
		out := dst[k*h : (k+1)*h]
		switch mode {
		case "cls":
			first := 0
			for i, m := range mask {
				if m != 0 {
					first = i
					break
				}
			}
			copy(out, hidden[first*h:(first+1)*h])
		case "max":
			for j := range out {
				out[j] = float32(math.Inf(-1))
			}
			for i := 0; i < seq; i++ {
				if mask[i] == 0 {
					continue
				}
				for j, v := range hidden[i*h : (i+1)*h] {
					out[j] = max(out[j], v)
				}
			}
		case "mean", "mean_sqrt_len_tokens":
			clear(out)
			var n float32
			for i := 0; i < seq; i++ {
				if mask[i] == 0 {
					continue
				}
				n++
				for j, v := range hidden[i*h : (i+1)*h] {
					out[j] += v
				}
			}
			d := max(n, 1e-9)
			if mode != "mean" {
				d = float32(math.Sqrt(float64(d)))
			}
			for j := range out {
				out[j] /= d
			}
		case "weightedmean":
			// Position weights 1..seq: later tokens count more (SGPT).
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
		case "lasttoken":
			// No token to pool gives the last position times its zero mask.
			clear(out)
			for i := seq - 1; i >= 0; i-- {
				if mask[i] != 0 {
					copy(out, hidden[i*h:(i+1)*h])
					break
				}
			}
		}
	}
}
