"""Types shared by the dataset readers: :class:`Example`, :class:`DatasetIndex`, :class:`DatasetLayoutError`.

A reader turns a dataset folder, in the layout its download has on disk, into a :class:`DatasetIndex`: a list of
:class:`Example` (id, absolute audio path, split, target) plus the label names and a free-form ``info`` dict. Readers
index files and labels only; they never decode audio (that is :func:`omar_rq.audio.load_audio`'s job, which reports
unreadable files to the runner).

Conventions
-----------
- ``Example.id`` is unique within an index and stable across machines (it never contains the root path).
- ``Example.split`` is ``"train"``, ``"valid"``, ``"test"``, or ``""`` for a dataset without a given split.
- Readers return ``examples`` sorted by ``id`` (so the order never depends on the file system).
- :meth:`DatasetIndex.fingerprint` hashes the labels (ids, targets, label names) and
  :meth:`DatasetIndex.split_fingerprint` the ``(id, split)`` pairs; both are independent of the root path, of the file
  system order and of the machine, so two result records with the same fingerprints were measured on the same labels.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from omar_rq.errors import UserError

__all__ = ["DatasetLayoutError", "Example", "DatasetIndex", "SPLITS", "canonical", "describe_dir", "absolute",
           "MISSING_SAMPLE_SIZE"]

#: The split names an :class:`Example` may carry ("" = the dataset has no split of its own).
SPLITS = ("train", "valid", "test", "")

#: How many missing audio paths :func:`missing_audio_info` lists by name in ``info`` (the count is always exact).
MISSING_SAMPLE_SIZE = 20


class DatasetLayoutError(UserError, ValueError):
    """The data folder is missing or not in the expected layout.

    The message says what was found (the path, a few entries of the folder) and what was expected, so the user can fix
    the folder without reading the code.
    """


@dataclass(frozen=True)
class Example:
    """One item of a dataset.

    Attributes
    ----------
    id : str
        Unique, stable id within the dataset: MTAT the mp3 path relative to ``mp3/``
        (e.g. ``"f/artist-album-01-x-30-59.mp3"``); NSynth the ``note_str`` (e.g. ``"bass_synthetic_033-022-050"``);
        beat sets the track id (the audio file stem, e.g. ``"blues.00000"``).
    audio_path : Path
        Absolute path of the audio file. It may not exist on disk (readers never open audio; see
        :meth:`DatasetIndex.missing`).
    split : str
        ``"train"``, ``"valid"``, ``"test"``, or ``""`` when the dataset has no split (beat sets without
        ``splits.tsv``).
    target : object
        MTAT: ``np.ndarray`` of shape ``(n_tags,)``, dtype ``uint8``, multi-hot in ``DatasetIndex.label_names`` order;
        NSynth: ``dict`` with int ``pitch``, ``instrument_family``, ``velocity``, ``instrument``, ``instrument_source``;
        beat sets: :class:`benchmarks.datasets.beats.BeatAnnotation`.
    """

    id: str
    audio_path: Path
    split: str
    target: object


@dataclass
class DatasetIndex:
    """Every example of a dataset with its labels and split.

    Attributes
    ----------
    name : str
        Dataset name: ``"mtat"``, ``"nsynth"``, ``"beats"``, ``"gtzan"``, ``"ballroom"``, …
    root : Path
        Absolute path of the folder the index was read from.
    examples : list of Example
        Sorted by ``id``.
    label_names : list of str or None
        MTAT: tag names in target order; NSynth: the 11 instrument-family names in family-index order; beats: None.
    split_name : str
        Which split the ``Example.split`` fields follow: ``"clean"``, ``"original"`` (MTAT), ``"official"`` (NSynth),
        ``"given"`` (a ``splits.tsv``), ``"none"`` (no split: the runner cross-validates).
    info : dict
        JSON-serialisable facts worth recording: split source, files read, excluded items, counts, missing audio, ….
    """

    name: str
    root: Path
    examples: list[Example]
    label_names: list[str] | None
    split_name: str
    info: dict = field(default_factory=dict)

    def fingerprint(self) -> str:
        """SHA-256 hex digest of the labels: label names and every ``(id, target)`` pair, in ``id`` order.

        Independent of the root path, of the split, of file system order and of the machine; changes when any id, target
        or label name changes.
        """
        h = hashlib.sha256()
        h.update(_dumps({"label_names": self.label_names}).encode("utf-8") + b"\n")
        for ex in sorted(self.examples, key=lambda e: e.id):
            h.update(_dumps([ex.id, canonical(ex.target)]).encode("utf-8") + b"\n")
        return h.hexdigest()

    def split_fingerprint(self) -> str:
        """SHA-256 hex digest of the sorted ``(id, split)`` pairs (independent of root path and file order)."""
        h = hashlib.sha256()
        for ex_id, split in sorted((e.id, e.split) for e in self.examples):
            h.update(_dumps([ex_id, split]).encode("utf-8") + b"\n")
        return h.hexdigest()

    def split(self, name: str) -> list[Example]:
        """The examples whose split is ``name`` (``"train"``, ``"valid"``, ``"test"`` or ``""``), in index order."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; expected one of {SPLITS}")
        return [e for e in self.examples if e.split == name]

    def counts(self) -> dict[str, int]:
        """Number of examples per split present, in the order train, valid, test, "" (splits with 0 are left out)."""
        out: dict[str, int] = {}
        for s in SPLITS:
            n = sum(1 for e in self.examples if e.split == s)
            if n:
                out[s] = n
        return out

    def missing(self) -> list[Example]:
        """The examples whose ``audio_path`` is not an existing file now (checked on disk at each call)."""
        return [e for e in self.examples if not e.audio_path.is_file()]

    def __len__(self) -> int:
        return len(self.examples)


