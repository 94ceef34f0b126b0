package engine

import (
	"fmt"

	"github.com/askqa/ask/model"
)

// quantize applies Options.Quantize to a loaded architecture. A checkpoint
// stored in int8 (ask quantize) runs in int8 unless mode says otherwise:
// its weights were read back as q·scale, and quantizing those again gives
// the same q.
func quantize(arch model.Arch, mode string, int8File bool) error {
	if mode == "" && int8File {
		mode = "int8"
	}
	mode, err := ParseQuantize(mode)
	if err != nil {
		return err
	}
	if mode == "" {
		return nil
	}
	if q, ok := arch.(int8Quantizer); ok {
		// The architecture runs its own blocks (DeBERTa): its Stack has
		// no layers, so it quantizes its Linear layers itself.
		if err := q.QuantizeInt8(); err != nil {
			return fmt.Errorf("quantize int8: %w", err)
		}
		return nil
	}
	if err := arch.Stack().QuantizeInt8(); err != nil {
		return fmt.Errorf("quantize int8: %w", err)
	}
	return nil
}

// int8Quantizer is an architecture whose encoder blocks are not in its
// nn.Stack and which quantizes them itself.
type int8Quantizer interface {
	QuantizeInt8() error
}
