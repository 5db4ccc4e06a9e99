"""Beat-tracking sets: ``.beats`` files, the generic layout, GTZAN-Rhythm and Ballroom, and k-fold assignment.

``.beats`` files (the convention of GTZAN-Rhythm and Ballroom)
--------------------------------------------------------------
One beat per line: ``<time in s>[<whitespace><beat position in bar>]``, tab or space separated. Position 1 is the
downbeat; positions may be absent (then for every line of the file). Blank lines, trailing whitespace, a UTF-8 BOM and
lines starting with ``#`` are ignored. The legacy Ballroom format ``<time> <bar>.<beat>`` (``9.430022675 9.3`` = third
beat of bar 9; early versions of the CPJKU annotations) is recognised per file — when every position field has the
form ``<int>.<int>`` and at least one has a non-zero fraction — and read as beat ``<beat>``. Times are returned sorted
(stable, positions follow). Any other content raises :class:`BeatFileError` naming the file and the line.

Accepted layouts
----------------
``"generic"`` (:func:`load_beats`)
    ``<root>/audio/<id>.<wav|flac|au|mp3>`` + ``<root>/annotations/<id>.beats`` (flat folders; extensions
    case-insensitive; for two audio files with the same id the first of wav, flac, au, mp3 is used and the others are
    listed in ``info["duplicate_audio"]``). Optional ``<root>/splits.tsv``: ``<id>\\t<train|valid|test>`` lines (an
    ``id\\tsplit`` header line is allowed) → ``split_name="given"``; without it every split is ``""`` and
    ``split_name="none"`` (the runner then cross-validates with :func:`benchmarks.datasets.folds.kfold_assignments`).
``"gtzan"`` (:func:`load_gtzan_rhythm`) — GTZAN audio + GTZAN-Rhythm beats (Marchand & Peeters 2015)
    Audio: ``<genre>/<genre>.<5 digits>.<au|wav>`` as in the GTZAN download (``genres/``) or the Kaggle copy
    (``Data/genres_original/``), found by :func:`benchmarks.datasets.discovery.find_gtzan_audio` (the GTZAN
    tree's discovery, shared with the genre reader).
    Annotations: ``gtzan_<genre>_<5 digits>.beats`` (also ``<genre>.<5 digits>.beats``, ``<genre>_<5 digits>.beats``) as
    distributed by the TempoBeatDownbeat/gtzan_tempo_beat repository (folder ``beats/``, extracted as
    ``gtzan_tempo_beat-main/``; the set mirdata's ``gtzan_genre`` loader reads) and the beat_this annotations
    (``gtzan/annotations/beats/``), looked for in :data:`GTZAN_ANNOTATION_DIRS`, else anywhere under ``root``.
    Track id: ``<genre>.<5 digits>`` (e.g. ``"blues.00000"``).
``"ballroom"`` (:func:`load_ballroom`) — ISMIR 2004 Ballroom audio + CPJKU BallroomAnnotations (Krebs et al. 2013)
    Audio: ``BallroomData/<Genre>/<name>.wav`` (``data1.tar.gz``), looked for in :data:`BALLROOM_AUDIO_DIRS`, else
    anywhere under ``root``. Annotations: a flat folder of ``<name>.beats`` (the CPJKU/BallroomAnnotations repository,
    typically extracted as ``BallroomAnnotations-master/``), looked for in :data:`BALLROOM_ANNOTATION_DIRS`, else
    anywhere under ``root``. Names start with ``Albums-`` or ``Media-`` (e.g. ``Albums-Cafe_Paradiso-05``,
    ``Media-105901``); the track id is that name. The annotation README notes that ``Albums-Latin_Jam-06`` and
    ``Albums-Latin_Jam-15`` are the same recording; both are kept.

For the native layouts, audio without annotation and annotation without audio are listed in ``info`` (not fatal
unless nothing pairs); ``split_name="none"``. :func:`load_beat_dataset` picks the layout (``"auto"``: generic, then
GTZAN, then Ballroom) and says what each layout expects when none matches.
"""
from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .base import DatasetIndex, DatasetLayoutError, Example, check_root, describe_dir, missing_audio_info
from .discovery import (GENRE_ALTERNATION, GTZAN_AUDIO_DIRS, GTZAN_GENRES, find_files, find_gtzan_audio, gtzan_id,
                        relative, scan_files)
from .splits import read_split_file