# ---------------------------------------------------------------------------------------------------------------------
# helpers shared by the readers


def _dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True)


def canonical(obj: Any) -> Any:
    """A JSON-serialisable, machine-independent form of a target, used by :meth:`DatasetIndex.fingerprint`.

    Numeric arrays become ``{"dtype", "shape", "hex"}`` with the data as little-endian bytes (exact, platform
    independent); dicts keep string keys (serialised sorted); NumPy scalars become Python scalars; objects with a
    ``to_canonical()`` method (e.g. ``BeatAnnotation``) use it.
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, np.bool_):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "biuf":
            arr = np.ascontiguousarray(obj, dtype=obj.dtype.newbyteorder("<"))
            return {"dtype": arr.dtype.str, "shape": list(arr.shape), "hex": arr.tobytes().hex()}
        return {"dtype": obj.dtype.kind, "shape": list(obj.shape), "list": [canonical(v) for v in obj.ravel().tolist()]}
    if isinstance(obj, dict):
        return {str(k): canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [canonical(v) for v in obj]
    if hasattr(obj, "to_canonical"):
        return canonical(obj.to_canonical())
    if isinstance(obj, os.PathLike):
        raise TypeError("paths are not labels: a target must not hold a path "
                        "(fingerprints must not depend on the root)")
    raise TypeError(f"cannot canonicalise a target of type {type(obj).__name__}")


def describe_dir(path: Path, limit: int = 8) -> str:
    """A short description of what ``path`` holds, for error messages: ``"a, b/, c (and 12 more)"``."""
    path = Path(path)
    if not path.exists():
        return "(does not exist)"
    if not path.is_dir():
        return "(not a directory)"
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as e:
        return f"(unreadable: {e})"
    if not entries:
        return "(empty)"
    names = [e.name + ("/" if e.is_dir() else "") for e in entries[:limit]]
    more = f" (and {len(entries) - limit} more)" if len(entries) > limit else ""
    return ", ".join(names) + more


def absolute(path: str | os.PathLike) -> Path:
    """``path`` made absolute (``~`` expanded, symlinks kept) without touching the disk."""
    return Path(os.path.abspath(Path(path).expanduser()))


def check_root(root: str | os.PathLike, what: str) -> Path:
    """The absolute root, or :class:`DatasetLayoutError` saying it does not exist / is not a directory."""
    r = absolute(root)
    if not r.exists():
        raise DatasetLayoutError(f"{what}: data directory {r} does not exist")
    if not r.is_dir():
        raise DatasetLayoutError(f"{what}: {r} is not a directory (expected the dataset's root folder)")
    return r


def missing_audio_info(examples: Iterable[Example]) -> dict:
    """``{"n_missing_audio": int, "missing_audio_sample": [ids]}`` for the examples whose audio file does not exist."""
    missing = [e.id for e in examples if not e.audio_path.is_file()]
    return {"n_missing_audio": len(missing), "missing_audio_sample": missing[:MISSING_SAMPLE_SIZE]}


def relative_or_absolute(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when inside it (for ``info``: keeps records machine independent), else absolute."""
    try:
        return Path(path).relative_to(root).as_posix() or "."
    except ValueError:
        return str(path)
