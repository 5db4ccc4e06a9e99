"""Key detection: GiantSteps Key (test) and GiantSteps MTG Key (training), in the layouts of their repositories.

Layout (``../shared/spec/datasets.md`` §4) — both repositories under one root, any folder names:

GiantSteps Key, the test set (``GiantSteps/giantsteps-key-dataset``)
    ``annotations/key/<id>.LOFI.key`` (one line, no trailing newline: ``Eb minor``; capitalised tonics, flats) and
    ``audio/<id>.LOFI.mp3`` (``audio_dl.sh``; ``<id>.LOFI.wav`` after ``convert_audio.sh`` also works). 604 tracks.
GiantSteps MTG Key, the training set (``GiantSteps/giantsteps-mtg-key-dataset``)
    ``annotations/annotations.txt``: tab-separated ``ID  MANUAL KEY  C`` (confidence 0–2; ``-`` = no key;
    multi-key entries such as ``C minor / F# minor``; lower-case tonics and **sharps**), and ``audio/<id>.LOFI.mp3``.
    Kept, as JukeMIR / MARBLE do: confidence 2 and a single key (1,159 of 1,486 rows). Validation tracks: with
    ``annotations/beatport_metadata.txt`` (``ID  ARTIST  …``), by artist as JukeMIR does (sha1 of the artist name mod
    116 ≥ 100 → validation, then every collaborator of a validation artist, two hops); without it (or when no artist
    of a small set falls in validation), a seeded 20 % of the tracks. (The JukeMIR rule is re-implemented from its description; its 923 / 236 counts are not
    verified here.)

Keys are normalised to ``"<Tonic> <mode>"`` with flats (``C# minor`` → ``Db minor``), the spelling of the test set and
of ``mir_eval.key``; the target is that string.
"""
from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

from mir_eval.key import KEY_TO_SEMITONE

from .base import DatasetIndex, DatasetLayoutError, Example, check_root, describe_dir, missing_audio_info

__all__ = ["KEYS", "normalise_key", "load_giantsteps", "LAYOUT"]

TONICS = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
#: The 24 classes: index = tonic pitch class + 12 * (mode == minor).
KEYS = tuple(f"{t} major" for t in TONICS) + tuple(f"{t} minor" for t in TONICS)
LAYOUT = ("GiantSteps Key (annotations/key/<id>.LOFI.key + audio/<id>.LOFI.mp3, the test set) and GiantSteps MTG "
          "Key (annotations/annotations.txt + audio/<id>.LOFI.mp3, the training set), side by side")
AUDIO_SUFFIXES = (".LOFI.mp3", ".LOFI.wav", ".mp3", ".wav")


def normalise_key(text: str) -> str | None:
    """``"d# minor"`` / ``"Eb Minor"`` / ``"F#:major"`` → ``"Eb minor"``; None for no key (``-``, ``X``, empty) or a
    multi-key entry (``C minor / F# minor``, ``G minor/major``)."""
    s = text.strip().replace(":", " ")
    if not s or s in ("-", "X", "x") or "/" in s:
        return None
    parts = s.split()
    if len(parts) != 2 or parts[1].lower() not in ("major", "minor"):
        return None
    pc = KEY_TO_SEMITONE.get(parts[0].lower())
    if pc is None:
        return None
    return f"{TONICS[pc]} {parts[1].lower()}"


def _audio(folder: Path, tid: str) -> Path | None:
    for suffix in AUDIO_SUFFIXES:
        p = folder / "audio" / f"{tid}{suffix}"
        if p.is_file():
            return p
    return None


def _find(root: Path) -> tuple[Path | None, Path | None]:
    test = train = None
    for d in [root] + sorted(p for p in root.iterdir() if p.is_dir()):
        ann = d / "annotations"
        if (ann / "annotations.txt").is_file():
            train = train or d
        elif (ann / "key").is_dir() and any((ann / "key").glob("*.key")):
            test = test or d
    return test, train


def _read_test(folder: Path) -> tuple[list[Example], list[str], list[str]]:
    examples, bad, no_audio = [], [], []
    for p in sorted((folder / "annotations" / "key").glob("*.key")):
        tid = p.name[:-len(".LOFI.key")] if p.name.endswith(".LOFI.key") else p.stem
        key = normalise_key(p.read_text(encoding="utf-8", errors="replace").strip().splitlines()[0]
                            if p.read_text().strip() else "")
        if key is None:
            bad.append(tid)
            continue
        audio = _audio(folder, tid)
        if audio is None:
            no_audio.append(tid)
            continue
        examples.append(Example(f"test/{tid}", audio.absolute(), "test", key))
    return examples, bad, no_audio


