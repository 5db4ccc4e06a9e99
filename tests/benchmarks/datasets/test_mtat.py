"""MTAT reader: the real download layout, the clean split (published .npy files or rebuilt) and the original split.

The full-size tests rebuild a realistic ``annotations_final.csv`` (25,863 rows, 188 tags, every field double-quoted,
shuffled rows and columns) from the oracle ``../shared/data/mtat/original_split_top50.csv`` and check that both splits
come out exactly as published; they skip when ``../shared`` is absent.
"""
from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.datasets import DatasetLayoutError, load_mtat
from benchmarks.datasets.mtat import (CLEAN_SPLIT_EXCLUDED, CLEAN_SPLIT_SIZES, EMPTY_MP3_CLIPS, ORIGINAL_SPLIT_SIZES,
                                      PUBLISHED_TAGS, folder_split, read_annotations, top_tags)

from helpers import SHARED

MTAT_SHARED = SHARED / "data" / "mtat"
ORACLE = MTAT_SHARED / "original_split_top50.csv"
needs_oracle = pytest.mark.skipif(not ORACLE.is_file(),
                                  reason=f"MTAT oracle {ORACLE} absent (../shared not checked out)")

# clip ids of the 3 empty MP3s of the real download (absent from the oracle)
EMPTY_CLIP_IDS = (35644, 55753, 57881)


def write_csv(path: Path, df: pd.DataFrame, quoted: bool = True) -> None:
    df.to_csv(path, sep="\t", index=False, quoting=csv.QUOTE_ALL if quoted else csv.QUOTE_MINIMAL)


# ---------------------------------------------------------------------------------------------------------------------
# full-size oracle tests


@pytest.fixture(scope="module")
def oracle() -> pd.DataFrame:
    if not ORACLE.is_file():
        pytest.skip(f"MTAT oracle {ORACLE} absent (../shared not checked out)")
    return pd.read_csv(ORACLE)


@pytest.fixture(scope="module")
def full_root(oracle, tmp_path_factory) -> Path:
    """A realistic MTAT root: the oracle's clips + the 3 empty-MP3 clips, 188 tag columns, quoted, shuffled."""
    rng = np.random.default_rng(0)
    tags50 = list(oracle.columns[3:])
    n_extra_tags = 188 - len(tags50)
    extra_names = [f"extra tag {i:03d}" for i in range(n_extra_tags)]
    body = oracle[["clip_id", "mp3_path"] + tags50].copy()
    extra_rows = pd.DataFrame({"clip_id": list(EMPTY_CLIP_IDS), "mp3_path": list(EMPTY_MP3_CLIPS)})
    for t in tags50:
        extra_rows[t] = 0
    extra_rows.loc[0, "guitar"] = 1  # an empty MP3 with a top-50 tag: it must still be left out
    body = pd.concat([body, extra_rows], ignore_index=True)
    n = len(body)
    min_count = int(oracle[tags50].sum(axis=0).min())  # 490 ("choral")
    probs = rng.uniform(0.001, 0.015, size=n_extra_tags)  # at most ~0.015 * 25863 ≈ 390 < 490 positives
    extra = (rng.random((n, n_extra_tags)) < probs).astype(np.int64)
    assert extra.sum(axis=0).max() < min_count
    body = pd.concat([body, pd.DataFrame(extra, columns=extra_names)], axis=1)
    cols = list(body.columns)
    rng.shuffle(cols)
    body = body[cols].iloc[rng.permutation(n)]
    root = tmp_path_factory.mktemp("mtat_full")
    write_csv(root / "annotations_final.csv", body)
    return root


@needs_oracle
def test_realistic_csv_looks_like_the_download(full_root):
    first = (full_root / "annotations_final.csv").read_text().split("\n", 2)[:2]
    assert first[0].count("\t") == 189 and first[0].startswith('"') and '"clip_id"' in first[0]
    ann = read_annotations(full_root / "annotations_final.csv")
    assert len(ann) == 25863 and len(ann.tag_names) == 188
    assert np.all(np.diff(ann.clip_ids) > 0)  # rows sorted by clip_id whatever the file order


