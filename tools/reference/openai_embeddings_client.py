#!/usr/bin/env python3
"""openai_embeddings_client.py BASE_URL — the official OpenAI Python client
(PyPI `openai`) against ask's POST /v1/embeddings, unchanged but for
base_url. Prints one JSON object: the client's version, the model it saw,
usage, and the vectors of each call (float and base64 formats), for the Go
test (cli/serve_embed_test.go) to check against ask's own embedder.
"""
import base64
import json
import struct
import sys

import openai

client = openai.OpenAI(base_url=sys.argv[1] + "/v1", api_key="unused", max_retries=0)
texts = ["How do I reset my password?", "Passwords are reset under Settings, Security."]
out = {"version": openai.__version__, "calls": []}
for fmt in ["float", "base64"]:
    # Given no format the client asks for base64 and decodes it itself;
    # asked for base64 explicitly it hands the string over, decoded here.
    r = client.embeddings.create(input=texts, model="builtin", encoding_format=fmt)
    data = []
    for d in r.data:
        v = d.embedding
        if isinstance(v, str):
            raw = base64.b64decode(v)
            v = list(struct.unpack(f"<{len(raw) // 4}f", raw))
        data.append({"index": d.index, "object": d.object, "embedding": v})
    out["calls"].append({"format": fmt, "model": r.model, "object": r.object,
                         "usage": [r.usage.prompt_tokens, r.usage.total_tokens], "data": data})
r = client.embeddings.create(input="one text", model="builtin")
out["calls"].append({"format": "default", "model": r.model, "object": r.object,
                     "usage": [r.usage.prompt_tokens, r.usage.total_tokens],
                     "data": [{"index": d.index, "object": d.object, "embedding": d.embedding} for d in r.data]})
try:
    client.embeddings.create(input="x", model="text-embedding-3-small")
    out["error"] = None
except openai.NotFoundError as e:
    out["error"] = {"status": e.status_code, "message": str(e)}
print(json.dumps(out))
