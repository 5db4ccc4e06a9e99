"""The Medley-solos-DB reader (official subset column, song ids per split, audio names) and the synthesised
Medley-solos-DB set."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import learnability
from benchmarks.datasets import DatasetLayoutError, load_medley_solos
from benchmarks.datasets.medley_solos import INSTRUMENTS, METADATA, audio_name
from benchmarks.synth import medley as synth_medley

from helpers import tree_digests

ROWS = [("training", 0, 10, "0a1b"), ("training", 0, 10, "0a1c"), ("training", 4, 11, "0a1d"),
        ("validation", 3, 12, "0a1e"), ("test", 7, 13, "0a1f"), ("test", 2, 14, "0a20"), ("test", 4, 11, "0a21")]


def _tree(root: Path, annotation_dir: bool = False) -> None:
    audio = root / "audio"
    audio.mkdir(parents=True)
    lines = ["subset, instrument, instrument_id, song_id, uuid4"]
    for subset, iid, song, uuid in ROWS:
        lines.append(f"{subset}, {INSTRUMENTS[iid]}, {iid}, {song}, {uuid} ")
        if uuid != "0a20":
            sf.write(str(audio / audio_name(subset, iid, uuid)), np.zeros(800, np.float32), 22050, subtype="PCM_16")
    csv = root / ("annotation" if annotation_dir else "") / METADATA
    csv.parent.mkdir(exist_ok=True)
    csv.write_bytes(("\r\n".join(lines) + "\r\n").encode())


def test_reader(tmp_path):
    _tree(tmp_path, annotation_dir=True)
    ix = load_medley_solos(tmp_path)
    assert ix.split_name == "official" and ix.label_names == list(INSTRUMENTS)
    assert ix.counts() == {"train": 3, "valid": 1, "test": 3}
    ex = {e.id: e for e in ix.examples}
    assert ex["0a1f"].target == {"instrument": "violin", "song_id": 13} and ex["0a1f"].split == "test"
    assert ex["0a1d"].audio_path == tmp_path / "audio" / "Medley-solos-DB_training-4_0a1d.wav"
    assert ix.info["metadata"] == "annotation/Medley-solos-DB_metadata.csv"
    assert ix.info["songs_in_several_splits"] == {"11": ["test", "train"]}
    assert ix.info["n_missing_audio"] == 1 and ix.info["missing_audio_sample"] == ["0a20"]


def test_errors_name_the_file(tmp_path):
    with pytest.raises(DatasetLayoutError, match=f"{METADATA} not found"):
        load_medley_solos(tmp_path)
    _tree(tmp_path)
    csv = tmp_path / METADATA
    text = csv.read_text()
    csv.write_text(text.replace("training, piano, 4", "training, flute, 4"))
    with pytest.raises(DatasetLayoutError, match=r"line 4: instrument 'flute' with instrument_id '4'"):
        load_medley_solos(tmp_path)
    csv.write_text(text.replace("validation", "valid"))
    with pytest.raises(DatasetLayoutError, match=r"line 5: subset 'valid'"):
        load_medley_solos(tmp_path)
    csv.write_text(text.replace("song_id, ", ""))
    with pytest.raises(DatasetLayoutError, match="no column"):
        load_medley_solos(tmp_path)
    csv.write_text(text.replace("0a1c", "0a1b"))
    with pytest.raises(DatasetLayoutError, match="uuid4 0a1b appears twice"):
        load_medley_solos(tmp_path)


TINY = {"clip_samples": 8192, "songs_per_subset": {"training": 2, "validation": 1, "test": 1}, "clips_per_song": 2}


def test_synth_round_trip_and_determinism(tmp_path):
    synth_medley.render(tmp_path / "a", dict(TINY))
    synth_medley.render(tmp_path / "b", dict(TINY))
    assert tree_digests(tmp_path / "a") == tree_digests(tmp_path / "b")
    ix = load_medley_solos(tmp_path / "a")
    assert ix.counts() == {"train": 32, "valid": 16, "test": 16} == {
        k: v * len(INSTRUMENTS) * 2 for k, v in (("train", 2), ("valid", 1), ("test", 1))}
    assert ix.info["songs_in_several_splits"] == {} and ix.info["n_missing_audio"] == 0
    assert sf.info(str(ix.examples[0].audio_path)).frames == 8192
    json.dumps(ix.info)                     # records can hold the facts
    assert len(ix.fingerprint()) == 64     # every target has a canonical form


def test_synth_instruments_are_learnable_from_log_mel(tmp_path):
    synth_medley.render(tmp_path, {"clip_samples": 32768})
    ix = load_medley_solos(tmp_path)
    train, test = ix.split("train") + ix.split("valid"), ix.split("test")
    acc = learnability.accuracy([e.audio_path for e in train], [e.target["instrument"] for e in train],
                                [e.audio_path for e in test], [e.target["instrument"] for e in test])
    assert acc >= 0.6, acc  # chance 0.125
