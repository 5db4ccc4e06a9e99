"""EmoMusic ("1000 songs", MediaEval 2013) reader: static arousal / valence, the JukeMIR / MARBLE split.

Layout (``../shared/spec/datasets.md`` §6; the two archives extracted side by side)
-----------------------------------------------------------------------------------
``<root>/clips_45seconds/<song_id>.mp3``
    The 45 s clips, names not zero-padded (``2.mp3``). ``<root>/clips_45sec/`` is accepted too, as are
    ``<song_id>.wav`` and zero-padded ``0002.wav`` (MARBLE's converted copies).
``<root>/songs_info.csv`` (or ``<root>/annotations/songs_info.csv``)
    ``song_id, file_name, Artist, Song title, start of the segment (min.sec), end of the segment (min.sec), Genre,
    Mediaeval 2013 set``. Values carry whitespace; times are ``min.sec`` (:func:`parse_minsec`).
``<root>/static_annotations.csv``
    ``song_id, mean_arousal, std_arousal, mean_valence, std_valence`` on the 1–9 scale.

Split (JukeMIR ``iter_emomusic``, copied by MARBLE): ``Mediaeval 2013 set == "evaluation"`` is test (125 clips); the
development clips go to train when ``sha1(normalised artist) % 10 < 8``, else to valid (:func:`artist_split`), giving
504 / 115 / 125 on the real data. ``split_name = "jukemir-artist"``.

``Example.id`` is the song id zero-padded to 4 digits (``"0002"``, MARBLE's uid); ``Example.target`` is
``{"arousal": float, "valence": float}``, the static means on the 1–9 scale. The probe targets are those z-scored with
the **training** split's mean and standard deviation (``np.std``, ddof 0): ``info["target_mean"]`` and
``info["target_std"]`` (``[arousal, valence]``), applied by :func:`zscore_targets`. ``label_names`` are
``["arousal", "valence"]``.
"""
from __future__ import annotations

import hashlib
import os
import string
from pathlib import Path

import numpy as np
import pandas as pd

from .base import (DatasetIndex, DatasetLayoutError, Example, check_root, describe_dir, missing_audio_info,
                   relative_or_absolute)

__all__ = ["load_emomusic", "parse_minsec", "artist_split", "normalise_artist", "zscore_targets", "TARGETS",
           "OFFICIAL_SIZES"]

TARGETS = ("arousal", "valence")
OFFICIAL_SIZES = {"train": 504, "valid": 115, "test": 125}
_CLIP_DIRS = ("clips_45seconds", "clips_45sec", "clips", ".")
_CSV_DIRS = (".", "annotations", "annotations_csv")
_INFO_COLUMNS = {"song_id": "song_id", "file_name": "file_name", "artist": "Artist",
                 "start": "start of the segment (min.sec)", "end": "end of the segment (min.sec)",
                 "set": "Mediaeval 2013 set"}
_STATIC_COLUMNS = ("song_id", "mean_arousal", "mean_valence")
_EXPECTED = ("expected the EmoMusic layout: <root>/clips_45seconds/<song_id>.mp3 with songs_info.csv and "
             "static_annotations.csv at <root> (the annotations archive extracted there)")


def parse_minsec(text: str | float) -> float:
    """Seconds from EmoMusic's ``min.sec`` notation: ``"0.48"`` → 48.0, ``"1.33"`` → 93.0, ``"1.3"`` → 90.0 (a
    one-digit fraction is tens of seconds; jukemir pads it with ``"0"``), ``"2"`` → 120.0."""
    s = str(text).strip()
    if not s:
        raise ValueError("empty time")
    mins, _, secs = s.partition(".")
    secs = (secs + "00")[:2] if len(secs) < 2 else secs
    m, sec = int(mins or 0), int(secs)
    if sec >= 60:
        raise ValueError(f"{s!r}: seconds {sec} >= 60")
    return 60.0 * m + sec


def normalise_artist(artist: str) -> str:
    """Lower-case, keep ASCII letters and spaces, collapse whitespace (the key of :func:`artist_split`)."""
    kept = "".join(c for c in str(artist).lower() if c in string.ascii_lowercase + " ")
    return " ".join(kept.split())


def artist_split(artist: str) -> str:
    """``"train"`` when ``int(sha1(normalise_artist(artist)), 16) % 10`` is 0–7, else ``"valid"``."""
    h = int(hashlib.sha1(normalise_artist(artist).encode("utf-8")).hexdigest(), 16) % 10
    return "train" if h < 8 else "valid"


def _find(root: Path, name: str) -> Path:
    for sub in _CSV_DIRS:
        p = root / sub / name if sub != "." else root / name
        if p.is_file():
            return p
    raise DatasetLayoutError(f"EmoMusic: {root / name} not found (nor under annotations/); {_EXPECTED}. "
                             f"Found at {root}: {describe_dir(root)}")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype=str, skipinitialspace=True, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, ValueError, pd.errors.ParserError) as e:
        raise DatasetLayoutError(f"{path}: unreadable CSV ({e})") from None
    df.columns = [" ".join(str(c).split()) for c in df.columns]
    return df.apply(lambda col: col.str.strip())


def _column(df: pd.DataFrame, path: Path, name: str) -> str:
    low = {c.lower(): c for c in df.columns}
    if name.lower() in low:
        return low[name.lower()]
    raise DatasetLayoutError(f"{path}: no column {name!r} (columns: {', '.join(df.columns)})")


def _float(path: Path, sid: str, col: str, v: str) -> float:
    try:
        return float(v)
    except ValueError:
        raise DatasetLayoutError(f"{path}: song {sid}: {col} = {v!r} is not a number") from None