__all__ = ["BeatAnnotation", "BeatFileError", "read_beats", "load_beats", "load_gtzan_rhythm", "load_ballroom",
           "load_beat_dataset", "AUDIO_EXTENSIONS", "GTZAN_GENRES", "GTZAN_AUDIO_DIRS",
           "GTZAN_ANNOTATION_DIRS", "BALLROOM_AUDIO_DIRS", "BALLROOM_ANNOTATION_DIRS", "LAYOUTS"]

#: Audio extensions of the generic layout, in order of preference when one id has several files.
AUDIO_EXTENSIONS = (".wav", ".flac", ".au", ".mp3")

#: Sub-folders of ``root`` searched for GTZAN-Rhythm ``.beats`` files, in order.
GTZAN_ANNOTATION_DIRS = ("gtzan_tempo_beat-main/beats", "gtzan_tempo_beat/beats",
                         "beat_this_annotations-main/gtzan/annotations/beats",
                         "beat_this_annotations/gtzan/annotations/beats", "GTZAN-Rhythm/beats", "annotations/beats",
                         "annotations", "beats", ".")
#: Sub-folders of ``root`` searched for Ballroom audio (``<dir>/<Genre>/<name>.wav``), in order.
BALLROOM_AUDIO_DIRS = ("BallroomData", "data1/BallroomData", "audio", ".")
#: Sub-folders of ``root`` searched for the CPJKU Ballroom ``.beats`` files, in order.
BALLROOM_ANNOTATION_DIRS = ("BallroomAnnotations-master", "BallroomAnnotations", "annotations", "beats", ".")

LAYOUTS = ("generic", "gtzan", "ballroom")

_GTZAN_ANN_RE = re.compile(rf"^(?:gtzan_)?({GENRE_ALTERNATION})[._](\d{{5}})\.beats$", re.IGNORECASE)
_BALLROOM_AUDIO_RE = re.compile(r"^((?:Albums|Media)-.+)\.wav$", re.IGNORECASE)
_BALLROOM_ANN_RE = re.compile(r"^((?:Albums|Media)-.+)\.beats$", re.IGNORECASE)

_INT_RE = re.compile(r"^\+?\d+(?:\.0*)?$")
_BARBEAT_RE = re.compile(r"^(\d+)\.(\d+)$")


class BeatFileError(DatasetLayoutError):
    """A ``.beats`` (or ``splits.tsv``) file could not be parsed; the message names the file and the line."""


@dataclass(eq=False)
class BeatAnnotation:
    """Reference beats of one track.

    Attributes
    ----------
    times : np.ndarray, float64, shape (n_beats,)
        Beat times in seconds, non-decreasing (the order ``mir_eval.beat`` expects).
    positions : np.ndarray of int64, shape (n_beats,), or None
        Position of each beat in its bar, 1 = downbeat; None when the annotation has no positions.
    """

    times: np.ndarray
    positions: np.ndarray | None = None

    def __post_init__(self):
        self.times = np.asarray(self.times, dtype=np.float64).reshape(-1)
        if self.times.size and (not np.isfinite(self.times).all() or np.any(np.diff(self.times) < 0)):
            raise ValueError("beat times must be finite and sorted (non-decreasing)")
        if self.positions is not None:
            pos = np.asarray(self.positions)
            if pos.shape != self.times.shape:
                raise ValueError(f"positions shape {pos.shape} != times shape {self.times.shape}")
            self.positions = pos.astype(np.int64)

    @property
    def downbeats(self) -> np.ndarray | None:
        """Times (s) of the beats at position 1, or None when there are no positions."""
        if self.positions is None:
            return None
        return self.times[self.positions == 1]

    def __len__(self) -> int:
        return int(self.times.size)

    def to_canonical(self) -> dict:
        """Machine-independent form for fingerprints (exact float64 / int64 bytes)."""
        return {"times": self.times, "positions": self.positions}


# ---------------------------------------------------------------------------------------------------------------------
# .beats parsing


