"""The VocalSet reader (folder labels, misnamed files, misspelt folders, duplicates, technique and singer
splits) and the synthesised VocalSet set."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import learnability
from benchmarks.datasets import DatasetLayoutError, load_vocalset
from benchmarks.datasets.vocalset import SINGERS, TECHNIQUES, normalise_technique, short_singer
from benchmarks.synth import vocalset as synth_vocalset

from helpers import tree_digests


def _wav(path: Path, value: float = 0.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.full(800, value, dtype=np.float32)
    sf.write(str(path), x, 8000, subtype="PCM_16")


def _tree(root: Path) -> Path:
    """Every singer sings 4 techniques (3 of MARBLE's 10, plus forte) in 'scales'; with the real pitfalls."""
    full = root / "VocalSet" / "FULL"
    n = 0
    for singer in SINGERS:
        s = short_singer(singer)
        for tech in ("belt", "vibrato", "straight", "forte"):
            folder = "vibrado" if (singer, tech) == ("male4", "vibrato") else tech
            _wav(full / singer / "scales" / folder / f"{s}_scales_{tech}_a.wav", n / 1000)
            n += 1
    # pitfalls: a name with another technique, another singer, no prefix and spaces; a duplicate; a stray folder
    vib = full / "female3/scales/vibrato"
    (vib / "f3_scales_vibrato_a.wav").rename(vib / "f3_scales_straight_a.wav")
    (full / "male1/scales/belt/m1_scales_belt_a.wav").rename(full / "male1/scales/belt/m2_scales_belt_a.wav")
    (full / "male7/scales/belt/m7_scales_belt_a.wav").rename(full / "male7/scales/belt/scales belt a.wav")
    shutil.copyfile(full / "female1/scales/straight/f1_scales_straight_a.wav",
                    full / "female1/scales/straight/f1_scales_straight_a (1).wav")
    (full / "__MACOSX").mkdir()
    return full


def test_name_checks_match_whole_technique_names():
    from benchmarks.datasets.vocalset import _name_problems

    assert _name_problems("f1_arpeggios_lip_trill_a", "female1", "lip_trill") == []
    assert _name_problems("f1_arpeggios_lip_trill_a", "female1", "trill") == [
        "name says technique lip_trill, folder trill"]
    assert _name_problems("f1_scales_vibrado_a", "female1", "vibrato") == []
    assert _name_problems("F1 scales vocal_fry e", "female1", "vocal_fry") == []
    assert _name_problems("m10_excerpts_x", "male10", "spoken") == []   # no technique in the name: nothing to check


def test_short_names_and_technique_folders():
    assert [short_singer(s) for s in ("female2", "male10")] == ["f2", "m10"]
    assert normalise_technique("vibrado") == ("vibrato", True)
    assert normalise_technique("Lip Trill") == ("lip_trill", False)
    assert normalise_technique("vocal-fry") == ("vocal_fry", False)
    assert normalise_technique("xyz") == ("xyz", False)


def test_technique_task(tmp_path):
    _tree(tmp_path)
    ix = load_vocalset(tmp_path, "technique")
    assert ix.split_name == "marble-technique" and ix.label_names == list(TECHNIQUES)
    assert len(ix) == 60 and ix.info["n_other_techniques"] == 20     # forte is not one of MARBLE's 10
    test_singers = {e.target["singer"] for e in ix.split("test")}
    assert test_singers == {"female2", "female8", "male3", "male5", "male10"}
    assert ix.counts()["test"] == 15
    assert not {e.target["singer"] for e in ix.split("train") + ix.split("valid")} & test_singers
    # validation: a seeded 15 % of each technique's training files (15 files -> 2)
    valid = ix.split("valid")
    assert len(valid) == 6 and sorted(e.target["technique"] for e in valid) == ["belt"] * 2 + ["straight"] * 2 + \
        ["vibrato"] * 2
    ex = {e.id: e for e in ix.examples}
    assert ex["male4/scales/vibrado/m4_scales_vibrato_a.wav"].target == {"singer": "male4", "technique": "vibrato",
                                                                        "context": "scales"}
    assert ix.info["technique_folder_aliases"] == {"vibrado": "vibrato"}
    assert ix.info["full_dir"] == "VocalSet/FULL" and ix.info["unknown_folders"] == ["__MACOSX"]


def test_misnamed_files_keep_the_folder_label_and_are_reported(tmp_path):
    _tree(tmp_path)
    ix = load_vocalset(tmp_path, "singer")
    problems = {m["id"]: m["problem"] for m in ix.info["misnamed"]}
    assert problems == {"female3/scales/vibrato/f3_scales_straight_a.wav":
                        "name says technique straight, folder vibrato",
                        "male1/scales/belt/m2_scales_belt_a.wav": "name says singer m2, folder m1",
                        "male7/scales/belt/scales belt a.wav": "no singer prefix"}
    ex = {e.id: e for e in ix.examples}
    assert ex["female3/scales/vibrato/f3_scales_straight_a.wav"].target["technique"] == "vibrato"
    assert ex["male1/scales/belt/m2_scales_belt_a.wav"].target["singer"] == "male1"
    assert ix.info["duplicates"] == [["female1/scales/straight/f1_scales_straight_a.wav",
                                      "female1/scales/straight/f1_scales_straight_a (1).wav"]]
    assert "female1/scales/straight/f1_scales_straight_a (1).wav" not in ex


def test_singer_split_puts_every_singer_everywhere(tmp_path):
    _tree(tmp_path)
    ix = load_vocalset(tmp_path, "singer", seed=1)
    assert ix.split_name == "singer-stratified" and ix.label_names == list(SINGERS)
    assert len(ix) == 80
    for split in ("train", "valid", "test"):
        assert {e.target["singer"] for e in ix.split(split)} == set(SINGERS)
    assert ix.counts() == {"train": 40, "valid": 20, "test": 20}
    assert ix.split_fingerprint() == load_vocalset(tmp_path, "singer", seed=1).split_fingerprint()
    assert ix.split_fingerprint() != load_vocalset(tmp_path, "singer", seed=2).split_fingerprint()


def test_errors(tmp_path):
    with pytest.raises(DatasetLayoutError, match="no singer folders"):
        load_vocalset(tmp_path)
    _wav(tmp_path / "FULL" / "female1" / "scales" / "belt" / "f1_scales_belt_a.wav")
    with pytest.raises(DatasetLayoutError, match=r"female1 has 1 usable file\(s\)"):
        load_vocalset(tmp_path, "singer")
    assert load_vocalset(tmp_path, "technique").counts() == {"train": 1}


TINY = {"clip_seconds": 0.5}


def test_synth_round_trip_and_determinism(tmp_path):
    synth_vocalset.render(tmp_path / "a", dict(TINY))
    synth_vocalset.render(tmp_path / "b", dict(TINY))
    assert tree_digests(tmp_path / "a") == tree_digests(tmp_path / "b")
    assert len(list((tmp_path / "a").rglob("*.wav"))) == synth_vocalset.n_items(synth_vocalset.DEFAULTS) + 1
    tech = load_vocalset(tmp_path / "a", "technique")
    assert tech.counts() == {"train": 130, "valid": 20, "test": 50}
    assert tech.info["technique_folder_aliases"] == {"vibrado": "vibrato"}
    assert len(tech.info["duplicates"]) == 1
    assert sorted(m["problem"] for m in tech.info["misnamed"]) == ["name says technique straight, folder vibrato",
                                                                   "no singer prefix"]
    singer = load_vocalset(tmp_path / "a", "singer")
    assert singer.counts() == {"train": 120, "valid": 40, "test": 40}
    json.dumps(tech.info)                     # records can hold the facts
    assert len(tech.fingerprint()) == 64     # every target has a canonical form


def test_synth_singers_and_techniques_are_learnable_from_log_mel(tmp_path):
    synth_vocalset.render(tmp_path, {"clip_seconds": 1.0})
    for task, floor in (("technique", 0.5), ("singer", 0.3)):   # chance 0.1 and 0.05
        ix = load_vocalset(tmp_path, task)
        train, test = ix.split("train") + ix.split("valid"), ix.split("test")
        acc = learnability.accuracy([e.audio_path for e in train], [e.target[task] for e in train],
                                    [e.audio_path for e in test], [e.target[task] for e in test])
        assert acc >= floor, (task, acc)
