package engine

import (
	"fmt"

	"github.com/askqa/ask/model"
	"github.com/askqa/ask/nn"
)

// InScaleName names the tensor of an int8 checkpoint that holds the
// per-input-channel activation factors (SmoothQuant) of one Linear layer of
// the encoder's stack: layer is the index in the stack, part one of "qkv",
// "out", "ff1", "ff2". The names do not depend on the architecture, since
// the stack is the same for all of them. A checkpoint without them runs
// with plain per-row activations.
func InScaleName(layer int, part string) string {
	return fmt.Sprintf("ask_int8.in_scale.%d.%s", layer, part)
}

// Mode reports how Load runs dir's checkpoint with Options.Quantize mode:
// "int8", or "" for fp32. A checkpoint stored in int8 runs in int8 unless
// mode is "none"; so a caller that labels its output (ask bench) says what
// ran, not only what was asked. It reads the weights' headers, not the
// weights.
func Mode(dir, mode string) (string, error) {
	if mode != "" {
		return ParseQuantize(mode)
	}
	w, err := model.OpenWeights(dir)
	if err != nil {
		return "", err
	}
	defer w.Close()
	return effectiveMode(mode, w.Int8())
}

func effectiveMode(mode string, int8File bool) (string, error) {
	if mode == "" && int8File {
		mode = "int8"
	}
	return ParseQuantize(mode)
}

// quantize applies Options.Quantize to a loaded architecture. A checkpoint
// stored in int8 (ask quantize) runs in int8 unless mode says otherwise:
// its weights were read back as q·scale, and quantizing those again gives
// the same q. If it also carries activation factors (InScaleName), they go
// with the int8 layers; in fp32 they are folded back into the weights.
func quantize(arch model.Arch, w *model.Weights, mode string, int8File bool) error {
	mode, err := effectiveMode(mode, int8File)
	if err != nil {
		return err
	}
	stack := arch.Stack()
	scales, err := inScales(stack, w)
	if err != nil {
		return err
	}
	if mode == "" {
		for lin, f := range scales {
			if err := lin.W.ScaleRows(f); err != nil {
				return fmt.Errorf("%s: %w", lin.Name, err)
			}
		}
		return nil
	}
	if q, ok := arch.(int8Quantizer); ok {
		// The architecture runs its own blocks (DeBERTa): its Stack has
		// no layers, so it quantizes its Linear layers itself (and has
		// no activation factors, which are named by stack layer).
		if err := q.QuantizeInt8(); err != nil {
			return fmt.Errorf("quantize int8: %w", err)
		}
		return nil
	}
	if err := stack.QuantizeInt8(); err != nil {
		return fmt.Errorf("quantize int8: %w", err)
	}
	for lin, f := range scales {
		lin.Q.InScale = f
	}
	return nil
}

// int8Quantizer is an architecture whose encoder blocks are not in its
// nn.Stack and which quantizes them itself.
type int8Quantizer interface {
	QuantizeInt8() error
}

// inScales reads the activation factors a checkpoint holds, per Linear.
func inScales(stack *nn.Stack, w *model.Weights) (map[*nn.Linear][]float32, error) {
	out := map[*nn.Linear][]float32{}
	if w == nil {
		return out, nil
	}
	for i, l := range stack.Layers {
		for _, p := range []struct {
			name string
			lin  *nn.Linear
		}{{"qkv", l.QKV}, {"out", l.Out}, {"ff1", l.FF1}, {"ff2", l.FF2}} {
			name := InScaleName(i, p.name)
			if !w.Has(name) {
				continue
			}
			if _, dup := out[p.lin]; dup {
				return nil, fmt.Errorf("%s: layer shared with another position has two sets of activation factors", name)
			}
			v := w.GetAbs(name, p.lin.In)
			if err := w.Err(); err != nil {
				return nil, err
			}
			f := make([]float32, len(v))
			for k, x := range v {
				if !(x > 0) || x > 1e30 {
					return nil, fmt.Errorf("%s[%d] = %v: activation factors must be positive and finite", name, k, x)
				}
				f[k] = x
			}
			out[p.lin] = f
		}
	}
	return out, nil
}
