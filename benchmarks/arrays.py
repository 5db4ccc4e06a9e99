"""Per-layer arrays: a run's cached embeddings consolidated into one memory-mappable file per layer.

The embedding cache holds one entry per audio file (:mod:`benchmarks.cache`): ideal for extracting once, slow for
reading 300 k entries back for every layer of every fold. So after extraction the runner copies, once, the vectors of
the examples it uses — in example order — into::

    <cache>/arrays/<encoder fingerprint[:16]>/<frontend key>/<set key>/
        index.json           ids, entry names, per-example row offsets, each layer's vector size
        layer_<i>.f32        float32 rows (n_rows, dim_i), C order, no header (shape in index.json; layers may
                             differ in width, as an encoder's list output does)
        layer_<i>.check.npy  per entry: size, mtime (ns) and the CRC-32 of its layer_<i> member at build time

The set key hashes the ordered entry names, so the same examples in the same order share their arrays across runs and
tasks. One pass over the entries fills every missing layer (each entry is read once, all its layers at once, with the
CRC-checked reader of :func:`benchmarks.cache.read_layers`). A layer file is trusted while every entry has the size and
mtime recorded at build time; an entry that changed (layers added to it, or recomputed after damage) is checked again
by the CRC of its layer in the zip directory, and a mismatch rebuilds that layer. Files are written to temporary names
and renamed into place, so an interrupted build leaves nothing half-written.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .cache import CorruptEntry, EmbeddingCache, read_layers_crc

__all__ = ["LayerArrays", "consolidate", "CorruptEntries"]

FORMAT_VERSION = 2
_CHECK_DTYPE = np.dtype([("size", "<i8"), ("mtime", "<i8"), ("crc", "<u4")])


class CorruptEntries(RuntimeError):
    """Entries that could not be read while consolidating (the runner deletes and recomputes them)."""

    def __init__(self, errors: list[CorruptEntry]):
        super().__init__("; ".join(str(e) for e in errors[:3]) + (f" (and {len(errors) - 3} more)"
                                                                   if len(errors) > 3 else ""))
        self.errors = errors


@dataclass
class LayerArrays:
    """The consolidated rows of an ordered list of examples: example ``i`` is rows ``offsets[i]:offsets[i+1]``."""

    folder: Path
    ids: list[str]
    offsets: np.ndarray
    dims: dict[int, int]
    layers: list[int]

    def __post_init__(self):
        self._pos = {e: i for i, e in enumerate(self.ids)}

    @property
    def n_rows(self) -> int:
        return int(self.offsets[-1])

    def dim(self, layer: int) -> int:
        """The vector size of ``layer``."""
        return int(self.dims[int(layer)])

    def rows(self, layer: int) -> np.ndarray:
        """``(n_rows, dim)`` float32, memory-mapped read-only (a new map per call: nothing stays mapped, so reading
        every layer in turn does not keep them all resident)."""
        if self.n_rows == 0:
            return np.zeros((0, self.dim(layer)), dtype=np.float32)
        return np.memmap(self.folder / f"layer_{layer}.f32", dtype=np.float32, mode="r",
                         shape=(self.n_rows, self.dim(layer)))

    def counts(self, ids: Sequence[str]) -> np.ndarray:
        """Rows per example, for ``ids`` in that order."""
        pos = np.array([self._pos[i] for i in ids], dtype=np.int64)
        return (self.offsets[pos + 1] - self.offsets[pos]).astype(np.int64)

    def row_index(self, ids: Sequence[str]) -> np.ndarray:
        """The rows of ``ids`` concatenated in that order (each example's rows contiguous)."""
        if not len(ids):
            return np.zeros(0, dtype=np.int64)
        pos = np.array([self._pos[i] for i in ids], dtype=np.int64)
        starts, ends = self.offsets[pos], self.offsets[pos + 1]
        lengths = ends - starts
        base = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        return base + np.arange(int(lengths.sum()), dtype=np.int64)

    def take(self, layer: int, ids: Sequence[str]) -> np.ndarray:
        """The rows of ``ids`` at ``layer`` as an in-memory array ``(n, dim)``."""
        idx = self.row_index(ids)
        m = self.rows(layer)
        if len(idx) and idx[-1] - idx[0] + 1 == len(idx):  # one contiguous run: a slice, no fancy indexing
            return np.array(m[idx[0]:idx[-1] + 1])
        return m[idx]


def _set_folder(cache: EmbeddingCache, entries: Sequence[Path]) -> Path:
    h = hashlib.blake2b(digest_size=12)
    for p in entries:
        h.update(p.name.encode() + b"\n")
    first = Path(entries[0]) if entries else cache.root / "embeddings" / "none" / "none" / "x"
    fp_dir, frontend_dir = first.parent.parent.parent.name, first.parent.parent.name
    return cache.root / "arrays" / fp_dir / frontend_dir / h.hexdigest()


def _stat(p: Path) -> tuple[int, int]:
    st = os.stat(p)
    return int(st.st_size), int(st.st_mtime_ns)


def _member_crc(path: Path, layer: int) -> int | None:
    """CRC-32 of ``layer_<layer>.npy`` as recorded in the entry's zip directory (None if unreadable/absent)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            return z.getinfo(f"layer_{layer}.npy").CRC
    except (OSError, KeyError, zipfile.BadZipFile):
        return None


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _valid_layer(folder: Path, layer: int, entries: list[Path]) -> bool:
    data_path, check_path = folder / f"layer_{layer}.f32", folder / f"layer_{layer}.check.npy"
    if not data_path.is_file() or not check_path.is_file():
        return False
    try:
        check = np.load(check_path)
    except (OSError, ValueError):
        return False
    if check.dtype != _CHECK_DTYPE or len(check) != len(entries):
        return False
    changed = False
    for i, p in enumerate(entries):
        try:
            size, mtime = _stat(p)
        except OSError:
            return False
        if size == check["size"][i] and mtime == check["mtime"][i]:
            continue
        if _member_crc(p, layer) != int(check["crc"][i]):
            return False
        check["size"][i], check["mtime"][i] = size, mtime
        changed = True
    if changed:  # the entries gained layers but this one is unchanged: remember the new stats
        buf = _npy_bytes(check)
        _atomic_write(check_path, buf)
    return True


def _npy_bytes(arr: np.ndarray) -> bytes:
    import io

    bio = io.BytesIO()
    np.save(bio, arr)
    return bio.getvalue()


def consolidate(cache: EmbeddingCache, entries: dict[str, Path], ids: Sequence[str], layers: Sequence[int],
                progress: Callable[[int], None] | None = None) -> LayerArrays:
    """The :class:`LayerArrays` of ``ids`` (in that order) for ``layers``, building what is missing or stale (see the
    module docstring). ``entries`` maps example ids to their cache entries (``Extraction.entries``).
    ``progress(n)`` is called with the number of entries read. Raises :class:`CorruptEntries` listing every entry
    that could not be read (nothing is written for the layers of that pass)."""
    ids = list(ids)
    paths = [Path(entries[i]) for i in ids]
    folder = _set_folder(cache, paths)
    folder.mkdir(parents=True, exist_ok=True)
    index_path = folder / "index.json"
    index = None
    if index_path.is_file():
        try:
            index = json.loads(index_path.read_text())
            if index.get("version") != FORMAT_VERSION or index.get("entries") != [p.name for p in paths] \
                    or index.get("ids") != ids:
                index = None
        except (OSError, ValueError):
            index = None
    layers = sorted({int(x) for x in layers})
    todo = layers if index is None else [layer for layer in layers if not _valid_layer(folder, layer, paths)]
    if todo:
        index = _build(folder, paths, ids, todo, index, progress)
    return LayerArrays(folder, ids, np.asarray(index["offsets"], dtype=np.int64),
                       {int(k): int(v) for k, v in index["dims"].items()}, layers)


def _build(folder: Path, paths: list[Path], ids: list[str], layers: list[int], index: dict | None,
           progress) -> dict:
    tmp = {layer: folder / f".tmp-{os.getpid()}-layer_{layer}.f32" for layer in layers}
    files = {layer: open(tmp[layer], "wb") for layer in layers}
    check = {layer: np.zeros(len(paths), dtype=_CHECK_DTYPE) for layer in layers}
    counts, dims, errors = [], {}, []
    try:
        for i, p in enumerate(paths):
            try:
                size, mtime = _stat(p)
                arrays, crcs = read_layers_crc(p, layers)
            except CorruptEntry as e:
                errors.append(e)
                counts.append(0)
                continue
            except OSError as e:
                errors.append(CorruptEntry(p, f"cannot read: {e}"))
                counts.append(0)
                continue
            n = None
            for layer in layers:
                a = np.ascontiguousarray(arrays[layer], dtype=np.float32)
                dim = dims.get(layer)
                if a.ndim != 2 or (n is not None and a.shape[0] != n) or (dim is not None and a.shape[1] != dim):
                    errors.append(CorruptEntry(p, f"layer_{layer} has shape {a.shape}, expected "
                                                  f"({n if n is not None else 'n'}, {dim or 'dim'})"))
                    break
                n, dims[layer] = a.shape[0], a.shape[1]
                files[layer].write(a.tobytes())
                check[layer][i] = (size, mtime, crcs[layer])
            counts.append(n or 0)
            if progress is not None:
                progress(1)
        if errors:
            raise CorruptEntries(errors)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        if index is not None and list(index["offsets"]) != offsets.tolist():
            raise CorruptEntries([CorruptEntry(folder, "row counts of the entries changed since the arrays were "
                                                       "built")])
        for f in files.values():
            f.close()
        for layer in layers:
            os.replace(tmp[layer], folder / f"layer_{layer}.f32")
            _atomic_write(folder / f"layer_{layer}.check.npy", _npy_bytes(check[layer]))
        all_dims = dict(index["dims"]) if index is not None else {}
        all_dims.update({str(layer): int(dims.get(layer, 0)) for layer in layers})
        index = {"version": FORMAT_VERSION, "ids": ids, "entries": [p.name for p in paths],
                 "offsets": offsets.tolist(), "dims": all_dims}
        _atomic_write(folder / "index.json", json.dumps(index).encode())
        return index
    finally:
        for f in files.values():
            f.close()
        for t in tmp.values():
            t.unlink(missing_ok=True)
