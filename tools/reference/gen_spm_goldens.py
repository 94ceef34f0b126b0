#!/usr/bin/env python3
"""SentencePiece tokenizers for the Go tokenizer package's .model reader:
small models trained here with the sentencepiece package (committed under
tokenizer/testdata/spm/), and goldens of what transformers 5.2.0 builds from
each .model file (in the format of gen_tokenizer_goldens.py).

    ~/.venvs/askref/bin/python tools/reference/gen_spm_goldens.py train     # the small models
    ~/.venvs/askref/bin/python tools/reference/gen_spm_goldens.py goldens   # tokenizer/testdata/golden/spm-*.jsonl.gz
    ~/.venvs/askref/bin/python tools/reference/gen_spm_goldens.py dump NAME # the tokenizer transformers builds, as JSON

Each folder holds only the .model file and a config.json naming the
model_type, so transformers has no tokenizer.json and converts the .model
(TokenizersBackend.convert_to_native_format → SentencePieceExtractor → the
tokenizer class's __init__). xlnet-base-cased is the real spiece.model from
../shared/data.
"""
import io
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import gen_tokenizer_goldens as gtg  # noqa: E402

ROOT = gtg.ROOT
SPM = os.path.join(ROOT, "tokenizer", "testdata", "spm")

# name -> (folder, class, model file, corpora)
TOKENIZERS = {
    "spm-xlnet-base-cased": (os.path.join(gtg.TOKDIR, "xlnet-base-cased"), "XLNetTokenizer", "spiece.model",
                             ["squad1", "cmrc", "drcd"]),
    "spm-deberta-v3": (os.path.join(SPM, "deberta-v3"), "DebertaV2Tokenizer", "spm.model", ["squad1", "cmrc"]),
    "spm-xlm-roberta": (os.path.join(SPM, "xlm-roberta"), "XLMRobertaTokenizer", "sentencepiece.bpe.model",
                        ["squad1", "drcd"]),
    "spm-albert": (os.path.join(SPM, "albert"), "AlbertTokenizer", "spiece.model", ["squad1"]),
}

MODEL_TYPES = {"deberta-v3": "deberta-v2", "xlm-roberta": "xlm-roberta", "albert": "albert"}


def corpus_text(limit_chars=1_500_000):
    """SQuAD contexts, then CMRC and DRCD, as training sentences."""
    out, n = [], 0
    for corpus in ("squad1", "cmrc", "drcd"):
        for item in gtg.load_squad(gtg.CORPORA[corpus]):
            if item[0] == "c":
                out.append(item[2])
                n += len(item[2])
            if n > limit_chars * (1 + ["squad1", "cmrc", "drcd"].index(corpus)) / 3:
                break
    return out


def cmd_train():
    import sentencepiece as spm

    text = corpus_text()
    common = dict(sentence_iterator=iter(text), vocab_size=6000, num_threads=1, character_coverage=0.995,
                  input_sentence_size=0, shuffle_input_sentence=False, seed_sentencepiece_size=200000)

    def train(name, file, **kw):
        d = os.path.join(SPM, name)
        os.makedirs(d, exist_ok=True)
        buf = io.BytesIO()
        args = dict(common)
        args["sentence_iterator"] = iter(text)
        args.update(kw)
        spm.SentencePieceTrainer.train(model_writer=buf, **args)
        with open(os.path.join(d, file), "wb") as f:
            f.write(buf.getvalue())
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump({"model_type": MODEL_TYPES[name]}, f)
        print(name, len(buf.getvalue()), "bytes")

    # DeBERTa-v3's layout: [PAD] [CLS] [SEP] [UNK] first, nmt_nfkc.
    train("deberta-v3", "spm.model", model_type="unigram", pad_id=0, pad_piece="[PAD]", bos_id=1, bos_piece="[CLS]",
          eos_id=2, eos_piece="[SEP]", unk_id=3, unk_piece="[UNK]", user_defined_symbols=["[MASK]"])
    # XLM-R's: fairseq's <unk> <s> </s> at 0..2, no pad; BPE, so the
    # Unigram transformers builds reads BPE scores.
    # (identity normalization keeps the file small: transformers 5.2 does
    # not use the precompiled charsmap for these classes.)
    train("xlm-roberta", "sentencepiece.bpe.model", model_type="bpe", unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
          normalization_rule_name="identity")
    # ALBERT's: <pad> <unk> [CLS] [SEP] [MASK].
    train("albert", "spiece.model", model_type="unigram", pad_id=0, pad_piece="<pad>", unk_id=1, bos_id=-1,
          eos_id=-1, control_symbols=["[CLS]", "[SEP]", "[MASK]"], normalization_rule_name="identity")


def load(name):
    import transformers

    folder, cls, _, _ = TOKENIZERS[name]
    return getattr(transformers, cls).from_pretrained(folder)


def cmd_dump(name):
    t = load(name)
    j = json.loads(t.backend_tokenizer.to_str())
    j["model"]["vocab"] = j["model"]["vocab"][:20]
    j["_class"] = type(t).__name__
    j["_padding_side"] = t.padding_side
    j["_model_input_names"] = t.model_input_names
    print(json.dumps(j, indent=1, ensure_ascii=False))


def cmd_goldens():
    gtg.TOKENIZERS = {k: (v[0], "spm", {}, v[3]) for k, v in TOKENIZERS.items()}
    gtg.load_reference = load
    for name in TOKENIZERS:
        gtg.cmd_goldens(name)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "train":
        cmd_train()
    elif cmd == "goldens":
        cmd_goldens()
    elif cmd == "dump":
        cmd_dump(sys.argv[2])
    else:
        sys.exit(__doc__)
