"""The synthesised offline datasets (benchmarks.synth): real layouts, determinism, aligned beats, diverse labels."""
from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from benchmarks.synth import SYNTH_SETS, load_config, synthesize
from benchmarks.synth import beats as B
from benchmarks.synth import mtat as M
from benchmarks.synth import nsynth as N
from benchmarks.synth.render import estimate_midi_pitch, preset_sample_sets, render_note, write_mp3, write_wav

#: A tiny configuration (same code paths, a few files): rendered twice, compared byte for byte.
TINY = {
    "nsynth": {"max_instruments_per_family": 3, "notes_per_instrument": 1},
    "beats": {"n_chorales": 1, "n_grooves": 2, "clip_seconds": 8.0},
    "mtat": {"n_clips": 6, "n_untagged": 1},
    "chords": {"n_tracks": 5, "clip_seconds": 6.0},
    "structure": {"n_songs": 3},
    "difficulty": {"pieces_per_grade": 1, "clip_seconds": 3.0},
    "key": {"train_per_key": 1, "test_per_key": 1, "clip_seconds": 2.0},
}
NSYNTH_FIELDS = {"note": int, "note_str": str, "instrument": int, "instrument_str": str, "pitch": int, "velocity": int,
                 "sample_rate": int, "instrument_family": int, "instrument_family_str": str, "instrument_source": int,
                 "instrument_source_str": str, "qualities": list, "qualities_str": list}


def _tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    return synthesize(tmp_path_factory.mktemp("synth_a"), config=TINY, progress=False)


def test_public_api_and_layout_roots(tiny):
    # derived from the task registry (tasks' synth_set, registry order); no hand-kept list
    from benchmarks.tasks import all_tasks

    assert set(SYNTH_SETS) >= {"nsynth", "beats", "mtat", "chords", "structure", "difficulty", "key"}
    assert SYNTH_SETS == tuple(dict.fromkeys(t.synth_set for t in all_tasks().values() if t.synth_set))
    assert set(tiny) == set(SYNTH_SETS)
    for name, path in tiny.items():
        assert path.name == name and path.is_dir()
        assert (path / ".complete").is_file()
    assert not list(tiny["nsynth"].parent.glob(".*.tmp-*"))


def test_determinism_byte_identical(tiny, tmp_path):
    again = synthesize(tmp_path / "b", config=TINY, progress=False)
    for name in SYNTH_SETS:
        a, b = _tree_digest(tiny[name]), _tree_digest(again[name])
        assert a == b, f"{name}: renders differ"
        assert len(a) > 3


def test_determinism_default_config_files(tmp_path):
    cfg = load_config()
    ns = cfg["nsynth"]
    ex = N.plan(ns)["test"][0]
    for k in (1, 2):
        write_wav(tmp_path / f"n{k}.wav", render_note(ex["_program"], ex["_key"], ex["velocity"], ns["sample_rate"],
                                                    ns["note_on_seconds"], ns["duration_seconds"]), ns["sample_rate"])
    clip = next(c for c in M.plan(cfg["mtat"]) if c["tags"])
    for k in (1, 2):
        write_mp3(tmp_path / f"m{k}.mp3", M.render_clip(clip["spec"], cfg["mtat"]), cfg["mtat"]["sample_rate"])
    track = next(t for t in B.plan(cfg["beats"]) if t["kind"] == "groove")
    for k in (1, 2):
        write_wav(tmp_path / f"b{k}.wav", B.render_track(track, cfg["beats"])[0], cfg["beats"]["sample_rate"])
    for stem in ("n", "m", "b"):
        files = sorted(tmp_path.glob(f"{stem}[12].*"))
        assert files[0].read_bytes() == files[1].read_bytes(), stem
    assert sf.info(str(tmp_path / "m1.mp3")).frames == 465600


