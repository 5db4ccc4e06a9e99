"""File discovery shared by the readers: sorted directory scans, id-keyed file collection with duplicates, the
"first candidate folder that holds a match, else search the whole root" rule, and the GTZAN audio tree.

GTZAN audio (:func:`find_gtzan_audio`; used by the GTZAN-Rhythm beat reader and the GTZAN genre reader)
-------------------------------------------------------------------------------------------------------
``<genre>/<genre>.<nnnnn>.<au|wav>`` (extension and genre case-insensitive; an unpadded number is padded) as in the GTZAN download
(``genres/``) or the Kaggle copy (``genres_original/``, ``Data/genres_original/``): the first folder of
:data:`GTZAN_AUDIO_DIRS` under the root that holds a match is used (files down to one genre folder deep), else every
file under the root. The track id is ``<genre>.<5 digits>`` in lower case (``"blues.00000"``); when a track has both
a ``.wav`` and an ``.au``, the ``.wav`` is used and the other is listed as a duplicate.

Any ``<dir>/<genre>/<file>`` tree (one folder per class) is found the same way with :func:`find_files` and a file
name pattern whose groups give the id.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

__all__ = ["scan_files", "walk_files", "collect_by_id", "find_files", "Found", "relative", "GTZAN_GENRES",
           "GTZAN_AUDIO_DIRS", "GTZAN_AUDIO_RE", "gtzan_id", "find_gtzan_audio", "gtzan_genre"]

GTZAN_GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
#: Sub-folders of a root searched for GTZAN audio (``<dir>/<genre>/<genre>.NNNNN.<au|wav>``), in order.
GTZAN_AUDIO_DIRS = ("genres", "genres_original", "Data/genres_original", "gtzan/genres", "gtzan_genre/genres",
                    "GTZAN/genres", "audio", ".")
GENRE_ALTERNATION = "|".join(GTZAN_GENRES)
#: A GTZAN audio file name: groups (genre, number, extension); numbers without zero padding (``blues.7.wav``) match.
GTZAN_AUDIO_RE = re.compile(rf"^({GENRE_ALTERNATION})\.(\d+)\.(au|wav)$", re.IGNORECASE)


def _listdir(d: Path) -> list[os.DirEntry]:
    try:
        return sorted(os.scandir(d), key=lambda e: e.name)
    except OSError:
        return []


def scan_files(d: Path, depth: int) -> Iterator[Path]:
    """Files under ``d`` down to ``depth`` levels (1 = ``d`` itself), in sorted order, hidden entries skipped."""
    for e in _listdir(d):
        if e.name.startswith("."):
            continue
        if e.is_file():
            yield Path(e.path)
        elif e.is_dir() and depth > 1:
            yield from scan_files(Path(e.path), depth - 1)


def walk_files(root: Path) -> Iterator[Path]:
    """Every file under ``root`` (recursive, sorted, hidden entries skipped, symlinked dirs not followed)."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in sorted(filenames):
            if not f.startswith("."):
                yield Path(dirpath) / f


def collect_by_id(files: Iterable[Path], pattern: re.Pattern,
                  key: Callable[[re.Match], str]) -> tuple[dict[str, Path], dict[str, list[Path]]]:
    """``{id: first path}`` for the files whose name matches ``pattern`` (id = ``key(match)``), plus duplicates."""
    found: dict[str, Path] = {}
    dups: dict[str, list[Path]] = {}
    for f in files:
        m = pattern.match(f.name)
        if not m:
            continue
        k = key(m)
        if k in found:
            dups.setdefault(k, []).append(f)
        else:
            found[k] = f
    return found, dups


@dataclass
class Found:
    """Files found by :func:`find_files`: ``files`` by id, ``duplicates`` (ids found more than once: the files not
    used), ``where`` (the sub-folder used, relative, or ``"recursive search"``)."""

    files: dict[str, Path]
    duplicates: dict[str, list[Path]] = field(default_factory=dict)
    where: str = ""

    def __iter__(self):  # (files, duplicates, where), as the readers unpack it
        return iter((self.files, self.duplicates, self.where))


def find_files(root: Path, candidates: Iterable[str], depth: int, pattern: re.Pattern,
               key: Callable[[re.Match], str], prefer: Callable[[Path], object] | None = None) -> Found:
    """Look in ``root/<candidate>`` (down to ``depth`` levels; the first candidate with a match wins), else
    recursively under ``root``. ``prefer(path) -> sortable`` orders files of the same id (smallest first, used)."""
    for c in candidates:
        d = root / c
        if d.is_dir():
            files = list(scan_files(d, depth))
            if prefer is not None:
                files.sort(key=prefer)
            found, dups = collect_by_id(files, pattern, key)
            if found:
                return Found(found, dups, Path(c).as_posix())
    files = list(walk_files(root))
    if prefer is not None:
        files.sort(key=prefer)
    found, dups = collect_by_id(files, pattern, key)
    return Found(found, dups, "recursive search")


def relative(p: Path, root: Path) -> str:
    """``p`` relative to ``root`` (POSIX), or ``p`` as is when it is not under ``root``."""
    try:
        return p.relative_to(root).as_posix()
    except ValueError:
        return str(p)


def gtzan_id(m: re.Match) -> str:
    """``<genre>.<5 digits>`` in lower case from a match whose first two groups are the genre and the number (a
    number written without zero padding is padded: ``blues.7`` → ``blues.00007``)."""
    return f"{m.group(1).lower()}.{int(m.group(2)):05d}"


def gtzan_genre(track_id: str) -> str:
    """The genre of a GTZAN track id (``"blues.00000"`` → ``"blues"``)."""
    return track_id.split(".", 1)[0]


def _prefer_wav(p: Path):
    return (0 if p.suffix.lower() == ".wav" else 1, p.as_posix())


def find_gtzan_audio(root: str | os.PathLike) -> Found:
    """The GTZAN audio files under ``root`` by track id (see the module docstring). A file in another genre's folder
    (``rock/pop.00009.wav``) is not a GTZAN clip and is left out."""
    found = find_files(Path(root), GTZAN_AUDIO_DIRS, 2, GTZAN_AUDIO_RE, gtzan_id, prefer=_prefer_wav)
    misplaced = [k for k, p in found.files.items()
                 if p.parent.name.lower() in GTZAN_GENRES and p.parent.name.lower() != gtzan_genre(k)]
    for k in misplaced:
        del found.files[k]
    return found
