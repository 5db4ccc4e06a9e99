"""MTG-Jamendo auto-tagging reader: the split-0 TSVs of a subset (top50, genre, instrument, mood/theme) + the audio.

Layout (``../shared/spec/datasets.md`` §7; the MTG/mtg-jamendo-dataset repository plus the downloaded audio)
-----------------------------------------------------------------------------------------------------------
``<root>/data/splits/split-<k>/autotagging_<subset>-{train,validation,test}.tsv``
    (``<root>/splits/…`` is accepted too.) Header ``TRACK_ID  ARTIST_ID  ALBUM_ID  PATH  DURATION  TAGS``; tags are
    column 6 onwards, a variable number of tab-separated ``category---tag`` fields. The real files have CRLF endings
    (stripped here, as is any whitespace around a field). ``PATH`` is ``<id mod 100, 2 digits>/<id>.mp3``.
Audio, in ``audio_dir`` when given, else the first of ``<root>/audio/``, ``<root>/audio-low/``,
    ``<root>/raw_30s/audio/``, ``<root>/mp3/``, ``<root>/`` holding the two-digit folders: the full-quality
    ``NN/<id>.mp3`` or the low-quality ``NN/<id>.low.mp3``, whichever is present for each track (full quality first).

Subsets (:data:`SUBSETS`): ``top50`` (``autotagging_top50tags``), ``genre``, ``instrument``, ``moodtheme``, ``all``
(``autotagging``). Split-0 sizes on the real data: :data:`SPLIT0_SIZES`.

Tags: every tag of the subset's three files, sorted by name, minus the tags with no positive (or no negative) track
in one of the three splits (macro ROC-AUC / PR-AUC are undefined for them): those are excluded and reported in
``info["excluded_tags"]`` (``{tag: {"train": n, "valid": n, "test": n}}``). ``split_name = "split-<k>"``.

``Example.id`` is the ``TRACK_ID`` (``track_0000241``); ``Example.target`` is ``np.ndarray (n_tags,) uint8``,
multi-hot in ``label_names`` order (the full ``category---tag`` names).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .base import (DatasetIndex, DatasetLayoutError, Example, absolute, check_root, describe_dir, missing_audio_info,
                   relative_or_absolute)

__all__ = ["load_mtg_jamendo", "read_split_tsv", "SUBSETS", "SPLIT0_SIZES", "HEADER"]

SUBSETS = {"top50": "autotagging_top50tags", "genre": "autotagging_genre", "instrument": "autotagging_instrument",
           "moodtheme": "autotagging_moodtheme", "all": "autotagging"}
SPLIT0_SIZES = {"top50": (32136, 10888, 11356), "genre": (32572, 11043, 11479), "instrument": (14395, 5466, 5115),
                "moodtheme": (9949, 3802, 4231)}
HEADER = ("TRACK_ID", "ARTIST_ID", "ALBUM_ID", "PATH", "DURATION", "TAGS")
_FILE_SPLITS = {"train": "train", "validation": "valid", "test": "test"}
_AUDIO_DIRS = ("audio", "audio-low", "raw_30s/audio", "mp3", ".")
_EXPECTED = ("expected the MTG-Jamendo layout: <root>/data/splits/split-0/autotagging_<subset>-{train,validation,"
             "test}.tsv and the audio as <root>/audio/NN/<id>.mp3 or NN/<id>.low.mp3")


def read_split_tsv(path: Path) -> list[tuple[str, str, list[str]]]:
    """``[(track id, PATH, [tags])]`` of one split TSV (CRLF or LF; tags from column 6 on, empty fields dropped).

    Raises :class:`DatasetLayoutError` naming the file (and line) for a missing or wrong header or a row with fewer
    than 6 fields.
    """
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetLayoutError(f"{path}: unreadable split file ({e})") from None
    lines = text.splitlines()
    if not lines or tuple(f.strip() for f in lines[0].split("\t"))[:6] != HEADER:
        raise DatasetLayoutError(f"{path}: the first line is not the header {' '.join(HEADER)} (tab-separated)")
    rows = []
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) < 6 or not fields[0] or not fields[3]:
            raise DatasetLayoutError(f"{path}, line {n}: expected TRACK_ID, ARTIST_ID, ALBUM_ID, PATH, DURATION and "
                                     f"at least one tag, tab-separated; got {len(fields)} field(s)")
        rows.append((fields[0], fields[3], [t for t in fields[5:] if t]))
    return rows


def _splits_dir(root: Path, split: int) -> Path:
    for base in (root / "data" / "splits", root / "splits"):
        if base.is_dir():
            d = base / f"split-{split}"
            if not d.is_dir():
                raise DatasetLayoutError(f"MTG-Jamendo: {d} not found; found in {base}: {describe_dir(base)}")
            return d
    raise DatasetLayoutError(f"MTG-Jamendo: {root / 'data' / 'splits'} not found; {_EXPECTED}. "
                             f"Found at {root}: {describe_dir(root)}")


def _audio_dir(root: Path, audio_dir) -> Path:
    if audio_dir is not None:
        d = absolute(audio_dir)
        if not d.is_dir():
            raise DatasetLayoutError(f"MTG-Jamendo: audio folder {d} does not exist")
        return d
    for sub in _AUDIO_DIRS:
        d = root / sub if sub != "." else root
        if d.is_dir() and any((d / f"{k:02d}").is_dir() for k in range(100)):
            return d
    return root / "audio"


def _audio(d: Path, rel: str) -> Path:
    full = d / rel
    if full.is_file():
        return full
    low = full.with_name(full.name[:-len(full.suffix)] + ".low" + full.suffix) if full.suffix else full
    return low if low.is_file() else full


def load_mtg_jamendo(root: str | os.PathLike, subset: str = "top50", split: int = 0,
                     audio_dir: str | os.PathLike | None = None) -> DatasetIndex:
    """Index the MTG-Jamendo ``subset`` with its split ``split`` (0 for MARBLE's protocol).

    Returns
    -------
    DatasetIndex
        ``name="mtg-jamendo-<subset>"``, ``split_name="split-<split>"``, ``label_names`` the kept tags (sorted).
        ``info``: ``split_files``, ``audio_dir``, ``counts``, ``official_sizes`` (split 0), ``n_tags_in_files``,
        ``excluded_tags``, ``audio_quality`` (``{"full": n, "low": n}`` of the files found), missing-audio facts.

    Raises
    ------
    DatasetLayoutError
        Root, splits folder or a split file missing; a bad header or row; a track in two split files; no tag left.
    """
    if subset not in SUBSETS:
        raise ValueError(f"unknown MTG-Jamendo subset {subset!r}; expected one of {', '.join(SUBSETS)}")
    root = check_root(root, "MTG-Jamendo")
    sdir = _splits_dir(root, int(split))
    adir = _audio_dir(root, audio_dir)
    rows: list[tuple[str, str, str, list[str]]] = []
    seen: dict[str, str] = {}
    files = []
    for fs, s in _FILE_SPLITS.items():
        path = sdir / f"{SUBSETS[subset]}-{fs}.tsv"
        if not path.is_file():
            raise DatasetLayoutError(f"MTG-Jamendo: {path} not found; found in {sdir}: {describe_dir(sdir)}")
        files.append(relative_or_absolute(path, root))
        for tid, rel, tags in read_split_tsv(path):
            if tid in seen:
                raise DatasetLayoutError(f"{path}: {tid} is also in the {seen[tid]} file (splits are disjoint)")
            seen[tid] = s
            rows.append((tid, rel, s, tags))
    all_tags = sorted({t for *_, tags in rows for t in tags})
    counts = {t: {"train": 0, "valid": 0, "test": 0} for t in all_tags}
    totals = {"train": 0, "valid": 0, "test": 0}
    for _, _, s, tags in rows:
        totals[s] += 1
        for t in set(tags):
            counts[t][s] += 1
    excluded = {t: c for t, c in counts.items() if any(c[s] == 0 or c[s] == totals[s] for s in c)}
    kept = [t for t in all_tags if t not in excluded]
    if not kept:
        raise DatasetLayoutError(f"MTG-Jamendo: no tag of {sdir} has positives and negatives in all three splits")
    col = {t: i for i, t in enumerate(kept)}
    examples, quality = [], {"full": 0, "low": 0}
    for tid, rel, s, tags in rows:
        y = np.zeros(len(kept), dtype=np.uint8)
        for t in tags:
            if t in col:
                y[col[t]] = 1
        path = _audio(adir, rel)
        if path.is_file():
            quality["low" if path.name.endswith(".low" + path.suffix) else "full"] += 1
        examples.append(Example(tid, path, s, y))
    examples.sort(key=lambda e: e.id)
    info = {"subset": subset, "split_files": files, "audio_dir": relative_or_absolute(adir, root),
            "official_sizes": dict(zip(("train", "valid", "test"), SPLIT0_SIZES[subset])) if subset in SPLIT0_SIZES
            and int(split) == 0 else None, "n_tags_in_files": len(all_tags), "excluded_tags": excluded,
            "audio_quality": quality}
    index = DatasetIndex(name=f"mtg-jamendo-{subset}", root=root, examples=examples, label_names=kept,
                         split_name=f"split-{int(split)}", info=info)
    info["counts"] = index.counts()
    info.update(missing_audio_info(examples))
    return index
