"""The EmoMusic reader (min.sec times, padded CSV values, unpadded names, artist-sha1 split, train-only
z-scoring) and the synthesised EmoMusic set."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import learnability
from benchmarks.datasets import DatasetLayoutError, load_emomusic
from benchmarks.datasets.emomusic import artist_split, normalise_artist, parse_minsec, zscore_targets
from benchmarks.synth import emomusic as synth_emo

from helpers import tree_digests

INFO_HEADER = ("song_id,file_name,Artist,Song title,start of the segment (min.sec),end of the segment (min.sec),Genre,"
               "Mediaeval 2013 set")


def test_parse_minsec():
    assert parse_minsec("0.48") == 48.0
    assert parse_minsec(" 1.33 ") == 93.0
    assert parse_minsec("1.3") == 90.0      # a one-digit fraction is tens of seconds
    assert parse_minsec("2") == 120.0
    with pytest.raises(ValueError):
        parse_minsec("1.75")


def test_artist_normalisation_and_hash_split():
    assert normalise_artist("  The  New Mystikal-Troubadours! ") == "the new mystikaltroubadours"
    assert normalise_artist("Beyoncé & Co") == "beyonc co"
    for name in ("The New Mystikal Troubadours", "Kevin MacLeod", "Brad Sucks"):
        h = int(hashlib.sha1(normalise_artist(name).encode()).hexdigest(), 16) % 10
        assert artist_split(name) == ("train" if h < 8 else "valid")
    # the rule ignores case, punctuation and repeated spaces
    assert artist_split("kevin   macleod!") == artist_split("Kevin MacLeod")


def _find_artists(split: str, n: int) -> list[str]:
    out, k = [], 0
    while len(out) < n:
        name = f"Artist {chr(97 + k % 26)}{chr(97 + k // 26)}"
        if artist_split(name) == split:
            out.append(name)
        k += 1
    return out


def _tree(root: Path) -> dict:
    """6 development songs (4 by train-hash artists, 2 by valid-hash ones), 2 evaluation songs, 1 song without
    static annotations; padded values, min.sec times, unpadded file names."""
    train_a, valid_a = _find_artists("train", 2), _find_artists("valid", 1)
    songs = [(2, train_a[0], "development"), (3, train_a[0], "development"), (5, train_a[1], "development"),
             (8, train_a[1], "development"), (10, valid_a[0], "development"), (11, valid_a[0], "development"),
             (12, train_a[0], "evaluation"), (20, valid_a[0], "evaluation"), (21, train_a[1], "development")]
    (root / "clips_45seconds").mkdir(parents=True)
    rows, static = [INFO_HEADER], ["song_id,mean_arousal,std_arousal,mean_valence,std_valence"]
    values = {}
    for k, (sid, artist, which) in enumerate(songs):
        sf.write(str(root / "clips_45seconds" / f"{sid}.mp3"), np.zeros(8000, np.float32), 16000, format="MP3")
        end = "1.3" if sid == 2 else "1.33"
        start = "0.45" if sid == 2 else "0.48"
        rows.append(f" {sid} , {sid}.mp3 , {artist} , Song {k} , {start} , {end} , Blues , {which} ")
        if sid != 21:
            values[sid] = (1.0 + k, 9.0 - k)
            static.append(f"{sid}, {values[sid][0]}, 0.9, {values[sid][1]}, 0.7")
    (root / "songs_info.csv").write_text("\r\n".join(rows) + "\r\n")
    (root / "static_annotations.csv").write_text("\n".join(static) + "\n")
    return values


def test_reader_split_targets_and_zscore(tmp_path):
    values = _tree(tmp_path)
    ix = load_emomusic(tmp_path)
    assert ix.split_name == "jukemir-artist" and ix.label_names == ["arousal", "valence"]
    split = {e.id: e.split for e in ix.examples}
    assert split == {"0002": "train", "0003": "train", "0005": "train", "0008": "train", "0010": "valid",
                     "0011": "valid", "0012": "test", "0020": "test"}
    assert ix.info["unannotated"] == ["0021"]
    assert ix.info["odd_segments"] == []   # 0.45 - 1.3 is 45 s
    e = {e.id: e for e in ix.examples}["0005"]
    assert e.target == {"arousal": values[5][0], "valence": values[5][1]}
    assert e.audio_path == tmp_path / "clips_45seconds" / "5.mp3"
    train = np.array([values[s] for s in (2, 3, 5, 8)])
    assert ix.info["target_mean"] == pytest.approx(train.mean(axis=0).tolist())
    assert ix.info["target_std"] == pytest.approx(train.std(axis=0).tolist())   # ddof 0
    z = zscore_targets(ix, ix.split("train"))
    assert z.shape == (4, 2) and np.allclose(z.mean(axis=0), 0, atol=1e-6) and np.allclose(z.std(axis=0), 1)
    zt = zscore_targets(ix, ix.split("test"))
    assert zt[0] == pytest.approx((np.array(values[12]) - train.mean(0)) / train.std(0))


def test_errors_name_the_file(tmp_path):
    _tree(tmp_path)
    (tmp_path / "static_annotations.csv").rename(tmp_path / "static.csv")
    with pytest.raises(DatasetLayoutError, match="static_annotations.csv not found"):
        load_emomusic(tmp_path)
    (tmp_path / "static.csv").rename(tmp_path / "static_annotations.csv")
    text = (tmp_path / "songs_info.csv").read_text()
    (tmp_path / "songs_info.csv").write_text(text.replace("development", "dev", 1))
    with pytest.raises(DatasetLayoutError, match=r"songs_info.csv, line 2: song 2: Mediaeval 2013 set 'dev'"):
        load_emomusic(tmp_path)
    (tmp_path / "songs_info.csv").write_text(text.replace("1.33", "1.x3", 1))
    with pytest.raises(DatasetLayoutError, match=r"songs_info.csv, line 3: song 3: segment time is not min.sec"):
        load_emomusic(tmp_path)
    (tmp_path / "songs_info.csv").write_text(text.replace("Mediaeval 2013 set", "set"))
    with pytest.raises(DatasetLayoutError, match="no column 'Mediaeval 2013 set'"):
        load_emomusic(tmp_path)


def test_annotations_subfolder_and_wav_copies(tmp_path):
    _tree(tmp_path)
    (tmp_path / "annotations").mkdir()
    for name in ("songs_info.csv", "static_annotations.csv"):
        (tmp_path / name).rename(tmp_path / "annotations" / name)
    (tmp_path / "clips_45seconds" / "3.mp3").rename(tmp_path / "clips_45seconds" / "0003.wav")
    ix = load_emomusic(tmp_path)
    assert ix.info["csv_files"] == ["annotations/songs_info.csv", "annotations/static_annotations.csv"]
    assert {e.id: e for e in ix.examples}["0003"].audio_path.name == "0003.wav"   # file_name's 3.mp3 is absent


TINY = {"clip_seconds": 1.0, "n_development": 20, "n_evaluation": 5}


def test_synth_round_trip_and_determinism(tmp_path):
    synth_emo.render(tmp_path / "a", dict(TINY))
    synth_emo.render(tmp_path / "b", dict(TINY))
    assert tree_digests(tmp_path / "a") == tree_digests(tmp_path / "b")
    songs = synth_emo.plan({**synth_emo.DEFAULTS, **TINY})
    ix = load_emomusic(tmp_path / "a")
    want = {"test": 5}
    for s in songs:
        if s["split"] == "development":
            k = artist_split(s["artist"])
            want[k] = want.get(k, 0) + 1
    assert ix.counts() == {k: want[k] for k in ("train", "valid", "test")}
    assert want["valid"] >= 1 and ix.info["odd_segments"] == [] and ix.info["n_missing_audio"] == 0
    first = (tmp_path / "a" / "songs_info.csv").read_text().splitlines()[1]
    assert ", 0.45, 1.3, " in first                     # the min.sec pitfall is written
    json.dumps(ix.info)                     # records can hold the facts
    assert len(ix.fingerprint()) == 64     # every target has a canonical form


def test_synth_emotion_is_learnable_from_log_mel(tmp_path):
    synth_emo.render(tmp_path, {"clip_seconds": 4.0, "n_development": 36, "n_evaluation": 12})
    ix = load_emomusic(tmp_path)
    train, test = ix.split("train") + ix.split("valid"), ix.split("test")
    r2 = learnability.r2([e.audio_path for e in train], zscore_targets(ix, train), [e.audio_path for e in test],
                         zscore_targets(ix, test))
    assert r2.min() > 0.4, r2   # arousal and valence both well above the 0 of a constant prediction
