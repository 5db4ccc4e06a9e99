"""NSynth reader: ``nsynth-{train,valid,test}/examples.json`` + ``nsynth-{split}/audio/<note_str>.wav``.

Layout (the official NSynth download, ``nsynth-{train,valid,test}.jsonwav.tar.gz`` extracted side by side)
-----------------------------------------------------------------------------------------------------------
``<root>/nsynth-<split>/examples.json``
    A JSON object keyed by ``note_str`` (e.g. ``"bass_synthetic_033-022-050"``); each value has ``note``, ``note_str``,
    ``instrument``, ``instrument_str``, ``pitch`` (MIDI 0–127), ``velocity`` (MIDI 0–127), ``sample_rate`` (16000),
    ``instrument_family`` (0–10), ``instrument_family_str``, ``instrument_source`` (0 acoustic, 1 electronic,
    2 synthetic), ``instrument_source_str``, ``qualities`` (10 flags), ``qualities_str``.
``<root>/nsynth-<split>/audio/<note_str>.wav``
    4 s, 16 kHz mono 16-bit WAV. Never opened here.

``root`` is the folder that holds the ``nsynth-*`` folders. Official sizes: 289,205 / 12,678 / 4,096 notes; the splits
are by instrument (no instrument is in two splits). ``split_name`` is ``"official"``.

``Example.id`` is the ``note_str``; ``Example.target`` is ``{"pitch", "instrument_family", "velocity", "instrument",
"instrument_source"}`` (ints); ``label_names`` are the 11 family names in family-index order (:data:`FAMILY_NAMES`).
:func:`stratified_subset` draws the ``--train-subset N`` subsets.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Callable, Hashable, Iterable, Sequence

from .base import DatasetIndex, DatasetLayoutError, Example, check_root, describe_dir, missing_audio_info

__all__ = ["load_nsynth", "stratified_subset", "FAMILY_NAMES", "TARGET_FIELDS", "OFFICIAL_SIZES"]

#: ``instrument_family`` index → name, NSynth's order.
FAMILY_NAMES: tuple[str, ...] = ("bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string",
                                 "synth_lead", "vocal")

#: The label fields kept in ``Example.target`` and their valid ranges (inclusive).
TARGET_FIELDS: dict[str, tuple[int, int | None]] = {
    "pitch": (0, 127),
    "instrument_family": (0, len(FAMILY_NAMES) - 1),
    "velocity": (0, 127),
    "instrument": (0, None),
    "instrument_source": (0, 2),
}

OFFICIAL_SIZES = {"train": 289205, "valid": 12678, "test": 4096}

_EXPECTED = ("expected the NSynth layout: <root>/nsynth-{train,valid,test}/examples.json and "
             "<root>/nsynth-<split>/audio/<note_str>.wav")


def _read_examples_json(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise DatasetLayoutError(f"{path}: not valid JSON ({e})") from None
    except OSError as e:
        raise DatasetLayoutError(f"{path}: unreadable ({e})") from None
    if not isinstance(data, dict):
        raise DatasetLayoutError(f"{path}: expected a JSON object keyed by note_str, got a {type(data).__name__}")
    return data


def _target(path: Path, key: str, entry: object) -> dict[str, int]:
    if not isinstance(entry, dict):
        raise DatasetLayoutError(f"{path}: entry {key!r} is a {type(entry).__name__}, expected an object of fields")
    out = {}
    for name, (lo, hi) in TARGET_FIELDS.items():
        if name not in entry:
            raise DatasetLayoutError(f"{path}: entry {key!r} has no {name!r} field (fields: {sorted(entry)[:12]})")
        v = entry[name]
        if isinstance(v, bool) or not isinstance(v, int):
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            else:
                raise DatasetLayoutError(f"{path}: entry {key!r}: {name!r} = {v!r} is not an integer")
        if v < lo or (hi is not None and v > hi):
            raise DatasetLayoutError(f"{path}: entry {key!r}: {name!r} = {v} outside "
                                     f"[{lo}, {hi if hi is not None else 'inf'}]")
        out[name] = v
    fam_str = entry.get("instrument_family_str")
    if fam_str is not None and fam_str != FAMILY_NAMES[out["instrument_family"]]:
        raise DatasetLayoutError(f"{path}: entry {key!r}: instrument_family {out['instrument_family']} is "
                                 f"{FAMILY_NAMES[out['instrument_family']]!r} in NSynth's order but "
                                 f"instrument_family_str is {fam_str!r}")
    note_str = entry.get("note_str")
    if note_str is not None and note_str != key:
        raise DatasetLayoutError(f"{path}: entry {key!r} has note_str {note_str!r} (the key must be the note_str)")
    return out


def load_nsynth(root: str | os.PathLike, splits: Sequence[str] = ("train", "valid", "test")) -> DatasetIndex:
    """Index NSynth at ``root`` (the folder holding ``nsynth-train/``, ``nsynth-valid/``, ``nsynth-test/``).

    Parameters
    ----------
    root : path
    splits : sequence of {"train", "valid", "test"}
        The splits to read; only their folders need to exist.

    Returns
    -------
    DatasetIndex
        ``name="nsynth"``, ``split_name="official"``, examples sorted by ``note_str``, ``label_names`` =
        :data:`FAMILY_NAMES`. ``info``: ``json_files`` (relative), ``counts``, ``official_sizes``, missing-audio facts.

    Raises
    ------
    DatasetLayoutError
        Root missing; a requested ``nsynth-<split>/examples.json`` missing (the message lists what ``root`` holds);
        invalid JSON; an entry without one of :data:`TARGET_FIELDS` (message names the json file and key); a value
        out of range; ``instrument_family_str`` not matching :data:`FAMILY_NAMES`; a note in two splits.
    """
    splits = tuple(splits)
    bad = [s for s in splits if s not in ("train", "valid", "test")]
    if bad or not splits:
        raise ValueError(f"unknown NSynth split(s) {bad or splits!r}; expected a subset of ('train', 'valid', 'test')")
    root = check_root(root, "NSynth")
    missing = [s for s in splits if not (root / f"nsynth-{s}" / "examples.json").is_file()]
    if missing:
        raise DatasetLayoutError(
            f"NSynth: {', '.join(str(root / f'nsynth-{s}' / 'examples.json') for s in missing)} not found; "
            f"{_EXPECTED}. Found at {root}: {describe_dir(root)}")
    examples: list[Example] = []
    seen: dict[str, str] = {}
    for s in splits:
        d = root / f"nsynth-{s}"
        path = d / "examples.json"
        data = _read_examples_json(path)
        for key, entry in data.items():
            if key in seen:
                raise DatasetLayoutError(f"{path}: note {key!r} is also in nsynth-{seen[key]} "
                                         "(the splits are by instrument: a note belongs to one split)")
            seen[key] = s
            examples.append(Example(id=key, audio_path=d / "audio" / f"{key}.wav", split=s,
                                    target=_target(path, key, entry)))
    examples.sort(key=lambda e: e.id)
    info: dict = {"json_files": [f"nsynth-{s}/examples.json" for s in splits], "official_sizes": OFFICIAL_SIZES}
    index = DatasetIndex(name="nsynth", root=root, examples=examples, label_names=list(FAMILY_NAMES),
                         split_name="official", info=info)
    info["counts"] = index.counts()
    info.update(missing_audio_info(examples))
    return index


def _rank(seed: int, ex_id: str) -> bytes:
    return hashlib.sha256(f"{int(seed)}\x00{ex_id}".encode("utf-8")).digest()


def stratified_subset(examples: Iterable[Example], n: int, key: str | Callable[[Example], Hashable],
                      seed: int = 0) -> list[Example]:
    """A seeded, stratified subset of ``n`` examples (for ``--train-subset N``).

    Parameters
    ----------
    examples : iterable of Example
        Ids must be unique.
    n : int
        Subset size (> 0). ``n >= len(examples)`` returns all of them.
    key : str or callable
        The stratum of an example: a field of ``Example.target`` (a dict, e.g. ``"pitch"``,
        ``"instrument_family"``) or a function ``Example -> hashable``.
    seed : int

    Returns
    -------
    list of Example, sorted by id.

    Notes
    -----
    Proportional allocation by the largest-remainder method: class ``c`` with ``n_c`` of ``N`` examples gets
    ``floor(n * n_c / N)`` plus one for the classes with the largest remainders (ties: larger class first, then class
    order), so each class gets ``n * n_c / N`` rounded down or up and a class can get 0 when ``n`` is small. Within a
    class, examples are ranked by ``sha256(f"{seed}\\0{id}")``, so the result depends only on the set of examples,
    ``n`` and ``seed`` (not on the input order, the platform or the NumPy version), and a larger ``n`` with the
    same seed mostly extends a smaller one.
    """
    exs = list(examples)
    if n <= 0:
        raise DatasetLayoutError(f"--train-subset must be > 0, got {n}")
    ids = [e.id for e in exs]
    if len(set(ids)) != len(ids):
        raise ValueError("stratified_subset: duplicate example ids")
    if n >= len(exs):
        return sorted(exs, key=lambda e: e.id)
    get = key if callable(key) else (lambda e: e.target[key])  # type: ignore[index]
    groups: dict[Hashable, list[Example]] = defaultdict(list)
    for e in exs:
        groups[get(e)].append(e)
    classes = sorted(groups, key=lambda c: (type(c).__name__, c))
    N = len(exs)
    quota = {c: n * len(groups[c]) // N for c in classes}
    left = n - sum(quota.values())
    position = {c: i for i, c in enumerate(classes)}
    by_rem = sorted(classes, key=lambda c: (-((n * len(groups[c])) % N), -len(groups[c]), position[c]))
    for c in by_rem[:left]:
        quota[c] += 1
    out: list[Example] = []
    for c in classes:
        members = sorted(groups[c], key=lambda e: _rank(seed, e.id))
        out.extend(members[:quota[c]])
    return sorted(out, key=lambda e: e.id)
