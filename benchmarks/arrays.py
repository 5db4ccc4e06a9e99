"""Per-layer arrays: a run's cached embeddings, as one index per layer into the cache entries.

The embedding cache holds one entry per audio file (:mod:`benchmarks.cache`), and the entries are the only copy of the
vectors. Each layer is an uncompressed ``.npy`` member of its entry's zip, so after extraction the runner records,
once, where every example's member lies — in example order — in::

    <cache>/arrays/<encoder fingerprint[:16]>/<frontend key>/<set key>/
        index.json           version, ids, entry names, per-example row offsets, each layer's vector size and
                             storage dtype, and the blake2b digest of each layer's index file
        layer_<i>.idx.npy    per entry: size and mtime (ns) at build time, and where its layer_<i> member lies
                             (start, length, offset of the values, CRC-32 of the member, rows)

Reading layer ``i`` for a list of examples (:meth:`LayerArrays.take`) reads each entry's member with one ``pread``,
checks its CRC-32 and returns float32 rows (float16 entries are widened). So nothing corrupt is used:

- a damaged or truncated index file no longer matches its digest in ``index.json`` and is rebuilt from the entries;
- a damaged or truncated entry is detected while the index is built (each member read in full and CRC-checked), or
  when it is read; the runner then deletes and recomputes it (``heal``, see :func:`consolidate`);
- an entry that changed since the index was built (layers added, or recomputed) is found by its size and mtime and
  indexed again.

The set key hashes the ordered entry names, so the same examples in the same order share their index across runs and
tasks. Index files are written to temporary names and renamed into place, so an interrupted build leaves nothing
half-written. Folders of an older format (which held a second, float32 copy of the vectors in ``layer_<i>.f32``) are
emptied of those copies when met.
"""
from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .cache import CorruptEntry, DiskFull, EmbeddingCache, MemberLayout, entry_layout
from omar_rq.files import atomic_write

__all__ = ["LayerArrays", "consolidate", "CorruptEntries", "FORMAT_VERSION"]

FORMAT_VERSION = 3
_IDX_DTYPE = np.dtype([("size", "<i8"), ("mtime", "<i8"), ("start", "<i8"), ("length", "<i8"), ("offset", "<i8"),
                       ("rows", "<i8"), ("crc", "<u4")])


class CorruptEntries(RuntimeError):
    """Entries that could not be read while consolidating (the runner deletes and recomputes them)."""

    def __init__(self, errors: list[CorruptEntry]):
        super().__init__("; ".join(str(e) for e in errors[:3]) + (f" (and {len(errors) - 3} more)"
                                                                   if len(errors) > 3 else ""))
        self.errors = errors


@dataclass
class LayerArrays:
    """The rows of an ordered list of examples: example ``i`` is rows ``offsets[i]:offsets[i+1]``, read from the cache
    entries ``paths[i]`` through each layer's index. ``heal(path)``, when given, is called with an entry whose bytes
    fail their CRC while reading; it must rewrite the entry (the read is then retried once)."""

    folder: Path
    ids: list[str]
    offsets: np.ndarray
    dims: dict[int, int]
    layers: list[int]
    paths: list[Path] = field(default_factory=list)
    dtypes: dict[int, str] = field(default_factory=dict)
    heal: Callable[[Path], None] | None = None

    def __post_init__(self):
        self._pos = {e: i for i, e in enumerate(self.ids)}
        self._idx: dict[int, np.ndarray] = {}

    @property
    def n_rows(self) -> int:
        return int(self.offsets[-1])

    def dim(self, layer: int) -> int:
        """The vector size of ``layer``."""
        return int(self.dims[int(layer)])

    def stored_bytes(self) -> int:
        """Bytes of the vectors of this set's layers as stored in the entries (the index files excluded)."""
        return int(sum(self.n_rows * self.dim(layer) * np.dtype(self.dtypes.get(layer, "<f4")).itemsize
                       for layer in self.layers))

    def rows(self, layer: int) -> np.ndarray:
        """``(n_rows, dim)`` float32: every example's rows at ``layer``, in example order."""
        return self.take(layer, self.ids)

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

    def _index(self, layer: int) -> np.ndarray:
        if layer not in self._idx:
            self._idx[layer] = np.load(self.folder / f"layer_{layer}.idx.npy")
        return self._idx[layer]

    def take(self, layer: int, ids: Sequence[str]) -> np.ndarray:
        """The rows of ``ids`` at ``layer`` as an in-memory float32 array ``(n, dim)``; every entry's member is
        CRC-checked as it is read (see the module docstring)."""
        layer = int(layer)
        dim = self.dim(layer)
        counts = self.counts(ids) if len(ids) else np.zeros(0, np.int64)
        out = np.empty((int(counts.sum()), dim), dtype=np.float32)
        idx = self._index(layer)
        recs = idx.tolist()   # plain tuples: a numpy record's field access costs more than the read itself
        dtype = np.dtype(self.dtypes.get(layer, "<f4"))
        width = dim * dtype.itemsize
        r = 0
        for e, n in zip(ids, counts):
            if not n:
                continue
            p = self._pos[e]
            n = int(n)
            # the fast path: one open + pread + CRC-32 per entry; anything unexpected goes through _member
            _, _, start, length, offset, rows, crc = recs[p]
            buf = _pread(self.paths[p], start, length)
            if buf is not None and rows == n and offset + n * width <= length and zlib.crc32(buf) == crc:
                out[r:r + n] = np.frombuffer(buf, dtype=dtype, count=n * dim, offset=offset).reshape(n, dim)
            else:
                out[r:r + n] = self._member(layer, p, idx, dtype, n, dim)
                recs[p] = idx[p].tolist()
            r += n
        return out

    def _member(self, layer: int, p: int, idx: np.ndarray, dtype: np.dtype, n: int, dim: int) -> np.ndarray:
        path = self.paths[p]
        for attempt in range(3):
            rec = idx[p]
            buf = _pread(path, int(rec["start"]), int(rec["length"]))
            if buf is not None and zlib.crc32(buf) == int(rec["crc"]) and int(rec["rows"]) == n:
                return np.frombuffer(buf, dtype=dtype, count=n * dim, offset=int(rec["offset"])).reshape(n, dim)
            # the entry moved (layers added by another run) or is damaged: index it again, else have it rewritten
            try:
                size, mtime = _stat(path)
                if attempt == 0 and (size, mtime) != (int(rec["size"]), int(rec["mtime"])):
                    idx[p] = _record(path, entry_layout(path, [layer])[layer], size, mtime)
                    continue
                entry_layout(path, [layer])   # raises CorruptEntry when the bytes are damaged
                reason = "its index does not match it"
            except CorruptEntry as err:
                reason = err.reason
            if self.heal is None or attempt == 2:
                raise CorruptEntries([CorruptEntry(path, reason)])
            self.heal(path)
            size, mtime = _stat(path)
            idx[p] = _record(path, entry_layout(path, [layer])[layer], size, mtime)
        raise CorruptEntries([CorruptEntry(path, "unreadable after being recomputed")])


