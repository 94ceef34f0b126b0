package model

import (
	"fmt"
	"strings"

	"github.com/askqa/ask/safetensors"
)

// Int8 checkpoints (written by `ask quantize`) store each quantized Linear
// weight W [out, in] as an I8 tensor under its usual name with its per-row
// scales as an F32 tensor named name+ScaleSuffix, so that
// W ≈ q·scale[row]. Everything else keeps its dtype.

// ScaleSuffix follows an int8 weight's name to name its scales.
const ScaleSuffix = "_scale"

// QuantizedWeight reports whether name is a tensor that an int8 checkpoint
// stores quantized: the 2-D weight of a Linear layer inside the encoder's
// blocks (BERT "encoder.layer.N.", DistilBERT "transformer.layer.N.",
// ALBERT "albert_layers.N."), not embeddings, norms or task heads, which
// stay as they are.
func QuantizedWeight(name string, shape []int64) bool {
	return len(shape) == 2 && strings.HasSuffix(name, ".weight") &&
		(strings.Contains(name, ".layer.") || strings.Contains(name, ".albert_layers.")) &&
		!strings.Contains(strings.ToLower(name), "norm")
}

// EmbeddingTable reports whether name is the word-embedding table (rows are
// tokens), which `ask quantize --embeddings` also stores in int8, per row:
// it is a third to a half of a small model's bytes. It is read back as
// float32 (q·scale) and looked up as before; no kernel sees int8.
func EmbeddingTable(name string, shape []int64) bool {
	return len(shape) == 2 && strings.HasSuffix(name, "word_embeddings.weight")
}

// Int8 reports whether the checkpoint holds int8 weights.
func (w *Weights) Int8() bool {
	for _, n := range w.set.Names() {
		if info, ok := w.set.Info(n); ok && info.DType == safetensors.I8 {
			return true
		}
	}
	return false
}

// float32 reads a tensor as float32: F32, F16 and BF16 through the
// safetensors reader, I8 with its scales dequantized into a new slice.
func (w *Weights) float32(name string) ([]float32, []int64, error) {
	info, ok := w.set.Info(name)
	if !ok || info.DType != safetensors.I8 {
		return w.set.Float32(name)
	}
	raw, _, err := w.set.Bytes(name)
	if err != nil {
		return nil, nil, err
	}
	if len(info.Shape) != 2 {
		return nil, nil, fmt.Errorf("int8 tensor has shape %v, want [out, in]", info.Shape)
	}
	rows, cols := int(info.Shape[0]), int(info.Shape[1])
	scale, sshape, err := w.set.Float32(name + ScaleSuffix)
	if err != nil {
		return nil, nil, fmt.Errorf("int8 tensor without its scales: %w", err)
	}
	if len(sshape) != 1 || int(sshape[0]) != rows {
		return nil, nil, fmt.Errorf("int8 tensor [%d %d] has scales of shape %v, want [%d]", rows, cols, sshape, rows)
	}
	out := make([]float32, rows*cols)
	for r := 0; r < rows; r++ {
		s := scale[r]
		for c, b := range raw[r*cols : (r+1)*cols] {
			out[r*cols+c] = float32(int8(b)) * s
		}
	}
	return out, info.Shape, nil
}
