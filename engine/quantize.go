package engine

import (
	"fmt"

	"github.com/askqa/ask/model"
)

// quantize applies Options.Quantize to a loaded architecture.
func quantize(arch model.Arch, mode string) error {
	mode, err := ParseQuantize(mode)
	if err != nil {
		return err
	}
	if mode == "" {
		return nil
	}
	if err := arch.Stack().QuantizeInt8(); err != nil {
		return fmt.Errorf("quantize int8: %w", err)
	}
	return nil
}