@needs_oracle
def test_original_split_reproduces_oracle(full_root, oracle):
    idx = load_mtat(full_root, split="original")
    assert idx.split_name == "original" and idx.name == "mtat"
    assert idx.counts() == ORIGINAL_SPLIT_SIZES
    assert len(idx.examples) == 25860 == len(oracle)
    # clip set and split per clip
    got_split = {e.id: e.split for e in idx.examples}
    assert got_split == dict(zip(oracle.mp3_path, oracle.split))
    # labels: the 50 tags (rank order) and every target
    assert set(idx.label_names) == set(oracle.columns[3:]) == set(PUBLISHED_TAGS)
    o = oracle.set_index("mp3_path")
    Y = np.stack([e.target for e in idx.examples])
    assert Y.dtype == np.uint8 and Y.shape == (25860, 50)
    expected = o.loc[[e.id for e in idx.examples], idx.label_names].to_numpy()
    np.testing.assert_array_equal(Y, expected)
    counts = Y.sum(axis=0, dtype=np.int64)
    assert np.all(np.diff(counts) <= 0)  # most frequent first
    assert idx.label_names[0] == "guitar"
    assert idx.info["excluded"]["empty_mp3"] == sorted(EMPTY_MP3_CLIPS)
    assert idx.info["split_source"].startswith("rebuilt from annotations_final.csv")
    # zero-tag clips are part of the original split (4,752 on the real data)
    assert int((Y.sum(axis=1) == 0).sum()) == 4752
    e = idx.examples[0]
    assert e.audio_path == full_root / "mp3" / e.id and e.audio_path.is_absolute()


@needs_oracle
def test_clean_split_rebuilt_without_npy(full_root, oracle):
    idx = load_mtat(full_root)  # default: clean
    assert idx.split_name == "clean"
    assert idx.counts() == CLEAN_SPLIT_SIZES
    assert sum(idx.counts().values()) == 21105
    assert idx.label_names == list(PUBLISHED_TAGS)
    assert idx.info["split_source"].startswith("rebuilt from annotations_final.csv")
    assert idx.info["excluded"]["clean_split_excluded"] == sorted(CLEAN_SPLIT_EXCLUDED)
    assert idx.info["top50_matches_published_tags"] is True
    o = oracle.set_index("mp3_path")
    has_tag = o[list(PUBLISHED_TAGS)].sum(axis=1) > 0
    expected_ids = sorted(set(o.index[has_tag]) - set(CLEAN_SPLIT_EXCLUDED))
    assert [e.id for e in idx.examples] == expected_ids
    Y = np.stack([e.target for e in idx.examples])
    np.testing.assert_array_equal(Y, o.loc[expected_ids, list(PUBLISHED_TAGS)].to_numpy())
    assert all(e.split == o.at[e.id, "split"] for e in idx.examples)


@needs_oracle
def test_embedded_constants_match_shared_files():
    listed = [ln.strip() for ln in (MTAT_SHARED / "clean_split_excluded.txt").read_text().splitlines() if ln.strip()]
    assert tuple(listed) == CLEAN_SPLIT_EXCLUDED
    readme = (MTAT_SHARED / "README.md").read_text()
    m = re.search(r"in this order: (.*?)\)\.", readme, re.S)
    assert m, "tag order not found in the README"
    names = [t.strip() for t in " ".join(m.group(1).split()).split(",")]
    assert tuple(names) == PUBLISHED_TAGS


# ---------------------------------------------------------------------------------------------------------------------
# small synthetic layouts

SMALL_TAGS = ["rock", "piano", "guitar", "no voice", "choral"]  # fewer than 50 tags, like our synthesised set
# (clip_id, mp3_path, tag row) — deliberately not in clip_id order in the file
SMALL_ROWS = [
    (40, "c/artist_c-album-02-track-30-59.mp3", [0, 1, 0, 0, 1]),
    (3, "0/artist_a-album-01-track-0-29.mp3", [1, 0, 1, 0, 0]),
    (17, "1/artist_b-album-01-track-30-59.mp3", [0, 0, 0, 0, 0]),
    (25, "b/artist_b-album-03-track-59-88.mp3", [1, 1, 0, 0, 0]),
    (51, "d/artist_d-album-01-track-0-29.mp3", [0, 0, 1, 1, 0]),
    (66, "f/artist_f-album-05-track-88-117.mp3", [1, 0, 0, 1, 0]),
    (8, "0/artist_a-album-01-track-30-59.mp3", [0, 0, 1, 0, 0]),
    (70, "e/artist_e-album-02-track-0-29.mp3", [0, 1, 0, 0, 0]),
]


def small_frame(rows=SMALL_ROWS, tags=SMALL_TAGS) -> pd.DataFrame:
    df = pd.DataFrame([[cid] + t + [p] for cid, p, t in rows], columns=["clip_id"] + tags + ["mp3_path"])
    return df


def make_small(root: Path, quoted: bool = True, rows=SMALL_ROWS) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write_csv(root / "annotations_final.csv", small_frame(rows), quoted=quoted)
    for _, p, _ in rows[:3]:
        f = root / "mp3" / p
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"\xff\xfb" + bytes(64))  # never decoded by the reader
    return root


