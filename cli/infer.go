package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"

	"github.com/askqa/ask/model"
)

type inferInput struct {
	InputIDs      []int32 `json:"input_ids"`
	AttentionMask []int32 `json:"attention_mask"`
	TokenTypeIDs  []int32 `json:"token_type_ids"`
}

type inferOutput struct {
	StartLogits     []float32   `json:"start_logits,omitempty"`
	EndLogits       []float32   `json:"end_logits,omitempty"`
	LastHiddenState [][]float32 `json:"last_hidden_state,omitempty"`
}

func runInfer(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "infer", "[MODEL] [flags] < inputs.jsonl\n\n"+
		"Reads JSON lines {\"input_ids\", \"attention_mask\"?, \"token_type_ids\"?} and writes one JSON line\n"+
		"of start/end logits (or the last hidden state) per input. MODEL (or --model) is the model, built-in by default.")
	ref := fs.String("model", "", modelFlagHelp)
	threads := fs.Int("threads", 0, "threads for the forward pass (0: one per CPU)")
	addQuantizeFlag(fs, &env)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := modelArg(fs, ref, "model"); err != nil {
		return err
	}
	enc, _, err := loadEncoder(ctx, env, *ref, *threads)
	if err != nil {
		return err
	}
	defer enc.Close()

	sc := bufio.NewScanner(env.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	w := bufio.NewWriter(env.Stdout)
	defer w.Flush()
	enc2 := json.NewEncoder(w)
	var out model.Output
	line := 0
	for sc.Scan() {
		line++
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(sc.Bytes()) == 0 {
			continue
		}
		var in inferInput
		if err := json.Unmarshal(sc.Bytes(), &in); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		b := model.Batch{Size: 1, SeqLen: len(in.InputIDs), InputIDs: in.InputIDs,
			AttentionMask: in.AttentionMask, TokenTypeIDs: in.TokenTypeIDs}
		if err := enc.Forward(ctx, &b, &out); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		var o inferOutput
		if len(out.StartLogits) > 0 {
			o.StartLogits, o.EndLogits = out.StartLogits, out.EndLogits
		} else {
			for i := 0; i < b.SeqLen; i++ {
				o.LastHiddenState = append(o.LastHiddenState, out.Hidden[i*out.HiddenSize:(i+1)*out.HiddenSize])
			}
		}
		if err := enc2.Encode(o); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read input after line %d: %w", line, err)
	}
	return nil
}
