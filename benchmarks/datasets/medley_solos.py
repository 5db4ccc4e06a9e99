"""Medley-solos-DB reader: ``Medley-solos-DB_metadata.csv`` + ``Medley-solos-DB_<subset>-<instrument_id>_<uuid4>.wav``.

Layout (``../shared/spec/datasets.md`` §11; Zenodo record 3464194, as mirdata reads it)
--------------------------------------------------------------------------------------
``Medley-solos-DB_metadata.csv`` at ``<root>`` or in ``<root>/annotation/``: columns ``subset, instrument,
instrument_id, song_id, uuid4`` (found by name; values stripped of whitespace). The audio, 2.97 s mono WAV at
22,050 Hz (65,536 samples), is looked up by file name anywhere under ``<root>`` (``<root>/``, ``<root>/audio/``, …).

Split: the ``subset`` column, official: ``training`` → train, ``validation`` → valid, ``test`` → test;
``split_name = "official"``. Train and test come from different collections (MedleyDB vs solosDb). Clips of one
``song_id`` must stay in one split: songs found in more than one are reported in ``info["songs_in_several_splits"]``
(the split is kept as published).

Labels: the 8 instruments in ``instrument_id`` order (:data:`INSTRUMENTS`); a row whose ``instrument`` name does not
match its ``instrument_id`` is an error. ``Example.id`` is the ``uuid4``; ``Example.target`` is
``{"instrument": name, "song_id": int}``.
"""
from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import pandas as pd

from .base import (DatasetIndex, DatasetLayoutError, Example, check_root, describe_dir, missing_audio_info,
                   relative_or_absolute)

__all__ = ["load_medley_solos", "INSTRUMENTS", "METADATA", "SUBSETS", "audio_name"]

INSTRUMENTS = ("clarinet", "distorted electric guitar", "female singer", "flute", "piano", "tenor saxophone",
               "trumpet", "violin")
METADATA = "Medley-solos-DB_metadata.csv"
SUBSETS = {"training": "train", "validation": "valid", "test": "test"}
_COLUMNS = ("subset", "instrument", "instrument_id", "song_id", "uuid4")
_EXPECTED = (f"expected the Medley-solos-DB layout: <root>/{METADATA} (subset, instrument, instrument_id, song_id, "
             "uuid4) beside the audio Medley-solos-DB_<subset>-<instrument_id>_<uuid4>.wav")


def audio_name(subset: str, instrument_id: int, uuid4: str) -> str:
    """The audio file name of a clip: ``Medley-solos-DB_<subset>-<instrument_id>_<uuid4>.wav``."""
    return f"Medley-solos-DB_{subset}-{int(instrument_id)}_{uuid4}.wav"


def _metadata(root: Path) -> Path:
    for p in (root / METADATA, root / "annotation" / METADATA, root / "metadata" / METADATA):
        if p.is_file():
            return p
    raise DatasetLayoutError(f"Medley-solos-DB: {root / METADATA} not found (nor in annotation/); {_EXPECTED}. "
                             f"Found at {root}: {describe_dir(root)}")


def load_medley_solos(root: str | os.PathLike) -> DatasetIndex:
    """Index Medley-solos-DB at ``root`` with its official split.

    Returns
    -------
    DatasetIndex
        ``name="medley-solos"``, ``split_name="official"``, ``label_names`` = :data:`INSTRUMENTS`. ``info``:
        ``metadata`` (relative), ``counts``, ``songs_in_several_splits`` (``{song_id: [splits]}``), missing-audio
        facts.

    Raises
    ------
    DatasetLayoutError
        Root or metadata missing; a column missing; an unknown subset; an ``instrument_id`` outside 0–7 or not
        matching ``instrument``; a non-integer ``song_id``; a duplicate ``uuid4``.
    """
    root = check_root(root, "Medley-solos-DB")
    path = _metadata(root)
    try:
        df = pd.read_csv(path, dtype=str, skipinitialspace=True, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, ValueError, pd.errors.ParserError) as e:
        raise DatasetLayoutError(f"{path}: unreadable CSV ({e})") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in _COLUMNS if c not in df.columns]
    if missing:
        raise DatasetLayoutError(f"{path}: no column(s) {', '.join(missing)} (columns: {', '.join(df.columns)})")
    wavs = {p.name: p for p in sorted(root.rglob("*.wav"))}
    examples, seen, song_splits = [], set(), defaultdict(set)
    for n, row in enumerate(df[list(_COLUMNS)].itertuples(index=False), start=2):
        subset, instrument, iid, song, uuid = (str(v).strip() for v in row)
        if not uuid:
            continue
        if subset not in SUBSETS:
            raise DatasetLayoutError(f"{path}, line {n}: subset {subset!r} is not one of {', '.join(SUBSETS)}")
        try:
            iid_i, song_i = int(float(iid)), int(float(song))
        except ValueError:
            raise DatasetLayoutError(f"{path}, line {n}: instrument_id {iid!r} / song_id {song!r} not integers") \
                from None
        if not 0 <= iid_i < len(INSTRUMENTS) or INSTRUMENTS[iid_i] != instrument.lower():
            raise DatasetLayoutError(f"{path}, line {n}: instrument {instrument!r} with instrument_id {iid!r}; "
                                     f"expected ids 0-7 for {', '.join(INSTRUMENTS)}")
        if uuid in seen:
            raise DatasetLayoutError(f"{path}, line {n}: uuid4 {uuid} appears twice")
        seen.add(uuid)
        name = audio_name(subset, iid_i, uuid)
        split = SUBSETS[subset]
        song_splits[song_i].add(split)
        examples.append(Example(uuid, wavs.get(name, root / "audio" / name), split,
                                {"instrument": INSTRUMENTS[iid_i], "song_id": song_i}))
    examples.sort(key=lambda e: e.id)
    info = {"metadata": relative_or_absolute(path, root),
            "songs_in_several_splits": {str(s): sorted(v) for s, v in sorted(song_splits.items()) if len(v) > 1}}
    index = DatasetIndex(name="medley-solos", root=root, examples=examples, label_names=list(INSTRUMENTS),
                         split_name="official", info=info)
    info["counts"] = index.counts()
    info.update(missing_audio_info(examples))
    return index
