"""The MTG-Jamendo reader (split-0 TSVs with CRLF and variable tag columns, full or .low.mp3 audio, tags
without positives excluded and reported) and the synthesised MTG-Jamendo set."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import learnability
from benchmarks.datasets import DatasetLayoutError, load_mtg_jamendo
from benchmarks.datasets.mtg_jamendo import read_split_tsv
from benchmarks.synth import jamendo as synth_jamendo

from helpers import tree_digests

HEADER = "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS"
ROWS = {  # split -> [(numeric id, tags)]
    "train": [(241, ["genre---rock"]), (3524, ["genre---pop", "mood/theme---melodic"]),
              (1009600, ["genre---rock", "genre---pop"]), (17, ["genre---jazz"])],
    "validation": [(42, ["genre---rock"]), (143, ["genre---pop"])],
    "test": [(7, ["genre---pop", "genre---rock"]), (99, ["genre---rock"]), (1200, ["genre---pop"])],
}


def _mp3(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.zeros(1600, np.float32), 16000, format="MP3")


def _tree(root: Path, subset_file: str = "autotagging_genre") -> None:
    d = root / "data" / "splits" / "split-0"
    d.mkdir(parents=True)
    for split, rows in ROWS.items():
        lines = [HEADER] + [f"track_{i:07d}\tartist_{i:06d}\talbum_{i:06d}\t{i % 100:02d}/{i}.mp3\t30.0\t" +
                            "\t".join(tags) for i, tags in rows]
        (d / f"{subset_file}-{split}.tsv").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    for split, rows in ROWS.items():
        for i, _ in rows:
            if i == 17:
                continue                                  # one track without audio
            low = i in (241, 1009600, 7)
            _mp3(root / "audio" / f"{i % 100:02d}" / (f"{i}.low.mp3" if low else f"{i}.mp3"))


def test_reader_crlf_variable_tags_quality_and_excluded_tags(tmp_path):
    _tree(tmp_path)
    ix = load_mtg_jamendo(tmp_path, "genre")
    assert ix.name == "mtg-jamendo-genre" and ix.split_name == "split-0"
    assert ix.counts() == {"train": 4, "valid": 2, "test": 3}
    # jazz has no positive outside train; mood/theme---melodic none outside train: excluded, reported with counts
    assert ix.label_names == ["genre---pop", "genre---rock"]
    assert ix.info["excluded_tags"] == {"genre---jazz": {"train": 1, "valid": 0, "test": 0},
                                        "mood/theme---melodic": {"train": 1, "valid": 0, "test": 0}}
    assert ix.info["n_tags_in_files"] == 4
    ex = {e.id: e for e in ix.examples}
    assert ex["track_1009600"].target.tolist() == [1, 1] and ex["track_1009600"].target.dtype == np.uint8
    assert ex["track_0003524"].target.tolist() == [1, 0]   # the CRLF was stripped from the last tag
    assert ex["track_1009600"].audio_path == tmp_path / "audio" / "00" / "1009600.low.mp3"
    assert ex["track_0000042"].audio_path == tmp_path / "audio" / "42" / "42.mp3"
    assert ix.info["audio_quality"] == {"full": 5, "low": 3}
    assert ix.info["n_missing_audio"] == 1 and ix.info["missing_audio_sample"] == ["track_0000017"]
    assert ix.info["official_sizes"] == {"train": 32572, "valid": 11043, "test": 11479}


def test_read_split_tsv_rows(tmp_path):
    p = tmp_path / "x.tsv"
    p.write_bytes(b"TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\r\n"
                  b"track_0000241\tartist_000005\talbum_000033\t41/241.mp3\t340.1\tgenre---rock\tinstrument---piano\r\n"
                  b"\r\n")
    assert read_split_tsv(p) == [("track_0000241", "41/241.mp3", ["genre---rock", "instrument---piano"])]
    p.write_bytes(b"TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n" b"track_1\tartist_1\n")
    with pytest.raises(DatasetLayoutError, match=r"x.tsv, line 2: expected TRACK_ID"):
        read_split_tsv(p)
    p.write_bytes(b"id,path\n")
    with pytest.raises(DatasetLayoutError, match="x.tsv: the first line is not the header"):
        read_split_tsv(p)


def test_errors_name_the_file(tmp_path):
    with pytest.raises(DatasetLayoutError, match=r"data/splits not found"):
        load_mtg_jamendo(tmp_path)
    _tree(tmp_path)
    with pytest.raises(DatasetLayoutError, match=r"autotagging_top50tags-train.tsv not found"):
        load_mtg_jamendo(tmp_path, "top50")
    with pytest.raises(DatasetLayoutError, match=r"split-3 not found"):
        load_mtg_jamendo(tmp_path, "genre", split=3)
    with pytest.raises(ValueError, match="unknown MTG-Jamendo subset"):
        load_mtg_jamendo(tmp_path, "mood")


TINY = {"clip_samples": 16000, "n_clips": 24}


def test_synth_round_trip_and_determinism(tmp_path):
    synth_jamendo.render(tmp_path / "a", dict(TINY))
    synth_jamendo.render(tmp_path / "b", dict(TINY))
    assert tree_digests(tmp_path / "a") == tree_digests(tmp_path / "b")
    tsv = tmp_path / "a" / "data" / "splits" / "split-0" / "autotagging_top50tags-train.tsv"
    assert tsv.read_bytes().count(b"\r\n") == len(tsv.read_bytes().splitlines())   # CRLF throughout
    tracks = synth_jamendo.plan({**synth_jamendo.DEFAULTS, **TINY})
    ix = load_mtg_jamendo(tmp_path / "a", "top50")
    assert len(ix) == 24 and ix.info["audio_quality"] == {"full": 0, "low": 24}
    assert ix.counts() == {s: sum(t["split"] == s for t in tracks) for s in ("train", "valid", "test")}
    for sub, prefix in (("genre", "genre---"), ("instrument", "instrument---"), ("moodtheme", "mood/theme---")):
        sub_ix = load_mtg_jamendo(tmp_path / "a", sub)
        assert len(sub_ix) == sum(any(x.startswith(prefix) for x in t["tags"]) for t in tracks)
        assert all(t.startswith(prefix) for t in sub_ix.label_names + list(sub_ix.info["excluded_tags"]))
    json.dumps(ix.info)                     # records can hold the facts
    assert len(ix.fingerprint()) == 64     # every target has a canonical form


def test_synth_tags_are_learnable_from_log_mel(tmp_path):
    synth_jamendo.render(tmp_path, {"clip_samples": 48000, "n_clips": 48})
    ix = load_mtg_jamendo(tmp_path, "top50")
    train, test = ix.split("train") + ix.split("valid"), ix.split("test")
    auc = learnability.macro_roc_auc([e.audio_path for e in train], np.stack([e.target for e in train]),
                                     [e.audio_path for e in test], np.stack([e.target for e in test]))
    assert auc > 0.65, auc  # chance 0.5
