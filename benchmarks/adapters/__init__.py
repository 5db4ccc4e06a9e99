"""Adapters that give any encoder the contract of :mod:`benchmarks.encoders`: ``sr``, ``eps``, ``num_layers``,
``extract_embeddings(audio (B, T), layers) -> (L, B, N, C)`` and a ``fingerprint``.

- :mod:`.hear` — ``hear:<module>``: any installed HEAR API module;
- :mod:`.hf` — ``hf:<id or path>``: a Hugging Face ``transformers`` audio model, every hidden state a layer;
- :mod:`.python` — ``py:<module>:<callable>``: a factory of your own returning an object with the contract;
- :mod:`.madmom_rnn` — an example for ``py:``: madmom's pretrained RNN beat tracker as an encoder.
"""
from __future__ import annotations

import hashlib
import importlib.metadata as md
import json
from pathlib import Path
from omar_rq.errors import UserError

__all__ = ["options_digest", "package_version", "file_digest", "AdapterError"]


class AdapterError(UserError, ValueError):
    """An encoder adapter cannot load or wrap what it was pointed at; the message says what and why."""


def options_digest(options: dict | None) -> str:
    return json.dumps(options or {}, sort_keys=True, default=str)


def package_version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def file_digest(path: str | Path | None) -> str:
    """blake2b of a file's bytes, or of every file under a folder (names and bytes); "" for None."""
    if not path:
        return ""
    p = Path(path).expanduser()
    h = hashlib.blake2b(digest_size=20)
    files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file())
    for f in files:
        h.update(str(f.relative_to(p) if p.is_dir() else f.name).encode())
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()