def _clip_dir(root: Path) -> Path:
    for sub in _CLIP_DIRS:
        d = root / sub if sub != "." else root
        if d.is_dir() and any(p.suffix.lower() in (".mp3", ".wav") for p in d.iterdir()):
            return d
    raise DatasetLayoutError(f"EmoMusic: no clips_45seconds/ folder of audio under {root}; {_EXPECTED}. "
                             f"Found: {describe_dir(root)}")


def _audio(d: Path, sid: int, file_name: str) -> Path:
    cands = ([file_name] if file_name else []) + [f"{sid}.mp3", f"{sid}.wav", f"{sid:04d}.wav", f"{sid:04d}.mp3"]
    for c in cands:
        if (d / c).is_file():
            return d / c
    return d / (file_name or f"{sid}.mp3")


def load_emomusic(root: str | os.PathLike) -> DatasetIndex:
    """Index EmoMusic at ``root`` with the JukeMIR split and train-only z-scoring statistics.

    Returns
    -------
    DatasetIndex
        ``name="emomusic"``, ``split_name="jukemir-artist"``, ``label_names = ["arousal", "valence"]``. ``info``:
        ``csv_files``, ``clip_dir``, ``counts``, ``official_sizes``, ``target_mean`` / ``target_std`` (train,
        ``[arousal, valence]``, 1–9 scale), ``unannotated`` (song ids of ``songs_info.csv`` without static
        annotations, left out), ``odd_segments`` (ids whose segment, from the min.sec times, is not 40–50 s long),
        missing-audio facts.

    Raises
    ------
    DatasetLayoutError
        A CSV or the clip folder missing (the message names it), a column missing, a value that is not a number, an
        unknown ``Mediaeval 2013 set``, an unparseable min.sec time, a duplicate song id.
    """
    root = check_root(root, "EmoMusic")
    info_path, static_path = _find(root, "songs_info.csv"), _find(root, "static_annotations.csv")
    clips = _clip_dir(root)
    songs, static = _read_csv(info_path), _read_csv(static_path)
    c = {k: _column(songs, info_path, v) for k, v in _INFO_COLUMNS.items()}
    s_id, s_ar, s_va = (_column(static, static_path, v) for v in _STATIC_COLUMNS)
    values: dict[int, tuple[float, float]] = {}
    for _, row in static.iterrows():
        if not row[s_id]:
            continue
        sid = int(_float(static_path, row[s_id], s_id, row[s_id]))
        if sid in values:
            raise DatasetLayoutError(f"{static_path}: song_id {sid} appears twice")
        values[sid] = (_float(static_path, row[s_id], s_ar, row[s_ar]), _float(static_path, row[s_id], s_va, row[s_va]))
    examples, unannotated, odd, seen = [], [], [], set()
    for n, row in enumerate(songs.itertuples(index=False), start=2):
        row = dict(zip(songs.columns, row))
        if not row[c["song_id"]]:
            continue
        sid = int(_float(info_path, row[c["song_id"]], c["song_id"], row[c["song_id"]]))
        if sid in seen:
            raise DatasetLayoutError(f"{info_path}, line {n}: song_id {sid} appears twice")
        seen.add(sid)
        try:
            start, end = parse_minsec(row[c["start"]]), parse_minsec(row[c["end"]])
        except ValueError as e:
            raise DatasetLayoutError(f"{info_path}, line {n}: song {sid}: segment time is not min.sec ({e})") from None
        if not 40.0 <= end - start <= 50.0:
            odd.append(f"{sid:04d}")
        which = row[c["set"]].lower()
        if which == "evaluation":
            split = "test"
        elif which == "development":
            split = artist_split(row[c["artist"]])
        else:
            raise DatasetLayoutError(f"{info_path}, line {n}: song {sid}: Mediaeval 2013 set {row[c['set']]!r} is "
                                     "neither 'development' nor 'evaluation'")
        if sid not in values:
            unannotated.append(f"{sid:04d}")
            continue
        ar, va = values[sid]
        examples.append(Example(f"{sid:04d}", _audio(clips, sid, row[c["file_name"]]), split,
                                {"arousal": ar, "valence": va}))
    examples.sort(key=lambda e: e.id)
    train = np.array([[e.target["arousal"], e.target["valence"]] for e in examples if e.split == "train"])
    if len(train) == 0:
        raise DatasetLayoutError(f"{info_path}: no development song falls in the training split: the z-scoring "
                                 "statistics need training songs")
    info = {"csv_files": [relative_or_absolute(p, root) for p in (info_path, static_path)],
            "clip_dir": relative_or_absolute(clips, root), "official_sizes": OFFICIAL_SIZES,
            "target_mean": train.mean(axis=0).tolist(), "target_std": train.std(axis=0).tolist(),
            "target_scale": "1-9 static means; probe targets are z-scored with target_mean / target_std (train)",
            "unannotated": unannotated, "odd_segments": odd}
    index = DatasetIndex(name="emomusic", root=root, examples=examples, label_names=list(TARGETS),
                         split_name="jukemir-artist", info=info)
    info["counts"] = index.counts()
    info.update(missing_audio_info(examples))
    return index


def zscore_targets(index: DatasetIndex, examples=None) -> np.ndarray:
    """``(N, 2)`` float32 ``[arousal, valence]`` of ``examples`` (default: all of ``index``), z-scored with the
    training statistics in ``index.info`` (a zero std is treated as 1)."""
    exs = index.examples if examples is None else examples
    mean = np.asarray(index.info["target_mean"], dtype=np.float64)
    std = np.asarray(index.info["target_std"], dtype=np.float64)
    std = np.where(std > 0, std, 1.0)
    y = np.array([[e.target["arousal"], e.target["valence"]] for e in exs], dtype=np.float64).reshape(-1, 2)
    return ((y - mean) / std).astype(np.float32)
