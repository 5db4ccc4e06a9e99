"""NSynth reader (official ``nsynth-{train,valid,test}/examples.json`` + ``audio/<note_str>.wav`` layout) and the
stratified ``--train-subset`` sampler."""
from __future__ import annotations

import json
import random
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from benchmarks.datasets import DatasetLayoutError, Example, load_nsynth, stratified_subset
from benchmarks.datasets.nsynth import FAMILY_NAMES

SOURCES = ("acoustic", "electronic", "synthetic")


def note(family: int, source: int, inst_no: int, pitch: int, velocity: int, instrument: int) -> tuple[str, dict]:
    inst_str = f"{FAMILY_NAMES[family]}_{SOURCES[source]}_{inst_no:03d}"
    note_str = f"{inst_str}-{pitch:03d}-{velocity:03d}"
    return note_str, {
        "note": 1000 + pitch * 7 + velocity, "note_str": note_str, "instrument": instrument, "instrument_str": inst_str,
        "pitch": pitch, "velocity": velocity, "sample_rate": 16000, "instrument_family": family,
        "instrument_family_str": FAMILY_NAMES[family], "instrument_source": source,
        "instrument_source_str": SOURCES[source], "qualities": [0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
        "qualities_str": ["bright"],
    }


# split -> list of (family, source, inst_no, pitch, velocity, instrument): instruments never shared between splits
SPEC = {
    "train": [(0, 2, 33, 22, 50, 10), (0, 2, 33, 60, 100, 10), (3, 0, 1, 40, 75, 11), (3, 0, 1, 41, 75, 11),
              (9, 2, 7, 72, 127, 12), (10, 0, 2, 60, 25, 13)],
    "valid": [(1, 0, 4, 55, 50, 20), (2, 0, 5, 81, 100, 21)],
    "test": [(4, 1, 9, 21, 25, 30), (8, 0, 3, 108, 127, 31), (5, 0, 6, 64, 50, 32)],
}


def make_nsynth(root: Path, spec=SPEC, audio_splits=("test",), reverse_keys: bool = False) -> Path:
    for split, notes in spec.items():
        d = root / f"nsynth-{split}"
        (d / "audio").mkdir(parents=True, exist_ok=True)
        entries = dict(note(*n) for n in notes)
        if reverse_keys:
            entries = dict(reversed(list(entries.items())))
        (d / "examples.json").write_text(json.dumps(entries, indent=2))
        if split in audio_splits:
            for key in entries:
                sf.write(d / "audio" / f"{key}.wav", np.zeros(160, dtype=np.float32), 16000, subtype="PCM_16")
    return root


def test_reads_official_layout(tmp_path):
    root = make_nsynth(tmp_path / "nsynth")
    idx = load_nsynth(root)
    assert idx.name == "nsynth" and idx.split_name == "official"
    assert idx.label_names == list(FAMILY_NAMES) and len(FAMILY_NAMES) == 11
    assert idx.label_names[9] == "synth_lead" and idx.label_names[10] == "vocal"
    assert idx.counts() == {"train": 6, "valid": 2, "test": 3}
    assert [e.id for e in idx.examples] == sorted(e.id for e in idx.examples)
    ex = {e.id: e for e in idx.examples}
    e = ex["bass_synthetic_033-022-050"]
    assert e.split == "train"
    assert e.target == {"pitch": 22, "instrument_family": 0, "velocity": 50, "instrument": 10, "instrument_source": 2}
    assert e.audio_path == root / "nsynth-train" / "audio" / "bass_synthetic_033-022-050.wav"
    assert ex["string_acoustic_003-108-127"].target["instrument_family"] == 8
    assert idx.info["json_files"] == ["nsynth-train/examples.json", "nsynth-valid/examples.json",
                                      "nsynth-test/examples.json"]
    assert idx.info["n_missing_audio"] == 8  # only the test audio was written
    assert {m.split for m in idx.missing()} == {"train", "valid"}
    assert idx.info["official_sizes"] == {"train": 289205, "valid": 12678, "test": 4096}


def test_subset_of_splits_needs_only_their_folders(tmp_path):
    root = make_nsynth(tmp_path / "nsynth", spec={"test": SPEC["test"]})
    idx = load_nsynth(root, splits=("test",))
    assert idx.counts() == {"test": 3} and idx.info["n_missing_audio"] == 0
    with pytest.raises(DatasetLayoutError) as ei:
        load_nsynth(root)
    msg = str(ei.value)
    assert str(root / "nsynth-train" / "examples.json") in msg and "nsynth-valid" in msg
    assert "nsynth-test/" in msg  # what was found at the root
    assert "nsynth-{train,valid,test}/examples.json" in msg
    with pytest.raises(ValueError):
        load_nsynth(root, splits=("training",))


def test_root_missing(tmp_path):
    with pytest.raises(DatasetLayoutError, match="does not exist"):
        load_nsynth(tmp_path / "absent")


def _edit(root: Path, split: str, fn) -> Path:
    path = root / f"nsynth-{split}" / "examples.json"
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))
    return path


def test_missing_field_names_file_and_key(tmp_path):
    root = make_nsynth(tmp_path / "nsynth")
    path = _edit(root, "valid", lambda d: d["flute_acoustic_005-081-100"].pop("pitch"))
    with pytest.raises(DatasetLayoutError) as ei:
        load_nsynth(root)
    msg = str(ei.value)
    assert str(path) in msg and "flute_acoustic_005-081-100" in msg and "'pitch'" in msg