def read_beats(path: str | os.PathLike) -> BeatAnnotation:
    """Parse a ``.beats`` file (format in the module docstring).

    Raises :class:`BeatFileError` (naming the file and the 1-based line) for an unparsable time, a negative or
    non-finite time, more than two fields, a position that is not an integer ≥ 1 (or ``<bar>.<beat>`` in a legacy
    file), or positions on some lines but not on others.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig", errors="strict")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    except OSError as e:
        raise BeatFileError(f"{path}: unreadable ({e})") from None
    times: list[float] = []
    tokens: list[tuple[int, str | None]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        fields = s.split()
        if len(fields) > 2:
            raise BeatFileError(f"{path}, line {lineno}: {line.strip()!r}: expected "
                                f"'<time in s>[<tab><beat position>]', got {len(fields)} fields")
        try:
            t = float(fields[0])
        except ValueError:
            raise BeatFileError(f"{path}, line {lineno}: {line.strip()!r}: beat time {fields[0]!r} is not a number "
                                "(expected '<time in s>[<tab><beat position>]')") from None
        if not np.isfinite(t) or t < 0:
            raise BeatFileError(f"{path}, line {lineno}: beat time {fields[0]!r} must be finite and >= 0")
        times.append(t)
        tokens.append((lineno, fields[1] if len(fields) == 2 else None))
    positions = _parse_positions(path, tokens)
    t_arr = np.asarray(times, dtype=np.float64)
    order = np.argsort(t_arr, kind="stable")
    return BeatAnnotation(times=t_arr[order], positions=None if positions is None else positions[order])


def _parse_positions(path: Path, tokens: list[tuple[int, str | None]]) -> np.ndarray | None:
    have = [(ln, tok) for ln, tok in tokens if tok is not None]
    if not have:
        return None
    if len(have) != len(tokens):
        without = next(ln for ln, tok in tokens if tok is None)
        raise BeatFileError(f"{path}, line {without}: no beat position, but line {have[0][0]} has one (positions must "
                            "be given on every line or on none)")
    if all(_INT_RE.match(tok) for _, tok in have):
        pos = np.array([int(float(tok)) for _, tok in have], dtype=np.int64)
    elif all(_BARBEAT_RE.match(tok) for _, tok in have):  # legacy Ballroom "<bar>.<beat>"
        pos = np.array([int(_BARBEAT_RE.match(tok).group(2)) for _, tok in have], dtype=np.int64)
    else:
        if any(_BARBEAT_RE.match(tok) and not _INT_RE.match(tok) for _, tok in have):
            ln, tok = next((ln, tok) for ln, tok in have if not _BARBEAT_RE.match(tok))
            raise BeatFileError(f"{path}, line {ln}: beat position {tok!r} is not '<bar>.<beat>' like the other lines "
                                "of this legacy-format file")
        ln, tok = next((ln, tok) for ln, tok in have if not _INT_RE.match(tok))
        raise BeatFileError(f"{path}, line {ln}: beat position {tok!r} is not an integer (1 = downbeat)")
    if (pos < 1).any():
        ln, tok = have[int(np.flatnonzero(pos < 1)[0])]
        raise BeatFileError(f"{path}, line {ln}: beat position {tok!r} must be >= 1 (1 = downbeat)")
    return pos


def _dup_info(root: Path, audio: dict[str, Path], adups: dict[str, list[Path]], ann: dict[str, Path],
              ndups: dict[str, list[Path]]) -> dict:
    """``info`` entries listing ids found more than once: the file used first, then the ones ignored."""
    return {"duplicate_audio": {k: [relative(p, root) for p in [audio[k], *v]] for k, v in sorted(adups.items())},
            "duplicate_annotations": {k: [relative(p, root) for p in [ann[k], *v]] for k, v in sorted(ndups.items())}}


def _build(name: str, root: Path, audio: dict[str, Path], ann: dict[str, Path], split_of: dict[str, str] | None,
           info: dict, expected: str) -> DatasetIndex:
    paired = sorted(set(audio) & set(ann))
    info["audio_without_annotation"] = sorted(set(audio) - set(ann))
    info["annotation_without_audio"] = sorted(set(ann) - set(audio))
    if not paired:
        raise DatasetLayoutError(
            f"{name}: no track pairs an audio file with a .beats annotation under {root} ({len(audio)} audio file(s), "
            f"{len(ann)} annotation(s) found; e.g. audio ids {sorted(audio)[:3]}, annotation ids {sorted(ann)[:3]}); "
            f"{expected}")
    examples = []
    for k in paired:
        split = "" if split_of is None else split_of[k]
        examples.append(Example(id=k, audio_path=audio[k], split=split, target=read_beats(ann[k])))
    index = DatasetIndex(name=name, root=root, examples=examples, label_names=None,
                         split_name="none" if split_of is None else "given", info=info)
    info["counts"] = index.counts()
    info["n_without_positions"] = sum(1 for e in examples if e.target.positions is None)
    info["n_empty_annotations"] = sum(1 for e in examples if len(e.target) == 0)
    info.update(missing_audio_info(examples))
    return index


# ---------------------------------------------------------------------------------------------------------------------
# generic layout

_GENERIC_EXPECTED = ("generic layout expects <root>/audio/<id>.<wav|flac|au|mp3> and <root>/annotations/<id>.beats, "
                     "optionally <root>/splits.tsv ('<id>\\t<train|valid|test>' lines)")




def load_beats(root: str | os.PathLike, name: str = "beats") -> DatasetIndex:
    """Index a beat set in the generic layout (see the module docstring).

    Parameters
    ----------
    root : path
        Folder holding ``audio/``, ``annotations/`` and optionally ``splits.tsv``.
    name : str
        ``DatasetIndex.name`` (default ``"beats"``).

    Returns
    -------
    DatasetIndex
        Targets :class:`BeatAnnotation`; ``split_name`` ``"given"`` (``splits.tsv``) or ``"none"``. ``info`` lists
        ``audio_without_annotation``, ``annotation_without_audio``, ``duplicate_audio``, ``splits_unknown_ids`` (ids of
        ``splits.tsv`` without a track), counts and missing-audio facts.

    Raises
    ------
    DatasetLayoutError
        Root, ``audio/`` or ``annotations/`` missing; nothing pairs; a track absent from ``splits.tsv``.
    BeatFileError
        An unparsable ``.beats`` or ``splits.tsv`` line (file and line named).
    """
    root = check_root(root, f"beat set {name!r}")
    audio_dir, ann_dir = root / "audio", root / "annotations"
    missing = [d.name + "/" for d in (audio_dir, ann_dir) if not d.is_dir()]
    if missing:
        raise DatasetLayoutError(f"{name}: {root} has no {' or '.join(missing)}; {_GENERIC_EXPECTED}. "
                                 f"Found: {describe_dir(root)}")
    rank = {ext: i for i, ext in enumerate(AUDIO_EXTENSIONS)}
    audio_files = sorted((p for p in scan_files(audio_dir, 1) if p.suffix.lower() in rank),
                         key=lambda p: (p.stem, rank[p.suffix.lower()], p.name))
    audio: dict[str, Path] = {}
    dups: dict[str, list[str]] = {}
    for p in audio_files:
        if p.stem in audio:
            dups.setdefault(p.stem, []).append(p.name)
        else:
            audio[p.stem] = p
    ann = {p.stem: p for p in scan_files(ann_dir, 1) if p.suffix.lower() == ".beats"}
    info: dict = {"layout": "generic", "audio_dir": "audio", "annotation_dir": "annotations",
                  "duplicate_audio": {k: [audio[k].name] + v for k, v in sorted(dups.items())}}
    split_of = None
    splits_path = root / "splits.tsv"
    if splits_path.is_file():
        split_of = read_split_file(splits_path)
        paired = sorted(set(audio) & set(ann))
        absent = [k for k in paired if k not in split_of]
        if absent:
            raise DatasetLayoutError(f"{splits_path}: {len(absent)} track(s) with audio and annotation are not listed "
                                     f"(e.g. {absent[:5]}); every track needs a '<id>\\t<train|valid|test>' line")
        info["splits_file"] = "splits.tsv"
        info["splits_unknown_ids"] = sorted(set(split_of) - set(paired))
    return _build(name, root, audio, ann, split_of, info, _GENERIC_EXPECTED)


# ---------------------------------------------------------------------------------------------------------------------
# GTZAN-Rhythm

_GTZAN_EXPECTED = ("GTZAN-Rhythm layout expects GTZAN audio <genre>/<genre>.<5 digits>.<au|wav> (e.g. "
                   "genres/blues/blues.00000.au) and annotations gtzan_<genre>_<5 digits>.beats (e.g. "
                   "gtzan_tempo_beat-main/beats/gtzan_blues_00000.beats) under the root")


def _find_gtzan(root: Path):
    audio, adups, awhere = find_gtzan_audio(root)
    ann, ndups, nwhere = find_files(root, GTZAN_ANNOTATION_DIRS, 1, _GTZAN_ANN_RE, gtzan_id)
    return audio, adups, awhere, ann, ndups, nwhere


def load_gtzan_rhythm(root: str | os.PathLike) -> DatasetIndex:
    """Index GTZAN audio + GTZAN-Rhythm beat annotations under ``root`` (layout in the module docstring).

    Returns a :class:`DatasetIndex` with ``name="gtzan"``, ids ``<genre>.<5 digits>``, ``split_name="none"``; ``info``
    records the folders used (``audio_dir``, ``annotation_dir``: a sub-folder or ``"recursive search"``), unpaired and
    duplicate files and ``genre_counts``. When a track has both ``.wav`` and ``.au``, the ``.wav`` is used.
    """
    root = check_root(root, "GTZAN-Rhythm")
    audio, adups, awhere, ann, ndups, nwhere = _find_gtzan(root)
    info: dict = {"layout": "gtzan", "audio_dir": awhere, "annotation_dir": nwhere,
                  **_dup_info(root, audio, adups, ann, ndups)}
    index = _build("gtzan", root, audio, ann, None, info, _GTZAN_EXPECTED)
    info["genre_counts"] = _genre_counts(e.id.split(".")[0] for e in index.examples)
    return index


# ---------------------------------------------------------------------------------------------------------------------
# Ballroom

_BALLROOM_EXPECTED = ("Ballroom layout expects audio BallroomData/<Genre>/<name>.wav (names 'Albums-…' or "
                      "'Media-…') and a flat folder of <name>.beats "
                      "(e.g. BallroomAnnotations-master/Albums-Cafe_Paradiso-05.beats) under the root")


def _ballroom_id(m: re.Match) -> str:
    return m.group(1)


def _find_ballroom(root: Path):
    audio, adups, awhere = find_files(root, BALLROOM_AUDIO_DIRS, 2, _BALLROOM_AUDIO_RE, _ballroom_id)
    ann, ndups, nwhere = find_files(root, BALLROOM_ANNOTATION_DIRS, 1, _BALLROOM_ANN_RE, _ballroom_id)
    return audio, adups, awhere, ann, ndups, nwhere


def load_ballroom(root: str | os.PathLike) -> DatasetIndex:
    """Index the Ballroom audio + CPJKU beat annotations under ``root`` (layout in the module docstring).

    Returns a :class:`DatasetIndex` with ``name="ballroom"``, ids = file names without extension,
    ``split_name="none"``; ``info`` records the folders used, unpaired and duplicate files and ``genre_counts`` (the
    audio's parent folder: ChaChaCha, Jive, …).
    """
    root = check_root(root, "Ballroom")
    audio, adups, awhere, ann, ndups, nwhere = _find_ballroom(root)
    info: dict = {"layout": "ballroom", "audio_dir": awhere, "annotation_dir": nwhere,
                  **_dup_info(root, audio, adups, ann, ndups)}
    index = _build("ballroom", root, audio, ann, None, info, _BALLROOM_EXPECTED)
    info["genre_counts"] = _genre_counts(e.audio_path.parent.name for e in index.examples)
    return index


def _genre_counts(genres) -> dict[str, int]:
    """Tracks per genre, sorted by genre name."""
    return dict(sorted(Counter(genres).items()))


# ---------------------------------------------------------------------------------------------------------------------
# layout dispatch and folds


def load_beat_dataset(root: str | os.PathLike, layout: str = "auto") -> DatasetIndex:
    """Index a beat set at ``root`` in ``layout`` (``"generic"``, ``"gtzan"``, ``"ballroom"``) or auto-detected.

    ``"auto"`` tries, in order: generic (``audio/`` and ``annotations/`` holding ``.beats`` files), GTZAN-Rhythm (GTZAN
    audio and ``gtzan_<genre>_NNNNN.beats`` found), Ballroom (``Albums-…``/``Media-…`` wavs and ``.beats`` found).
    Raises :class:`DatasetLayoutError` saying what each layout expects and what ``root`` holds when none matches.
    """
    if layout == "generic":
        return load_beats(root)
    if layout == "gtzan":
        return load_gtzan_rhythm(root)
    if layout == "ballroom":
        return load_ballroom(root)
    if layout != "auto":
        raise ValueError(f"unknown beat layout {layout!r}; expected 'auto' or one of {LAYOUTS}")
    r = check_root(root, "beat set")
    if (r / "audio").is_dir() and (r / "annotations").is_dir() and \
            any(p.suffix.lower() == ".beats" for p in scan_files(r / "annotations", 1)):
        return load_beats(r)
    audio, _, _, ann, _, _ = _find_gtzan(r)
    if set(audio) & set(ann):
        return load_gtzan_rhythm(r)
    audio, _, _, ann, _, _ = _find_ballroom(r)
    if set(audio) & set(ann):
        return load_ballroom(r)
    raise DatasetLayoutError(
        f"beat set at {r}: no known layout matches (found: {describe_dir(r)}).\n"
        f"  - {_GENERIC_EXPECTED};\n  - {_GTZAN_EXPECTED};\n  - {_BALLROOM_EXPECTED}.")
