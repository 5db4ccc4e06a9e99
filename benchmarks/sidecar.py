"""A record's per-track sidecar: the test tracks' arrays that confidence intervals and paired tests need.

One compressed ``.npz`` beside the record (same folder), named by its content hash (``tracks-<blake2b>.npz``, the
project's hash, as the embedding cache uses), so copies from other machines never collide and the record refers to
it by content: ``record["tracks"] = {"file": name, "blake2b": hex, "n_tracks": n, "n_runs": r}``.

Arrays (all written by the runner, :func:`pack`):

- ``run`` ``(rows,)`` int: which run (fold × seed) a row belongs to; ``run_fold`` / ``run_seed`` ``(runs,)``: the
  fold index and seed of each run;
- ``track`` ``(rows,)`` str: the test track's id (a fold's runs list the same tracks in the same order);
- ``m:<name>`` ``(rows, ...)``: the task's per-track arrays (:mod:`benchmarks.tasks.base`: ``mean.*``, ``num.*`` /
  ``den.*``, ``corpus.*``).

Reading verifies the hash: a missing, damaged or mismatching sidecar gives ``None`` and a :class:`SidecarWarning`
(the record's interval then reads "—"), never an exception. Records without a ``tracks`` field (older records) also
give ``None``, silently.
"""
from __future__ import annotations

import hashlib
import io
import os
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from omar_rq.files import atomic_write

PREFIX = "m:"
DIGEST_SIZE = 20


class SidecarWarning(UserWarning):
    """A record's sidecar is missing, damaged or does not match the hash the record holds."""


@dataclass(frozen=True)
class Tracks:
    """A record's per-track arrays, split by run: ``runs[i]`` is ``{name: (n_i, ...)}`` for run ``i``."""

    runs: tuple[dict, ...]
    folds: tuple[int, ...]       # per run: the fold index
    seeds: tuple[int, ...]       # per run: the seed
    ids: tuple[tuple[str, ...], ...]   # per run: the test track ids, in row order
    source: tuple[str, str] | None = field(default=None, compare=False)   # (sidecar path, its verified blake2b)

    def fold_ids(self) -> dict[int, tuple[str, ...]]:
        """Each fold's test track ids (the same for every seed of the fold)."""
        return {f: ids for f, ids in zip(self.folds, self.ids)}


def pack(runs: list[tuple[int, int, list[str], dict]]) -> dict[str, np.ndarray]:
    """The sidecar arrays of ``runs``: ``(fold index, seed, test track ids, {name: per-track array})`` each."""
    names = sorted(set.intersection(*(set(r[3]) for r in runs))) if runs else []
    out = {"run": np.concatenate([np.full(len(r[2]), i, dtype=np.int32) for i, r in enumerate(runs)]),
           "run_fold": np.array([r[0] for r in runs], dtype=np.int32),
           "run_seed": np.array([r[1] for r in runs], dtype=np.int64),
           "track": np.array([str(t) for r in runs for t in r[2]])}
    for name in names:
        out[PREFIX + name] = np.concatenate([np.asarray(r[3][name]) for r in runs], axis=0)
    return out


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=DIGEST_SIZE).hexdigest()


def write(folder: str | os.PathLike, arrays: dict[str, np.ndarray]) -> dict:
    """Write ``arrays`` as a compressed npz named by its blake2b into ``folder`` (atomically: temp file + rename);
    returns the record's ``tracks`` reference. Identical content → the same file (written once)."""
    buf = io.BytesIO()
    # a fixed timestamp inside the zip: the same arrays give the same bytes, hence the same name
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, member.getvalue())
    data = buf.getvalue()
    digest = _digest(data)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"tracks-{digest}.npz"
    if not path.is_file():
        atomic_write(path, data, mode=0o644)
    runs = arrays.get("run_fold")
    return {"file": path.name, "blake2b": digest, "n_tracks": int(len(np.unique(arrays["track"]))),
            "n_runs": int(len(runs)) if runs is not None else 0}


def path_of(record: dict) -> Path | None:
    """Where the record's sidecar should be (beside the record file), or None for a record without one."""
    ref = record.get("tracks")
    if not isinstance(ref, dict) or not isinstance(ref.get("file"), str) or not record.get("_path"):
        return None
    return Path(record["_path"]).parent / Path(ref["file"]).name


_LOADED: dict[tuple[str, str], Tracks] = {}


def load(record: dict) -> Tracks | None:
    """The record's per-track arrays, verified against its hash; None (with a :class:`SidecarWarning` when the
    record names a sidecar) when there is none or it cannot be trusted."""
    path = path_of(record)
    if path is None:
        return None
    where = f"sidecar {path} of record {record.get('_path')}"
    memo = (str(path), str(record["tracks"].get("blake2b")))
    try:
        data = path.read_bytes()
    except OSError as e:
        warnings.warn(f"{where} is unreadable ({e.strerror or e}): no interval", SidecarWarning, stacklevel=2)
        return None
    if memo in _LOADED and _digest(data) == memo[1]:
        return _LOADED[memo]
    if _digest(data) != record["tracks"].get("blake2b"):
        warnings.warn(f"{where} does not match the record's blake2b (changed or damaged): no interval",
                      SidecarWarning, stacklevel=2)
        return None
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        run, folds, seeds, track = arrays["run"], arrays["run_fold"], arrays["run_seed"], arrays["track"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        warnings.warn(f"{where} cannot be read ({e}): no interval", SidecarWarning, stacklevel=2)
        return None
    runs, ids = [], []
    for i in range(len(folds)):
        rows = np.flatnonzero(run == i)
        runs.append({k[len(PREFIX):]: v[rows] for k, v in arrays.items() if k.startswith(PREFIX)})
        ids.append(tuple(str(t) for t in track[rows]))
    _LOADED[memo] = Tracks(tuple(runs), tuple(int(f) for f in folds), tuple(int(s) for s in seeds), tuple(ids),
                           source=memo)
    return _LOADED[memo]
