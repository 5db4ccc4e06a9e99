"""GTZAN genre reader: the audio tree plus the fault-filtered split (443 / 197 / 290), or a stratified 10-fold split.

Layout (``../shared/spec/datasets.md`` §5)
-----------------------------------------
Audio, found by :func:`benchmarks.datasets.discovery.find_gtzan_audio` (shared with the GTZAN-Rhythm beat reader):
``<genre>/<genre>.<nnnnn>.<au|wav>`` under ``<root>/genres/``, ``<root>/genres_original/``,
``<root>/Data/genres_original/`` (the Kaggle copy), … (the original archive has ``.au``, the Kaggle copy ``.wav``).
Numbers written without zero padding (``blues.7.wav``) are read as ``blues.00007``.

Split lists (jongpillee/music_dataset_split ``GTZAN_split/``, byte-identical to coreyker/dnn-mgr):
``train_filtered.txt`` (443 lines), ``valid_filtered.txt`` (197), ``test_filtered.txt`` (290), one relative path per
line (``blues/blues.00029.wav``), in ``split_dir`` when given, else the first of ``<root>/``, ``<root>/split/``,
``<root>/split/gtzan/``, ``<root>/GTZAN_split/`` that holds ``train_filtered.txt``. CRLF endings, blank lines and a
``.au`` suffix in the lists are accepted.

Splits
------
``"filtered"`` (default): the three lists, used as given (930 of the 1,000 clips; the 70 others are left out and
    counted in ``info["n_unlisted"]``). ``split_name = "fault-filtered"``.
``"cv10"``: every clip of the tree, ``Example.split = ""``, with a 10-fold assignment stratified by genre and seeded
    (:func:`stratified_folds`) in
    ``info["cv_folds"]`` (``{id: fold}``, folds 0-9); ``split_name = "cv10"``. The HEAR / X-ARES protocol.

``Example.id`` is ``<genre>.<nnnnn>``; ``Example.target`` is ``{"genre": name}``; ``label_names`` are the 10 genres in
the order of :data:`GENRES` (jukemir / MARBLE class order). ``jazz.00054`` is in ``train_filtered.txt`` and is corrupt
in some copies: it is indexed like any clip, and the audio decoder reports it (the runner skips and lists it).
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from .base import (DatasetIndex, DatasetLayoutError, Example, absolute, check_root, describe_dir, missing_audio_info,
                   relative_or_absolute)
from .discovery import GTZAN_GENRES, find_gtzan_audio

__all__ = ["GENRES", "FILTERED_SIZES", "SPLIT_FILES", "find_gtzan_audio", "read_split_list", "load_gtzan",
           "stratified_folds", "KNOWN_CORRUPT"]

GENRES = GTZAN_GENRES
FILTERED_SIZES = {"train": 443, "valid": 197, "test": 290}
SPLIT_FILES = {"train": "train_filtered.txt", "valid": "valid_filtered.txt", "test": "test_filtered.txt"}
#: Clips known to be undecodable in public copies (spec §5: panns_transfer_to_gtzan issue #10).
KNOWN_CORRUPT = ("jazz.00054",)

_SPLIT_DIRS = (".", "split", "split/gtzan", "GTZAN_split")
_NAME = re.compile(r"^(?P<genre>[a-z]+)\.(?P<num>\d+)\.(?P<ext>au|wav)$", re.IGNORECASE)
_EXPECTED = ("expected the GTZAN layout: <root>/genres/<genre>/<genre>.<nnnnn>.<au|wav> (or genres_original/) and, "
             "for the fault-filtered split, train_filtered.txt / valid_filtered.txt / test_filtered.txt in <root> "
             "or <root>/split/")


def _clip_id(genre: str, num: str) -> str:
    return f"{genre.lower()}.{int(num):05d}"


def read_split_list(path: Path) -> list[tuple[str, str]]:
    """``[(clip id, genre)]`` of one split list (``blues/blues.00029.wav`` per line; CRLF and blank lines accepted).

    Raises :class:`DatasetLayoutError` naming the file and line for a line that is not ``<genre>/<genre>.<n>.<ext>``
    with a known genre and a folder that matches the name.
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetLayoutError(f"{path}: unreadable split list ({e})") from None
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s:
            continue
        parts = s.replace("\\", "/").split("/")
        m = _NAME.match(parts[-1])
        folder = parts[-2].lower() if len(parts) >= 2 else None
        if not m or m["genre"].lower() not in GENRES or (folder is not None and folder != m["genre"].lower()):
            raise DatasetLayoutError(f"{path}, line {n}: {s!r} is not '<genre>/<genre>.<nnnnn>.wav' with one of "
                                     f"the 10 GTZAN genres")
        out.append((_clip_id(m["genre"], m["num"]), m["genre"].lower()))
    return out


