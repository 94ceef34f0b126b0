package tokenizer

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// A SentencePiece model file (spiece.model, spm.model,
// sentencepiece.bpe.model) is a serialized ModelProto from sentencepiece's
// sentencepiece_model.proto. We read the handful of fields transformers'
// SentencePieceExtractor uses with protowire, the low-level decoder of
// google.golang.org/protobuf, rather than generating the full message
// types: unknown fields are skipped, as any protobuf reader does.

// Piece types of SentencePiece.Type.
const (
	spNormal      = 1
	spUnknown     = 2
	spControl     = 3
	spUserDefined = 4
	spUnused      = 5
	spByte        = 6
)

// Model types of TrainerSpec.ModelType.
const (
	spUnigram = 1
	spBPE     = 2
	spWord    = 3
	spChar    = 4
)

type spPiece struct {
	piece string
	score float32
	typ   int
}

// spModel is the part of a ModelProto that tokenizers are built from.
type spModel struct {
	pieces       []spPiece
	modelType    int  // TrainerSpec.model_type (3), default UNIGRAM
	unkID        int  // TrainerSpec.unk_id (40), default 0
	byteFallback bool // TrainerSpec.byte_fallback (35)

	normName       string // NormalizerSpec.name (1)
	charsmap       []byte // NormalizerSpec.precompiled_charsmap (2)
	addDummyPrefix bool   // NormalizerSpec.add_dummy_prefix (3), default true
	removeExtraWS  bool   // NormalizerSpec.remove_extra_whitespaces (4), default true
}

// maxPieces bounds the vocabulary: real models have at most a few hundred
// thousand pieces.
const maxPieces = 1 << 22

// parseSPModel decodes a ModelProto.
func parseSPModel(b []byte) (*spModel, error) {
	m := &spModel{modelType: spUnigram, addDummyPrefix: true, removeExtraWS: true}
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			if len(m.pieces) >= maxPieces {
				return fmt.Errorf("more than %d pieces", maxPieces)
			}
			p, err := parsePiece(v)
			if err != nil {
				return fmt.Errorf("piece %d: %w", len(m.pieces), err)
			}
			m.pieces = append(m.pieces, p)
		case num == 2 && typ == protowire.BytesType:
			return eachField(v, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
				if typ != protowire.VarintType {
					return nil
				}
				switch num {
				case 3:
					m.modelType = int(int32(x))
				case 35:
					m.byteFallback = x != 0
				case 40:
					m.unkID = int(int32(x))
				}
				return nil
			})
		case num == 3 && typ == protowire.BytesType:
			return eachField(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
				switch {
				case num == 1 && typ == protowire.BytesType:
					m.normName = string(v)
				case num == 2 && typ == protowire.BytesType:
					m.charsmap = append([]byte(nil), v...)
				case num == 3 && typ == protowire.VarintType:
					m.addDummyPrefix = x != 0
				case num == 4 && typ == protowire.VarintType:
					m.removeExtraWS = x != 0
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sentencepiece model: %w", err)
	}
	if len(m.pieces) == 0 {
		return nil, errors.New("sentencepiece model: no pieces (is this a SentencePiece .model file?)")
	}
	if m.unkID < 0 || m.unkID >= len(m.pieces) {
		return nil, fmt.Errorf("sentencepiece model: unk_id %d outside the %d pieces", m.unkID, len(m.pieces))
	}
	return m, nil
}

func parsePiece(b []byte) (spPiece, error) {
	p := spPiece{typ: spNormal}
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			if !utf8.Valid(v) {
				return fmt.Errorf("piece %q is not valid UTF-8", v)
			}
			p.piece = string(v)
		case num == 2 && typ == protowire.Fixed32Type:
			p.score = math.Float32frombits(uint32(x))
		case num == 3 && typ == protowire.VarintType:
			p.typ = int(int32(x))
		}
		return nil
	})
	if err != nil {
		return p, err
	}
	if p.typ < spNormal || p.typ > spByte {
		return p, fmt.Errorf("piece %q has unknown type %d", p.piece, p.typ)
	}
	return p, nil
}

// eachField calls f for every field of the message b: v holds the payload
// of length-delimited fields, x the value of varint and fixed fields.
func eachField(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(b)
			x = uint64(y)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := f(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}
