package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/askqa/ask/engine"
	"github.com/askqa/ask/model"
	"github.com/askqa/ask/safetensors"
	"github.com/askqa/ask/tensor"
)

// addQuantizeFlag registers --quantize on a command that loads a model. The
// flag wins over ASK_QUANTIZE: it overrides that variable in *env, which
// loadEncoder reads, so the commands need no extra plumbing.
func addQuantizeFlag(fs *flag.FlagSet, env *Env) {
	fs.Func("quantize", "run the encoder's Linear layers in `int8` (weights per channel, activations per row), or none for fp32 (default $ASK_QUANTIZE, else int8 for a checkpoint stored in int8 and none for the rest)", func(v string) error {
		if _, err := engine.ParseQuantize(v); err != nil {
			return err
		}
		get := env.Getenv
		env.Getenv = func(k string) string {
			if k == "ASK_QUANTIZE" {
				return v
			}
			return get(k)
		}
		return nil
	})
}

// quantizeMode reads ASK_QUANTIZE (or the --quantize that overrides it),
// as given: "none" must reach the engine as such, since an int8 checkpoint
// runs in int8 when nothing is asked.
func quantizeMode(env Env) (string, error) {
	v := env.Getenv("ASK_QUANTIZE")
	if _, err := engine.ParseQuantize(v); err != nil {
		return "", fmt.Errorf("ASK_QUANTIZE: %w", err)
	}
	return v, nil
}

func runQuantize(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "quantize", "IN_DIR OUT_DIR [--embeddings]\n\n"+
		"Writes OUT_DIR/model.safetensors with the weights of the encoder's Linear layers in int8\n"+
		"(symmetric, per output channel: an I8 tensor under the weight's name and its F32 scales\n"+
		"under name+\"_scale\"), every other tensor as it was, and copies IN_DIR's other files\n"+
		"(config.json, tokenizer). ask runs --model OUT_DIR in int8. IN_DIR may already be int8\n"+
		"(a calibrated checkpoint): its int8 tensors are kept as they are.")
	embeddings := fs.Bool("embeddings", false, "also store the word-embedding table in int8, per row (read back as float32: smaller file, same speed)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return errUsage
	}
	in, out := fs.Arg(0), fs.Arg(1)
	if a, b := filepath.Clean(in), filepath.Clean(out); a == b {
		return fmt.Errorf("quantize: IN_DIR and OUT_DIR are both %s: write to a new folder", a)
	}
	set, err := safetensors.OpenDir(in)
	if err != nil {
		return fmt.Errorf("quantize: %w", err)
	}
	defer set.Close()
	var tensors []safetensors.Tensor
	var before, after int64
	quantized, tables := 0, 0
	for _, name := range set.Names() {
		if err := ctx.Err(); err != nil {
			return err
		}
		raw, info, err := set.Bytes(name)
		if err != nil {
			return fmt.Errorf("quantize: read %s: %w", name, err)
		}
		before += int64(len(raw))
		table := *embeddings && model.EmbeddingTable(name, info.Shape)
		if !(model.QuantizedWeight(name, info.Shape) || table) || info.DType == safetensors.I8 {
			tensors = append(tensors, safetensors.Tensor{Name: name, DType: info.DType, Shape: info.Shape, Raw: raw})
			after += int64(len(raw))
			continue
		}
		w, shape, err := set.Float32(name)
		if err != nil {
			return fmt.Errorf("quantize: %s (%s): %w", name, info.DType, err)
		}
		rows, cols := int(shape[0]), int(shape[1])
		q, s := tensor.QuantizeWeights(w, rows, cols)
		qb := make([]byte, len(q))
		for i, v := range q {
			qb[i] = byte(v)
		}
		tensors = append(tensors,
			safetensors.Tensor{Name: name, DType: safetensors.I8, Shape: shape, Raw: qb},
			safetensors.Tensor{Name: name + model.ScaleSuffix, DType: safetensors.F32, Shape: []int64{int64(rows)}, Data: s})
		after += int64(len(qb) + 4*len(s))
		quantized++
		if table {
			tables++
		}
	}
	if quantized == 0 {
		return fmt.Errorf("quantize: %s has no encoder Linear weights to quantize (already int8, or an architecture whose tensor names are not known; --embeddings also quantizes the word embeddings)", in)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("quantize: %w", err)
	}
	meta := set.Metadata()
	if meta == nil {
		meta = map[string]string{}
	}
	// A calibrated checkpoint already says how its weights were rounded:
	// keep that, and say what this run added.
	note := "int8 per-channel symmetric (ask quantize)"
	if tables > 0 {
		note += ", word embeddings int8 per row (--embeddings)"
	}
	if prev := meta["quantization"]; prev != "" {
		note = prev + "; then " + note
	}
	meta["quantization"] = note
	if err := writeSafetensors(filepath.Join(out, "model.safetensors"), tensors, meta); err != nil {
		return fmt.Errorf("quantize: %w", err)
	}
	if err := copyCheckpointFiles(in, out); err != nil {
		return fmt.Errorf("quantize: %w", err)
	}
	fmt.Fprintf(env.Stdout, "%s: %d weight matrices newly in int8; tensors %.1f MB → %.1f MB\n", out, quantized, float64(before)/1e6, float64(after)/1e6)
	return nil
}

// writeSafetensors writes the file under a temporary name and renames it,
// so a failed run leaves no half-written checkpoint.
func writeSafetensors(path string, tensors []safetensors.Tensor, meta map[string]string) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = safetensors.Write(bw, tensors, meta)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// copyCheckpointFiles copies the regular files of in that are not weights
// (config, tokenizer, README) into out, and those of the module folders a
// sentence-transformers modules.json names (1_Pooling…), without which the
// copy would embed differently.
func copyCheckpointFiles(in, out string) error {
	if err := copyPlainFiles(in, out); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(in, "modules.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var modules []struct {
		Path string `json:"path"`
	}
	if err := json.Unmarshal(b, &modules); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(in, "modules.json"), err)
	}
	for _, m := range modules {
		p := filepath.Clean(m.Path)
		if m.Path == "" || p == "." || !filepath.IsLocal(p) {
			continue // the Transformer module lives in the folder itself
		}
		if _, err := os.Stat(filepath.Join(in, p)); errors.Is(err, os.ErrNotExist) {
			continue // Normalize's folder is often not shipped
		}
		if err := os.MkdirAll(filepath.Join(out, p), 0o755); err != nil {
			return err
		}
		if err := copyPlainFiles(filepath.Join(in, p), filepath.Join(out, p)); err != nil {
			return err
		}
	}
	return nil
}

// copyPlainFiles copies the regular files of in that are not weights.
func copyPlainFiles(in, out string) error {
	entries, err := os.ReadDir(in)
	if err != nil {
		return err
	}
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() || strings.HasSuffix(n, ".safetensors") || n == "model.safetensors.index.json" ||
			strings.HasSuffix(n, ".bin") || strings.HasSuffix(n, ".onnx") || strings.HasSuffix(n, ".tmp") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(in, n))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, n), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
