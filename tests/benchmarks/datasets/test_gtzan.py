"""The GTZAN reader (fault-filtered lists, cv10, layout variants, errors) and the synthesised GTZAN set."""
from __future__ import annotations

import re
from collections import Counter
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import learnability
from helpers import shared_or_skip, tree_digests
from benchmarks.datasets import DatasetLayoutError, find_gtzan_audio, load_gtzan
from benchmarks.datasets.gtzan import FILTERED_SIZES, GENRES, read_split_list
from benchmarks.synth import gtzan as synth_gtzan
from omar_rq.audio import AudioLoadError, load_audio


def _audio(path: Path, fmt: str = "WAV") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.zeros(800, dtype=np.float32), 8000, subtype="PCM_16", format=fmt)


def _tree(root: Path, sub: str = "genres", ext: str = "wav", per_genre: int = 4) -> None:
    for g in GENRES:
        for k in range(per_genre):
            _audio(root / sub / g / f"{g}.{k:05d}.{ext}", "AU" if ext == "au" else "WAV")


def _lists(d: Path, newline: str = "\n") -> None:
    """Clip 0 train, 1 valid, 2 test, 3 unlisted, for every genre; a blank line in the train list."""
    d.mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(("train_filtered.txt", "valid_filtered.txt", "test_filtered.txt")):
        lines = [f"{g}/{g}.{k:05d}.wav" for g in GENRES]
        if k == 0:
            lines.insert(3, "")
        (d / name).write_bytes((newline.join(lines) + newline).encode())


def test_fault_filtered_split_crlf_lists_in_split_dir(tmp_path):
    _tree(tmp_path, "genres_original")
    _lists(tmp_path / "split", "\r\n")
    ix = load_gtzan(tmp_path)
    assert ix.split_name == "fault-filtered" and ix.label_names == list(GENRES)
    assert ix.counts() == {"train": 10, "valid": 10, "test": 10}
    assert ix.info["n_unlisted"] == 10 and ix.info["audio_dir"] == "genres_original"
    assert ix.info["split_files"] == ["split/train_filtered.txt", "split/valid_filtered.txt", "split/test_filtered.txt"]
    jazz = {e.id: e for e in ix.examples}["jazz.00001"]
    assert jazz.split == "valid" and jazz.target == {"genre": "jazz"}
    assert jazz.audio_path == tmp_path / "genres_original" / "jazz" / "jazz.00001.wav"
    assert ix.info["n_missing_audio"] == 0


def test_au_tree_unpadded_names_and_wav_preferred(tmp_path):
    _tree(tmp_path, "genres", "au", per_genre=2)
    _audio(tmp_path / "genres" / "rock" / "rock.7.au", "AU")       # unpadded number
    _audio(tmp_path / "genres" / "rock" / "rock.00001.wav")        # both .au and .wav: the .wav is taken
    _audio(tmp_path / "genres" / "rock" / "pop.00009.wav")         # a file in the wrong genre folder: not a clip
    found = find_gtzan_audio(tmp_path).files
    assert len(found) == 21
    assert found["rock.00007"].name == "rock.7.au"
    assert found["rock.00001"].suffix == ".wav"
    assert "pop.00009" not in found


def test_cv10_is_stratified_seeded_and_over_all_clips(tmp_path):
    _tree(tmp_path, per_genre=10)
    ix = load_gtzan(tmp_path, split="cv10", seed=3)
    assert ix.split_name == "cv10" and ix.counts() == {"": 100}
    folds = ix.info["cv_folds"]
    for f in range(10):  # stratified: every fold holds exactly one clip of each genre
        assert sorted(cid.split(".")[0] for cid, k in folds.items() if k == f) == sorted(GENRES)
    assert load_gtzan(tmp_path, split="cv10", seed=3).info["cv_folds"] == folds
    assert load_gtzan(tmp_path, split="cv10", seed=4).info["cv_folds"] != folds


def test_known_corrupt_clip_is_indexed_and_fails_to_decode(tmp_path):
    _tree(tmp_path, per_genre=1)
    _lists(tmp_path)
    bad = tmp_path / "genres" / "jazz" / "jazz.00054.wav"
    sf.write(str(bad), np.zeros(8000, dtype=np.float32), 8000, subtype="PCM_16")
    bad.write_bytes(bad.read_bytes()[:4000])
    (tmp_path / "train_filtered.txt").write_text((tmp_path / "train_filtered.txt").read_text() +
                                                 "jazz/jazz.00054.wav\n")
    ix = load_gtzan(tmp_path)
    assert ix.info["known_corrupt"] == ["jazz.00054"]
    assert {e.id: e.split for e in ix.examples}["jazz.00054"] == "train"
    with pytest.raises(AudioLoadError, match="truncated"):
        load_audio(bad, 8000)


def test_errors_name_the_file(tmp_path):
    _tree(tmp_path, per_genre=3)
    with pytest.raises(DatasetLayoutError, match="train_filtered.txt not found.*cv10"):
        load_gtzan(tmp_path)
    _lists(tmp_path)
    (tmp_path / "valid_filtered.txt").unlink()
    with pytest.raises(DatasetLayoutError, match=r"valid_filtered.txt not found beside"):
        load_gtzan(tmp_path)
    _lists(tmp_path)
    (tmp_path / "test_filtered.txt").write_text("blues/blues.00002.wav\nsamba/samba.00001.wav\n")
    with pytest.raises(DatasetLayoutError, match=r"test_filtered.txt, line 2: 'samba/samba.00001.wav'"):
        load_gtzan(tmp_path)
    (tmp_path / "test_filtered.txt").write_text("blues/blues.00000.wav\n")
    with pytest.raises(DatasetLayoutError, match=r"test_filtered.txt: blues.00000 is also listed in train"):
        load_gtzan(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetLayoutError, match="no audio found"):
        load_gtzan(tmp_path / "empty", split="cv10")
    with pytest.raises(DatasetLayoutError, match="does not exist"):
        load_gtzan(tmp_path / "nowhere")


