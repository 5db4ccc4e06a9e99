"""VocalSet reader: ``FULL/<singer>/<context>/<technique>/<file>.wav``, singer and technique labels from the folders.

Layout (``../shared/spec/datasets.md`` §10; ``VocalSet11.zip`` of Zenodo record 1203819)
-----------------------------------------------------------------------------------------
``FULL/`` is ``<root>/FULL``, ``<root>/VocalSet/FULL``, ``<root>/VocalSet11/FULL`` or ``<root>`` itself (the first
that holds singer folders). Singers are ``female1``–``female9`` and ``male1``–``male11`` (MARBLE's short names
``f2``, ``m10`` are these). Contexts are e.g. ``arpeggios``, ``scales``, ``long_tones``, ``excerpts``.

Labels come from the folders. A file whose name disagrees (another singer prefix, another technique, no singer
prefix) is kept with the folder's labels and reported in ``info["misnamed"]`` (``[{"id", "problem"}]``). Technique
folder names are normalised (lower case, ``-`` and spaces to ``_``); a misspelt one (``vibrado``) is mapped to the
closest of :data:`ALL_TECHNIQUES` (``difflib``, cutoff 0.75) and reported in ``info["technique_folder_aliases"]``.
Files with identical bytes are duplicates: the one with the shortest id (then the first by id) is kept, the others
reported in ``info["duplicates"]``.

Tasks and splits
----------------
``task="technique"``: the files of the 10 MARBLE techniques (:data:`TECHNIQUES`); test singers f2, f8, m3, m5, m10
    (:data:`TECHNIQUE_TEST_SINGERS`); the other singers' files are train, except a seeded ``valid_fraction`` of each
    technique's files (whole files) for validation. ``split_name = "marble-technique"``.
``task="singer"``: every file; within each singer, a seeded shuffle of the (deduplicated) files puts
    ``valid_fraction`` in valid, ``test_fraction`` in test and the rest in train, at least one file each, so every
    singer is in train, valid and test. ``split_name = "singer-stratified"``. A file is the group: its 3 s slices
    (cut by the frontend) never cross splits, and duplicates are dropped before the split.

``Example.id`` is the path under ``FULL/`` (``female2/arpeggios/vibrato/f2_arpeggios_vibrato_a.wav``);
``Example.target`` is ``{"singer": "female2", "technique": "vibrato", "context": "arpeggios"}`` (technique ``""`` for a
file not inside a technique folder; such files are left out of the technique task); ``label_names`` are the task's
classes (:data:`SINGERS` or :data:`TECHNIQUES`).
"""
from __future__ import annotations

import difflib
import hashlib
import os
import re
from collections import defaultdict
from pathlib import Path

from .base import DatasetIndex, DatasetLayoutError, Example, check_root, describe_dir, missing_audio_info

__all__ = ["load_vocalset", "SINGERS", "TECHNIQUES", "ALL_TECHNIQUES", "TECHNIQUE_TEST_SINGERS", "short_singer",
           "normalise_technique"]

SINGERS = tuple(f"female{i}" for i in range(1, 10)) + tuple(f"male{i}" for i in range(1, 12))
#: The 10 techniques of MARBLE v1's technique task, in class order.
TECHNIQUES = ("belt", "breathy", "inhaled", "lip_trill", "spoken", "straight", "trill", "trillo", "vibrato",
              "vocal_fry")
#: Every technique folder name of the release (17 techniques plus the dynamics / tempo variants of the contexts).
ALL_TECHNIQUES = TECHNIQUES + ("fast_forte", "fast_piano", "forte", "messa", "pp", "slow_forte", "slow_piano")
TECHNIQUE_TEST_SINGERS = ("female2", "female8", "male3", "male5", "male10")
_FULL_DIRS = ("FULL", "VocalSet/FULL", "VocalSet11/FULL", ".")
_SHORT = re.compile(r"^([fm])(\d+)$")
_EXPECTED = ("expected the VocalSet layout: <root>/FULL/<singer>/<context>/<technique>/<file>.wav with singer "
             "folders female1-female9, male1-male11")


