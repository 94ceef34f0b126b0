// Package safetensors reads and writes checkpoints in Hugging Face's
// safetensors format: a little-endian u64 header length N, N bytes of JSON
// mapping tensor names to {dtype, shape, data_offsets} (plus an optional
// string→string "__metadata__"), then the raw row-major little-endian data.
//
// Reading memory-maps the file (Open, OpenDir, OpenIndex), so opening costs
// O(header) and F32 tensors come back as zero-copy []float32 views; F16 and
// BF16 are upcast exactly (bit-identical to torch's .float() on x86 CPUs).
// Other dtypes are readable as bytes.
//
// Validation is strict and happens at open: the header must be a JSON
// object with exactly the expected fields and types, known dtypes, sizes
// consistent with shapes, no duplicate names, and tensors that tile the
// data section with no gap or overlap. Serving a model from a truncated
// or mis-assembled checkpoint produces confidently wrong answers, which is
// far worse than refusing to start, so every inconsistency is an error
// naming the file and the tensor.
//
// Write produces files byte-identical to the reference Python writer, so
// tests and tools can generate checkpoints from Go.
package safetensors