def sorted_rows(rows=SMALL_ROWS):
    return sorted(rows, key=lambda r: r[0])


def write_npy(d: Path, assignment: dict[str, str], rows=SMALL_ROWS, tags=SMALL_TAGS, binary=None) -> None:
    """Published-format clean-split files: '<index>\\t<mp3_path>' with index = row of the csv sorted by clip_id."""
    d.mkdir(parents=True, exist_ok=True)
    srt = sorted_rows(rows)
    index_of = {p: i for i, (_, p, _) in enumerate(srt)}
    for split in ("train", "valid", "test"):
        entries = [f"{index_of[p]}\t{p}" for p, s in assignment.items() if s == split]
        np.save(d / f"{split}.npy", np.array(entries, dtype=str))
    if binary is None:
        binary = np.array([t for _, _, t in srt], dtype=np.int64)
    np.save(d / "binary.npy", binary)
    np.save(d / "tags.npy", np.array(tags, dtype=str))


CLEAN_ASSIGNMENT = {
    "0/artist_a-album-01-track-0-29.mp3": "train",
    "b/artist_b-album-03-track-59-88.mp3": "train",
    "0/artist_a-album-01-track-30-59.mp3": "train",
    "c/artist_c-album-02-track-30-59.mp3": "valid",
    "d/artist_d-album-01-track-0-29.mp3": "test",
    "f/artist_f-album-05-track-88-117.mp3": "test",
}


@pytest.mark.parametrize("where", ["split/mtat", "split", "."])
def test_clean_split_from_npy_files(tmp_path, where):
    root = make_small(tmp_path / "mtat")
    write_npy(root / where, CLEAN_ASSIGNMENT)
    idx = load_mtat(root)
    assert idx.split_name == "clean"
    assert idx.label_names == SMALL_TAGS
    assert idx.counts() == {"train": 3, "valid": 1, "test": 2}
    assert idx.info["split_source"] == f"npy: {where}"
    truth = {p: np.array(t, dtype=np.uint8) for _, p, t in SMALL_ROWS}
    for e in idx.examples:
        assert e.split == CLEAN_ASSIGNMENT[e.id]
        assert e.target.dtype == np.uint8 and e.target.shape == (len(SMALL_TAGS),)
        np.testing.assert_array_equal(e.target, truth[e.id])
        assert e.audio_path == root / "mp3" / e.id
    assert [e.id for e in idx.examples] == sorted(CLEAN_ASSIGNMENT)
    assert idx.info["n_missing_audio"] == len(idx.examples) - 2  # 2 of the 3 written mp3s are in the split
    assert len(idx.missing()) == idx.info["n_missing_audio"]


def test_clean_split_npy_labels_come_from_binary_npy(tmp_path):
    """binary.npy, not the csv, defines the targets (the published matrix is authoritative)."""
    root = make_small(tmp_path / "mtat")
    binary = np.zeros((len(SMALL_ROWS), 2), dtype=np.int64)
    binary[:, 1] = 1
    write_npy(root / "split" / "mtat", CLEAN_ASSIGNMENT, tags=["a tag", "b tag"], binary=binary)
    idx = load_mtat(root)
    assert idx.label_names == ["a tag", "b tag"]
    assert all(e.target.tolist() == [0, 1] for e in idx.examples)


def test_clean_split_explicit_split_dir_outside_root(tmp_path):
    root = make_small(tmp_path / "mtat")
    write_npy(tmp_path / "elsewhere", CLEAN_ASSIGNMENT)
    idx = load_mtat(root, split_dir=tmp_path / "elsewhere")
    assert idx.counts() == {"train": 3, "valid": 1, "test": 2}
    assert idx.info["split_source"] == f"npy: {tmp_path / 'elsewhere'}"
    with pytest.raises(DatasetLayoutError, match="does not exist"):
        load_mtat(root, split_dir=tmp_path / "nowhere")
    with pytest.raises(DatasetLayoutError, match="--split-dir"):  # a user error: one line at the CLI
        load_mtat(root, split="original", split_dir=tmp_path / "elsewhere")


def test_clean_npy_mismatch_is_reported(tmp_path):
    root = make_small(tmp_path / "mtat")
    d = root / "split" / "mtat"
    write_npy(d, CLEAN_ASSIGNMENT)
    # index 0 is clip 3 ("0/artist_a…0-29"); point it at another path
    np.save(d / "valid.npy", np.array(["0\tc/artist_c-album-02-track-30-59.mp3"], dtype=str))
    with pytest.raises(DatasetLayoutError) as ei:
        load_mtat(root)
    msg = str(ei.value)
    assert "valid.npy entry 0" in msg and "index 0" in msg
    assert "c/artist_c-album-02-track-30-59.mp3" in msg and "0/artist_a-album-01-track-0-29.mp3" in msg
    assert "sorted by clip_id" in msg


