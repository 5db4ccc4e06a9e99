"""The chord readers (benchmarks.datasets.chords): .lab files and the Isophonics / Billboard / RWC-Pop / Chords1217
layouts, on small trees written in each real layout, with the pitfalls the spec lists."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks.datasets import DatasetLayoutError
from benchmarks.datasets.chords import ChordFileError, load_chords, read_fold_files, read_lab
from probes.chords import IGNORE, N_CHORD, chord_class
from layouts import silent_wav


# ------------------------------------------------------------------------------------------------------------------
# .lab files
# ------------------------------------------------------------------------------------------------------------------
def test_read_lab_handles_the_real_files_formats(tmp_path):
    p = tmp_path / "a.lab"
    # Beatles: spaces, 6 decimals; Queen: tabs, 3 decimals, no final newline; Billboard: scientific notation and a
    # trailing blank line; plus a comment and a CRLF line
    p.write_bytes(b"# comment\n0.000000 0.497838 N\r\n0.497838\t7.3469387e-1\tE:min\n"
                  b"7.3469387e-1   9.985104 G\n\n9.985104\t12.5\tBb:maj6")
    ann = read_lab(p)
    assert ann.labels == ("N", "E:min", "G", "Bb:maj6")
    np.testing.assert_allclose(ann.intervals[1], [0.497838, 0.73469387])
    assert ann.span == (0.0, 12.5)


@pytest.mark.parametrize("text, where", [("0.0 1.0\n", "line 1"), ("0.0 1.0 C\nabc 2 D\n", "line 2"),
                                         ("2.0 1.0 C\n", "line 1"), ("\n\n", "no chord segments")])
def test_read_lab_rejects_what_it_cannot_read_naming_the_line(tmp_path, text, where):
    p = tmp_path / "bad.lab"
    p.write_text(text)
    with pytest.raises(ChordFileError, match=where):
        read_lab(p)


# ------------------------------------------------------------------------------------------------------------------
# layouts
# ------------------------------------------------------------------------------------------------------------------
def test_isophonics_tree_with_mirdata_audio_layout(tmp_path):
    ann = tmp_path / "The Beatles Annotations" / "chordlab" / "The Beatles" / "01_-_Please_Please_Me"
    ann.mkdir(parents=True)
    (ann / "01_-_I_Saw_Her_Standing_There.lab").write_text("0.000000 0.497838 N\n0.497838 2.0 E\n")
    (ann / "02_-_Misery.lab").write_text("0.0\t1.0\tC:maj\n")
    silent_wav(tmp_path / "audio" / "01_-_Please_Please_Me" / "01_-_I_Saw_Her_Standing_There.wav")
    silent_wav(tmp_path / "audio" / "The Beatles" / "01_-_Please_Please_Me" / "02_-_Misery.flac")
    index = load_chords(tmp_path)
    assert [e.id for e in index.examples] == ["The Beatles/01_-_Please_Please_Me/01_-_I_Saw_Her_Standing_There",
                                              "The Beatles/01_-_Please_Please_Me/02_-_Misery"]
    assert index.split_name == "none" and index.examples[0].target.labels == ("N", "E")


def test_billboard_takes_annotated_ids_from_the_index(tmp_path):
    mirex = tmp_path / "billboard-2.0.1-mirex"
    for i, labels in ((3, ["N", "A:min", "X"]), (4, ["Cb:maj"]), (5, ["C:maj"])):
        d = mirex / f"{i:04d}"
        d.mkdir(parents=True)
        (d / "majmin.lab").write_text("".join(f"{k * 7.3469387e-2}\t{(k + 1) * 7.3469387e-2}\t{lab}\n"
                                              for k, lab in enumerate(labels)) + "\n")
        silent_wav(tmp_path / "audio" / f"{i:04d}.wav")
    (tmp_path / "billboard-2.0-index.csv").write_text(
        "id,chart_date,target_rank,actual_rank,title,artist,peak_rank,weeks_on_chart\n"
        "3,1961-07-03,56,57,I Don't Mind,James Brown,47,8\n"
        '4,1971-08-07,32,31,"You\'ve Got A Friend","Roberta Flack,Donny Hathaway",29,12\n'
        "5,1971-08-07,,,,,,\n")
    index = load_chords(tmp_path)
    assert [e.id for e in index.examples] == ["0003", "0004"]  # 0005 has no title: not annotated
    assert index.examples[0].target.labels == ("N", "A:min", "X")
    assert chord_class(index.examples[1].target.labels[0]) == 11


def test_rwc_pop_with_mirdata_audio(tmp_path):
    d = tmp_path / "AIST.RWC-MDB-P-2001.CHORD" / "RWC_Pop_Chords"
    d.mkdir(parents=True)
    (d / "N001-M01-T01.lab").write_text("0.000\t0.104\tN\n0.104\t1.858\tAb:min\n1.858\t3.646\tBb:maj(*3)\n")
    (d / "N002-M01-T02.lab").write_text("0.000\t1.000\tG:maj/3\n")
    silent_wav(tmp_path / "audio" / "rwc-p-m01" / "1.wav")
    silent_wav(tmp_path / "audio" / "N002-M01-T02.mp3".replace(".mp3", ".wav"))
    index = load_chords(tmp_path)
    assert [e.id for e in index.examples] == ["N001-M01-T01", "N002-M01-T02"]
    assert [chord_class(x) for x in index.examples[0].target.labels] == [N_CHORD, 20, IGNORE]


def test_chords1217_layout_and_its_fold_files(tmp_path):
    ids = [f"TR{i:016d}" for i in range(10)]
    for i in ids:
        (tmp_path / "chordlab").mkdir(exist_ok=True)
        (tmp_path / "chordlab" / f"{i}.lab").write_text("0.0 1.0 C:maj\n")
        silent_wav(tmp_path / "audio" / f"{i}.mp3".replace(".mp3", ".wav"))
    (tmp_path / "data").mkdir()
    for k in range(5):
        (tmp_path / "data" / f"train0{k}.csv").write_text("\n".join(i for j, i in enumerate(ids) if j % 5 != k))
        (tmp_path / "data" / f"test0{k}.csv").write_text("\n".join(i for j, i in enumerate(ids) if j % 5 == k) + "\n")
    index = load_chords(tmp_path)
    assert index.split_name == "folds" and len(index.examples) == 10
    folds = read_fold_files(tmp_path)
    assert len(folds) == 5
    for k, (train, valid, test) in enumerate(folds):
        assert len(valid) == 8 // 4 and len(train) == 6 and len(test) == 2
        assert not (set(train) & set(valid)) and not ((set(train) | set(valid)) & set(test))
    assert set().union(*(set(f[2]) for f in folds)) == set(ids)
    # the validation pick is the seeded permutation's tail, reproducibly
    assert read_fold_files(tmp_path) == folds


def test_layout_errors_say_what_was_expected(tmp_path):
    with pytest.raises(DatasetLayoutError, match="chordlab"):
        load_chords(tmp_path)
    (tmp_path / "chordlab").mkdir()
    (tmp_path / "chordlab" / "x.lab").write_text("0 1 C\n")
    with pytest.raises(DatasetLayoutError, match="no audio"):
        load_chords(tmp_path)