def short_singer(folder: str) -> str:
    """``"female2"`` → ``"f2"``, ``"male10"`` → ``"m10"``."""
    m = re.fullmatch(r"(female|male)(\d+)", folder)
    return f"{m[1][0]}{m[2]}" if m else folder


def normalise_technique(name: str) -> tuple[str, bool]:
    """``(technique, was_aliased)``: the folder name lower-cased with ``-`` / spaces as ``_``, or the closest known
    technique when it is not one (``"vibrado"`` → ``("vibrato", True)``); ``(name, False)`` when nothing is close."""
    s = "_".join(name.strip().lower().replace("-", " ").split())
    if s in ALL_TECHNIQUES:
        return s, False
    close = difflib.get_close_matches(s, ALL_TECHNIQUES, n=1, cutoff=0.75)
    return (close[0], True) if close else (s, False)


def _full_dir(root: Path) -> Path:
    for sub in _FULL_DIRS:
        d = root / sub if sub != "." else root
        if d.is_dir() and any((d / s).is_dir() for s in SINGERS):
            return d
    raise DatasetLayoutError(f"VocalSet: no singer folders (female1 … male11) under {root}, {root / 'FULL'} or "
                             f"{root / 'VocalSet' / 'FULL'}; {_EXPECTED}. Found at {root}: {describe_dir(root)}")


def _name_problems(stem: str, singer: str, technique: str) -> list[str]:
    tokens = [t for t in re.split(r"[_\s]+", stem.lower()) if t]
    problems = []
    prefix = tokens[0] if tokens and _SHORT.match(tokens[0]) else None
    if prefix is None:
        problems.append("no singer prefix")
    elif prefix != short_singer(singer):
        problems.append(f"name says singer {prefix}, folder {short_singer(singer)}")
    if technique:
        joined = "_" + "_".join(tokens) + "_"
        named = [t for t in ALL_TECHNIQUES if f"_{t}_" in joined]
        named = [t for t in named if not any(t != u and f"_{t}_" in f"_{u}_" for u in named)]  # lip_trill, not trill
        # "vibrado" in a name counts as vibrato, as in the folders
        named += [normalise_technique(t)[0] for t in tokens if normalise_technique(t)[1]]
        if named and technique not in named:
            problems.append(f"name says technique {sorted(set(named))[0]}, folder {technique}")
    return problems


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _rank(seed: int, key: str) -> bytes:
    return hashlib.sha256(f"{int(seed)}\x00{key}".encode("utf-8")).digest()


def _split_group(ids: list[str], seed: int, n_valid: int, n_test: int) -> dict[str, str]:
    ranked = sorted(ids, key=lambda i: (_rank(seed, i), i))
    return {i: ("test" if k < n_test else "valid" if k < n_test + n_valid else "train") for k, i in enumerate(ranked)}