def _split_dir(root: Path, split_dir: str | os.PathLike | None) -> Path:
    if split_dir is not None:
        d = absolute(split_dir)
        missing = [f for f in SPLIT_FILES.values() if not (d / f).is_file()]
        if missing:
            raise DatasetLayoutError(f"GTZAN: {d / missing[0]} not found; expected {', '.join(SPLIT_FILES.values())} "
                                     f"in {d}. Found: {describe_dir(d)}")
        return d
    for sub in _SPLIT_DIRS:
        d = root / sub if sub != "." else root
        if (d / SPLIT_FILES["train"]).is_file():
            missing = [f for f in SPLIT_FILES.values() if not (d / f).is_file()]
            if missing:
                raise DatasetLayoutError(f"GTZAN: {d / missing[0]} not found beside {d / SPLIT_FILES['train']} "
                                         "(the fault-filtered split needs all three lists)")
            return d
    raise DatasetLayoutError(f"GTZAN: {root / SPLIT_FILES['train']} not found (nor under split/, split/gtzan/, "
                             f"GTZAN_split/): the fault-filtered split needs train_filtered.txt, valid_filtered.txt "
                             f"and test_filtered.txt; use split='cv10' for 10-fold cross-validation over the tree. "
                             f"Found at {root}: {describe_dir(root)}")


def stratified_folds(ids: list[str], labels: list[str], k: int = 10, seed: int = 0) -> dict[str, int]:
    """``{id: fold}``: ``k`` folds stratified by label, seeded.

    Within each label (labels in sorted order), the ids are ordered by ``sha256(f"{seed}\\0{id}")`` and dealt to the
    folds round-robin, each label starting where the previous one stopped: every fold gets ``n_label // k`` or one
    more of each label, fold sizes differ by at most one, and the result depends only on the ids, labels and seed (not
    on input order, platform or library versions). Works for labels with fewer than ``k`` ids.
    """
    by_label: dict[str, list[str]] = {}
    for i, lab in zip(ids, labels):
        by_label.setdefault(lab, []).append(i)
    out: dict[str, int] = {}
    n = 0
    for lab in sorted(by_label):
        for i in sorted(by_label[lab], key=lambda i: (hashlib.sha256(f"{int(seed)}\x00{i}".encode()).digest(), i)):
            out[i] = n % k
            n += 1
    return out


def load_gtzan(root: str | os.PathLike, split: str = "filtered", split_dir: str | os.PathLike | None = None,
               seed: int = 0) -> DatasetIndex:
    """Index GTZAN at ``root`` with the fault-filtered split (``split="filtered"``) or 10 folds (``split="cv10"``).

    Returns
    -------
    DatasetIndex
        ``name="gtzan"``, ``label_names`` = :data:`GENRES`, ``split_name`` ``"fault-filtered"`` or ``"cv10"``.
        ``info``: ``audio_dir``, ``split_files`` (relative), ``counts``, ``n_unlisted`` (clips of the tree in no
        list), ``known_corrupt`` (the clips of :data:`KNOWN_CORRUPT` indexed), ``cv_folds`` / ``cv_seed`` (cv10),
        missing-audio facts.

    Raises
    ------
    DatasetLayoutError
        Root missing; no GTZAN tree (cv10) or a missing split list (filtered); an unreadable list line; a clip in two
        lists.
    """
    if split not in ("filtered", "cv10"):
        raise ValueError(f"unknown GTZAN split {split!r}; expected 'filtered' or 'cv10'")
    root = check_root(root, "GTZAN")
    found = find_gtzan_audio(root)
    audio = found.files
    audio_dir = next((p.parent.parent for p in audio.values()), None)
    info: dict = {"audio_dir": relative_or_absolute(audio_dir, root) if audio_dir else None}
    examples: list[Example] = []
    if split == "cv10":
        if not audio:
            raise DatasetLayoutError(f"GTZAN: no audio found under {root}; {_EXPECTED}. Found: {describe_dir(root)}")
        for cid, path in audio.items():
            examples.append(Example(cid, path, "", {"genre": cid.split(".")[0]}))
        examples.sort(key=lambda e: e.id)
        folds = stratified_folds([e.id for e in examples], [e.target["genre"] for e in examples], 10, seed)
        info.update({"cv_folds": folds, "cv_seed": int(seed), "cv_k": 10, "stratified_by": "genre"})
        split_name = "cv10"
    else:
        d = _split_dir(root, split_dir)
        info["split_files"] = [relative_or_absolute(d / f, root) for f in SPLIT_FILES.values()]
        seen: dict[str, str] = {}
        tree = audio_dir or root / "genres"
        for s, fname in SPLIT_FILES.items():
            for cid, genre in read_split_list(d / fname):
                if cid in seen:
                    raise DatasetLayoutError(f"{d / fname}: {cid} is also listed in {SPLIT_FILES[seen[cid]]} "
                                             "(the three lists are disjoint)")
                seen[cid] = s
                path = audio.get(cid, tree / genre / f"{cid}.wav")
                examples.append(Example(cid, path, s, {"genre": genre}))
        examples.sort(key=lambda e: e.id)
        info["n_unlisted"] = sum(1 for cid in audio if cid not in seen)
        info["filtered_sizes"] = FILTERED_SIZES
        split_name = "fault-filtered"
    index = DatasetIndex(name="gtzan", root=root, examples=examples, label_names=list(GENRES), split_name=split_name,
                         info=info)
    info["counts"] = index.counts()
    info["known_corrupt"] = [e.id for e in examples if e.id in KNOWN_CORRUPT]
    info["duplicate_audio"] = {k: [relative_or_absolute(p, root) for p in v] for k, v in found.duplicates.items()}
    info.update(missing_audio_info(examples))
    return index
