"""A persistent memo of a record's bootstrap distributions, so that ``table`` and ``report`` do not recompute them.

Beside a record's sidecar ``tracks-<blake2b>.npz`` (:mod:`benchmarks.sidecar`), the file
``tracks-<blake2b>.boot-<B>-<seed>.npz`` holds the ``(B,)`` float64 resampled values of the record's own resamples
(:func:`benchmarks.stats.distributions` on :func:`benchmarks.stats.fold_resamples` of its folds, B resamples drawn
with ``seed``), one array ``<task>|<metric>`` per metric. The key of a value is thus (task name, the sidecar's content
hash, B, seed, metric); the sidecar's hash is verified when it is loaded, so the memo can only describe those
arrays. ``<task>|`` lists the metrics of the task the memo answers for (present or not: a metric the arrays cannot
give is answered by its absence), ``*`` meaning every metric.

The memo is a cache, never required and never trusted blindly: it also holds ``check``, the blake2b of its format
version and of every entry's name, dtype, shape and bytes, and a memo that fails to read or to match its check (or
has an entry of the wrong shape) is ignored and rewritten. Writing is atomic (:func:`omar_rq.files.atomic_write`);
a folder that cannot be written (read-only results) is skipped silently, so the values are computed every time.
"""
from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np

from benchmarks.sidecar import Tracks

#: Changes whenever the stored values would change for the same key (the resampling or a metric's computation).
FORMAT = "omar-bench bootstrap memo 1"
CHECK = "check"
ALL = "*"


def path_of(tracks: Tracks, n_resamples: int, seed: int) -> Path | None:
    """The memo file of ``tracks`` (None for arrays that did not come from a sidecar file)."""
    if tracks.source is None:
        return None
    sidecar_path, digest = tracks.source
    return Path(sidecar_path).with_name(f"tracks-{digest}.boot-{int(n_resamples)}-{int(seed)}.npz")


def _digest(entries: dict[str, np.ndarray]) -> str:
    h = hashlib.blake2b(FORMAT.encode(), digest_size=20)
    for name in sorted(entries):
        a = entries[name]
        h.update(f"\0{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update("\0".join(map(str, a.tolist())).encode() if a.dtype.kind == "U" else a.tobytes())
    return h.hexdigest()


def _read(path: Path, n_resamples: int) -> dict[str, np.ndarray]:
    """The memo's verified entries; {} when it is missing, unreadable or damaged."""
    try:
        with np.load(path, allow_pickle=False) as z:
            entries = {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return {}
    check = entries.pop(CHECK, None)
    if check is None or check.shape != () or str(check) != _digest(entries):
        return {}
    for name, a in entries.items():
        task, sep, metric = name.partition("|")
        ok = (a.dtype.kind == "U" and a.ndim == 1) if not metric else (a.dtype == np.float64
                                                                         and a.shape == (n_resamples,))
        if not sep or not task or not ok:
            return {}
    return entries


def load(task_name: str, tracks: Tracks, n_resamples: int, seed: int, wanted=None) -> dict[str, np.ndarray] | None:
    """The remembered ``{metric: (B,)}`` of ``task_name`` on ``tracks`` (the metrics in ``wanted``, or every metric
    when None), or None when the memo does not answer for all of them."""
    path = path_of(tracks, n_resamples, seed)
    if path is None:
        return None
    entries = _read(path, n_resamples)
    covered = set(entries.get(f"{task_name}|", np.zeros(0, dtype=str)).tolist())
    if not (ALL in covered or (wanted is not None and set(wanted) <= covered)):
        return None
    prefix = f"{task_name}|"
    got = {k[len(prefix):]: v for k, v in entries.items() if k.startswith(prefix) and len(k) > len(prefix)}
    return got if wanted is None else {k: v for k, v in got.items() if k in wanted}


def save(task_name: str, tracks: Tracks, n_resamples: int, seed: int, wanted, dists: dict[str, np.ndarray]) -> None:
    """Remember ``dists`` (``{metric: (B,)}``, computed for the metrics ``wanted``, None = every metric) with what
    the memo already holds; a failure to write (read-only folder, full disk) is ignored."""
    from omar_rq.files import atomic_write

    path = path_of(tracks, n_resamples, seed)
    if path is None:
        return
    entries = _read(path, n_resamples)
    key = f"{task_name}|"
    covered = set(entries.get(key, np.zeros(0, dtype=str)).tolist()) | ({ALL} if wanted is None else set(wanted))
    entries[key] = np.array(sorted(covered), dtype=str)
    for metric, values in dists.items():
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (n_resamples,):
            return
        entries[key + metric] = values
    entries[CHECK] = np.array(_digest(entries))
    buf = io.BytesIO()
    np.savez(buf, **entries)
    try:
        atomic_write(path, buf.getvalue())
    except OSError:
        pass
