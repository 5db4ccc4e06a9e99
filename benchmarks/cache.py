"""The embedding cache: extract once, probe many times.

One ``.npz`` per (encoder fingerprint, frontend settings, audio file content), holding one array per layer
(``layer_<i>``). Asking later for more layers of the same file adds them to its entry, so ``--layers 6`` reuses what
``--layers all`` computed, and every task, probe and run sharing a model and frontend shares the entries. Entries are
written atomically (temporary file + ``os.replace``): an interrupted extraction leaves only complete entries, and a
re-run computes exactly what is missing.

Layout: ``<root>/embeddings/<fingerprint[:16]>/<frontend key>/<content hash[:2]>/<content hash>.npz``.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

DEFAULT_CACHE_ENV = "OMAR_BENCH_CACHE"


def default_cache_dir() -> Path:
    """``$OMAR_BENCH_CACHE``, else ``$XDG_CACHE_HOME/omar-bench``, else ``~/.cache/omar-bench``."""
    if os.environ.get(DEFAULT_CACHE_ENV):
        return Path(os.environ[DEFAULT_CACHE_ENV]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser()
    return base / "omar-bench"


def content_hash(path: str | os.PathLike, _memo: dict = {}) -> str:  # noqa: B006 - process-wide memo on purpose
    """blake2b of the file's bytes (memoised per path, size and modification time within the process)."""
    st = os.stat(path)
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    if key not in _memo:
        h = hashlib.blake2b(digest_size=20)
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _memo[key] = h.hexdigest()
    return _memo[key]


class EmbeddingCache:
    """Entries of per-layer embeddings; see the module docstring. ``computed`` / ``reused`` count this process's
    writes and hits (tests use them to prove a second run extracts nothing)."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        self.computed = 0
        self.reused = 0

    def entry(self, fingerprint: str, frontend_key: str, audio_hash: str) -> Path:
        return self.root / "embeddings" / fingerprint[:16] / frontend_key / audio_hash[:2] / f"{audio_hash}.npz"

    @staticmethod
    def layers_in(path: Path) -> set[int]:
        """Layers stored in an entry (empty if absent or unreadable — an unreadable entry is recomputed)."""
        try:
            with zipfile.ZipFile(path) as z:
                return {int(n[len("layer_"):-len(".npy")]) for n in z.namelist() if n.startswith("layer_")}
        except (OSError, zipfile.BadZipFile, ValueError):
            return set()

    @staticmethod
    def read(path: Path, layer: int) -> np.ndarray:
        with np.load(path) as z:
            return z[f"layer_{layer}"]

    @staticmethod
    def read_meta(path: Path) -> dict:
        with np.load(path) as z:
            return json.loads(str(z["meta"])) if "meta" in z.files else {}

    def write(self, path: Path, arrays: dict[int, np.ndarray], meta: dict) -> None:
        """Add ``arrays`` (layer → array) to the entry at ``path``, atomically, keeping the layers it already has."""
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {}
        if path.exists():
            try:
                with np.load(path) as z:
                    data = {k: z[k] for k in z.files if k.startswith("layer_")}
            except (OSError, ValueError, zipfile.BadZipFile):
                data = {}
        data.update({f"layer_{k}": np.ascontiguousarray(v) for k, v in arrays.items()})
        data["meta"] = np.array(json.dumps(meta, sort_keys=True))
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.computed += 1