def _artists(folder: Path) -> dict[str, list[str]]:
    meta = folder / "annotations" / "beatport_metadata.txt"
    if not meta.is_file():
        return {}
    out = {}
    lines = meta.read_text(encoding="utf-8", errors="replace").splitlines()
    header = [h.strip().upper() for h in lines[0].split("\t")] if lines else []
    if "ID" not in header or "ARTIST" not in header:
        raise DatasetLayoutError(f"{meta}: expected a tab-separated header with ID and ARTIST (found {header})")
    i_id, i_artist = header.index("ID"), header.index("ARTIST")
    for line in lines[1:]:
        f = line.split("\t")
        if len(f) > max(i_id, i_artist) and f[i_id].strip():
            out[f[i_id].strip()] = [a.strip().lower() for a in f[i_artist].replace("&", ",").split(",") if a.strip()]
    return out


def _artist_valid(artists: dict[str, list[str]], ids: list[str]) -> set[str]:
    """Track ids in validation by the JukeMIR artist rule (module docstring)."""
    names = {a for tid in ids for a in artists.get(tid, [])}
    valid = {a for a in names if int(hashlib.sha1(a.encode("utf-8")).hexdigest(), 16) % 116 >= 100}
    for _ in range(2):  # collaborators of validation artists, two hops
        valid |= {a for tid in ids for a in artists.get(tid, []) if valid & set(artists.get(tid, []))}
    return {tid for tid in ids if valid & set(artists.get(tid, []))}


def _read_train(folder: Path, seed: int = 0) -> tuple[list[Example], dict]:
    path = folder / "annotations" / "annotations.txt"
    rows = [line.rstrip("\r\n").split("\t") for line in path.read_text(encoding="utf-8", errors="replace")
            .splitlines() if line.strip()]
    if not rows or [c.strip().upper() for c in rows[0][:2]] != ["ID", "MANUAL KEY"]:
        raise DatasetLayoutError(f"{path}: expected the header 'ID<TAB>MANUAL KEY<TAB>C' (found {rows[:1]})")
    kept, dropped = [], {"confidence_below_2": 0, "no_or_multiple_keys": 0, "no_audio": 0}
    for n, f in enumerate(rows[1:], 2):
        if len(f) < 3:
            raise DatasetLayoutError(f"{path}, line {n}: expected 3 tab-separated fields, got {f}")
        tid, key_text, conf = f[0].strip(), f[1], f[2].strip()
        if conf != "2":
            dropped["confidence_below_2"] += 1
            continue
        key = normalise_key(key_text)
        if key is None:
            dropped["no_or_multiple_keys"] += 1
            continue
        audio = _audio(folder, tid)
        if audio is None:
            dropped["no_audio"] += 1
            continue
        kept.append((tid, audio, key))
    artists = _artists(folder)
    ids = [t for t, _, _ in kept]
    valid = _artist_valid(artists, ids) if artists else set()
    if valid:
        how = "artist hash (JukeMIR rule, beatport_metadata.txt)"
    else:  # no metadata, or too few artists for the rule to pick any (a small set)
        rng = random.Random(seed)
        valid = set(rng.sample(ids, k=max(1, round(0.2 * len(ids))))) if len(ids) > 1 else set()
        how = "seeded 20 % of the tracks (" + ("no artist falls in the validation residues" if artists else
                                              "no beatport_metadata.txt") + ")"
    examples = [Example(f"train/{tid}", audio.absolute(), "valid" if tid in valid else "train", key)
                for tid, audio, key in kept]
    return examples, {"kept": len(kept), "dropped": dropped, "validation_rule": how}


def load_giantsteps(root: str | os.PathLike) -> DatasetIndex:
    """Index GiantSteps Key (test) + GiantSteps MTG Key (train / valid) under ``root`` (module docstring)."""
    root = check_root(root, "GiantSteps key")
    test_dir, train_dir = _find(root)
    if test_dir is None or train_dir is None:
        missing = " and ".join(n for n, d in (("the GiantSteps Key test set (annotations/key/*.LOFI.key)", test_dir),
                                              ("the GiantSteps MTG Key training set (annotations/annotations.txt)",
                                               train_dir)) if d is None)
        raise DatasetLayoutError(f"key at {root}: {missing} not found (expected {LAYOUT}); found: "
                                 f"{describe_dir(root)}")
    test, bad, test_no_audio = _read_test(test_dir)
    train, train_info = _read_train(train_dir)
    examples = sorted(train + test, key=lambda e: e.id)
    if not test or not train:
        raise DatasetLayoutError(f"key at {root}: {len(test)} test and {len(train)} training tracks have audio "
                                 f"(expected {LAYOUT})")
    info = {"test_dir": os.path.relpath(test_dir, root), "train_dir": os.path.relpath(train_dir, root),
            "test_unreadable_keys": bad[:20], "test_without_audio": len(test_no_audio), "train": train_info,
            **missing_audio_info(examples)}
    return DatasetIndex("giantsteps-key", root, examples, list(KEYS), "giantsteps", info)
