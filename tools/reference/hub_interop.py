"""Drive the real huggingface_hub against a cache ask shares with it.

Run by hub/interop_test.go (ASK_PYTHON=<python with huggingface_hub>):

  hub_interop.py read     CACHE REPO REVISION FILES ABSENT
      Reads FILES with hf_hub_download(local_files_only=True) from a cache
      `ask pull` filled, checks ABSENT are cached as non-existent, and that
      scan_cache_dir() parses the cache without warnings.
  hub_interop.py download CACHE REPO REVISION FILES ABSENT
      Downloads FILES from HF_ENDPOINT (the Go test's fake Hub) into CACHE
      and asks for ABSENT so huggingface_hub writes its .no_exist markers.

FILES and ABSENT are comma-separated. Prints one JSON object:
{"version": ..., "files": {name: {"path": ..., "sha256": ...}}, "absent": [...]}.
"""

import hashlib
import json
import sys

import huggingface_hub
from huggingface_hub import hf_hub_download, scan_cache_dir, try_to_load_from_cache
from huggingface_hub.errors import EntryNotFoundError


def split(s):
    return [x for x in s.split(",") if x]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    mode, cache, repo, revision, files, absent = sys.argv[1:7]
    out = {"version": huggingface_hub.__version__, "files": {}, "absent": []}
    local = mode == "read"
    for name in split(files):
        path = hf_hub_download(repo, name, revision=revision, cache_dir=cache, local_files_only=local)
        out["files"][name] = {"path": path, "sha256": sha256(path)}
    for name in split(absent):
        if local:
            got = try_to_load_from_cache(repo, name, cache_dir=cache, revision=revision)
            if got is not huggingface_hub.file_download._CACHED_NO_EXIST:
                raise SystemExit(f"{name}: try_to_load_from_cache returned {got!r}, want _CACHED_NO_EXIST")
        else:
            try:
                hf_hub_download(repo, name, revision=revision, cache_dir=cache)
                raise SystemExit(f"{name}: downloaded, but it should not exist")
            except EntryNotFoundError:
                pass
        out["absent"].append(name)
    if local:
        info = scan_cache_dir(cache)
        if info.warnings:
            raise SystemExit(f"scan_cache_dir warnings: {info.warnings}")
        out["scan"] = [
            {"repo": r.repo_id, "refs": sorted(ref for rev in r.revisions for ref in rev.refs)} for r in info.repos
        ]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
