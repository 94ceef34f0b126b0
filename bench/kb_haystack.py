#!/usr/bin/env python3
"""Reference retrieval quality for the knowledge base (issue 20, item 7):
Haystack 2.x on the same corpus, the same questions and the same
all-MiniLM-L6-v2 weights as `ask eval --collection`, so ask's figures can
be put beside these.

    ~/.venvs/askref/bin/pip install haystack-ai==2.31.0
    ~/.venvs/askref/bin/python bench/kb_haystack.py --minilm DIR \\
        --write-questions /tmp/ask-bench-kb/squad-open-sample.json \\
        --json /tmp/ask-bench-kb/haystack.json

Versions this was run with: haystack-ai 2.31.0 (the last 2.x release),
sentence-transformers 6.3.0, transformers 5.2.0, torch 2.15.0 (CPU). DIR is
what tools/reference/fetch_minilm.sh writes (a sentence-transformers folder
of the real all-MiniLM-L6-v2: Transformer, mean Pooling, Normalize; 256
tokens at most).

English corpus (38 documents, 1,766 chunks):
  - every line of ../shared/data/docs/squad-v1.1-dev-public-articles.jsonl,
    one document per article, content = title (underscores as spaces), a
    blank line, then the article's text;
  - the distractors ../shared/data/docs/rfc2616.txt and
    ../shared/data/docs/go/{effective_go.txt,faq.md,gc-guide.txt}, one
    document per file, content = the file name, a blank line, the file.

Questions: SQuAD v1.1 dev (../shared/data/squad/dev-v1.1-public.json). In
file order (articles, paragraphs, qas), question number i (0-based over the
whole file) is kept when i % 7 == 0: 1,050 of 7,347. --write-questions
writes them as SQuAD JSON (same structure, only the kept qas, paragraphs and
articles without kept questions dropped) for `ask eval --collection`.

Pipeline (Haystack defaults unless named):
  - DocumentSplitter(split_by="word", split_length=200, split_overlap=30).
    "word" is the splitter's default unit (its default overlap is 0); the
    sentence unit needs NLTK and is not the default. 200 words are ~260
    WordPiece tokens, so the embedder sees the first 256 of them
    (sentence-transformers truncates, as it would in any Haystack setup).
  - InMemoryDocumentStore() defaults: BM25L (k1 1.5, b 0.75, delta 0.5),
    tokens = regex (?u)\\b\\w+\\b on the lowercased text, dot-product
    similarity (cosine here: the model normalises).
  - InMemoryBM25Retriever(top_k=20) — "lexical".
  - SentenceTransformersDocumentEmbedder / SentenceTransformersTextEmbedder
    (model=DIR, batch_size=64, local files only) + InMemoryEmbeddingRetriever
    (top_k=20) — "dense".
  - DocumentJoiner(join_mode="reciprocal_rank_fusion") over the two top-20
    lists (Haystack's RRF: k = 61, equal weights), its whole output ranked —
    "hybrid".
  - An extra lexical row, "lexical-okapi": the same store with
    bm25_algorithm="BM25Okapi", k1 1.2, b 0.75 (what SQLite FTS5's bm25()
    uses), for comparison with ask's FTS5 ranking. Not used by hybrid.
Components are called directly, one query at a time, in the order a
Pipeline would run them (bm25; text embedder -> embedding retriever;
joiner); the hybrid latency is the sum of the three stages.

Counting: a question is a hit at k when one of its k first passages
contains one of its gold answer texts:
  - "exact": plain substring match, no normalisation at all;
  - "norm": SQuAD's normalize_answer (lowercase, punctuation removed, the
    articles a/an/the removed, whitespace collapsed) applied to both the
    passage and the answer, then substring match;
  - "exact+article" (English only, in the JSON and a second table): exact,
    and the passage comes from the question's own article (guards against
    short answers such as "3" found in an unrelated passage).
recall@k = hits / questions. English: k = 1, 5, 20. Chinese: k = 5 (1 and
20 in the JSON too).

Chinese: every paragraph of ../shared/data/qa-zh/cmrc2018_trial.squad-style.json
and DRCD_test.json is one document (1,256), put through the same splitter
(word = run between spaces, so a Chinese paragraph stays one chunk) and the
same store; a deterministic quarter of their questions (in file order,
CMRC then DRCD, question number i kept when i % 4 == 0: 1,124 of 4,495),
for time on the shared 2-core machine. Nothing is changed for
Chinese: Haystack's BM25 regex does not segment it (a run of CJK
characters up to punctuation is one token, so a question matches only
where a whole clause is repeated verbatim), and MiniLM is an English model
(its vocabulary has single CJK characters but it was not trained on
Chinese). The figures are what Haystack does as is.

Costs: each chunk is embedded once; embeddings are cached under --cache
(default /tmp/ask-bench-kb/) in a file named by the sha256 of the model
weights and every chunk's text, with the seconds the embedding took, so a
rerun skips it (and reports the cached embedding time, flagged). Query
embeddings are never cached: their time is part of the latency.
"""
import argparse
import hashlib
import json
import os
import platform
import re
import statistics
import string
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(ROOT, "..", "shared", "data")

