package qa_test

import "github.com/askqa/ask/safetensors"

func safetensorsNames(path string) ([]string, error) {
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Names(), nil
}