def test_read_split_list_accepts_au_suffix_and_backslashes(tmp_path):
    p = tmp_path / "l.txt"
    p.write_bytes(b"blues\\blues.00003.au\r\n\r\njazz/jazz.00010.wav")
    assert read_split_list(p) == [("blues.00003", "blues"), ("jazz.00010", "jazz")]


TINY = {"clip_seconds": 1.0, "train_per_genre": 2, "valid_per_genre": 1, "test_per_genre": 1,
        "unlisted_per_genre": 1}


def test_synth_round_trip_and_determinism(tmp_path):
    synth_gtzan.render(tmp_path / "a", dict(TINY))
    synth_gtzan.render(tmp_path / "b", dict(TINY))
    assert tree_digests(tmp_path / "a") == tree_digests(tmp_path / "b")
    assert synth_gtzan.n_items({**synth_gtzan.DEFAULTS, **TINY}) == 50 == len(list((tmp_path / "a").rglob("*.wav")))
    ix = load_gtzan(tmp_path / "a")
    assert ix.counts() == {"train": 20, "valid": 10, "test": 10}
    assert ix.info["n_unlisted"] == 10 and ix.info["known_corrupt"] == ["jazz.00054"]
    bad = []
    for e in ix.examples:
        try:
            load_audio(e.audio_path, 22050)
        except AudioLoadError as err:
            bad.append((e.id, "truncated" in err.reason))
    assert bad == [("jazz.00054", True)]
    assert load_gtzan(tmp_path / "a", split="cv10").counts() == {"": 50}
    json.dumps(ix.info)                     # records can hold the facts
    assert len(ix.fingerprint()) == 64     # every target has a canonical form


def test_synth_genres_are_learnable_from_log_mel(tmp_path):
    cfg = {"clip_seconds": 3.0, "train_per_genre": 3, "valid_per_genre": 0, "test_per_genre": 2,
           "unlisted_per_genre": 0}
    synth_gtzan.render(tmp_path, cfg)
    ix = load_gtzan(tmp_path)
    train = [e for e in ix.split("train") if e.id != "jazz.00054"]
    test = ix.split("test")
    acc = learnability.accuracy([e.audio_path for e in train], [e.target["genre"] for e in train],
                                [e.audio_path for e in test], [e.target["genre"] for e in test])
    assert acc >= 0.6  # chance 0.1


def _spec_gtzan(text: str) -> tuple[dict, set]:
    """Per-genre (train, valid, test) counts and the 70 excluded clip ids of spec §5."""
    sec = text[text.index("## 5. Genre"):text.index("## 6.")]
    counts = {}
    for line in sec.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] in GENRES:
            counts[cells[0]] = tuple(int(c) for c in cells[1:])
    excluded = set()
    block = sec[sec.index("The 70 excluded clips"):sec.index("**Metric:**")]
    for line in block.splitlines():
        m = re.match(r"- (\w+) (.*)", line.strip())
        if not m or m[1] not in GENRES:
            continue
        for part in m[2].split(","):
            a, _, b = part.strip().partition("–")
            for k in range(int(a), int(b or a) + 1):
                excluded.add(f"{m[1]}.{k:05d}")
    return counts, excluded


def test_full_size_split_from_the_spec_counts(tmp_path):
    """1,000 clips, lists with the published per-genre sizes over the clips the spec does not exclude: the reader gives
    443 / 197 / 290 and leaves the 70 excluded clips unlisted."""
    counts, excluded = _spec_gtzan(shared_or_skip("spec", "datasets.md").read_text(encoding="utf-8"))
    assert len(excluded) == 70 and sum(map(sum, counts.values())) == 930
    lists = {"train": [], "valid": [], "test": []}
    for g in GENRES:
        (tmp_path / "genres" / g).mkdir(parents=True)
        kept = []
        for k in range(100):
            (tmp_path / "genres" / g / f"{g}.{k:05d}.au").touch()   # readers never open audio
            if f"{g}.{k:05d}" not in excluded:
                kept.append(f"{g}/{g}.{k:05d}.wav")
        if g == "jazz":  # jazz.00054 is a training clip in the published list
            kept.remove("jazz/jazz.00054.wav")
            kept.insert(0, "jazz/jazz.00054.wav")
        n_tr, n_va, n_te = counts[g]
        assert len(kept) == n_tr + n_va + n_te
        lists["train"] += kept[:n_tr]
        lists["valid"] += kept[n_tr:n_tr + n_va]
        lists["test"] += kept[n_tr + n_va:]
    for s, lines in lists.items():
        (tmp_path / f"{s}_filtered.txt").write_text("".join(f"{x}\n" for x in sorted(lines)))
    ix = load_gtzan(tmp_path)
    assert ix.counts() == FILTERED_SIZES == {"train": 443, "valid": 197, "test": 290}
    assert ix.info["n_unlisted"] == 70 and ix.info["n_missing_audio"] == 0
    assert ix.info["known_corrupt"] == ["jazz.00054"]
    for g in GENRES:
        assert tuple(sum(1 for e in ix.split(s) if e.target["genre"] == g) for s in ("train", "valid", "test")) == \
            counts[g]
    cv = load_gtzan(tmp_path, split="cv10")
    assert cv.counts() == {"": 1000} and sorted(Counter(cv.info["cv_folds"].values()).values()) == [100] * 10