def _pread(path: Path, start: int, length: int) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        buf = os.pread(fd, length, start)
    finally:
        os.close(fd)
    return buf if len(buf) == length else None


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


def _record(path: Path, m: MemberLayout, size: int, mtime: int) -> np.void:
    rec = np.zeros((), dtype=_IDX_DTYPE)
    rec[()] = (size, mtime, m.start, m.length, m.offset, m.shape[0] if m.shape else 0, m.crc)
    return rec[()]


def _atomic_write(path: Path, data: bytes) -> None:
    try:
        atomic_write(path, data)
    except OSError as e:
        if e.errno == errno.ENOSPC:
            raise DiskFull(path, "the cache entries are intact") from None
        raise


def _npy_bytes(arr: np.ndarray) -> bytes:
    bio = io.BytesIO()
    np.save(bio, arr)
    return bio.getvalue()


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _load_index(folder: Path, paths: list[Path], ids: list[str]) -> dict | None:
    index_path = folder / "index.json"
    if not index_path.is_file():
        return None
    try:
        index = json.loads(index_path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(index, dict) or index.get("version") != FORMAT_VERSION:
        for old in list(folder.glob("layer_*.f32")) + list(folder.glob("layer_*.check.npy")):
            old.unlink(missing_ok=True)   # an older format's second copy of the vectors
        return None
    if index.get("entries") != [p.name for p in paths] or index.get("ids") != ids:
        return None
    return index


def _valid_layer(folder: Path, layer: int, index: dict, paths: list[Path]) -> np.ndarray | None:
    """The layer's index, checked against its digest and refreshed for entries that changed; None when it must be
    rebuilt (absent, damaged, truncated, or an entry's member changed)."""
    path = folder / f"layer_{layer}.idx.npy"
    digest = index.get("digests", {}).get(str(layer))
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    if digest is None or _digest(raw) != digest:
        return None
    try:
        idx = np.load(io.BytesIO(raw))
    except (OSError, ValueError):
        return None
    if idx.dtype != _IDX_DTYPE or len(idx) != len(paths):
        return None
    return idx


def consolidate(cache: EmbeddingCache, entries: dict[str, Path], ids: Sequence[str], layers: Sequence[int],
                progress: Callable[[int], None] | None = None,
                heal: Callable[[Path], None] | None = None) -> LayerArrays:
    """The :class:`LayerArrays` of ``ids`` (in that order) for ``layers``, building the index of what is missing,
    damaged or stale (see the module docstring). ``entries`` maps example ids to their cache entries
    (``Extraction.entries``). ``progress(n)`` is called with the number of entries read. Raises
    :class:`CorruptEntries` listing every entry that could not be read (nothing is written for that pass).
    ``heal`` is passed to the arrays (see :class:`LayerArrays`)."""
    ids = list(ids)
    paths = [Path(entries[i]) for i in ids]
    folder = _set_folder(cache, paths)
    folder.mkdir(parents=True, exist_ok=True)
    index = _load_index(folder, paths, ids)
    layers = sorted({int(x) for x in layers})
    valid: dict[int, np.ndarray] = {}
    if index is not None:
        for layer in layers:
            idx = _valid_layer(folder, layer, index, paths)
            if idx is not None:
                valid[layer] = idx
    todo = [layer for layer in layers if layer not in valid]
    # entries whose size or mtime changed since their layer's index was built are read again (all layers at once)
    changed = sorted({i for idx in valid.values() for i, p in enumerate(paths)
                      if _stat_or_none(p) != (int(idx["size"][i]), int(idx["mtime"][i]))})
    if todo or changed:
        index = _build(folder, paths, ids, layers, todo, changed, valid, index, progress)
    return LayerArrays(folder, ids, np.asarray(index["offsets"], dtype=np.int64),
                       {int(k): int(v) for k, v in index["dims"].items()}, layers, paths,
                       {int(k): str(v) for k, v in index.get("dtypes", {}).items()}, heal)


def _stat_or_none(p: Path):
    try:
        return _stat(p)
    except OSError:
        return None


def _build(folder: Path, paths: list[Path], ids: list[str], layers: list[int], todo: list[int], changed: list[int],
           valid: dict[int, np.ndarray], index: dict | None, progress) -> dict:
    """Index ``todo`` layers over every entry, and every layer over the ``changed`` entries: each entry read once,
    in full, CRC-checked."""
    idxs = {layer: np.zeros(len(paths), dtype=_IDX_DTYPE) for layer in todo}
    idxs.update(valid)
    rows = np.asarray(index["offsets"], dtype=np.int64)[1:] - np.asarray(index["offsets"], dtype=np.int64)[:-1] \
        if index is not None else None
    counts = np.zeros(len(paths), dtype=np.int64)
    dims = {int(k): int(v) for k, v in (index or {}).get("dims", {}).items()}
    dtypes = {int(k): str(v) for k, v in (index or {}).get("dtypes", {}).items()}
    errors, fresh = [], {}
    which = range(len(paths)) if todo else changed
    changed_set = set(changed)
    for i in which:
        p = paths[i]
        want = layers if (not todo or i in changed_set) else todo
        try:
            size, mtime = _stat(p)
            lay = entry_layout(p, want)
        except CorruptEntry as e:
            errors.append(e)
            continue
        except OSError as e:
            errors.append(CorruptEntry(p, f"cannot read: {e}"))
            continue
        n = None
        for layer in want:
            m = lay[layer]
            ref = fresh.get(layer) if layer in todo else (dims.get(layer), dtypes.get(layer))
            if len(m.shape) != 2 or (n is not None and m.shape[0] != n) \
                    or (ref is not None and ref[0] is not None and (m.shape[1], m.dtype) != ref):
                errors.append(CorruptEntry(p, f"layer_{layer} has shape {m.shape} and dtype {m.dtype}, expected "
                                              f"({n if n is not None else 'n'}, {ref[0] if ref else 'dim'}) "
                                              f"{ref[1] if ref else ''}".rstrip()))
                break
            n = m.shape[0]
            if layer in todo:
                fresh.setdefault(layer, (m.shape[1], m.dtype))
            idxs[layer][i] = _record(p, m, size, mtime)
        counts[i] = n or 0
        if progress is not None:
            progress(1)
    if errors:
        raise CorruptEntries(errors)
    for layer, (dim, dt) in fresh.items():
        dims[layer], dtypes[layer] = dim, dt
    if todo:
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    else:
        offsets = np.asarray(index["offsets"], dtype=np.int64)
        if rows is not None and changed and not np.array_equal(counts[changed], rows[changed]):
            offsets = None
    if index is not None and (offsets is None or list(index["offsets"]) != offsets.tolist()):
        # row counts changed since the index was built: every layer's offsets are stale, start again
        for layer in list(valid):
            (folder / f"layer_{layer}.idx.npy").unlink(missing_ok=True)
        (folder / "index.json").unlink(missing_ok=True)
        return _build(folder, paths, ids, layers, layers, [], {}, None, progress)
    digests = dict((index or {}).get("digests", {}))
    for layer in set(todo) | (set(valid) if changed else set()):
        raw = _npy_bytes(idxs[layer])
        _atomic_write(folder / f"layer_{layer}.idx.npy", raw)
        digests[str(layer)] = _digest(raw)
    all_dims = {str(k): int(v) for k, v in dims.items()}
    new = {"version": FORMAT_VERSION, "ids": ids, "entries": [p.name for p in paths],
           "offsets": offsets.tolist(), "dims": all_dims, "dtypes": {str(k): v for k, v in dtypes.items()},
           "digests": digests}
    _atomic_write(folder / "index.json", json.dumps(new).encode())
    return new

