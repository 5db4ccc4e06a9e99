"""Chord-recognition sets: ``.lab`` files and the real layouts of Isophonics, McGill Billboard, RWC-Pop and Chords1217.

``.lab`` files (``../shared/spec/datasets.md`` §1)
-------------------------------------------------
One segment per line: ``<start s> <end s> <Harte label>``, separated by tabs or spaces (the delimiter varies between
sets: split on any whitespace). Times may be in scientific notation (``7.3469387e-2``); blank lines (Billboard ends
every file with one), ``#`` comments, CRLF endings and a last line without a newline are accepted. A label without
a quality (``G``) is major, as in ``mir_eval``. Anything else raises :class:`ChordFileError` naming the file and line.

Layouts (:func:`load_chords`, ``layout="auto"`` finds every one present under the root, at most three folders deep)
----------------------------------------------------------------------------------------------------------------------
``"lab-tree"`` — Isophonics and Chords1217
    A ``chordlab/`` folder of ``.lab`` files, flat (Chords1217: ``chordlab/<id>.lab``) or nested (Isophonics:
    ``chordlab/The Beatles/01_-_Please_Please_Me/01_-_I_Saw_Her_Standing_There.lab``, also inside the tarballs'
    ``The Beatles Annotations/`` folder). The track id is the path under ``chordlab/`` without ``.lab``. Audio:
    ``audio/<id>.<wav|flac|mp3|ogg>``, or without the first folder (mirdata's Beatles layout
    ``audio/01_-_Please_Please_Me/….wav``), looked for in the ``audio/`` folders beside ``chordlab/`` and at the
    root. Chords1217's fold files (``train0{0..4}.csv`` / ``test0{0..4}.csv``, one id per line, in the root or
    ``data/``) are read by :func:`read_fold_files`.
``"billboard"`` — McGill Billboard 2.0.1 (MIREX files)
    ``billboard-2.0.1-mirex/NNNN/majmin.lab`` (or mirdata's ``McGill-Billboard/NNNN/majmin.lab``) and the index
    ``billboard-2.0-index.csv`` (``id,chart_date,target_rank,actual_rank,title,artist,peak_rank,weeks_on_chart``).
    Only ids with a non-empty title are annotated; titles and artists come from the index, never from the
    ``salami_chords.txt`` headers (six files swap them). Audio: ``audio/NNNN.<ext>`` or ``audio/NNNN/audio.<ext>``.
    The MIREX ``majmin.lab`` files contain ``X`` (unknown) and enharmonic roots (``Cb``, ``Fb``, ``A#``).
``"rwc"`` — RWC-Pop chords (MARL / AIST annotations)
    ``RWC_Pop_Chords/N001-M01-T01.lab`` … (also inside ``AIST.RWC-MDB-P-2001.CHORD/``). Audio: mirdata's
    ``audio/rwc-p-m01/1.wav`` (CD folder, track number) or ``audio/N001-M01-T01.<ext>``.

Every layout yields examples whose target is a :class:`ChordAnnotation` (intervals and raw labels; the task maps them
to its vocabulary). When several layouts are found, their tracks are merged and ids are prefixed with the layout
(``billboard/0003``).
"""
from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .base import DatasetIndex, DatasetLayoutError, Example, check_root, describe_dir, missing_audio_info

__all__ = ["ChordAnnotation", "ChordFileError", "read_lab", "load_chords", "read_fold_files", "LAYOUTS",
           "AUDIO_EXTENSIONS"]

LAYOUTS = ("lab-tree", "billboard", "rwc")
AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".au")
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_MAX_DEPTH = 3


class ChordFileError(DatasetLayoutError):
    """A ``.lab`` file that cannot be read; the message names the file and the line."""


@dataclass(frozen=True)
class ChordAnnotation:
    """Chord segments of one track: ``intervals`` ``(n, 2)`` float64 seconds (start, end), ``labels`` the Harte
    labels as written (``N`` = no chord, ``X`` = unknown)."""

    intervals: np.ndarray
    labels: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def span(self) -> tuple[float, float]:
        return (float(self.intervals[0, 0]), float(self.intervals[-1, 1])) if len(self) else (0.0, 0.0)

    def to_canonical(self) -> dict:
        return {"intervals": self.intervals, "labels": list(self.labels)}


