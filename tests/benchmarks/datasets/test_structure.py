"""Issue 13 readers: Harmonix segments (structure), PianoSyllabus metadata (difficulty), GiantSteps keys — each on
small trees in the real layouts with the pitfalls the spec lists — and their label conventions and metrics."""
from __future__ import annotations

import mir_eval
import numpy as np
import pytest
import soundfile as sf
import torch

from benchmarks.datasets import DatasetLayoutError
from benchmarks.datasets.difficulty import load_pianosyllabus
from benchmarks.datasets.key import load_giantsteps, normalise_key
from benchmarks.datasets.structure import SegmentFileError, load_harmonix, read_segments
from probes.keys import NAMES, SCORE, BatchedKeyScore, key_index, key_metrics
from probes.ordinal import BatchedMacroMSE, decode, difficulty_metrics, mse_macro, ordinal_targets
from probes.segments import FUNCTIONS, IGNORE, frame_functions, function_class, structure_metrics


def _wav(path, seconds=1.0, sr=8000):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(int(seconds * sr), dtype=np.float32), sr)


# ------------------------------------------------------------------------------------------------------------------
# structure
# ------------------------------------------------------------------------------------------------------------------
def test_segments_pitfalls(tmp_path):
    p = tmp_path / "0287_therewasatime.txt"
    p.write_text("2.950812 intro\n8.495568 verse2\n25.486704 chorus\n308.306344 end\n354.029435252 end\n")
    s = read_segments(p)
    assert s.labels == ("intro", "verse2", "chorus") and s.end == pytest.approx(308.306344)
    assert s.boundaries[0] == pytest.approx(2.950812)  # starts after 0: the gap keeps no label
    p.write_text("0.0 silence\n1.0 outro\n2.0 instrumental\n")  # no `end`: runs to the end of the audio
    s = read_segments(p)
    assert s.end is None and s.intervals(duration=5.0)[-1].tolist() == [2.0, 5.0]
    p.write_text("0.0 intro\n3.0 verse\n2.0 chorus\n")
    with pytest.raises(SegmentFileError, match="line 3"):
        read_segments(p)


@pytest.mark.parametrize("label, function", [
    ("Intro", "intro"), ("verse2", "verse"), ("prechorus", "verse"), ("pre-chorus", "verse"), ("chorus", "chorus"),
    ("postchorus", "chorus"), ("refrain", "chorus"), ("bridge", "bridge"), ("transition", "bridge"),
    ("solo", "inst"), ("instrumental", "inst"), ("gtr", "inst"), ("worstthingever", "inst"), ("outro", "outro"),
    ("coda", "outro"), ("silence", "silence"), ("fadein", "intro"), ("section3", "verse"), ("break", "inst"),
    ("mainriff", "inst"), ("rap", "verse")])
def test_functional_mapping(label, function):
    assert FUNCTIONS[function_class(label)] == function


def test_harmonix_layout(tmp_path):
    ds = tmp_path / "harmonixset-main" / "dataset"
    (ds / "segments").mkdir(parents=True)
    (ds / "segments" / "0001_12step.txt").write_text("0.0 intro\n1.5 verse\n3.0 end\n")
    (ds / "segments" / "0037_breakyourheart.txt").write_text("0.5 intro\n2.0 chorus\n")
    (ds / "segments" / "0099_noaudio.txt").write_text("0.0 intro\n1.0 end\n")
    (ds / "metadata.csv").write_text("File,Title,Artist,Release,Duration,BPM,Ratio Bars in 4,Time Signature,Genre,"
                                     'MusicBrainz Id,Acoustid Id\n0001_12step,"1, 2 Step",Ciara,Goodies,142.47,113,'
                                     "100.0,4|4,R&B,x,y\n")
    _wav(tmp_path / "harmonixset-main" / "audio" / "0001_12step.mp3".replace(".mp3", ".wav"))
    _wav(tmp_path / "harmonixset-main" / "audio" / "0037_breakyourheart.wav")
    index = load_harmonix(tmp_path / "harmonixset-main")
    assert [e.id for e in index.examples] == ["0001_12step", "0037_breakyourheart"]
    assert index.split_name == "none" and index.info["n_without_audio"] == 1
    assert index.info["n_start_after_zero"] == 1 and index.info["genres"] == {"R&B": 1}
    with pytest.raises(DatasetLayoutError, match="segments"):
        load_harmonix(tmp_path)


def test_structure_targets_and_metrics():
    iv = np.array([[1.0, 3.0], [3.0, 5.0]])
    y = frame_functions(iv, ["verse", "chorus"], n_frames=12, fps=2.0)
    assert y.tolist() == [IGNORE, IGNORE, 1, 1, 1, 1, 2, 2, 2, 2, IGNORE, IGNORE]
    pred = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 0, 0])  # boundary one frame (0.5 s) early
    m = structure_metrics([(iv, y)], [pred], fps=2.0)
    assert m["accuracy"] == pytest.approx(7 / 8)
    est = np.array([[1.0, 2.5], [2.5, 5.0]])
    assert m["hr_f_0_5"] == pytest.approx(mir_eval.segment.detection(iv, est, window=0.5, trim=False)[2])
    assert m["hr_f_0_5"] == 1.0 and m["hr_f_3"] == 1.0