KS = (1, 5, 20)
TOP_K = 20
SPLIT = dict(split_by="word", split_length=200, split_overlap=30)
BATCH = 64
KEEP_EVERY = 7
DISTRACTORS = ("rfc2616.txt", "go/effective_go.txt", "go/faq.md", "go/gc-guide.txt")
ZH_FILES = ("cmrc2018_trial.squad-style.json", "DRCD_test.json")
ZH_KEEP_EVERY = 4


# --- SQuAD's answer normalisation (evaluate-v1.1.py) ---------------------

_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(s):
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


# --- data -----------------------------------------------------------------


def sample_squad(path):
    """The kept questions, in file order, and the same data as SQuAD JSON."""
    src = json.load(open(path, encoding="utf-8"))
    i = 0
    questions = []
    out_data = []
    for art in src["data"]:
        paras = []
        for p in art["paragraphs"]:
            kept = []
            for qa in p["qas"]:
                if i % KEEP_EVERY == 0:
                    kept.append(qa)
                    questions.append({
                        "id": qa["id"],
                        "question": qa["question"],
                        "answers": sorted({a["text"] for a in qa["answers"]}),
                        "title": art["title"],
                    })
                i += 1
            if kept:
                paras.append({"context": p["context"], "qas": kept})
        if paras:
            out_data.append({"title": art["title"], "paragraphs": paras})
    return questions, {"version": src.get("version", "1.1"), "data": out_data}, i


