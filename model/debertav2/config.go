package debertav2

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/askqa/ask/model"
)

// options are the config.json fields DeBERTa adds to model.Config, with
// transformers' defaults (DebertaV2Config) where a field is absent.
type options struct {
	RelativeAttention    bool            `json:"relative_attention"`
	MaxRelativePositions int             `json:"max_relative_positions"`
	PositionBuckets      int             `json:"position_buckets"`
	PosAttType           json.RawMessage `json:"pos_att_type"`
	ShareAttKey          bool            `json:"share_att_key"`
	NormRelEbd           string          `json:"norm_rel_ebd"`
	PositionBiasedInput  *bool           `json:"position_biased_input"`
	ConvKernelSize       int             `json:"conv_kernel_size"`
	AttentionHeadSize    int             `json:"attention_head_size"`

	c2p, p2c    bool
	normRel     bool
	biasedInput bool
}

// readOptions reads the DeBERTa fields from the config.json cfg was parsed
// from (cfg.Raw, so that a checkpoint held in memory loads as one on disk).
func readOptions(cfg *model.Config) (*options, error) {
	if len(cfg.Raw) == 0 {
		return nil, fmt.Errorf("%s: the config's JSON is not at hand: parse config.json with model.ParseConfig or model.ReadConfig", cfg.Path)
	}
	o := &options{MaxRelativePositions: -1, PositionBuckets: -1}
	if err := json.Unmarshal(cfg.Raw, o); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Path, err)
	}
	o.biasedInput = o.PositionBiasedInput == nil || *o.PositionBiasedInput
	// pos_att_type is a list, or (older configs) a "p2c|c2p" string.
	var types []string
	if len(o.PosAttType) > 0 && string(o.PosAttType) != "null" {
		var s string
		if err := json.Unmarshal(o.PosAttType, &s); err == nil {
			for _, t := range strings.Split(strings.ToLower(s), "|") {
				types = append(types, strings.TrimSpace(t))
			}
		} else if err := json.Unmarshal(o.PosAttType, &types); err != nil {
			return nil, fmt.Errorf("%s: pos_att_type must be a list or a \"p2c|c2p\" string: %w", cfg.Path, err)
		}
	}
	for _, t := range types {
		switch t {
		case "c2p":
			o.c2p = true
		case "p2c":
			o.p2c = true
		case "", "none":
		default:
			return nil, fmt.Errorf("%s: pos_att_type %q is not supported (only c2p and p2c; p2p was dropped by DeBERTa-v2)", cfg.Path, t)
		}
	}
	for _, n := range strings.Split(strings.ToLower(o.NormRelEbd), "|") {
		if strings.TrimSpace(n) == "layer_norm" {
			o.normRel = true
		}
	}
	if o.ConvKernelSize > 0 {
		return nil, fmt.Errorf("%s: conv_kernel_size %d: the convolution layer of deberta-v2-xlarge/xxlarge is not supported", cfg.Path, o.ConvKernelSize)
	}
	if o.AttentionHeadSize != 0 && cfg.NumAttentionHeads > 0 && o.AttentionHeadSize*cfg.NumAttentionHeads != cfg.HiddenSize {
		return nil, fmt.Errorf("%s: attention_head_size %d × %d heads differs from hidden_size %d, which is not supported", cfg.Path, o.AttentionHeadSize, cfg.NumAttentionHeads, cfg.HiddenSize)
	}
	return o, nil
}