def load_vocalset(root: str | os.PathLike, task: str = "singer", valid_fraction: float = 0.15,
                  test_fraction: float = 0.2, seed: int = 0) -> DatasetIndex:
    """Index VocalSet at ``root`` for ``task`` ``"singer"`` (20 classes) or ``"technique"`` (10 classes).

    Returns
    -------
    DatasetIndex
        ``name="vocalset"``; ``split_name`` ``"singer-stratified"`` or ``"marble-technique"``; ``label_names``
        :data:`SINGERS` or :data:`TECHNIQUES`. ``info``: ``full_dir``, ``counts``, ``misnamed``,
        ``technique_folder_aliases`` (``{folder as found: technique}``), ``duplicates`` (``[[kept id, dropped id]]``),
        ``n_other_techniques`` (technique task: files of other techniques, left out), ``unknown_folders``
        (top-level folders that are not singers), ``test_singers`` (technique), ``split_seed``, missing-audio facts.

    Raises
    ------
    DatasetLayoutError
        Root missing; no singer folder; no ``.wav`` file; a split left empty for a singer (singer task: fewer than 3
        files for that singer).
    """
    if task not in ("singer", "technique"):
        raise ValueError(f"unknown VocalSet task {task!r}; expected 'singer' or 'technique'")
    root = check_root(root, "VocalSet")
    full = _full_dir(root)
    unknown = sorted(p.name for p in full.iterdir() if p.is_dir() and p.name not in SINGERS)
    files: list[tuple[str, Path, dict]] = []
    misnamed, aliases = [], {}
    for singer in SINGERS:
        sdir = full / singer
        if not sdir.is_dir():
            continue
        for p in sorted(sdir.rglob("*")):
            if not p.is_file() or p.suffix.lower() != ".wav" or p.name.startswith("."):
                continue
            rel = p.relative_to(full).as_posix()
            parts = p.relative_to(sdir).parts
            context = parts[0] if len(parts) >= 2 else ""
            technique = ""
            if len(parts) >= 3:
                technique, aliased = normalise_technique(parts[-2])
                if aliased:
                    aliases[parts[-2]] = technique
            for problem in _name_problems(p.stem, singer, technique):
                misnamed.append({"id": rel, "problem": problem})
            files.append((rel, p, {"singer": singer, "technique": technique, "context": context}))
    if not files:
        raise DatasetLayoutError(f"VocalSet: no .wav files under {full}; {_EXPECTED}")
    # duplicates: identical bytes (only files of equal size are hashed)
    by_size: dict[int, list[int]] = defaultdict(list)
    for k, (_, p, _) in enumerate(files):
        by_size[p.stat().st_size].append(k)
    dropped, duplicates = set(), []
    for ks in by_size.values():
        if len(ks) < 2:
            continue
        first: dict[str, int] = {}
        for k in sorted(ks, key=lambda k: (len(files[k][0]), files[k][0])):
            d = _digest(files[k][1])
            if d in first:
                dropped.add(k)
                duplicates.append([files[first[d]][0], files[k][0]])
            else:
                first[d] = k
    files = [f for k, f in enumerate(files) if k not in dropped]
    info: dict = {"full_dir": full.relative_to(root).as_posix() or ".", "misnamed": misnamed,
                  "technique_folder_aliases": aliases, "duplicates": sorted(duplicates), "unknown_folders": unknown,
                  "split_seed": int(seed)}
    split_of: dict[str, str] = {}
    if task == "technique":
        other = [f for f in files if f[2]["technique"] not in TECHNIQUES]
        files = [f for f in files if f[2]["technique"] in TECHNIQUES]
        info["n_other_techniques"] = len(other)
        info["test_singers"] = [short_singer(s) for s in TECHNIQUE_TEST_SINGERS]
        groups: dict[str, list[str]] = defaultdict(list)
        for rel, _, t in files:
            if t["singer"] in TECHNIQUE_TEST_SINGERS:
                split_of[rel] = "test"
            else:
                groups[t["technique"]].append(rel)
        for ids in groups.values():
            split_of.update(_split_group(ids, seed, int(round(valid_fraction * len(ids))), 0))
        labels, split_name = list(TECHNIQUES), "marble-technique"
    else:
        groups = defaultdict(list)
        for rel, _, t in files:
            groups[t["singer"]].append(rel)
        for singer, ids in groups.items():
            if len(ids) < 3:
                raise DatasetLayoutError(f"VocalSet: {full / singer} has {len(ids)} usable file(s); the singer split "
                                         "puts every singer in train, valid and test (needs at least 3)")
            n_valid = max(1, int(round(valid_fraction * len(ids))))
            n_test = max(1, int(round(test_fraction * len(ids))))
            split_of.update(_split_group(ids, seed, n_valid, min(n_test, len(ids) - n_valid - 1)))
        labels, split_name = list(SINGERS), "singer-stratified"
    examples = sorted((Example(rel, p, split_of[rel], t) for rel, p, t in files), key=lambda e: e.id)
    index = DatasetIndex(name="vocalset", root=root, examples=examples, label_names=labels, split_name=split_name,
                         info=info)
    info["counts"] = index.counts()
    info.update(missing_audio_info(examples))
    return index