def english_docs(data):
    from haystack import Document

    docs = []
    with open(os.path.join(data, "docs", "squad-v1.1-dev-public-articles.jsonl"), encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            a = json.loads(line)
            docs.append(Document(content=a["title"].replace("_", " ") + "\n\n" + a["text"],
                                 meta={"title": a["title"], "kind": "squad", "n": len(docs)}))
    for name in DISTRACTORS:
        with open(os.path.join(data, "docs", name), encoding="utf-8") as f:
            text = f.read()
        docs.append(Document(content=os.path.basename(name) + "\n\n" + text,
                             meta={"title": name, "kind": "distractor", "n": len(docs)}))
    return docs


def chinese(data):
    from haystack import Document

    docs, questions = [], []
    i = 0
    for fname in ZH_FILES:
        src = json.load(open(os.path.join(data, "qa-zh", fname), encoding="utf-8"))
        for art in src["data"]:
            for p in art["paragraphs"]:
                docs.append(Document(content=p["context"], meta={"title": fname, "kind": "zh", "n": len(docs)}))
                for qa in p["qas"]:
                    if i % ZH_KEEP_EVERY == 0:
                        questions.append({
                            "id": qa["id"],
                            "question": qa["question"],
                            "answers": sorted({a["text"] for a in qa["answers"]}),
                            "set": fname,
                        })
                    i += 1
    return docs, questions


# --- indexing ---------------------------------------------------------------


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build_index(name, docs, minilm, cache_dir, model_hash):
    """Split, embed (or load the cached embeddings), write two stores."""
    import numpy as np
    from haystack.components.embedders import SentenceTransformersDocumentEmbedder
    from haystack.components.preprocessors import DocumentSplitter
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    t0 = time.perf_counter()
    splitter = DocumentSplitter(**SPLIT)
    chunks = splitter.run(documents=docs)["documents"]
    split_s = time.perf_counter() - t0

    h = hashlib.sha256(model_hash.encode())
    for c in chunks:
        h.update(b"\0")
        h.update(c.content.encode("utf-8"))
    key = h.hexdigest()[:24]
    npy = os.path.join(cache_dir, f"emb-{name}-{key}.npy")
    meta_path = npy[:-4] + ".json"
    cached = os.path.exists(npy) and os.path.exists(meta_path)
    if cached:
        emb = np.load(npy)
        embed_s = json.load(open(meta_path))["embed_s"]
        for c, e in zip(chunks, emb):
            c.embedding = e.tolist()
    else:
        embedder = SentenceTransformersDocumentEmbedder(model=minilm, batch_size=BATCH, progress_bar=False,
                                                        local_files_only=True)
        embedder.warm_up()
        t1 = time.perf_counter()
        chunks = embedder.run(documents=chunks)["documents"]
        embed_s = time.perf_counter() - t1
        emb = np.asarray([c.embedding for c in chunks], dtype=np.float32)
        os.makedirs(cache_dir, exist_ok=True)
        np.save(npy + ".tmp.npy", emb)
        os.replace(npy + ".tmp.npy", npy)
        json.dump({"embed_s": embed_s, "chunks": len(chunks), "batch_size": BATCH}, open(meta_path, "w"))

    t2 = time.perf_counter()
    store = InMemoryDocumentStore()
    store.write_documents(chunks)
    write_s = time.perf_counter() - t2
    okapi = InMemoryDocumentStore(bm25_algorithm="BM25Okapi", bm25_parameters={"k1": 1.2, "b": 0.75})
    okapi.write_documents([c for c in chunks])
    words = [len(c.content.split()) for c in chunks]
    info = {
        "documents": len(docs),
        "chunks": len(chunks),
        "chunk_words_mean": round(statistics.mean(words), 1),
        "split_s": round(split_s, 3),
        "embed_s": round(embed_s, 2),
        "embed_cached": cached,
        "write_s": round(write_s, 3),
        "index_s": round(split_s + embed_s + write_s, 2),
        "chunks_per_s": round(len(chunks) / (split_s + embed_s + write_s), 2),
        "cache_file": npy,
    }
    return store, okapi, info


# --- retrieval and scoring -----------------------------------------------


def evaluate(questions, store, okapi, minilm, article_field=None):
    from haystack.components.embedders import SentenceTransformersTextEmbedder
    from haystack.components.joiners import DocumentJoiner
    from haystack.components.retrievers.in_memory import InMemoryBM25Retriever, InMemoryEmbeddingRetriever

    bm25 = InMemoryBM25Retriever(document_store=store, top_k=TOP_K)
    bm25_okapi = InMemoryBM25Retriever(document_store=okapi, top_k=TOP_K)
    text_embedder = SentenceTransformersTextEmbedder(model=minilm, progress_bar=False, local_files_only=True)
    text_embedder.warm_up()
    dense = InMemoryEmbeddingRetriever(document_store=store, top_k=TOP_K)
    joiner = DocumentJoiner(join_mode="reciprocal_rank_fusion")

    norm_cache = {}

    def norm(doc):
        v = norm_cache.get(doc.id)
        if v is None:
            v = norm_cache[doc.id] = normalize_answer(doc.content)
        return v

    modes = ("lexical", "dense", "hybrid", "lexical-okapi")
    variants = ("exact", "norm") + (("exact+article",) if article_field else ())
    hits = {m: {v: {k: 0 for k in KS} for v in variants} for m in modes}
    lat = {m: [] for m in modes}
    for q in questions:
        text = q["question"]
        if not text.strip():
            # Haystack's BM25 refuses an empty query; the question counts
            # as a miss everywhere (two such questions in CMRC trial).
            continue
        t0 = time.perf_counter()
        lex = bm25.run(query=text)["documents"]
        t1 = time.perf_counter()
        qemb = text_embedder.run(text=text)["embedding"]
        den = dense.run(query_embedding=qemb)["documents"]
        t2 = time.perf_counter()
        hyb = joiner.run(documents=[lex, den])["documents"]
        t3 = time.perf_counter()
        oka = bm25_okapi.run(query=text)["documents"]
        t4 = time.perf_counter()
        lat["lexical"].append(t1 - t0)
        lat["dense"].append(t2 - t1)
        lat["hybrid"].append(t3 - t0)
        lat["lexical-okapi"].append(t4 - t3)

        answers = q["answers"]
        nanswers = [normalize_answer(a) for a in answers]
        nanswers = [a for a in nanswers if a]
        for m, ranked in (("lexical", lex), ("dense", den), ("hybrid", hyb), ("lexical-okapi", oka)):
            first = {v: None for v in variants}
            for rank, d in enumerate(ranked[:max(KS)]):
                if first["exact"] is None and any(a in d.content for a in answers):
                    first["exact"] = rank
                if first["norm"] is None and any(a in norm(d) for a in nanswers):
                    first["norm"] = rank
                if article_field and first["exact+article"] is None and d.meta.get("title") == q[article_field] \
                        and any(a in d.content for a in answers):
                    first["exact+article"] = rank
            for v, r in first.items():
                if r is None:
                    continue
                for k in KS:
                    if r < k:
                        hits[m][v][k] += 1
    n = len(questions)
    recall = {m: {v: {f"@{k}": round(hits[m][v][k] / n, 4) for k in KS} for v in variants} for m in modes}
    latency = {}
    for m, xs in lat.items():
        xs = sorted(xs)
        latency[m] = {
            "mean_ms": round(1000 * statistics.mean(xs), 2),
            "p50_ms": round(1000 * xs[len(xs) // 2], 2),
            "p99_ms": round(1000 * xs[min(len(xs) - 1, int(len(xs) * 0.99))], 2),
        }
    return {"questions": n, "recall": recall, "latency": latency}


# --- report -----------------------------------------------------------------


def cpu_info():
    model, flags = "", []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and not model:
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags") and not flags:
                    flags = line.split(":", 1)[1].split()
    except OSError:
        pass
    simd = [f for f in flags if f in ("sse4_2", "avx", "avx2", "fma", "f16c") or f.startswith("avx512")
            or f.startswith("amx") or f == "avx_vnni"]
    return {"model": model, "simd_flags": simd, "cores": os.cpu_count(), "platform": platform.platform()}


def versions():
    from importlib.metadata import version

    out = {}
    for p in ("haystack-ai", "sentence-transformers", "transformers", "torch", "numpy"):
        try:
            out[p] = version(p)
        except Exception:  # a missing package is reported, not fatal
            out[p] = None
    return out


def markdown(res):
    en, zh = res["english"], res["chinese"]
    rows = []
    rows.append("English: %d questions, %d documents -> %d chunks (%.0f words each on average)"
                % (en["questions"], en["index"]["documents"], en["index"]["chunks"], en["index"]["chunk_words_mean"]))
    rows.append("")
    rows.append("| retriever | R@1 exact | R@5 exact | R@20 exact | R@1 norm | R@5 norm | R@20 norm | "
                "R@5 exact+article | p50 ms | mean ms |")
    rows.append("|---|---|---|---|---|---|---|---|---|---|")
    for m in ("lexical", "dense", "hybrid", "lexical-okapi"):
        r, lt = en["recall"][m], en["latency"][m]
        rows.append("| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.1f | %.1f |" % (
            m, r["exact"]["@1"], r["exact"]["@5"], r["exact"]["@20"], r["norm"]["@1"], r["norm"]["@5"],
            r["norm"]["@20"], r["exact+article"]["@5"], lt["p50_ms"], lt["mean_ms"]))
    ix = en["index"]
    rows.append("")
    rows.append("Indexing (English): split %.2f s, embed %.1f s%s, store write %.2f s; %.1f chunks/s"
                % (ix["split_s"], ix["embed_s"], " (cached from an earlier run)" if ix["embed_cached"] else "",
                   ix["write_s"], ix["chunks_per_s"]))
    rows.append("")
    rows.append("Chinese: %d questions (every 4th), %d documents -> %d chunks"
                % (zh["questions"], zh["index"]["documents"], zh["index"]["chunks"]))
    rows.append("")
    rows.append("| retriever | R@5 exact | R@5 norm | R@1 exact | R@20 exact | p50 ms |")
    rows.append("|---|---|---|---|---|---|")
    for m in ("lexical", "dense", "hybrid", "lexical-okapi"):
        r, lt = zh["recall"][m], zh["latency"][m]
        rows.append("| %s | %.3f | %.3f | %.3f | %.3f | %.1f |" % (
            m, r["exact"]["@5"], r["norm"]["@5"], r["exact"]["@1"], r["exact"]["@20"], lt["p50_ms"]))
    ix = zh["index"]
    rows.append("")
    rows.append("Indexing (Chinese): split %.2f s, embed %.1f s%s, store write %.2f s"
                % (ix["split_s"], ix["embed_s"], " (cached)" if ix["embed_cached"] else "", ix["write_s"]))
    return "\n".join(rows)


def write_json(path, res):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(res, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minilm", required=True, help="sentence-transformers folder of all-MiniLM-L6-v2")
    ap.add_argument("--data", default=DATA, help="the shared data folder (default ../shared/data)")
    ap.add_argument("--cache", default="/tmp/ask-bench-kb", help="where embeddings are cached")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--write-questions", help="write the sampled SQuAD questions here (SQuAD JSON)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's own)")
    ap.add_argument("--skip-chinese", action="store_true")
    args = ap.parse_args()

    if not os.path.isfile(os.path.join(args.minilm, "modules.json")):
        sys.exit(f"{args.minilm}: no modules.json; make one with tools/reference/fetch_minilm.sh DIR")
    squad = os.path.join(args.data, "squad", "dev-v1.1-public.json")
    if not os.path.isfile(squad):
        sys.exit(f"{squad} not found: point --data at the shared data folder")

    os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    questions, sample, total = sample_squad(squad)
    if args.write_questions:
        os.makedirs(os.path.dirname(os.path.abspath(args.write_questions)), exist_ok=True)
        with open(args.write_questions, "w", encoding="utf-8") as f:
            json.dump(sample, f, ensure_ascii=False)
        print(f"wrote {len(questions)} of {total} questions to {args.write_questions}", file=sys.stderr)

    model_hash = file_sha256(os.path.join(args.minilm, "model.safetensors"))
    res = {"versions": versions(), "cpu": cpu_info(), "torch_threads": torch.get_num_threads(),
           "model_sha256": model_hash, "split": SPLIT, "top_k": TOP_K, "batch_size": BATCH,
           "sample": f"i % {KEEP_EVERY} == 0 over {total} questions", "argv": sys.argv}

    t0 = time.perf_counter()
    store, okapi, info = build_index("en", english_docs(args.data), args.minilm, args.cache, model_hash)
    print(f"english index: {info}", file=sys.stderr)
    res["english"] = evaluate(questions, store, okapi, args.minilm, article_field="title")
    res["english"]["index"] = info
    print(f"english done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if args.json:
        write_json(args.json, res)

    if not args.skip_chinese:
        t0 = time.perf_counter()
        zdocs, zq = chinese(args.data)
        store, okapi, info = build_index("zh", zdocs, args.minilm, args.cache, model_hash)
        print(f"chinese index: {info}", file=sys.stderr)
        res["chinese"] = evaluate(zq, store, okapi, args.minilm)
        res["chinese"]["index"] = info
        print(f"chinese done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    if args.json:
        write_json(args.json, res)
    if "chinese" in res:
        print(markdown(res))
    else:
        print(json.dumps(res["english"], indent=1))


if __name__ == "__main__":
    main()
