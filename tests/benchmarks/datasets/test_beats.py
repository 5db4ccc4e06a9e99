"""Beat-tracking sets: ``.beats`` parsing, the generic / GTZAN-Rhythm / Ballroom layouts, layout detection, k-fold."""
from __future__ import annotations

import random
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from benchmarks.datasets import (BeatAnnotation, BeatFileError, DatasetLayoutError, kfold_assignments, load_ballroom,
                                 load_beat_dataset, load_beats, load_gtzan_rhythm, read_beats)


def wav(path: Path, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(441, dtype=np.float32), 22050, format=fmt)
    return path


def text(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return path


BEATS_4_4 = "0.50\t1\n1.00\t2\n1.50\t3\n2.00\t4\n2.50\t1\n"


# ---------------------------------------------------------------------------------------------------------------------
# .beats parsing


def test_read_beats_with_positions(tmp_path):
    b = read_beats(text(tmp_path / "a.beats", BEATS_4_4))
    assert b.times.dtype == np.float64 and b.times.tolist() == [0.5, 1.0, 1.5, 2.0, 2.5]
    assert b.positions.dtype == np.int64 and b.positions.tolist() == [1, 2, 3, 4, 1]
    assert b.downbeats.tolist() == [0.5, 2.5]
    assert len(b) == 5


def test_read_beats_whitespace_variants(tmp_path):
    content = "\ufeff\n0.5 1  \n\n1.0  2\t\r\n   1.5\t\t3 \n# a comment\n2.0 4\n\n\n"
    b = read_beats(text(tmp_path / "a.beats", content))
    assert b.times.tolist() == [0.5, 1.0, 1.5, 2.0] and b.positions.tolist() == [1, 2, 3, 4]
    crlf = tmp_path / "crlf.beats"
    crlf.write_bytes(b"0.25\t1\r\n0.75\t2\r\n")
    assert read_beats(crlf).positions.tolist() == [1, 2]


def test_read_beats_times_only_and_empty(tmp_path):
    b = read_beats(text(tmp_path / "t.beats", "0.1\n0.6\n1.1\n"))
    assert b.times.tolist() == [0.1, 0.6, 1.1] and b.positions is None and b.downbeats is None
    e = read_beats(text(tmp_path / "e.beats", "\n\n"))
    assert e.times.shape == (0,) and e.positions is None


def test_read_beats_float_positions_and_unsorted_lines(tmp_path):
    b = read_beats(text(tmp_path / "f.beats", "1.0\t2.0\n0.5\t1.0\n1.5\t3.\n"))
    assert b.times.tolist() == [0.5, 1.0, 1.5] and b.positions.tolist() == [1, 2, 3]  # sorted, positions follow


def test_read_beats_legacy_bar_dot_beat(tmp_path):
    # early CPJKU Ballroom files: "<time>\t<bar>.<beat>", pickup beats in bar 0, bars past 9
    content = "0.194467120\t0.4\n0.849977324\t1.1\n1.470022675\t1.2\n2.080000000\t1.3\n2.680000000\t1.4\n" \
              "3.300045351\t10.1\n3.929977324\t10.2\n"
    b = read_beats(text(tmp_path / "l.beats", content))
    assert b.positions.tolist() == [4, 1, 2, 3, 4, 1, 2]
    assert b.downbeats.tolist() == [0.849977324, 3.300045351]


@pytest.mark.parametrize("content, line, what", [
    ("0.5\t1\nabc\t2\n", 2, "is not a number"),
    ("0.5\t1\n1.0\t2\t7\n", 2, "got 3 fields"),
    ("0.5\t1\n1.0\tx\n", 2, "is not an integer"),
    ("0.5\t1\n1.0\t0\n", 2, "must be >= 1"),
    ("0.5\t1\n\n1.0\n", 3, "no beat position"),
    ("0.5\t1.1\n1.0\t2\n", 2, "is not '<bar>.<beat>'"),
    ("-0.5\t1\n", 1, "must be finite and >= 0"),
    ("nan\t1\n", 1, "must be finite and >= 0"),
])
def test_read_beats_errors_name_file_and_line(tmp_path, content, line, what):
    path = text(tmp_path / "bad.beats", content)
    with pytest.raises(BeatFileError) as ei:
        read_beats(path)
    msg = str(ei.value)
    assert f"{path}, line {line}" in msg and what in msg
    assert isinstance(ei.value, DatasetLayoutError)


def test_beat_annotation_validates():
    with pytest.raises(ValueError):
        BeatAnnotation(times=np.array([1.0, 0.5]))
    with pytest.raises(ValueError):
        BeatAnnotation(times=np.array([0.5, 1.0]), positions=np.array([1]))


# ---------------------------------------------------------------------------------------------------------------------
# generic layout


def make_generic(root: Path, ids=("t01", "t02", "t03"), splits: str | None = None) -> Path:
    for i, k in enumerate(ids):
        wav(root / "audio" / f"{k}.wav")
        text(root / "annotations" / f"{k}.beats", f"{0.1 * (i + 1):.3f}\t1\n{0.6 + 0.1 * i:.3f}\t2\n")
    if splits is not None:
        text(root / "splits.tsv", splits)
    return root


def test_generic_layout(tmp_path):
    root = make_generic(tmp_path / "set")
    wav(root / "audio" / "orphan_audio.wav")
    text(root / "annotations" / "orphan_ann.beats", "0.5\n")
    (root / "audio" / "t02.mp3").write_bytes(b"\xff\xfb" + bytes(32))  # same id as t02.wav: the wav is used
    (root / "audio" / "notes.txt").write_text("ignored")
    idx = load_beats(root)
    assert idx.name == "beats" and idx.split_name == "none" and idx.label_names is None
    assert [e.id for e in idx.examples] == ["t01", "t02", "t03"]
    assert all(e.split == "" for e in idx.examples) and idx.counts() == {"": 3}
    e = idx.examples[1]
    assert e.audio_path == root / "audio" / "t02.wav"
    assert isinstance(e.target, BeatAnnotation) and e.target.times.tolist() == [0.2, 0.7]
    assert idx.info["audio_without_annotation"] == ["orphan_audio"]
    assert idx.info["annotation_without_audio"] == ["orphan_ann"]
    assert idx.info["duplicate_audio"] == {"t02": ["t02.wav", "t02.mp3"]}
    assert idx.info["n_missing_audio"] == 0
    assert load_beat_dataset(root).fingerprint() == idx.fingerprint()
    assert load_beats(root, name="hainsworth").name == "hainsworth"


def test_generic_layout_other_extensions(tmp_path):
    root = tmp_path / "set"
    wav(root / "audio" / "a.flac", fmt="FLAC")
    wav(root / "audio" / "b.au", fmt="AU")
    (root / "audio" / "c.MP3").write_bytes(b"\xff\xfb" + bytes(32))
    for k in "abc":
        text(root / "annotations" / f"{k}.beats", "0.5\n1.0\n")
    idx = load_beats(root)
    assert [e.audio_path.name for e in idx.examples] == ["a.flac", "b.au", "c.MP3"]


def test_generic_layout_with_splits(tmp_path):
    root = make_generic(tmp_path / "set", splits="id\tsplit\nt01\ttrain\nt02 valid\n\nt03\ttest\nghost\ttrain\n")
    idx = load_beats(root)
    assert idx.split_name == "given"
    assert {e.id: e.split for e in idx.examples} == {"t01": "train", "t02": "valid", "t03": "test"}
    assert idx.counts() == {"train": 1, "valid": 1, "test": 1}
    assert idx.info["splits_unknown_ids"] == ["ghost"]
    assert [e.id for e in idx.split("valid")] == ["t02"]


def test_generic_layout_split_errors(tmp_path):
    root = make_generic(tmp_path / "a", splits="t01\ttrain\nt02\ttraining\n")
    with pytest.raises(DatasetLayoutError, match=r"splits.tsv, line 2: split 'training'"):
        load_beats(root)
    root = make_generic(tmp_path / "b", splits="t01\ttrain\nt02\ttest\n")
    with pytest.raises(DatasetLayoutError, match=r"1 track\(s\).*not listed.*t03"):
        load_beats(root)


def test_generic_layout_errors(tmp_path):
    with pytest.raises(DatasetLayoutError, match="does not exist"):
        load_beats(tmp_path / "nothing")
    root = tmp_path / "set"
    wav(root / "audio" / "x.wav")
    with pytest.raises(DatasetLayoutError) as ei:
        load_beats(root)
    msg = str(ei.value)
    assert "no annotations/" in msg and "<root>/annotations/<id>.beats" in msg and "Found: audio/" in msg
    text(root / "annotations" / "y.beats", "0.5\n")
    with pytest.raises(DatasetLayoutError, match=r"no track pairs.*audio ids \['x'\].*annotation ids \['y'\]"):
        load_beats(root)
    text(root / "annotations" / "x.beats", "0.5\t1\n1.0\tdownbeat\n")
    with pytest.raises(BeatFileError, match=r"x\.beats, line 2"):
        load_beats(root)


# ---------------------------------------------------------------------------------------------------------------------
# GTZAN-Rhythm


def make_gtzan(root: Path, audio_dir="genres", ann_dir="gtzan_tempo_beat-main/beats", fmt="AU",
               tracks=(("blues", 0), ("blues", 1), ("jazz", 54), ("rock", 99))) -> Path:
    ext = fmt.lower() if fmt != "WAV" else "wav"
    for g, n in tracks:
        wav(root / audio_dir / g / f"{g}.{n:05d}.{ext}", fmt=fmt)
        text(root / ann_dir / f"gtzan_{g}_{n:05d}.beats", f"0.{n % 10}5\t1\n1.{n % 10}\t2\n2.0\t3\n")
    return root


def test_gtzan_download_layout(tmp_path):
    root = make_gtzan(tmp_path / "gtzan")
    wav(root / "genres" / "pop" / "pop.00003.au", fmt="AU")  # audio without annotation
    text(root / "gtzan_tempo_beat-main" / "beats" / "gtzan_disco_00007.beats", "0.5\n")  # annotation without audio
    text(root / "gtzan_tempo_beat-main" / "tempo" / "gtzan_blues_00000.bpm", "120\n")
    idx = load_gtzan_rhythm(root)
    assert idx.name == "gtzan" and idx.split_name == "none"
    assert [e.id for e in idx.examples] == ["blues.00000", "blues.00001", "jazz.00054", "rock.00099"]
    assert idx.examples[2].audio_path == root / "genres" / "jazz" / "jazz.00054.au"
    assert idx.examples[2].target.positions.tolist() == [1, 2, 3]
    assert idx.info["audio_dir"] == "genres"
    assert idx.info["annotation_dir"] == "gtzan_tempo_beat-main/beats"
    assert idx.info["audio_without_annotation"] == ["pop.00003"]
    assert idx.info["annotation_without_audio"] == ["disco.00007"]
    assert idx.info["genre_counts"] == {"blues": 2, "jazz": 1, "rock": 1}
    assert load_beat_dataset(root).fingerprint() == idx.fingerprint()
    assert load_beat_dataset(root, layout="gtzan").name == "gtzan"


def test_gtzan_kaggle_layout_and_beat_this_annotations(tmp_path):
    root = make_gtzan(tmp_path / "g", audio_dir="Data/genres_original", fmt="WAV",
                      ann_dir="beat_this_annotations-main/gtzan/annotations/beats")
    idx = load_gtzan_rhythm(root)
    assert idx.info["audio_dir"] == "Data/genres_original"
    assert idx.info["annotation_dir"] == "beat_this_annotations-main/gtzan/annotations/beats"
    assert idx.examples[0].audio_path.name == "blues.00000.wav"


def test_gtzan_recursive_fallback_and_wav_preferred(tmp_path):
    root = make_gtzan(tmp_path / "g", audio_dir="my stuff/GTZAN audio", ann_dir="downloads/rhythm/v2/annot")
    wav(root / "my stuff" / "GTZAN audio" / "blues" / "blues.00000.wav")  # converted copy beside the .au
    idx = load_gtzan_rhythm(root)
    assert idx.info["audio_dir"] == "recursive search" and idx.info["annotation_dir"] == "recursive search"
    assert len(idx) == 4
    assert idx.examples[0].audio_path.name == "blues.00000.wav"
    assert idx.info["duplicate_audio"] == {"blues.00000": ["my stuff/GTZAN audio/blues/blues.00000.wav",
                                                           "my stuff/GTZAN audio/blues/blues.00000.au"]}


def test_gtzan_other_annotation_names(tmp_path):
    root = tmp_path / "g"
    wav(root / "genres" / "metal" / "metal.00010.au", fmt="AU")
    wav(root / "genres" / "pop" / "pop.00011.au", fmt="AU")
    text(root / "annotations" / "metal.00010.beats", "0.5\n")
    text(root / "annotations" / "pop_00011.beats", "0.5\n")
    assert [e.id for e in load_gtzan_rhythm(root).examples] == ["metal.00010", "pop.00011"]


# ---------------------------------------------------------------------------------------------------------------------
# Ballroom

BALLROOM = (("ChaChaCha", "Albums-Cafe_Paradiso-05"), ("Waltz", "Media-105901"), ("Jive", "Albums-Cafe_Paradiso-14"))


def make_ballroom(root: Path, audio_dir="BallroomData", ann_dir="BallroomAnnotations-master") -> Path:
    for genre, name in BALLROOM:
        wav(root / audio_dir / genre / f"{name}.wav")
        text(root / ann_dir / f"{name}.beats", "0.3000000000 1\n0.7800000000 2\n1.2600000000 3\n")
    text(root / ann_dir / "README.md", "Ballroom beat and bar annotations\n")
    (root / audio_dir / "allBallroomFiles").write_text("\n".join(f"./{g}/{n}.wav" for g, n in BALLROOM))
    return root


def test_ballroom_layout(tmp_path):
    root = make_ballroom(tmp_path / "ballroom")
    # legacy annotation version: "<time> <bar>.<beat>"
    text(root / "BallroomAnnotations-master" / "Media-105901.beats", "0.194467120\t0.3\n0.849977324\t1.1\n")
    idx = load_ballroom(root)
    assert idx.name == "ballroom" and idx.split_name == "none"
    assert [e.id for e in idx.examples] == ["Albums-Cafe_Paradiso-05", "Albums-Cafe_Paradiso-14", "Media-105901"]
    assert idx.examples[0].audio_path == root / "BallroomData" / "ChaChaCha" / "Albums-Cafe_Paradiso-05.wav"
    assert idx.examples[0].target.positions.tolist() == [1, 2, 3]
    assert idx.examples[2].target.positions.tolist() == [3, 1]
    assert idx.info["audio_dir"] == "BallroomData" and idx.info["annotation_dir"] == "BallroomAnnotations-master"
    assert idx.info["genre_counts"] == {"ChaChaCha": 1, "Jive": 1, "Waltz": 1}
    assert idx.info["annotation_without_audio"] == [] and idx.info["audio_without_annotation"] == []
    assert load_beat_dataset(root).name == "ballroom"


def test_ballroom_recursive_fallback(tmp_path):
    root = make_ballroom(tmp_path / "b", audio_dir="data/ismir2004/wav", ann_dir="data/krebs/annotations_v1.2")
    idx = load_ballroom(root)
    assert len(idx) == 3 and idx.info["audio_dir"] == "recursive search"
    assert idx.info["annotation_dir"] == "recursive search"


# ---------------------------------------------------------------------------------------------------------------------
# detection, fingerprints


def test_auto_detection_failure_explains_every_layout(tmp_path):
    root = tmp_path / "mystery"
    wav(root / "songs" / "song1.wav")
    text(root / "labels" / "song1.txt", "0.5\n")
    with pytest.raises(DatasetLayoutError) as ei:
        load_beat_dataset(root)
    msg = str(ei.value)
    assert "generic layout expects" in msg and "GTZAN-Rhythm layout expects" in msg and "Ballroom layout expects" in msg
    assert "labels/" in msg and "songs/" in msg
    with pytest.raises(ValueError):
        load_beat_dataset(root, layout="hainsworth")
    with pytest.raises(DatasetLayoutError, match="GTZAN-Rhythm layout expects"):
        load_beat_dataset(root, layout="gtzan")


def test_fingerprints_stable_and_sensitive(tmp_path):
    a = load_gtzan_rhythm(make_gtzan(tmp_path / "a"))
    shutil.copytree(tmp_path / "a", tmp_path / "moved" / "here")
    b = load_gtzan_rhythm(tmp_path / "moved" / "here")
    # the same files created in the opposite order
    c = load_gtzan_rhythm(make_gtzan(tmp_path / "c", tracks=(("rock", 99), ("jazz", 54), ("blues", 1), ("blues", 0))))
    assert a.fingerprint() == b.fingerprint() == c.fingerprint()
    assert a.split_fingerprint() == b.split_fingerprint() == c.split_fingerprint()
    text(tmp_path / "c" / "gtzan_tempo_beat-main" / "beats" / "gtzan_jazz_00054.beats", "0.46\t1\n1.4\t2\n2.0\t3\n")
    d = load_gtzan_rhythm(tmp_path / "c")
    assert d.fingerprint() != a.fingerprint() and d.split_fingerprint() == a.split_fingerprint()
    text(tmp_path / "c" / "gtzan_tempo_beat-main" / "beats" / "gtzan_jazz_00054.beats", "0.46\t1\n1.4\t2\n2.0\t1\n")
    assert load_gtzan_rhythm(tmp_path / "c").fingerprint() != d.fingerprint()  # a position change counts too


# ---------------------------------------------------------------------------------------------------------------------
# k-fold


def test_kfold_deterministic_balanced_and_order_independent():
    ids = [f"track{i:04d}" for i in range(1000)]
    folds = kfold_assignments(ids, k=8, seed=0)
    assert set(folds) == set(ids) and set(folds.values()) == set(range(8))
    assert Counter(folds.values()) == {f: 125 for f in range(8)}
    shuffled = list(ids)
    random.Random(5).shuffle(shuffled)
    assert kfold_assignments(shuffled, k=8, seed=0) == folds
    assert kfold_assignments(ids, k=8, seed=0) == folds
    other = kfold_assignments(ids, k=8, seed=1)
    assert other != folds and Counter(other.values()) == Counter(folds.values())
    sizes = Counter(kfold_assignments(ids[:13], k=8).values())
    assert sorted(sizes.values()) == [1, 1, 1, 2, 2, 2, 2, 2]


def test_kfold_is_pinned():
    """The fold of a track must not change between versions (records from different runs are compared)."""
    ids = ["blues.00000", "blues.00001", "jazz.00054", "rock.00099", "Media-105901", "Albums-Cafe_Paradiso-05"]
    assert kfold_assignments(ids, k=3, seed=0) == {
        "Albums-Cafe_Paradiso-05": 0, "rock.00099": 1, "jazz.00054": 2,
        "blues.00000": 0, "blues.00001": 1, "Media-105901": 2,
    }


def test_kfold_errors():
    with pytest.raises(ValueError, match="duplicate"):
        kfold_assignments(["a", "a", "b"], k=2)
    with pytest.raises(ValueError):
        kfold_assignments(["a", "b"], k=1)
    with pytest.raises(ValueError, match="cannot fill"):
        kfold_assignments(["a", "b"], k=8)