def read_lab(path: str | os.PathLike) -> ChordAnnotation:
    """Read a ``.lab`` file (see the module docstring)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig", errors="strict")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    except OSError as e:
        raise ChordFileError(f"{path}: cannot read ({e.strerror or e})") from None
    starts, ends, labels = [], [], []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) < 3 or not re.fullmatch(_NUM, fields[0]) or not re.fullmatch(_NUM, fields[1]):
            raise ChordFileError(f"{path}, line {n}: expected '<start> <end> <label>', got {raw.strip()!r}")
        start, end = float(fields[0]), float(fields[1])
        if not (np.isfinite(start) and np.isfinite(end)) or end < start:
            raise ChordFileError(f"{path}, line {n}: segment end {end} before its start {start}")
        starts.append(start)
        ends.append(end)
        labels.append(" ".join(fields[2:]))
    if not labels:
        raise ChordFileError(f"{path}: no chord segments")
    order = np.argsort(np.asarray(starts), kind="stable")
    intervals = np.stack([np.asarray(starts)[order], np.asarray(ends)[order]], axis=1).astype(np.float64)
    return ChordAnnotation(intervals, tuple(labels[i] for i in order))


# ----------------------------------------------------------------------------------------------------------------
# finding things
# ----------------------------------------------------------------------------------------------------------------
def _dirs(root: Path, depth: int = _MAX_DEPTH):
    """Folders under ``root`` (itself included) down to ``depth`` levels, in sorted order."""
    stack = [(root, 0)]
    while stack:
        d, k = stack.pop()
        yield d
        if k < depth:
            try:
                subs = sorted((e for e in os.scandir(d) if e.is_dir()), key=lambda e: e.name, reverse=True)
            except OSError:
                continue
            stack.extend((Path(e.path), k + 1) for e in subs)


def _audio_for(stems: list[Path]) -> Path | None:
    """The first existing audio file among ``stem + ext`` for the candidate stems (extension case-insensitive)."""
    for stem in stems:
        parent = stem.parent
        if not parent.is_dir():
            continue
        for ext in AUDIO_EXTENSIONS:
            for cand in (stem.with_name(stem.name + ext), stem.with_name(stem.name + ext.upper())):
                if cand.is_file():
                    return cand
    return None


def _audio_roots(root: Path, near: Path) -> list[Path]:
    out = []
    for d in (near.parent / "audio", near / "audio", root / "audio", root):
        if d not in out:
            out.append(d)
    return out


# ----------------------------------------------------------------------------------------------------------------
# layouts
# ----------------------------------------------------------------------------------------------------------------
def _lab_tree(root: Path, chordlab: Path) -> list[tuple[str, Path, Path | None]]:
    """(id, lab, audio) of a ``chordlab/`` folder (Isophonics, Chords1217)."""
    out = []
    for lab in sorted(chordlab.rglob("*")):
        if not lab.is_file() or lab.suffix.lower() != ".lab":
            continue
        rel = lab.relative_to(chordlab).with_suffix("")
        stems = []
        for audio_root in _audio_roots(root, chordlab):
            stems.append(audio_root / rel)
            if len(rel.parts) > 1:
                stems.append(audio_root.joinpath(*rel.parts[1:]))
        out.append((rel.as_posix(), lab, _audio_for(stems)))
    return out


def _billboard(root: Path, folder: Path) -> tuple[list[tuple[str, Path, Path | None]], dict]:
    index_csv = next((p for d in (folder, folder.parent, root) for p in sorted(d.glob("billboard*index*.csv"))),
                     None)
    titled, meta = None, {}
    if index_csv is not None:
        with open(index_csv, newline="", encoding="utf-8", errors="replace") as f:
            rows = list(csv.DictReader(f))
        if not rows or "id" not in rows[0] or "title" not in rows[0]:
            raise DatasetLayoutError(f"{index_csv}: expected the Billboard index header "
                                     "id,chart_date,target_rank,actual_rank,title,artist,peak_rank,weeks_on_chart")
        titled = {f"{int(r['id']):04d}" for r in rows if (r.get("title") or "").strip()}
        meta = {f"{int(r['id']):04d}": {"title": r["title"].strip(), "artist": (r.get("artist") or "").strip()}
                for r in rows if (r.get("title") or "").strip()}
    out = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and p.name.isdigit()):
        lab = sub / "majmin.lab"
        if not lab.is_file():
            continue
        tid = f"{int(sub.name):04d}"
        if titled is not None and tid not in titled:
            continue
        stems = []
        for audio_root in _audio_roots(root, folder):
            stems += [audio_root / tid, audio_root / tid / "audio", audio_root / sub.name / "audio"]
        out.append((tid, lab, _audio_for(stems)))
    info = {"index": str(index_csv) if index_csv else None, "n_annotated_in_index": len(titled or ()),
            "titles_from": "index csv" if index_csv else "none (no billboard-2.0-index.csv found)"}
    return out, info | ({"metadata_sample": dict(list(meta.items())[:3])} if meta else {})


_RWC = re.compile(r"^N(\d{3})-M(\d{2})-T(\d{2})$")


def _rwc(root: Path, folder: Path) -> list[tuple[str, Path, Path | None]]:
    out = []
    for lab in sorted(folder.glob("*.lab")):
        m = _RWC.match(lab.stem)
        if not m:
            continue
        cd, track = int(m.group(2)), int(m.group(3))
        stems = []
        for audio_root in _audio_roots(root, folder) + _audio_roots(root, folder.parent):
            stems += [audio_root / f"rwc-p-m{cd:02d}" / str(track), audio_root / lab.stem]
        out.append((lab.stem, lab, _audio_for(stems)))
    return out


def _detect(root: Path) -> list[tuple[str, Path]]:
    """(layout, folder) of every chord layout under ``root``."""
    found = []
    for d in _dirs(root):
        name = d.name.lower()
        if name == "chordlab" and any(p.suffix.lower() == ".lab" for p in d.rglob("*.lab")):
            found.append(("lab-tree", d))
        elif (name.startswith("billboard") and "mirex" in name) or name == "mcgill-billboard":
            if any((s / "majmin.lab").is_file() for s in d.iterdir() if s.is_dir()):
                found.append(("billboard", d))
        elif name == "rwc_pop_chords" and any(d.glob("N*-M*-T*.lab")):
            found.append(("rwc", d))
    # a chordlab/ inside another detected lab tree is the same tree
    return [(lay, d) for lay, d in found
            if not any(o != d and lay2 == "lab-tree" and o in d.parents for lay2, o in found)]


def load_chords(root: str | os.PathLike, layout: str = "auto") -> DatasetIndex:
    """Index the chord set(s) at ``root`` (see the module docstring). ``split_name`` is ``"folds"`` when Chords1217
    fold files are found (:func:`read_fold_files` gives them), else ``"none"`` (the task cross-validates)."""
    root = check_root(root, "chords")
    if layout != "auto" and layout not in LAYOUTS:
        raise ValueError(f"unknown chord layout {layout!r}; expected 'auto' or one of {LAYOUTS}")
    found = [(lay, d) for lay, d in _detect(root) if layout in ("auto", lay)]
    if not found:
        raise DatasetLayoutError(
            f"chords: no chord annotations found under {root} (looked {_MAX_DEPTH} folders deep for chordlab/ "
            "(Isophonics, Chords1217), billboard-2.0.1-mirex/NNNN/majmin.lab or McGill-Billboard/, and "
            f"RWC_Pop_Chords/); found at the root: {describe_dir(root)}")
    merged, info = [], {"layouts": []}
    for lay, folder in found:
        if lay == "lab-tree":
            items, extra = _lab_tree(root, folder), {}
        elif lay == "billboard":
            items, extra = _billboard(root, folder)
        else:
            items, extra = _rwc(root, folder), {}
        info["layouts"].append({"layout": lay, "folder": os.path.relpath(folder, root), "n_tracks": len(items),
                                **extra})
        prefix = f"{lay}/" if len(found) > 1 else ""
        merged += [(prefix + tid, lab, audio) for tid, lab, audio in items]
    examples, no_audio = [], []
    for tid, lab, audio in merged:
        if audio is None:
            no_audio.append(tid)
            continue
        examples.append(Example(tid, audio.absolute(), "", read_lab(lab)))
    if not examples:
        raise DatasetLayoutError(f"chords at {root}: {len(merged)} annotated track(s) but no audio beside them "
                                 "(expected audio/<id>.<wav|flac|mp3|ogg> next to the annotations; e.g. for "
                                 f"{merged[0][0] if merged else '?'})")
    examples.sort(key=lambda e: e.id)
    info["n_without_audio"] = len(no_audio)
    info["without_audio_sample"] = no_audio[:20]
    info.update(missing_audio_info(examples))
    folds = read_fold_files(root)
    if folds is not None:
        ids = {e.id for e in examples}
        info["fold_files"] = {"n_folds": len(folds), "n_ids": len({i for f in folds for part in f for i in part}),
                              "n_without_data": len({i for f in folds for part in f for i in part} - ids)}
    return DatasetIndex("chords", root, examples, None, "folds" if folds is not None else "none", info)


def read_fold_files(root: str | os.PathLike) -> list[tuple[list[str], list[str], list[str]]] | None:
    """Chords1217's five folds ``(train, valid, test)`` from ``train0{k}.csv`` / ``test0{k}.csv`` (one id per line;
    in ``root`` or ``root/data``), or None when there are none.

    Validation, as the music-x-lab code does it: the last ``len(train) // 4`` ids of a ``np.random.seed(20190326)``
    permutation of each train file (the permutation is drawn once per fold, after seeding; the repository's exact
    call order is not confirmed, see ``datasets.md``).
    """
    root = Path(root)
    for d in (root, root / "data"):
        trains = sorted(d.glob("train0[0-9].csv"))
        if trains:
            break
    else:
        return None
    folds = []
    for tr in trains:
        te = tr.with_name("test" + tr.name[len("train"):])
        if not te.is_file():
            raise DatasetLayoutError(f"{tr} has no matching {te.name} (Chords1217 fold files come in pairs)")
        train = [x.strip() for x in tr.read_text().splitlines() if x.strip()]
        test = [x.strip() for x in te.read_text().splitlines() if x.strip()]
        perm = np.random.RandomState(20190326).permutation(len(train))
        n_valid = len(train) // 4
        valid_idx = set(perm[len(train) - n_valid:].tolist()) if n_valid else set()
        folds.append(([t for i, t in enumerate(train) if i not in valid_idx],
                      [t for i, t in enumerate(train) if i in valid_idx], test))
    return folds
