package embed_test

import (
	"fmt"

	"github.com/askqa/ask/embed"
)

func ExampleNormalize() {
	v := []float32{3, 4}
	embed.Normalize(v)
	zero := []float32{0, 0}
	embed.Normalize(zero) // stays zero, as torch's normalize leaves it
	fmt.Println(v, zero)
	// Output: [0.6 0.8] [0 0]
}