def test_resume_skips_and_config_change_rerenders(tmp_path):
    cfg = {"nsynth": {"max_instruments_per_family": 1, "notes_per_instrument": 1}}
    out = tmp_path / "o"
    p = synthesize(out, sets=["nsynth"], config=cfg, progress=False)
    assert set(p) == {"nsynth"}
    marker = p["nsynth"] / ".complete"
    first = marker.read_text()
    wav = next(p["nsynth"].rglob("*.wav"))
    mtime = wav.stat().st_mtime_ns
    (out / ".nsynth.tmp-999999999").mkdir()  # a stale temporary folder of a dead process
    synthesize(out, sets=["nsynth"], config=cfg, progress=False)
    assert wav.stat().st_mtime_ns == mtime  # skipped
    assert not (out / ".nsynth.tmp-999999999").exists()
    cfg2 = {"nsynth": {**cfg["nsynth"], "seed": 7}}
    synthesize(out, sets=["nsynth"], config=cfg2, progress=False)
    assert marker.read_text() != first
    assert sorted(q.name for q in out.iterdir()) == ["nsynth"]


# --- NSynth ------------------------------------------------------------------------------------------------------------

def test_nsynth_layout(tiny):
    root = tiny["nsynth"]
    seen_notes, inst_split = set(), {}
    for split in ("train", "valid", "test"):
        folder = root / f"nsynth-{split}"
        examples = json.loads((folder / "examples.json").read_text())
        assert isinstance(examples, dict) and examples
        wavs = {p.stem for p in (folder / "audio").glob("*.wav")}
        assert wavs == set(examples)
        for key, e in examples.items():
            assert set(e) == set(NSYNTH_FIELDS)
            for field, typ in NSYNTH_FIELDS.items():
                assert isinstance(e[field], typ), (key, field)
            assert e["note_str"] == key
            assert re.fullmatch(r"[a-z_]+_(acoustic|electronic|synthetic)_\d{3}-\d{3}-\d{3}", key)
            assert key == f"{e['instrument_str']}-{e['pitch']:03d}-{e['velocity']:03d}"
            assert e["instrument_str"].startswith(f"{e['instrument_family_str']}_{e['instrument_source_str']}_")
            assert N.FAMILIES[e["instrument_family"]] == e["instrument_family_str"]
            assert N.SOURCES[e["instrument_source"]] == e["instrument_source_str"]
            assert len(e["qualities"]) == 10 and set(e["qualities"]) <= {0, 1}
            assert e["qualities_str"] == [q for q, v in zip(N.QUALITIES, e["qualities"]) if v]
            assert e["sample_rate"] == 16000 and 0 <= e["pitch"] <= 127
            assert e["note"] not in seen_notes
            seen_notes.add(e["note"])
            assert inst_split.setdefault(e["instrument"], split) == split  # split by instrument
            info = sf.info(str(folder / "audio" / f"{key}.wav"))
            assert (info.samplerate, info.channels, info.frames, info.subtype) == (16000, 1, 64000, "PCM_16")
    x, _ = sf.read(str(next((root / "nsynth-train" / "audio").glob("*.wav"))))
    assert np.abs(x[:48000]).max() > 0.01  # not silent


def test_nsynth_default_plan_is_balanced():
    cfg = load_config()["nsynth"]
    plan = N.plan(cfg)
    total = sum(len(v) for v in plan.values())
    assert 250 <= total <= 600  # ~300 four-second clips is the timing target
    assert len({e["note_str"] for ex in plan.values() for e in ex}) == total
    for split, examples in plan.items():
        fams = Counter(e["instrument_family_str"] for e in examples)
        assert set(fams) == set(N.FAMILIES), split  # every family in every split
    train_pitches = Counter(e["pitch"] for e in plan["train"])
    assert set(train_pitches) == set(range(cfg["pitch_min"], cfg["pitch_max"] + 1))
    assert min(train_pitches.values()) >= 4
    insts = {s: {e["instrument"] for e in ex} for s, ex in plan.items()}
    assert not (insts["train"] & insts["valid"]) and not (insts["train"] & insts["test"])
    assert not (insts["valid"] & insts["test"])