# ------------------------------------------------------------------------------------------------------------------
# difficulty
# ------------------------------------------------------------------------------------------------------------------
def test_pianosyllabus_metadata(tmp_path):
    (tmp_path / "metadata.csv").write_text("id,grade,split\nAbsil J.Humoresque Op 126 No 3,4,train\n"
                                           "Arens B.Ciorsdan Mhòr,10,test\nAdeleIll Be Waiting,0,valid\n"
                                           "Missing Audio,3,train\n", encoding="utf-8")
    for pid in ("Absil J.Humoresque Op 126 No 3", "Arens B.Ciorsdan Mhòr", "AdeleIll Be Waiting"):
        _wav(tmp_path / "audio" / f"{pid}.wav")
    index = load_pianosyllabus(tmp_path)
    assert index.split_name == "given" and [e.target for e in index.examples] == [4, 0, 10]  # sorted by id
    assert index.info["n_without_audio"] == 1 and index.info["grade_counts"][10] == 1
    (tmp_path / "metadata.csv").write_text("id,grade\nA,11\n")
    with pytest.raises(DatasetLayoutError, match="row 2: grade 11"):
        load_pianosyllabus(tmp_path)
    (tmp_path / "metadata.csv").write_text("piece,level\n")
    with pytest.raises(DatasetLayoutError, match="no rows|id and grade"):
        load_pianosyllabus(tmp_path)


def test_ordinal_targets_decoding_and_metrics():
    assert ordinal_targets(0).tolist() == [0] * 10 and ordinal_targets(3).tolist() == [1, 1, 1] + [0] * 7
    assert decode(np.array([[0.9, 0.8, 0.2, 0.9] + [0.0] * 6])) == 2  # a lone later "yes" does not count
    true, pred = np.array([0, 0, 5, 10]), np.array([1, 0, 5, 7])
    assert mse_macro(true, pred) == pytest.approx(np.mean([0.5, 0.0, 9.0]))
    m = difficulty_metrics(true, pred)
    assert m["mse_macro"] == pytest.approx(3.1666666) and m["balanced_accuracy"] == pytest.approx((0.5 + 1 + 0) / 3)
    probs = torch.tensor(np.stack([np.stack([ordinal_targets(g) for g in pred])] * 2)).float()
    assert BatchedMacroMSE(np.arange(5), true)(probs).tolist() == pytest.approx([m["mse_macro"]] * 2)


# ------------------------------------------------------------------------------------------------------------------
# key
# ------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, key", [("Eb minor", "Eb minor"), ("d# minor", "Eb minor"), ("F#:major", "Gb major"),
                                       (" c minor ", "C minor"), ("-", None), ("C minor / F# minor", None),
                                       ("G minor/major", None), ("A Minor", "A minor"), ("X", None), ("", None)])
def test_key_normalisation(text, key):
    assert normalise_key(text) == key


def test_giantsteps_layouts(tmp_path):
    test = tmp_path / "giantsteps-key-dataset"
    (test / "annotations" / "key").mkdir(parents=True)
    (test / "annotations" / "key" / "10089.LOFI.key").write_text("Db major")          # no trailing newline
    (test / "annotations" / "key" / "10090.LOFI.key").write_text("E minor")
    _wav(test / "audio" / "10089.LOFI.wav")
    _wav(test / "audio" / "10090.LOFI.mp3".replace(".mp3", ".wav"))
    train = tmp_path / "giantsteps-mtg-key-dataset"
    (train / "annotations").mkdir(parents=True)
    rows = ["ID\tMANUAL KEY\tC", "5061\tD# minor\t2", "10981\t-\t0", "3\tc minor / f# minor\t2", "4\ta major\t1",
            "5\tf# major\t2", "6\tg minor\t2"]
    (train / "annotations" / "annotations.txt").write_text("\n".join(rows) + "\n")
    for tid in ("5061", "10981", "3", "4", "5", "6"):
        _wav(train / "audio" / f"{tid}.LOFI.wav")
    index = load_giantsteps(tmp_path)
    by = {e.id: e for e in index.examples}
    assert set(by) == {"test/10089", "test/10090", "train/5061", "train/5", "train/6"}
    assert by["train/5061"].target == "Eb minor" and by["train/5"].target == "Gb major"
    assert by["test/10089"].split == "test" and {by[i].split for i in ("train/5061", "train/5", "train/6")} <= \
        {"train", "valid"}
    assert index.info["train"]["dropped"] == {"confidence_below_2": 2, "no_or_multiple_keys": 1, "no_audio": 0}


def test_key_scores_follow_mir_eval():
    assert key_index("Eb minor") == 15 and key_index("d# minor") == 15 and NAMES[key_index("C major")] == "C major"
    # a fifth above scores 0.5, below 0; relative 0.3; parallel 0.2
    c = key_index("C major")
    assert SCORE[c, key_index("G major")] == 0.5 and SCORE[c, key_index("F major")] == 0.0
    assert SCORE[c, key_index("A minor")] == 0.3 and SCORE[c, key_index("C minor")] == 0.2
    m = key_metrics([c, c, c], [c, key_index("G major"), key_index("A minor")])
    assert m["weighted_score"] == pytest.approx((1 + 0.5 + 0.3) / 3) and m["accuracy"] == pytest.approx(1 / 3)
    probs = torch.zeros(1, 3, 24)
    probs[0, 0, c], probs[0, 1, key_index("G major")], probs[0, 2, key_index("A minor")] = 1, 1, 1
    assert BatchedKeyScore(np.arange(4), [c, c, c])(probs)[0] == pytest.approx(m["weighted_score"])
