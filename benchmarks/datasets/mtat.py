"""MagnaTagATune (MTAT) reader: ``annotations_final.csv`` + ``mp3/<0-f>/<name>.mp3``, the clean and original splits.

Layout (the MagnaTagATune download)
-----------------------------------
``<root>/annotations_final.csv``
    Tab-separated; header ``clip_id``, 188 tag columns, ``mp3_path``. The real file double-quotes every field
    (``"clip_id"\\t"no voice"\\t…``); unquoted files are read the same. Columns are found by name, in any order.
    ``mp3_path`` is relative to the ``mp3/`` folder (``"f/american_bach_soloists-…-30-59.mp3"``); tag cells are 0/1.
``<root>/mp3/<0-9a-f>/<name>.mp3``
    The audio (16 kHz mono MP3, ~29.1 s). Never opened here. When ``<root>/mp3/`` is absent but the 16 folders
    ``<root>/0`` … ``<root>/f`` are there (the zip extracted in place), those are used.
Optional, for the clean split: the published split files of Won et al. 2020 (minzwon/sota-music-tagging-models,
``split/mtat/``): ``train.npy``, ``valid.npy``, ``test.npy`` (1-D unicode arrays of ``"<index>\\t<mp3_path>"``, with
``<index>`` the 0-based row of ``annotations_final.csv`` sorted by ``clip_id``), ``binary.npy`` (``(n_rows, n_tags)``
0/1, indexed by ``<index>``) and ``tags.npy`` (tag names, in target order). Looked up in ``split_dir`` when given,
else in the first of ``<root>/split/mtat/``, ``<root>/split/``, ``<root>/`` that holds ``train.npy``.

Splits
------
``"clean"`` (default; 15,244 / 1,529 / 4,332 = 21,105 clips on the real data; 50 tags; the split of the OMAR-RQ tables)
    Read from the ``.npy`` files when found: labels, label order and the number of tags come from ``binary.npy`` and
    ``tags.npy``; every ``<index>`` must be a row of the csv and its ``<mp3_path>`` must match that row's. Without the
    files, rebuilt from the download: the ``"original"`` split's clips that have at least one of the 50
    :data:`PUBLISHED_TAGS`, minus the 3 train clips of :data:`CLEAN_SPLIT_EXCLUDED`; targets over
    :data:`PUBLISHED_TAGS` in the published ``tags.npy`` order. This rebuild is exact on the real download.
``"original"`` (18,706 / 1,825 / 5,329 = 25,860 clips on the real data)
    The standard 16-fold partition by MP3 folder: ``0``–``b`` train, ``c`` valid, ``d``–``f`` test, over every clip
    of the csv except the 3 zero-byte MP3s of the download (:data:`EMPTY_MP3_CLIPS`); clips with none of the top-50 tags
    are kept (4,752 on the real data: all-zero targets). Targets are over the top-50 tags of the csv: the 50 largest
    column sums over all rows, ties broken by tag name (ascending code-point order), listed in that rank order
    (most frequent first). A csv with fewer than 50 tag columns uses all of them, in the same rank order.

    Note: ``spec/protocols.md`` describes this split as "keep clips with at least one of [the top-50 tags]", but its
    own oracle (``data/mtat/original_split_top50.csv``, 25,860 clips of which 4,752 have no top-50 tag) and the
    counts it gives (25,863 csv rows - 3 = 25,860) only match the rule above; the "at least one tag" filter is the
    step from the original to the clean split.

The ids are the ``mp3_path`` values; ``Example.target`` is ``np.ndarray (n_tags,) uint8``.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .base import (DatasetIndex, DatasetLayoutError, Example, check_root, describe_dir, missing_audio_info,
                   relative_or_absolute)

__all__ = ["load_mtat", "read_annotations", "MTATAnnotations", "top_tags", "folder_split", "PUBLISHED_TAGS",
           "CLEAN_SPLIT_EXCLUDED", "EMPTY_MP3_CLIPS", "CLEAN_SPLIT_SIZES", "ORIGINAL_SPLIT_SIZES", "SPLIT_FILES"]

#: The 50 tags of the clean split, in the order of the published ``tags.npy`` (Won et al. 2020,
#: minzwon/sota-music-tagging-models ``split/mtat/tags.npy``; listed in ``../shared/data/mtat/README.md``). They are
#: the 50 most frequent tags of ``annotations_final.csv``.
PUBLISHED_TAGS: tuple[str, ...] = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano",
    "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing",
    "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal", "pop",
    "soft", "sitar", "solo", "man", "classic", "choir", "voice", "new age", "dance", "male voice",
    "female vocal", "beats", "harp", "cello", "no voice", "weird", "country", "metal", "female voice", "choral",
)

#: Train clips of the original split that have a top-50 tag but are absent from the published clean ``train.npy``
#: (presumably shorter than 29.1 s). Source: ``../shared/data/mtat/clean_split_excluded.txt`` (checked there against
#: the published lists); embedded so the project works without ``../shared``.
CLEAN_SPLIT_EXCLUDED: tuple[str, ...] = (
    "0/american_bach_soloists-j_s__bach__cantatas_volume_v-01-gleichwie_der_regen_und_schnee_vom_himmel_fallt_bwv_18_"
    "i_sinfonia-117-146.mp3",
    "0/american_bach_soloists-j_s__bach__cantatas_volume_v-03-gleichwie_der_regen_und_schnee_vom_himmel_fallt_bwv_18_"
    "iii_recitative_and_litany__mein_gott_hier_wird_mein_herze_sein-204-233.mp3",
    "0/american_bach_soloists-j_s__bach__cantatas_volume_v-03-gleichwie_der_regen_und_schnee_vom_himmel_fallt_bwv_18_"
    "iii_recitative_and_litany__mein_gott_hier_wird_mein_herze_sein-233-262.mp3",
)

#: The 3 MP3s of the MagnaTagATune download that are empty (0 bytes; clip_ids 35644, 55753, 57881), left out of the
#: standard original split: the oracle ``../shared/data/mtat/original_split_top50.csv`` (from JukeMIR's metadata) has
#: every other clip of the 25,863-row csv and none of these, and the same 3 paths are listed as empty/corrupt by many
#: public MTAT preparation scripts.
EMPTY_MP3_CLIPS: tuple[str, ...] = (
    "6/norine_braun-now_and_zen-08-gently-117-146.mp3",
    "8/jacob_heringman-josquin_des_prez_lute_settings-19-gintzler__pater_noster-204-233.mp3",
    "9/american_baroque-dances_and_suites_of_rameau_and_couperin-25-le_petit_rien_xiveme_ordre_couperin-88-117.mp3",
)

#: Sizes on the real data (train, valid, test).
CLEAN_SPLIT_SIZES = {"train": 15244, "valid": 1529, "test": 4332}
ORIGINAL_SPLIT_SIZES = {"train": 18706, "valid": 1825, "test": 5329}

#: The published clean-split files.
SPLIT_FILES = ("train.npy", "valid.npy", "test.npy", "binary.npy", "tags.npy")

_CSV = "annotations_final.csv"
_FOLDERS = "0123456789abcdef"
_FOLDER_SPLIT = {**{c: "train" for c in "0123456789ab"}, "c": "valid", **{c: "test" for c in "def"}}
_EXPECTED = (f"expected the MagnaTagATune download layout: <root>/{_CSV} (tab-separated: clip_id, tag columns, "
             "mp3_path) and <root>/mp3/<0-f>/<name>.mp3")


@dataclass
class MTATAnnotations:
    """``annotations_final.csv``, rows sorted by ``clip_id`` (row ``i`` is the ``<index>`` of the published npy files).

    Attributes
    ----------
    path : Path
    clip_ids : np.ndarray (n_rows,) int64, ascending.
    mp3_paths : list of str (n_rows,), relative to ``mp3/``; ``""`` where the csv has none.
    tag_names : list of str (n_tags,), in csv column order.
    tags : np.ndarray (n_rows, n_tags) uint8, 0/1.
    """

    path: Path
    clip_ids: np.ndarray
    mp3_paths: list[str]
    tag_names: list[str]
    tags: np.ndarray

    def __len__(self) -> int:
        return len(self.mp3_paths)


def read_annotations(path: str | os.PathLike) -> MTATAnnotations:
    """Read ``annotations_final.csv`` (quoted or not); rows sorted by integer ``clip_id`` (stable).

    Raises :class:`DatasetLayoutError` for an unreadable or malformed file: no ``clip_id`` / ``mp3_path`` column,
    ragged rows, duplicate column names, clip ids or mp3 paths, non-integer clip ids, tag cells other than 0/1.
    """
    path = Path(path)
    df = None
    for enc in ("utf-8", "latin-1"):
        try:
            df = pd.read_csv(path, sep="\t", header=None, dtype=str, keep_default_na=False, na_filter=False,
                             quoting=csv.QUOTE_MINIMAL, encoding=enc, engine="c")
            break
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            raise DatasetLayoutError(f"{path}: empty file; {_EXPECTED}") from None
        except (pd.errors.ParserError, ValueError) as e:
            raise DatasetLayoutError(f"{path}: malformed tab-separated file ({e}); {_EXPECTED}") from None
        except OSError as e:
            raise DatasetLayoutError(f"{path}: unreadable ({e})") from None
    assert df is not None
    header = [str(h).strip().strip('"').strip() for h in df.iloc[0].tolist()]
    if "clip_id" not in header or "mp3_path" not in header:
        missing = [c for c in ("clip_id", "mp3_path") if c not in header]
        shown = header[:6] + (["…"] if len(header) > 6 else [])
        raise DatasetLayoutError(
            f"{path}: malformed annotations file: no {' / '.join(missing)} column (header has {len(header)} "
            f"column(s): {shown}; is it tab-separated?); {_EXPECTED}")
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise DatasetLayoutError(f"{path}: duplicate column name(s) {dup[:5]}")
    body = df.iloc[1:]
    body.columns = header
    if body.isna().any().any():  # rows with fewer fields than the header
        row = int(np.flatnonzero(body.isna().any(axis=1).to_numpy())[0]) + 2
        raise DatasetLayoutError(f"{path}: line {row} has fewer fields than the header ({len(header)})")
    if len(body) == 0:
        raise DatasetLayoutError(f"{path}: no clips (header only)")

    ids_raw = body["clip_id"].str.strip().to_numpy()
    try:
        clip_ids = ids_raw.astype(np.int64)
    except ValueError:
        bad = next(i for i, v in enumerate(ids_raw) if not v.lstrip("-").isdigit())
        raise DatasetLayoutError(f"{path}: line {bad + 2}: clip_id {ids_raw[bad]!r} is not an integer") from None
    if len(np.unique(clip_ids)) != len(clip_ids):
        u, c = np.unique(clip_ids, return_counts=True)
        raise DatasetLayoutError(f"{path}: duplicate clip_id(s) {u[c > 1][:5].tolist()}")

    tag_names = [h for h in header if h not in ("clip_id", "mp3_path")]
    raw = body[tag_names].to_numpy(dtype=object) if tag_names else np.zeros((len(body), 0), dtype=object)
    tags = np.zeros(raw.shape, dtype=np.uint8)
    for value in pd.unique(raw.ravel()):
        v = str(value).strip()
        if v == "1":
            tags[raw == value] = 1
        elif v != "0":
            r, c = (int(x[0]) for x in np.nonzero(raw == value))
            raise DatasetLayoutError(f"{path}: line {r + 2}, tag column {tag_names[c]!r}: value {value!r} is not 0/1")

    order = np.argsort(clip_ids, kind="stable")
    mp3 = body["mp3_path"].str.strip().to_numpy()[order].tolist()
    nonempty = [p for p in mp3 if p]
    if len(set(nonempty)) != len(nonempty):
        seen, dups = set(), []
        for p in nonempty:
            if p in seen:
                dups.append(p)
            seen.add(p)
        raise DatasetLayoutError(f"{path}: duplicate mp3_path(s) {dups[:3]}")
    return MTATAnnotations(path=path, clip_ids=clip_ids[order], mp3_paths=mp3, tag_names=tag_names,
                           tags=np.ascontiguousarray(tags[order]))


def top_tags(ann: MTATAnnotations, n: int = 50) -> list[str]:
    """The ``n`` most frequent tags (largest column sums over all rows), most frequent first.

    Ties are broken by tag name, ascending code-point order, so the result does not depend on column order. When the
    csv has fewer than ``n`` tags, all of them are returned (same order).
    """
    counts = ann.tags.sum(axis=0, dtype=np.int64)
    ranked = sorted(range(len(ann.tag_names)), key=lambda j: (-int(counts[j]), ann.tag_names[j]))
    return [ann.tag_names[j] for j in ranked[:n]]


def folder_split(mp3_path: str) -> str | None:
    """The original split of a clip from its MP3 folder: ``0``–``b`` train, ``c`` valid, ``d``–``f`` test.

    None when the path has no folder or the folder is not one of ``0``–``f``.
    """
    folder = mp3_path.replace("\\", "/").split("/", 1)[0].lower()
    return _FOLDER_SPLIT.get(folder) if "/" in mp3_path.replace("\\", "/") else None


def _audio_dir(root: Path) -> tuple[Path, str]:
    if (root / "mp3").is_dir():
        return root / "mp3", "mp3"
    if any((root / c).is_dir() for c in _FOLDERS):
        return root, "."
    return root / "mp3", "mp3 (not found on disk)"


def _find_split_dir(root: Path, split_dir: str | os.PathLike | None) -> Path | None:
    if split_dir is not None:
        d = Path(split_dir).expanduser()
        d = d if d.is_absolute() else Path(os.path.abspath(d))
        if not d.is_dir():
            raise DatasetLayoutError(f"MTAT split_dir {d} does not exist "
                                     f"(expected a folder with {', '.join(SPLIT_FILES)})")
        missing = [f for f in SPLIT_FILES if not (d / f).is_file()]
        if missing:
            raise DatasetLayoutError(f"MTAT split_dir {d} lacks {', '.join(missing)} "
                                     f"(expected {', '.join(SPLIT_FILES)}; found: {describe_dir(d)})")
        return d
    for d in (root / "split" / "mtat", root / "split", root):
        if (d / "train.npy").is_file():
            missing = [f for f in SPLIT_FILES if not (d / f).is_file()]
            if missing:
                raise DatasetLayoutError(f"{d} holds train.npy but lacks {', '.join(missing)} (the clean split needs "
                                         f"{', '.join(SPLIT_FILES)}; found: {describe_dir(d)})")
            return d
    return None


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise DatasetLayoutError(f"{path}: holds Python objects (a pickled array), which are not loaded for "
                                     "safety; re-save it as a unicode array "
                                     "(np.save(path, np.asarray(arr, dtype=str)))") from None
        raise DatasetLayoutError(f"{path}: not a readable .npy file ({e})") from None
    except OSError as e:
        raise DatasetLayoutError(f"{path}: not a readable .npy file ({e})") from None


def _read_clean_npy(d: Path, ann: MTATAnnotations) -> tuple[dict[str, str], dict[str, int], np.ndarray, list[str]]:
    """Split per mp3 path, csv row per mp3 path, binary matrix, tag names — validated against ``ann``."""
    tags = _load_npy(d / "tags.npy")
    if tags.ndim != 1 or tags.dtype.kind not in "US":
        raise DatasetLayoutError(f"{d / 'tags.npy'}: expected a 1-D array of tag names, got {tags.dtype} {tags.shape}")
    tag_names = [str(t) for t in tags.tolist()]
    binary = _load_npy(d / "binary.npy")
    if binary.ndim != 2 or binary.shape[1] != len(tag_names):
        raise DatasetLayoutError(f"{d / 'binary.npy'}: expected shape (n_rows, {len(tag_names)}) to match tags.npy, "
                                 f"got {binary.shape}")
    if binary.dtype.kind not in "biuf" or not np.isin(binary, (0, 1)).all():
        raise DatasetLayoutError(f"{d / 'binary.npy'}: expected 0/1 values, got dtype {binary.dtype}")
    split_of: dict[str, str] = {}
    row_of: dict[str, int] = {}
    mismatches: list[str] = []
    n_mismatch = 0
    for split in ("train", "valid", "test"):
        f = d / f"{split}.npy"
        arr = _load_npy(f)
        if arr.ndim != 1 or arr.dtype.kind not in "US":
            raise DatasetLayoutError(f"{f}: expected a 1-D unicode array of '<index>\\t<mp3_path>', got {arr.dtype} "
                                     f"{arr.shape}")
        for k, entry in enumerate(arr.tolist()):
            entry = entry.decode() if isinstance(entry, bytes) else str(entry)
            idx_s, sep, p = entry.partition("\t")
            p = p.strip()
            if not sep or not idx_s.strip().isdigit() or not p:
                raise DatasetLayoutError(f"{f}: entry {k} is {entry!r}; expected '<index>\\t<mp3_path>'")
            idx = int(idx_s)
            if idx >= len(ann):
                raise DatasetLayoutError(f"{f}: entry {k} ({entry!r}): index {idx} out of range: "
                                         f"{ann.path.name} has {len(ann)} rows (indices 0..{len(ann) - 1})")
            if idx >= binary.shape[0]:
                raise DatasetLayoutError(f"{f}: entry {k} ({entry!r}): index {idx} out of range of binary.npy "
                                         f"({binary.shape[0]} rows)")
            if ann.mp3_paths[idx] != p:
                n_mismatch += 1
                if len(mismatches) < 5:
                    mismatches.append(f"{f.name} entry {k}: index {idx} -> {p!r} but row {idx} of "
                                      f"{ann.path.name} (sorted by clip_id) is {ann.mp3_paths[idx]!r}")
                continue
            if p in split_of:
                raise DatasetLayoutError(f"{f}: {p!r} is listed twice (also in {split_of[p]}.npy)")
            split_of[p] = split
            row_of[p] = idx
    if n_mismatch:
        raise DatasetLayoutError(
            f"the clean-split files in {d} do not match {ann.path}: {n_mismatch} "
            f"entr{'y' if n_mismatch == 1 else 'ies'} whose mp3_path differs from the csv row at its index "
            f"(index = 0-based row of the csv sorted by clip_id):\n  " + "\n  ".join(mismatches))
    return split_of, row_of, binary, tag_names


def load_mtat(root: str | os.PathLike, split: str = "clean",
              split_dir: str | os.PathLike | None = None) -> DatasetIndex:
    """Index MTAT at ``root`` (see the module docstring for the layout and the two splits).

    Parameters
    ----------
    root : path
        Folder holding ``annotations_final.csv`` and ``mp3/``.
    split : {"clean", "original"}
        ``"clean"`` (default): Won et al. 2020 — from the published ``.npy`` files when found, else rebuilt from the
        csv. ``"original"``: the 16-fold MP3-folder partition over the csv's top-50 tags.
    split_dir : path, optional
        Folder of the published clean-split ``.npy`` files (only with ``split="clean"``); default: searched under
        ``root``.

    Returns
    -------
    DatasetIndex
        ``name="mtat"``, ``split_name=split``, examples sorted by id (the mp3 path), targets ``(n_tags,) uint8``,
        ``label_names`` the tags in target order. ``info`` holds ``split_source``, ``annotations``, ``audio_dir``,
        ``excluded`` (clips left out, by reason), ``counts``, ``n_rows_csv`` and missing-audio facts.
    """
    if split not in ("clean", "original"):
        raise DatasetLayoutError(f"unknown MTAT split {split!r}; expected 'clean' or 'original'")
    if split_dir is not None and split != "clean":
        raise DatasetLayoutError("--split-dir applies only to the clean split (--split clean)")
    root = check_root(root, "MTAT")
    csv_path = root / _CSV
    if not csv_path.is_file():
        raise DatasetLayoutError(f"MTAT: {csv_path} not found; {_EXPECTED}. Found at {root}: {describe_dir(root)}")
    ann = read_annotations(csv_path)
    audio_dir, audio_dir_name = _audio_dir(root)
    info: dict = {"annotations": _CSV, "n_rows_csv": len(ann), "n_tags_csv": len(ann.tag_names),
                  "audio_dir": audio_dir_name}
    no_path = [int(c) for c, p in zip(ann.clip_ids, ann.mp3_paths) if not p]

    npy_dir = _find_split_dir(root, split_dir) if split == "clean" else None
    if npy_dir is not None:
        split_of, row_of, binary, label_names = _read_clean_npy(npy_dir, ann)
        info["split_source"] = f"npy: {relative_or_absolute(npy_dir, root)}"
        examples = [Example(id=p, audio_path=audio_dir / p, split=s,
                            target=np.asarray(binary[row_of[p]], dtype=np.uint8)) for p, s in split_of.items()]
        info["excluded"] = {"csv_rows_not_in_split_files": len(ann) - len(examples)}
    else:
        excluded: dict = {}
        bad_folder = [p for p in ann.mp3_paths if p and folder_split(p) is None]
        if no_path:
            excluded["no_mp3_path_clip_ids"] = no_path
        if bad_folder:
            excluded["mp3_folder_not_0_to_f"] = bad_folder
        empty = set(EMPTY_MP3_CLIPS)
        excluded["empty_mp3"] = [p for p in ann.mp3_paths if p in empty]
        keep = np.array([bool(p) and p not in empty and folder_split(p) is not None for p in ann.mp3_paths], dtype=bool)
        if split == "original":
            label_names = top_tags(ann, 50)
            info["split_source"] = f"rebuilt from {_CSV} (original: MP3 folders 0-b train, c valid, d-f test)"
            info["top_tags_rule"] = "50 largest column sums; ties by tag name ascending; rank order"
        else:
            absent = [t for t in PUBLISHED_TAGS if t not in ann.tag_names]
            if absent:
                raise DatasetLayoutError(
                    f"MTAT clean split: no published split files found (looked for {', '.join(SPLIT_FILES)} in "
                    f"{root / 'split' / 'mtat'}, {root / 'split'}, {root}) and the rebuild from {csv_path} needs the "
                    f"50 published tags, but {len(absent)} are not columns of it: {absent[:5]}"
                    f"{' …' if len(absent) > 5 else ''}. Give split_dir=<folder of the .npy files> or use "
                    f"split='original'.")
            label_names = list(PUBLISHED_TAGS)
            info["split_source"] = (f"rebuilt from {_CSV} (original split, clips with >= 1 of the 50 published tags, "
                                    f"minus {len(CLEAN_SPLIT_EXCLUDED)} train clips)")
            info["top50_matches_published_tags"] = set(top_tags(ann, 50)) == set(PUBLISHED_TAGS)
        cols = [ann.tag_names.index(t) for t in label_names]
        Y = ann.tags[:, cols]
        if split == "clean":
            has_tag = Y.any(axis=1)
            excluded["no_top50_tag"] = int((keep & ~has_tag).sum())
            dropped = set(CLEAN_SPLIT_EXCLUDED)
            excluded["clean_split_excluded"] = [p for p, k in zip(ann.mp3_paths, keep) if k and p in dropped]
            keep &= has_tag & np.array([p not in dropped for p in ann.mp3_paths], dtype=bool)
        examples = [Example(id=p, audio_path=audio_dir / p, split=folder_split(p), target=Y[i].copy())
                    for i, p in enumerate(ann.mp3_paths) if keep[i]]
        info["excluded"] = excluded
    examples.sort(key=lambda e: e.id)
    info["n_tags"] = len(label_names)
    index = DatasetIndex(name="mtat", root=root, examples=examples, label_names=list(label_names), split_name=split,
                         info=info)
    info["counts"] = index.counts()
    info.update(missing_audio_info(examples))
    return index
