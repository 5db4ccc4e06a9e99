"""Music structure: the Harmonix Set layout (``urinieto/harmonixset``) and its segment files.

Layout (``../shared/spec/datasets.md`` §2)
-----------------------------------------
``dataset/segments/<NNNN_name>.txt`` and ``dataset/metadata.csv`` as in the repository (the root may be the repository
or its ``dataset/`` folder), and the audio the user brings (Harmonix distributes none): ``audio/<NNNN_name>.<mp3|wav|
flac|ogg>``, looked for in ``<root>/audio`` and ``<root>/dataset/audio``. An optional ``splits.tsv``
(``<stem>\\t<train|valid|test>``) gives a split; without it the task cross-validates by track.

``segments/*.txt``
    ``<boundary time s> <label>`` per line, single-space separated (the README says tabs; the files use spaces:
    split on whitespace once). Each line starts a segment; ``end`` marks the end of the last one. Seen in the real
    files and handled here: a first boundary after 0 s (591 of 912 files: the leading gap gets no label), files with
    two ``end`` lines (the first one ends the annotation), files with no ``end`` (the last segment runs to the end of
    the audio), numbered and odd labels (``verse2``, ``gtr``, ``worstthingever``: the raw label is kept; the task maps
    it). Blank lines and ``#`` comments are skipped.
``metadata.csv``
    ``File,Title,Artist,Release,Duration,BPM,Ratio Bars in 4,Time Signature,Genre,MusicBrainz Id,Acoustid Id``;
    titles hold quoted commas. Used for the genre and duration facts in ``info``; files without a segment file or
    without audio are listed, not fatal.
"""
from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .base import DatasetIndex, DatasetLayoutError, Example, check_root, describe_dir, missing_audio_info
from .splits import read_split_file

__all__ = ["Segmentation", "SegmentFileError", "read_segments", "load_harmonix", "AUDIO_EXTENSIONS"]

AUDIO_EXTENSIONS = (".mp3", ".wav", ".flac", ".ogg", ".m4a")
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


class SegmentFileError(DatasetLayoutError):
    """A segment file that cannot be read; the message names the file and the line."""


@dataclass(frozen=True)
class Segmentation:
    """The labelled segments of one track: ``boundaries`` ``(n,)`` segment starts (s, ascending), ``labels`` the raw
    labels (``n``), ``end`` the end of the last segment (s) or None when the file gives none (it then runs to the
    end of the audio)."""

    boundaries: np.ndarray
    labels: tuple[str, ...]
    end: float | None

    def intervals(self, duration: float | None = None) -> np.ndarray:
        """``(n, 2)`` segment intervals; the last ends at ``end``, else at ``duration``."""
        stop = self.end if self.end is not None else duration
        if stop is None:
            raise ValueError("the segmentation has no end: pass the audio duration")
        ends = np.append(self.boundaries[1:], max(stop, float(self.boundaries[-1])))
        return np.stack([self.boundaries, ends], axis=1)

    def to_canonical(self) -> dict:
        return {"boundaries": self.boundaries, "labels": list(self.labels), "end": self.end}


def read_segments(path: str | os.PathLike) -> Segmentation:
    """Read a Harmonix segment file (see the module docstring)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise SegmentFileError(f"{path}: cannot read ({e})") from None
    times, labels, end = [], [], None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(None, 1)
        if len(fields) != 2 or not re.fullmatch(_NUM, fields[0]):
            raise SegmentFileError(f"{path}, line {n}: expected '<time> <label>', got {raw.strip()!r}")
        t, label = float(fields[0]), fields[1].strip()
        if label.lower() == "end":
            if end is None:  # a second `end` (4 Harmonix files) adds nothing
                end = t
            continue
        if end is not None:
            raise SegmentFileError(f"{path}, line {n}: segment {label!r} after 'end'")
        if times and t < times[-1]:
            raise SegmentFileError(f"{path}, line {n}: time {t} goes back (previous {times[-1]})")
        times.append(t)
        labels.append(label)
    if not labels:
        raise SegmentFileError(f"{path}: no segments")
    return Segmentation(np.asarray(times, dtype=np.float64), tuple(labels), end)


def _dataset_dir(root: Path) -> Path:
    for d in (root / "dataset", root):
        if (d / "segments").is_dir():
            return d
    raise DatasetLayoutError(f"Harmonix: no segments/ folder in {root} or {root / 'dataset'} (expected the "
                             f"harmonixset repository: dataset/segments/NNNN_name.txt + dataset/metadata.csv, and "
                             f"audio/<NNNN_name>.mp3); found: {describe_dir(root)}")




def load_harmonix(root: str | os.PathLike) -> DatasetIndex:
    """Index the Harmonix Set at ``root`` (see the module docstring): one example per segment file with audio; target
    a :class:`Segmentation`."""
    root = check_root(root, "Harmonix")
    ds = _dataset_dir(root)
    meta = {}
    if (ds / "metadata.csv").is_file():
        with open(ds / "metadata.csv", newline="", encoding="utf-8", errors="replace") as f:
            for row in csv.DictReader(f):
                if row.get("File"):
                    meta[row["File"].strip()] = row
    audio_dirs = [d for d in (root / "audio", ds / "audio") if d.is_dir()]
    if not audio_dirs:
        raise DatasetLayoutError(f"Harmonix at {root}: no audio/ folder (Harmonix ships no audio: put yours as "
                                 f"audio/<NNNN_name>.mp3 beside dataset/); found: {describe_dir(root)}")
    audio = {}
    for d in audio_dirs:
        for p in sorted(d.iterdir()):
            if p.suffix.lower() in AUDIO_EXTENSIONS and p.stem not in audio:
                audio[p.stem] = p
    splits = read_split_file(root / "splits.tsv") if (root / "splits.tsv").is_file() else None
    examples, without_audio = [], []
    for seg in sorted((ds / "segments").glob("*.txt")):
        stem = seg.stem
        if stem not in audio:
            without_audio.append(stem)
            continue
        split = splits.get(stem, "") if splits is not None else ""
        examples.append(Example(stem, audio[stem].absolute(), split, read_segments(seg)))
    if not examples:
        raise DatasetLayoutError(f"Harmonix at {root}: {len(without_audio)} segment files but none has its audio "
                                 f"(expected e.g. audio/{without_audio[0] if without_audio else '0001_12step'}.mp3)")
    if splits is not None:
        examples = [e for e in examples if e.split]
    genres: dict[str, int] = {}
    for e in examples:
        g = (meta.get(e.id) or {}).get("Genre")
        if g:
            genres[g] = genres.get(g, 0) + 1
    info = {"segments_dir": os.path.relpath(ds / "segments", root), "n_without_audio": len(without_audio),
            "without_audio_sample": without_audio[:20], "genres": genres,
            "n_start_after_zero": sum(1 for e in examples if e.target.boundaries[0] > 0),
            "n_without_end": sum(1 for e in examples if e.target.end is None),
            "split_source": "splits.tsv" if splits is not None else "none (cross-validation)",
            **missing_audio_info(examples)}
    return DatasetIndex("harmonix", root, examples, None, "given" if splits is not None else "none", info)