def test_nsynth_instruments_really_differ_and_sound_at_pitch():
    presets = preset_sample_sets()
    sets = {}
    for inst in N.INSTRUMENTS:
        name, samples = presets[inst.program]
        assert samples, inst
        assert samples not in sets.values(), f"program {inst.program} shares its samples with another instrument"
        sets[inst.program] = samples
    assert len({i.program for i in N.INSTRUMENTS}) == len(N.INSTRUMENTS)
    # one note per family (middle of the range), and the organs whose keys are shifted an octave
    checks = [next(i for i in N.INSTRUMENTS if i.family == f) for f in N.FAMILIES]
    checks += [i for i in N.INSTRUMENTS if i.key_shift]
    for inst in checks:
        ps = inst.pitches(36, 84)
        pitch = ps[len(ps) // 2]
        x = render_note(inst.program, pitch + inst.key_shift, 100, 16000, 3.0, 4.0)
        assert abs(estimate_midi_pitch(x, 16000) - pitch) < 0.5, inst


# --- beats --------------------------------------------------------------------------------------------------------------

def _read_beats(path: Path) -> np.ndarray:
    rows = []
    for line in path.read_text().splitlines():
        t, pos = line.split("\t")
        rows.append((float(t), int(pos)))
    return np.array(rows)


def test_beats_layout(tiny):
    root = tiny["beats"]
    audio = sorted((root / "audio").glob("*.wav"))
    ann = sorted((root / "annotations").glob("*.beats"))
    assert [p.stem for p in audio] == [p.stem for p in ann] and len(audio) == 3
    kinds = Counter(p.stem.split("_")[1] for p in audio)
    assert kinds == {"chorale": 1, "groove": 2}
    for wav, beats in zip(audio, ann):
        info = sf.info(str(wav))
        assert (info.samplerate, info.channels, info.subtype) == (22050, 1, "PCM_16")
        assert info.frames <= 8.0 * 22050 + 1
        b = _read_beats(beats)
        assert len(b) >= 8
        assert np.all(np.diff(b[:, 0]) > 0) and b[0, 0] >= 0 and b[-1, 0] < info.frames / 22050
        pos = b[:, 1].astype(int)
        bpb = pos.max()
        assert bpb in (3, 4) and pos.min() == 1
        assert np.all(pos[1:] == pos[:-1] % bpb + 1)  # 1, 2, 3, (4), 1, ...
        # times are exact sample positions
        samples = b[:, 0] * 22050
        assert np.allclose(samples, np.round(samples), atol=0.05)


def _onset_deviation_ms(x: np.ndarray, sr: int, beat_times: np.ndarray) -> np.ndarray:
    """Offset (ms) of the strongest energy rise within +-50 ms of each beat (1 ms hop, 256-sample window)."""
    hop, win = sr // 1000, 256
    d = np.concatenate([[0.0], np.diff(x)])  # crude high-pass: drum attacks
    n = (len(d) - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(n)[:, None]
    e = np.log(np.sum(d[idx] ** 2, axis=1) + 1e-10)
    rise = np.maximum(np.diff(e, prepend=e[0]), 0)
    out = []
    for t in beat_times:
        s = int(round(t * sr))
        c = (s - win) // hop
        lo, hi = max(0, c - 50), min(len(rise), c + 50)
        f = lo + int(np.argmax(rise[lo:hi]))
        out.append((f * hop + win - s) / sr * 1000)
    return np.array(out)


def test_beats_align_with_drum_onsets(tiny):
    root = tiny["beats"]
    grooves = sorted((root / "audio").glob("*_groove_*.wav"))
    assert grooves
    for wav in grooves:
        x, sr = sf.read(str(wav))
        b = _read_beats(root / "annotations" / f"{wav.stem}.beats")
        dev = _onset_deviation_ms(x, sr, b[b[:, 0] > 0.05, 0])
        assert np.all(np.abs(dev) < 20.0), (wav.name, dev)
        assert np.median(np.abs(dev)) < 5.0


def test_chorale_pickups_get_end_of_bar_positions():
    # bwv108.6: 4/4 with a one-beat pickup; bwv17.7: 3/4 with a one-beat pickup; bwv10.7: 4/4, no pickup
    for name, first, bpb in (("bwv108.6", 4, 4), ("bwv17.7", 3, 3), ("bwv10.7", 1, 4)):
        beats = B.chorale_beats(B.chorale_score(name))
        offs = np.array([o for o, _ in beats])
        pos = np.array([p for _, p in beats])
        assert offs[0] == 0.0 and pos[0] == first, name
        assert np.allclose(np.diff(offs), 1.0)  # quarter-note beats
        assert np.all(pos[1:] == pos[:-1] % bpb + 1)


# --- MTAT -----------------------------------------------------------------------------------------------------------

def test_mtat_layout_and_clean_split(tiny):
    root = tiny["mtat"]
    lines = (root / "annotations_final.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    assert header[0] == '"clip_id"' and header[-1] == '"mp3_path"'
    assert all(re.fullmatch(r'"[^"]*"', f) for line in lines for f in line.split("\t"))  # every field quoted
    with open(root / "annotations_final.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    tags = rows[0][1:-1]
    assert tags == list(M.TAGS)
    body = rows[1:]
    ids = [int(r[0]) for r in body]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    name_re = re.compile(r"[0-9a-f]/[a-z_]+-[a-z_]+-\d\d-[a-z_]+-\d+-\d+\.mp3")
    for r in body:
        assert set(r[1:-1]) <= {"0", "1"}
        assert name_re.fullmatch(r[-1]), r[-1]
        info = sf.info(str(root / "mp3" / r[-1]))
        assert (info.samplerate, info.channels, info.frames) == (16000, 1, 465600)
    assert any(set(r[1:-1]) == {"0"} for r in body)  # untagged clips exist in the CSV ...
    split = root / "split"
    tag_names = np.load(split / "tags.npy")
    binary = np.load(split / "binary.npy")
    assert tag_names.dtype.kind == "U" and tag_names.ndim == 1 and set(tag_names) == set(tags)
    assert binary.shape == (len(body), len(tag_names)) and set(np.unique(binary)) <= {0, 1}
    folders = {"train": set("0123456789ab"), "valid": {"c"}, "test": set("def")}
    listed = set()
    for name in ("train", "valid", "test"):
        arr = np.load(split / f"{name}.npy")
        assert arr.dtype.kind == "U" and arr.ndim == 1
        for entry in arr:
            idx, path = str(entry).split("\t")
            row = body[int(idx)]
            assert row[-1] == path and path[0] in folders[name]
            want = {t for t, v in zip(tags, row[1:-1]) if v == "1"}
            assert want and {str(t) for t, v in zip(tag_names, binary[int(idx)]) if v} == want
            listed.add(int(idx))
    # ... but the clean split holds exactly the tagged clips (folder split minus untagged)
    assert listed == {i for i, r in enumerate(body) if "1" in r[1:-1]}


def test_mtat_default_plan_labels_diverse():
    cfg = load_config()["mtat"]
    clips = M.plan(cfg)
    assert len(clips) == cfg["n_clips"] + cfg["n_untagged"]
    assert 15 <= len(M.TAGS) <= 30
    assert {c["mp3_path"][0] for c in clips} == set("0123456789abcdef")
    assert len({c["mp3_path"] for c in clips}) == len(clips)
    for split, fold in (("train", "0123456789ab"), ("valid", "c"), ("test", "def")):
        members = [c for c in clips if c["split"] == split]
        assert all(c["mp3_path"][0] in fold for c in members)
        counts = Counter(t for c in members for t in c["tags"])
        assert all(0 < counts[t] < len(members) for t in M.TAGS), (split, counts)
    tagged = [c for c in clips if c["tags"]]
    Y = np.array([[t in c["tags"] for t in M.TAGS] for c in tagged], dtype=float)
    assert np.all(Y.mean(0) >= 0.05)
    corr = np.corrcoef(Y.T)
    np.fill_diagonal(corr, 0)
    assert np.abs(corr).max() < 0.95  # no two tags carry the same information


def test_config_override_merges_and_names_are_checked(tmp_path):
    cfg = load_config({"mtat": {"n_clips": 5}})
    assert cfg["mtat"]["n_clips"] == 5 and cfg["mtat"]["seed"] == load_config()["mtat"]["seed"]
    assert cfg["nsynth"] == load_config()["nsynth"]
    with pytest.raises(KeyError, match="unknown synth set"):
        synthesize(tmp_path, sets=["nope"], progress=False)
    assert not os.listdir(tmp_path)


def test_beat_set_split_is_stratified_and_deterministic():
    """The default beat set carries its own split (splits.tsv): every split holds chorales and grooves."""
    from benchmarks.synth import load_config

    cfg = load_config()["beats"]
    tracks = B.plan(cfg)
    split = B.split_of(tracks, cfg["valid_fraction"], cfg["test_fraction"])
    assert split == B.split_of(B.plan(cfg), cfg["valid_fraction"], cfg["test_fraction"])
    assert set(split) == {t["id"] for t in tracks}
    for part in ("train", "valid", "test"):
        kinds = {t["kind"] for t in tracks if split[t["id"]] == part}
        assert kinds == {"chorale", "groove"}, part
    assert Counter(split.values())["test"] == round(cfg["test_fraction"] * cfg["n_chorales"]) + \
        round(cfg["test_fraction"] * cfg["n_grooves"])


def test_issue13_sets_are_read_by_the_real_readers_with_their_pitfalls(tiny):
    """The chord, structure, difficulty and key sets come out in the real layouts (read by the same readers as the real
    data) and carry the pitfalls the spec lists."""
    from benchmarks.datasets.chords import load_chords, read_fold_files
    from benchmarks.datasets.difficulty import load_pianosyllabus
    from benchmarks.datasets.key import load_giantsteps
    from benchmarks.datasets.structure import load_harmonix
    from probes.chords import IGNORE, chord_class

    chords = load_chords(tiny["chords"])
    assert chords.split_name == "folds" and len(chords.examples) == 5 and len(read_fold_files(tiny["chords"])) == 5
    labels = [lab for e in chords.examples for lab in e.target.labels]
    assert "N" in labels and any(chord_class(lab) not in (IGNORE, 24) for lab in labels)
    texts = [p.read_text() for p in (tiny["chords"] / "chordlab").glob("*.lab")]
    assert any("\t" in t for t in texts) and any("\t" not in t for t in texts)  # mixed delimiters
    harmonix = load_harmonix(tiny["structure"])
    assert len(harmonix.examples) == 3 and harmonix.info["n_start_after_zero"] == 1
    assert harmonix.info["n_without_end"] == 0 or any(e.target.end is None for e in harmonix.examples)
    segs = [p.read_text() for p in (tiny["structure"] / "dataset" / "segments").glob("*.txt")]
    assert sum(t.count(" end\n") for t in segs) == 4  # one song ends twice (three songs: once, once, twice)
    ps = load_pianosyllabus(tiny["difficulty"])
    assert sorted(e.target for e in ps.examples) == list(range(11))
    assert any(not e.id.isascii() for e in ps.examples)
    gs = load_giantsteps(tiny["key"])
    assert gs.counts()["test"] == 24 and gs.info["train"]["dropped"]["no_or_multiple_keys"] >= 1
    assert all(e.target.split()[0] in ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
               for e in gs.examples)
