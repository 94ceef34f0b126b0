#!/usr/bin/env python3
"""Write a tiny random-weight causal LM folder for `transformers serve`.

The folder is a 2-layer GPT-2 with random weights (seeded, so the same
every run), GPT-2's byte-level BPE vocabulary (the vocab.json and merges.txt
of roberta-base, which are GPT-2's), and a Jinja chat template. Its text is
gibberish, but served by `transformers serve` it speaks the real OpenAI chat
completions protocol: streamed chunks, stop reasons, errors. The generate
package's real-server test (ASK_TEST_LLM_URL) talks to it; .ci/llm.sh makes
it and starts the server.

    python tools/reference/gen_tiny_lm.py OUT_DIR [--tokenizer DIR]

Needs torch and transformers (5.2); nothing is downloaded.
"""

import argparse
import os
import shutil
import sys
import tempfile

# A plain ChatML-like template: each message between role tags, then the
# assistant's tag when a reply is wanted.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '</s>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_tok = os.path.join(here, "..", "..", "..", "shared", "data", "tokenizers", "roberta-base")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="folder to write (created)")
    ap.add_argument("--tokenizer", default=default_tok, help="folder with GPT-2's vocab.json and merges.txt")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast, GenerationConfig

    vocab = os.path.join(args.tokenizer, "vocab.json")
    merges = os.path.join(args.tokenizer, "merges.txt")
    for f in (vocab, merges):
        if not os.path.isfile(f):
            sys.exit(f"gen_tiny_lm: {f} is missing; pass --tokenizer DIR with GPT-2's vocab.json and merges.txt")

    # Only the two vocabulary files, not roberta's tokenizer.json: its
    # post-processor would wrap every text in <s> ... </s>.
    with tempfile.TemporaryDirectory() as tmp:
        for f in (vocab, merges):
            shutil.copy(f, tmp)
        tok = GPT2TokenizerFast.from_pretrained(
            tmp, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>", model_max_length=2048,
        )
    tok.chat_template = CHAT_TEMPLATE

    torch.manual_seed(args.seed)
    cfg = GPT2Config(
        vocab_size=len(tok), n_positions=2048, n_embd=64, n_layer=2, n_head=2,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )
    model = GPT2LMHeadModel(cfg).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
        do_sample=False, max_new_tokens=64,
    )
    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out)
    tok.save_pretrained(args.out)
    n = sum(p.numel() for p in model.parameters())
    print(f"gen_tiny_lm: wrote {args.out} (GPT-2, 2 layers, {n} parameters, vocab {len(tok)})")


if __name__ == "__main__":
    main()
