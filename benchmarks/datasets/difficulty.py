"""Performance difficulty: PianoSyllabus (PSyllabus) pieces with an 11-level grade (0–10).

The public package's file layout is not confirmed (``../shared/spec/datasets.md`` §3: the code repository reads
files that are not in it), so this reader takes a simple, documented layout that any copy can be put in:

``metadata.csv`` (or ``metadata.tsv``) — one row per piece, UTF-8, a header with at least
    ``id``     the piece key (any text; PSyllabus keys such as ``Absil J.Humoresque Op 126 No 3`` hold spaces and
               non-ASCII letters);
    ``grade``  an integer 0–10 (also accepted as ``level`` or ``difficulty``);
    and optionally ``split`` (``train`` / ``valid`` / ``test``; without it the task cross-validates by piece),
    ``audio`` (the audio path relative to the folder), ``composer``, ``title``.
``audio/<id>.<mp3|wav|flac|ogg>`` — the recordings (when ``audio`` is not given).

Rows whose audio is missing are listed in ``info``; a grade outside 0–10 or a duplicated id is an error naming the
file and the row.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

from .base import DatasetIndex, DatasetLayoutError, Example, check_root, describe_dir, missing_audio_info

__all__ = ["load_pianosyllabus", "N_GRADES", "LAYOUT"]

N_GRADES = 11
AUDIO_EXTENSIONS = (".mp3", ".wav", ".flac", ".ogg", ".m4a")
LAYOUT = ("metadata.csv (columns id, grade 0-10, optional split train|valid|test, optional audio path) + "
          "audio/<id>.<mp3|wav|flac|ogg>")


def _metadata(root: Path) -> Path:
    for name in ("metadata.csv", "metadata.tsv"):
        if (root / name).is_file():
            return root / name
    raise DatasetLayoutError(f"PianoSyllabus: no metadata.csv in {root}; expected {LAYOUT}. Found: "
                             f"{describe_dir(root)}")


def load_pianosyllabus(root: str | os.PathLike) -> DatasetIndex:
    """Index a PianoSyllabus folder (see the module docstring); targets are int grades 0–10."""
    root = check_root(root, "PianoSyllabus")
    meta = _metadata(root)
    with open(meta, newline="", encoding="utf-8-sig") as f:
        sample = f.read(4096)
        f.seek(0)
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;") if sample else csv.excel
        rows = list(csv.DictReader(f, dialect=dialect))
    if not rows:
        raise DatasetLayoutError(f"{meta}: no rows")
    cols = {c.strip().lower(): c for c in rows[0].keys() if c}
    grade_col = next((cols[c] for c in ("grade", "level", "difficulty") if c in cols), None)
    if "id" not in cols or grade_col is None:
        raise DatasetLayoutError(f"{meta}: the header must name the columns id and grade (found: "
                                 f"{', '.join(cols.values())})")
    examples, seen, no_audio = [], set(), []
    has_split = "split" in cols
    for n, row in enumerate(rows, 2):
        pid = (row.get(cols["id"]) or "").strip()
        if not pid:
            continue
        if pid in seen:
            raise DatasetLayoutError(f"{meta}, row {n}: id {pid!r} appears twice")
        seen.add(pid)
        try:
            grade = int(float((row.get(grade_col) or "").strip()))
        except ValueError:
            raise DatasetLayoutError(f"{meta}, row {n}: grade {row.get(grade_col)!r} is not a number") from None
        if not 0 <= grade < N_GRADES:
            raise DatasetLayoutError(f"{meta}, row {n}: grade {grade} outside 0-{N_GRADES - 1}")
        split = (row.get(cols["split"]) or "").strip().lower() if has_split else ""
        split = {"val": "valid", "validation": "valid"}.get(split, split)
        if split not in ("train", "valid", "test", ""):
            raise DatasetLayoutError(f"{meta}, row {n}: split {split!r} is not train, valid or test")
        given = (row.get(cols["audio"]) or "").strip() if "audio" in cols else ""
        audio = (root / given) if given else next(
            (root / "audio" / f"{pid}{ext}" for ext in AUDIO_EXTENSIONS if (root / "audio" / f"{pid}{ext}").is_file()),
            None)
        if audio is None or not audio.is_file():
            no_audio.append(pid)
            continue
        examples.append(Example(pid, audio.absolute(), split, grade))
    if not examples:
        raise DatasetLayoutError(f"PianoSyllabus at {root}: {len(seen)} pieces in {meta.name} but no audio found "
                                 f"(expected audio/<id>.mp3, e.g. audio/{next(iter(seen), 'x')}.mp3)")
    examples.sort(key=lambda e: e.id)
    split_given = has_split and all(e.split for e in examples)
    if has_split and not split_given:
        raise DatasetLayoutError(f"{meta}: the split column is empty for some pieces (fill it for every row, or drop "
                                 "the column to cross-validate)")
    counts = [0] * N_GRADES
    for e in examples:
        counts[e.target] += 1
    info = {"metadata": meta.name, "grade_counts": counts, "n_without_audio": len(no_audio),
            "without_audio_sample": no_audio[:20], "split_source": "metadata split column" if split_given else
            "none (cross-validation)", **missing_audio_info(examples)}
    return DatasetIndex("pianosyllabus", root, examples, [str(g) for g in range(N_GRADES)],
                        "given" if split_given else "none", info)
