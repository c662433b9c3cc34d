"""Content-addressed JSON blob store shared with the TS side (src/storage/blobs.ts, DESIGN §4.5).

A blob is the UTF-8 bytes of compact JSON at <blob_dir>/<sha256>.json; a reference is
{"uri": "file:///...", "sha256": ..., "bytes": ...}. Readers verify the hash.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from urllib.parse import unquote, urlparse


class BlobError(RuntimeError):
    pass


def _check_finite(obj, path="$"):
    if isinstance(obj, float) and not math.isfinite(obj):
        raise BlobError(f"refusing to write a non-finite number at {path}: {obj} (JSON readers reject NaN/Infinity)")
    if isinstance(obj, dict):
        for k, v in obj.items():
            _check_finite(v, f"{path}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            if isinstance(v, float) or isinstance(v, (dict, list, tuple)):
                _check_finite(v, f"{path}[{i}]")


def dumps(obj) -> bytes:
    _check_finite(obj)
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def write_json(blob_dir: str, obj) -> dict:
    data = dumps(obj)
    sha = hashlib.sha256(data).hexdigest()
    d = Path(blob_dir).resolve()
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{sha}.json"
    if not path.exists():
        tmp = d / f"{sha}.json.tmp-{os.getpid()}"
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return {"uri": path.as_uri(), "sha256": sha, "bytes": len(data)}


def path_of(ref: dict) -> Path:
    uri = ref.get("uri") if isinstance(ref, dict) else None
    if not isinstance(uri, str) or not uri.startswith("file://"):
        raise BlobError(f"unsupported blob reference (expected a file:// uri): {ref!r}")
    return Path(unquote(urlparse(uri).path))


def read_json(ref: dict):
    path = path_of(ref)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise BlobError(f"blob {ref['uri']} cannot be read: {e}") from e
    sha = hashlib.sha256(data).hexdigest()
    if sha != ref.get("sha256"):
        raise BlobError(f"blob {ref['uri']} is corrupt: sha256 {sha} does not match the reference {ref.get('sha256')}")
    return json.loads(data.decode("utf-8"))