def test_clean_npy_index_out_of_range_and_missing_files(tmp_path):
    root = make_small(tmp_path / "mtat")
    d = root / "split" / "mtat"
    write_npy(d, CLEAN_ASSIGNMENT)
    np.save(d / "test.npy", np.array(["99\td/artist_d-album-01-track-0-29.mp3"], dtype=str))
    with pytest.raises(DatasetLayoutError, match=r"test\.npy.*index 99 out of range.*8 rows"):
        load_mtat(root)
    (d / "binary.npy").unlink()
    with pytest.raises(DatasetLayoutError, match=r"lacks binary\.npy"):
        load_mtat(root)


def test_clean_npy_entries_must_be_index_tab_path(tmp_path):
    root = make_small(tmp_path / "mtat")
    d = root / "split" / "mtat"
    write_npy(d, CLEAN_ASSIGNMENT)
    np.save(d / "train.npy", np.array(["0/artist_a-album-01-track-0-29.mp3"], dtype=str))
    with pytest.raises(DatasetLayoutError, match=r"train\.npy: entry 0 .*<index>\\t<mp3_path>"):
        load_mtat(root)


def test_clean_rebuild_needs_published_tags(tmp_path):
    root = make_small(tmp_path / "mtat")
    with pytest.raises(DatasetLayoutError) as ei:
        load_mtat(root)  # no npy files, only 5 tags: cannot rebuild the clean split
    msg = str(ei.value)
    assert "train.npy" in msg and "split='original'" in msg and "split_dir" in msg


def test_original_split_small(tmp_path):
    root = make_small(tmp_path / "mtat")
    idx = load_mtat(root, split="original")
    # fewer than 50 tags: all of them, most frequent first (ties by name)
    # counts: rock 3, piano 3, guitar 3, no voice 2, choral 1
    assert idx.label_names == ["guitar", "piano", "rock", "no voice", "choral"]
    assert idx.counts() == {"train": 4, "valid": 1, "test": 3}  # the zero-tag clip 17 is kept
    assert {e.id: e.split for e in idx.examples} == {p: folder_split(p) for _, p, _ in SMALL_ROWS}
    tgt = {e.id: e.target for e in idx.examples}
    assert tgt["1/artist_b-album-01-track-30-59.mp3"].tolist() == [0, 0, 0, 0, 0]
    assert tgt["d/artist_d-album-01-track-0-29.mp3"].tolist() == [1, 0, 0, 1, 0]


def test_top_tags_tie_break_is_by_name_and_independent_of_column_order(tmp_path):
    rows = [(1, "0/x-1.mp3", [1, 1, 1, 0]), (2, "0/x-2.mp3", [1, 1, 1, 1]), (3, "0/x-3.mp3", [0, 0, 0, 1])]
    for order in (["zeta", "alpha", "mid", "solo"], ["solo", "mid", "alpha", "zeta"]):
        # zeta, alpha, mid: 2 each; solo: 2 as well -> all tied; by name: alpha, mid, solo, zeta
        df = pd.DataFrame([[cid] + t + [p] for cid, p, t in rows],
                          columns=["clip_id", "zeta", "alpha", "mid", "solo", "mp3_path"])
        df = df[["clip_id"] + order + ["mp3_path"]]
        write_csv(tmp_path / "a.csv", df)
        ann = read_annotations(tmp_path / "a.csv")
        assert top_tags(ann, 2) == ["alpha", "mid"]
        assert top_tags(ann, 50) == ["alpha", "mid", "solo", "zeta"]


def test_unquoted_csv_reads_the_same(tmp_path):
    a = load_mtat(make_small(tmp_path / "q", quoted=True), split="original")
    b = load_mtat(make_small(tmp_path / "u", quoted=False), split="original")
    assert '"clip_id"' in (tmp_path / "q" / "annotations_final.csv").read_text()
    assert '"clip_id"' not in (tmp_path / "u" / "annotations_final.csv").read_text()
    assert a.fingerprint() == b.fingerprint() and a.split_fingerprint() == b.split_fingerprint()


def test_mp3_folders_directly_under_root(tmp_path):
    root = tmp_path / "mtat"
    root.mkdir()
    write_csv(root / "annotations_final.csv", small_frame())
    (root / "0").mkdir()
    idx = load_mtat(root, split="original")
    assert idx.info["audio_dir"] == "."
    assert idx.examples[0].audio_path == root / idx.examples[0].id


