package sentence_test

import (
	"context"
	"fmt"
	"log"

	"github.com/askqa/ask/embed"
	"github.com/askqa/ask/embed/sentence"
)

// The built-in embedder loads from the binary itself, with no download and
// nothing written to disk. Its vectors have unit length, so a dot product
// is the cosine similarity.
func ExampleLoadBuiltin() {
	m, err := sentence.LoadBuiltin(sentence.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	res, err := m.Embed(context.Background(), []string{
		"How do I reset my password?",
		"To change your password, open Settings and choose Security.",
		"Our office is closed on public holidays.",
	}, embed.Options{})
	if err != nil {
		log.Fatal(err)
	}
	dot := func(a, b []float32) (s float32) {
		for i := range a {
			s += a[i] * b[i]
		}
		return s
	}
	fmt.Println(m.Info().Dim, res[0].Tokens)
	fmt.Println(dot(res[0].Vector, res[1].Vector) > dot(res[0].Vector, res[2].Vector))
	// Output:
	// 384 9
	// true
}