def test_invalid_values_and_inconsistent_fields(tmp_path):
    root = make_nsynth(tmp_path / "nsynth")
    _edit(root, "test", lambda d: d["keyboard_electronic_009-021-025"].update(pitch=130))
    with pytest.raises(DatasetLayoutError, match=r"keyboard_electronic_009-021-025.*'pitch' = 130 outside"):
        load_nsynth(root)
    root = make_nsynth(tmp_path / "n2")
    _edit(root, "test", lambda d: d["keyboard_electronic_009-021-025"].update(instrument_family_str="organ"))
    with pytest.raises(DatasetLayoutError, match=r"instrument_family 4 is 'keyboard'.*'organ'"):
        load_nsynth(root)
    root = make_nsynth(tmp_path / "n3")
    _edit(root, "test", lambda d: d["keyboard_electronic_009-021-025"].update(velocity="loud"))
    with pytest.raises(DatasetLayoutError, match=r"'velocity' = 'loud' is not an integer"):
        load_nsynth(root)
    root = make_nsynth(tmp_path / "n4")
    (root / "nsynth-valid" / "examples.json").write_text("{not json")
    with pytest.raises(DatasetLayoutError, match=r"nsynth-valid/examples.json: not valid JSON"):
        load_nsynth(root)
    root = make_nsynth(tmp_path / "n5")
    (root / "nsynth-valid" / "examples.json").write_text("[]")
    with pytest.raises(DatasetLayoutError, match=r"expected a JSON object keyed by note_str"):
        load_nsynth(root)


def test_note_in_two_splits_is_an_error(tmp_path):
    spec = dict(SPEC)
    spec["test"] = SPEC["test"] + [SPEC["train"][0]]
    root = make_nsynth(tmp_path / "nsynth", spec=spec)
    with pytest.raises(DatasetLayoutError, match=r"bass_synthetic_033-022-050.*also in nsynth-train"):
        load_nsynth(root)


def test_fingerprints(tmp_path):
    a = load_nsynth(make_nsynth(tmp_path / "a"))
    moved = tmp_path / "x" / "y"
    shutil.copytree(tmp_path / "a", moved)
    b = load_nsynth(moved)
    c = load_nsynth(make_nsynth(tmp_path / "c", reverse_keys=True, audio_splits=()))  # other json order, no audio
    assert a.fingerprint() == b.fingerprint() == c.fingerprint()
    assert a.split_fingerprint() == b.split_fingerprint() == c.split_fingerprint()
    root = make_nsynth(tmp_path / "d")
    _edit(root, "train", lambda d: d["bass_synthetic_033-060-100"].update(velocity=101))
    d = load_nsynth(root)
    assert d.fingerprint() != a.fingerprint() and d.split_fingerprint() == a.split_fingerprint()


# ---------------------------------------------------------------------------------------------------------------------
# stratified subset


def population(sizes: dict[str, int]) -> list[Example]:
    out = []
    for label, n in sizes.items():
        for i in range(n):
            out.append(Example(id=f"{label}-{i:04d}", audio_path=Path(f"/x/{label}-{i}.wav"), split="train",
                               target={"pitch": label}))
    return out


def test_stratified_subset_is_proportional_and_deterministic():
    exs = population({"a": 600, "b": 300, "c": 100})
    sub = stratified_subset(exs, 100, "pitch", seed=0)
    assert Counter(e.target["pitch"] for e in sub) == {"a": 60, "b": 30, "c": 10}
    assert [e.id for e in sub] == sorted(e.id for e in sub)
    again = stratified_subset(exs, 100, "pitch", seed=0)
    assert [e.id for e in again] == [e.id for e in sub]
    shuffled = list(exs)
    random.Random(1).shuffle(shuffled)
    assert [e.id for e in stratified_subset(shuffled, 100, "pitch", seed=0)] == [e.id for e in sub]
    other = stratified_subset(exs, 100, "pitch", seed=1)
    assert {e.id for e in other} != {e.id for e in sub}
    assert Counter(e.target["pitch"] for e in other) == {"a": 60, "b": 30, "c": 10}
    # a larger subset with the same seed extends the smaller one (rank order within each class)
    assert {e.id for e in sub} <= {e.id for e in stratified_subset(exs, 200, "pitch", seed=0)}


def test_stratified_subset_rounding_and_edges():
    exs = population({"a": 5, "b": 3, "c": 2})
    # quotas 2.5, 1.5, 1.0 -> floors 2, 1, 1; the one left goes to the largest remainder, ties to the larger class
    sub = stratified_subset(exs, 5, "pitch", seed=3)
    assert Counter(e.target["pitch"] for e in sub) == {"a": 3, "b": 1, "c": 1}
    assert len(stratified_subset(exs, 1, "pitch", seed=0)) == 1
    assert [e.id for e in stratified_subset(exs, 50, "pitch", seed=0)] == sorted(e.id for e in exs)
    with pytest.raises(ValueError):
        stratified_subset(exs, 0, "pitch", seed=0)
    by_fn = stratified_subset(exs, 5, lambda e: e.target["pitch"], seed=3)
    assert [e.id for e in by_fn] == [e.id for e in sub]
    with pytest.raises(ValueError, match="duplicate"):
        stratified_subset(exs + exs[:1], 3, "pitch", seed=0)


def test_stratified_subset_on_nsynth_index(tmp_path):
    idx = load_nsynth(make_nsynth(tmp_path / "n"))
    train = idx.split("train")
    sub = stratified_subset(train, 3, "instrument_family", seed=0)
    assert len(sub) == 3 and all(e.split == "train" for e in sub)
    fams = Counter(e.target["instrument_family"] for e in train)  # {0: 2, 3: 2, 9: 1, 10: 1}
    got = Counter(e.target["instrument_family"] for e in sub)
    assert got[0] == 1 and got[3] == 1 and sum(got.values()) == 3 and set(got) <= set(fams)
