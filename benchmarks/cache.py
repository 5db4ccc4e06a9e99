"""The embedding cache: extract once, probe many times.

One ``.npz`` per (encoder fingerprint, frontend settings, audio file content), holding one array per layer
(``layer_<i>``). Asking later for more layers of the same file adds them to its entry, so ``--layers 6`` reuses what
``--layers all`` computed, and every task, probe and run sharing a model and frontend shares the entries. Entries are
written atomically (temporary file + ``os.replace``): an interrupted extraction leaves only complete entries, and a
re-run computes exactly what is missing. A full disk (``ENOSPC``) while writing an entry removes the partial temporary
file, keeps every entry already written and raises :class:`DiskFull` (a one-line user error).

The entries are the only copy of the vectors: the per-layer arrays of :mod:`benchmarks.arrays` are an index into
them (byte offsets of each layer's ``.npy`` member), not a second copy.

Storage precision (``dtype``, ``--cache-dtype``): ``float32`` (default, exact) or ``float16``. A float16 entry holds
``float16(x)`` (round to nearest even): for ``|x|`` in float16's normal range (6.1e-5 ≤ |x| ≤ 65504) the error is at
most ``2**-11 * |x|`` (relative 4.9e-4); below it, at most ``2**-25`` (3.0e-8) absolute. A vector with a finite value
beyond ±65504 cannot be stored as float16 and raises :class:`Float16Overflow` naming the entry and the value.
float16 entries live under their own frontend key (suffix ``-f16``), so the two precisions never mix.

Layout: ``<root>/embeddings/<fingerprint[:16]>/<frontend key>/<content hash[:2]>/<content hash>.npz``.
"""
from __future__ import annotations

import errno
import functools
import hashlib
import io
import json
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omar_rq.errors import UserError
from omar_rq.files import atomic_write

DEFAULT_CACHE_ENV = "OMAR_BENCH_CACHE"
#: Storage precisions of ``--cache-dtype`` and the frontend-key suffix each adds.
CACHE_DTYPES = {"float32": "", "float16": "-f16"}
#: float16's largest finite value.
FLOAT16_MAX = 65504.0


class DiskFull(UserError, OSError):
    """The disk filled up (``ENOSPC``) while writing ``path``; what was written before is intact."""

    def __init__(self, path: Path, written: str = "entries written before it are kept"):
        super().__init__(errno.ENOSPC, f"no space left on the device while writing {path}: {written}, the partial "
                                       "file was removed; free space (or use --layers / --cache-dtype float16) and run "
                                       "again to resume")
        self.path = Path(path)

    def __str__(self) -> str:
        return self.strerror


class Float16Overflow(UserError, ValueError):
    """A vector with values beyond float16's range cannot be cached as float16."""


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

    def __init__(self, root: str | os.PathLike | None = None, dtype: str = "float32"):
        if dtype not in CACHE_DTYPES:
            raise ValueError(f"cache dtype must be one of {sorted(CACHE_DTYPES)}, got {dtype!r}")
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        self.dtype = dtype
        self.computed = 0
        self.reused = 0

    @property
    def key_suffix(self) -> str:
        """What the storage precision adds to a frontend key (``""`` for float32, ``"-f16"`` for float16)."""
        return CACHE_DTYPES[self.dtype]

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
        """One layer of an entry (CRC-checked); :class:`CorruptEntry` when the entry cannot be read."""
        return read_layers(path, [layer])[layer]

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
        data.update({f"layer_{k}": self._stored(path, k, v) for k, v in arrays.items()})
        data["meta"] = np.array(json.dumps(meta, sort_keys=True))
        try:
            atomic_write(path, lambda tmp: _savez(tmp, data))
        except OSError as e:
            if e.errno == errno.ENOSPC:
                raise DiskFull(path) from None
            raise
        self.computed += 1

    def _stored(self, path: Path, layer: int, v: np.ndarray) -> np.ndarray:
        """``v`` at the storage precision (see the module docstring)."""
        v = np.asarray(v)
        if self.dtype == "float16" and v.dtype != np.float16:
            big = np.abs(v[np.isfinite(v)]).max(initial=0.0)
            if big > FLOAT16_MAX:
                raise Float16Overflow(f"{path}: layer {layer} has a value of magnitude {big:.4g}, beyond float16's "
                                      f"range (±{FLOAT16_MAX:g}); use --cache-dtype float32 for this model")
            v = v.astype(np.float16)
        return np.ascontiguousarray(v)