# ---------------------------------------------------------------------------------------------------------------------
# fingerprints


def test_fingerprints_stable_under_root_move_and_row_order(tmp_path):
    root = make_small(tmp_path / "a")
    write_npy(root / "split" / "mtat", CLEAN_ASSIGNMENT)
    a = load_mtat(root)
    moved = tmp_path / "somewhere" / "else"
    shutil.copytree(root, moved)
    b = load_mtat(moved)
    assert a.fingerprint() == b.fingerprint() and a.split_fingerprint() == b.split_fingerprint()
    assert a.root != b.root
    # same content, csv rows in another order (the npy indices refer to the sorted order, so they stay valid)
    other = make_small(tmp_path / "c", rows=list(reversed(SMALL_ROWS)))
    write_npy(other / "split" / "mtat", CLEAN_ASSIGNMENT)
    c = load_mtat(other)
    assert c.fingerprint() == a.fingerprint() and c.split_fingerprint() == a.split_fingerprint()
    assert re.fullmatch(r"[0-9a-f]{64}", a.fingerprint()), a.fingerprint()   # a SHA-256 hex digest


def test_fingerprint_changes_with_a_label_and_split_fingerprint_with_a_split(tmp_path):
    root = make_small(tmp_path / "a")
    write_npy(root / "split" / "mtat", CLEAN_ASSIGNMENT)
    a = load_mtat(root)
    rows = [(cid, p, list(t)) for cid, p, t in SMALL_ROWS]
    rows[1][2][4] = 1  # one more tag on one clip
    root2 = make_small(tmp_path / "b", rows=rows)
    write_npy(root2 / "split" / "mtat", CLEAN_ASSIGNMENT, rows=rows)
    b = load_mtat(root2)
    assert a.fingerprint() != b.fingerprint()
    assert a.split_fingerprint() == b.split_fingerprint()
    moved = dict(CLEAN_ASSIGNMENT)
    moved["c/artist_c-album-02-track-30-59.mp3"] = "test"
    root3 = make_small(tmp_path / "c")
    write_npy(root3 / "split" / "mtat", moved)
    c = load_mtat(root3)
    assert c.fingerprint() == a.fingerprint()
    assert c.split_fingerprint() != a.split_fingerprint()


# ---------------------------------------------------------------------------------------------------------------------
# layout errors


def test_root_missing(tmp_path):
    with pytest.raises(DatasetLayoutError, match=r"does not exist") as ei:
        load_mtat(tmp_path / "no_such_dir")
    assert str(tmp_path / "no_such_dir") in str(ei.value)


def test_no_annotations_csv_lists_what_was_found(tmp_path):
    root = tmp_path / "mtat"
    (root / "mp3" / "0").mkdir(parents=True)
    (root / "readme.txt").write_text("x")
    (root / "tags.csv").write_text("x")
    with pytest.raises(DatasetLayoutError) as ei:
        load_mtat(root)
    msg = str(ei.value)
    assert "annotations_final.csv" in msg and "mp3/<0-f>" in msg and "MagnaTagATune" in msg
    assert "readme.txt" in msg and "tags.csv" in msg and "mp3/" in msg


def test_malformed_csv_errors(tmp_path):
    root = tmp_path / "mtat"
    root.mkdir()
    f = root / "annotations_final.csv"
    small_frame().to_csv(f, sep=",", index=False)  # comma-separated: one column
    with pytest.raises(DatasetLayoutError, match=r"no clip_id / mp3_path column.*tab-separated"):
        load_mtat(root, split="original")
    small_frame().drop(columns=["mp3_path"]).to_csv(f, sep="\t", index=False)
    with pytest.raises(DatasetLayoutError, match=r"no mp3_path column"):
        load_mtat(root, split="original")
    df = small_frame()
    df.loc[2, "piano"] = 2
    write_csv(f, df)
    with pytest.raises(DatasetLayoutError, match=r"line 4, tag column 'piano': value '2' is not 0/1"):
        load_mtat(root, split="original")
    f.write_text("")
    with pytest.raises(DatasetLayoutError, match="empty file"):
        load_mtat(root, split="original")
    df = small_frame()
    df.loc[1, "clip_id"] = df.loc[0, "clip_id"]
    write_csv(f, df)
    with pytest.raises(DatasetLayoutError, match="duplicate clip_id"):
        load_mtat(root, split="original")


def test_unknown_split_name(tmp_path):
    with pytest.raises(ValueError, match="unknown MTAT split"):
        load_mtat(make_small(tmp_path / "m"), split="clean50")
