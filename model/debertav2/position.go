package debertav2

import "math"

// logBucket is transformers' make_log_bucket_position for one relative
// position: distances up to bucketSize/2 keep their value, longer ones are
// binned logarithmically up to maxPosition. Every step is float32, as torch
// computes it, so the rounding up lands where torch's does.
func logBucket(rel, bucketSize, maxPosition int) int {
	mid := bucketSize / 2
	abs := rel
	if rel < mid && rel > -mid {
		abs = mid - 1
	} else if abs < 0 {
		abs = -abs
	}
	if abs <= mid {
		return rel
	}
	ratio := float32(abs) / float32(mid)
	num := float32(math.Log(float64(ratio)))
	den := float32(math.Log(float64(float32(float64(maxPosition-1) / float64(mid)))))
	logPos := float32(math.Ceil(float64(num/den*float32(mid-1)))) + float32(mid)
	if rel < 0 {
		logPos = -logPos
	}
	return int(logPos)
}

// relative is build_relative_position's value for query i and key j: i-j,
// bucketed when buckets are configured.
func relative(delta, buckets, maxRel int) int {
	if buckets > 0 && maxRel > 0 {
		return logBucket(delta, buckets, maxRel)
	}
	return delta
}

// indexTables returns, for each query-minus-key distance d in
// (-maxLen, maxLen) stored at d+maxLen-1, the row of the relative
// embeddings the content→position (c2p) and position→content (p2c) scores
// read: clamp(±relative + span, 0, 2·span-1).
func indexTables(maxLen, span, buckets, maxRel int) (c2p, p2c []int32) {
	c2p = make([]int32, 2*maxLen-1)
	p2c = make([]int32, 2*maxLen-1)
	clamp := func(v int) int32 { return int32(min(max(v, 0), 2*span-1)) }
	for d := -(maxLen - 1); d < maxLen; d++ {
		r := relative(d, buckets, maxRel)
		c2p[d+maxLen-1] = clamp(r + span)
		p2c[d+maxLen-1] = clamp(-r + span)
	}
	return c2p, p2c
}