class CorruptEntry(OSError):
    """A cache entry that cannot be read (damaged bytes, truncated file, not an ``.npz``, a layer missing)."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = Path(path), reason


def _entry_bytes(path, layers) -> tuple[Path, set[int], bytes]:
    """``(path, the requested layers as ints, the entry's bytes)``; :class:`CorruptEntry` when it cannot be read."""
    path = Path(path)
    try:
        return path, {int(x) for x in layers}, path.read_bytes()
    except OSError as e:
        raise CorruptEntry(path, f"cannot read: {e.strerror or e}") from None


@functools.lru_cache(maxsize=4096)
def _npy_header(header: bytes) -> tuple[tuple, bool, np.dtype, int]:
    bio = io.BytesIO(header)
    version = np.lib.format.read_magic(bio)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read(bio)
    return shape, fortran, dtype, bio.tell()


def read_layers(path: str | os.PathLike, layers) -> dict[int, np.ndarray]:
    """See :func:`read_layers_crc` (the arrays only)."""
    return read_layers_crc(path, layers)[0]


def entry_layout(path: str | os.PathLike, layers) -> dict[int, "MemberLayout"]:
    """Where each of ``layers`` lies in the entry at ``path``, read and CRC-checked in full (one read of the file):
    see :class:`MemberLayout`. Raises :class:`CorruptEntry` like :func:`read_layers_crc`."""
    path, want, data = _entry_bytes(path, layers)
    layout: dict[int, MemberLayout] = {}
    try:
        _read_stored_zip(data, want, layout)
    except _Fallback:
        raise CorruptEntry(path, "a compressed or zip64 entry (not written by this version); it is recomputed") \
            from None
    except (_Damaged, struct.error, ValueError) as e:
        raise CorruptEntry(path, str(e) or type(e).__name__) from None
    missing = want - set(layout)
    if missing:
        raise CorruptEntry(path, f"layer(s) {sorted(missing)} missing")
    return layout


@dataclass(frozen=True)
class MemberLayout:
    """One layer's ``.npy`` member inside an entry: its bytes are ``file[start:start + length]`` (what the zip's
    CRC-32 ``crc`` covers); the array begins ``offset`` bytes into them, ``shape`` C-order ``dtype`` values."""

    start: int
    length: int
    offset: int
    crc: int
    shape: tuple
    dtype: str


def read_layers_crc(path: str | os.PathLike, layers) -> tuple[dict[int, np.ndarray], dict[int, int]]:
    """Several layers of one entry in one read of the file, each checked against its zip CRC-32.

    Entries are uncompressed ``.npz`` zips written by :meth:`EmbeddingCache.write`; this reads the zip's central
    directory and the arrays directly (``np.load`` re-parses the zip and each array header per member: 6x slower on
    a 25-layer entry, which matters when 300 k entries are consolidated). Written by hand for that reason; anything
    it does not expect (compression, zip64, a malformed header) falls back to ``np.load``. Raises
    :class:`CorruptEntry` naming the file and the reason when the bytes do not match their CRC, the file is
    truncated or a requested layer is absent. Returns the arrays and the CRC-32 of each layer's member.
    """
    path, want, data = _entry_bytes(path, layers)
    try:
        out, crcs = _read_stored_zip(data, want)
    except _Fallback:
        out, crcs = _read_with_numpy(path, want)
    except (_Damaged, struct.error, ValueError) as e:
        raise CorruptEntry(path, str(e) or type(e).__name__) from None
    missing = want - set(out)
    if missing:
        raise CorruptEntry(path, f"layer(s) {sorted(missing)} missing")
    return out, crcs


class _Fallback(Exception):
    """A zip this reader does not handle (compressed, zip64): read it with ``np.load`` instead."""


class _Damaged(Exception):
    """Raised inside the reader with the reason; :func:`read_layers` turns it into :class:`CorruptEntry`."""


def _read_stored_zip(data: bytes, want: set[int], layout: dict | None = None
                     ) -> tuple[dict[int, np.ndarray], dict[int, int]]:
    eocd = data.rfind(b"PK\x05\x06", max(0, len(data) - 65557))
    if eocd < 0:
        raise _Damaged("not a zip file (no end-of-directory record; truncated?)")
    n_entries, _, cd_offset = struct.unpack_from("<HII", data, eocd + 10)
    if cd_offset == 0xFFFFFFFF or n_entries == 0xFFFF:
        raise _Fallback()
    out, crcs, pos = {}, {}, cd_offset
    for _ in range(n_entries):
        if data[pos:pos + 4] != b"PK\x01\x02":
            raise _Damaged("damaged zip directory")
        (method, crc, csize, usize, fnl, exl, cml, lho) = struct.unpack_from("<10xH4xIII HHH8xI", data, pos)
        name = data[pos + 46:pos + 46 + fnl].decode("utf-8", "replace")
        pos += 46 + fnl + exl + cml
        if not (name.startswith("layer_") and name.endswith(".npy")):
            continue
        layer = int(name[len("layer_"):-len(".npy")])
        if layer not in want:
            continue
        if method != 0 or csize != usize:
            raise _Fallback()
        if data[lho:lho + 4] != b"PK\x03\x04":
            raise _Damaged(f"damaged local header of {name}")
        lfnl, lexl = struct.unpack_from("<HH", data, lho + 26)
        start = lho + 30 + lfnl + lexl
        if start + csize > len(data):
            raise _Damaged(f"{name} is truncated")
        if zlib.crc32(memoryview(data)[start:start + csize]) != crc:
            raise _Damaged(f"bad CRC-32 of {name} (damaged bytes)")
        major = data[start + 6]
        hlen = (struct.unpack_from("<H", data, start + 8)[0] + 10) if major == 1 else \
            (struct.unpack_from("<I", data, start + 8)[0] + 12)
        try:
            shape, fortran, dtype, offset = _npy_header(bytes(data[start:start + hlen]))
        except ValueError:
            raise _Damaged(f"malformed array header of {name}") from None
        count = int(np.prod(shape)) if shape else 1
        if offset + count * dtype.itemsize > csize:
            raise _Damaged(f"{name} is shorter than its header says")
        arr = np.frombuffer(data, dtype=dtype, count=count, offset=start + offset)
        out[layer] = arr.reshape(shape, order="F" if fortran else "C")
        crcs[layer] = crc
        if layout is not None:
            if fortran and len(shape) > 1:
                raise _Fallback()
            layout[layer] = MemberLayout(start, csize, offset, crc, tuple(shape), dtype.str)
    return out, crcs


def _read_with_numpy(path: Path, want: set[int]) -> tuple[dict[int, np.ndarray], dict[int, int]]:
    try:
        with zipfile.ZipFile(path) as z:
            crcs = {int(i.filename[len("layer_"):-len(".npy")]): i.CRC for i in z.infolist()
                    if i.filename.startswith("layer_")}
        with np.load(path) as z:
            return {layer: z[f"layer_{layer}"] for layer in want if f"layer_{layer}" in z.files}, crcs
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise CorruptEntry(path, f"{type(e).__name__}: {e}") from None


def _savez(path: Path, arrays: dict) -> None:
    """``np.savez`` into the file ``path`` (an uncompressed zip of ``.npy`` members)."""
    with open(path, "wb") as f:
        np.savez(f, **arrays)
